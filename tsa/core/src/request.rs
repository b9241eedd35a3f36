//! Requests: strict DER parsing of `TimeStampReq` (RFC 3161 section 2.4.1) into a validated
//! [`TimeStampRequest`], and the reasons a TSA refuses one ([`Rejection`], [`FailureInfo`]).

use der::asn1::{Int, OctetString};
use der::{Any, Decode, Encode, Tag, Tagged};
use spki::{AlgorithmIdentifierOwned, ObjectIdentifier};

use crate::asn1;

/// The hash algorithms a message imprint may use (SHA-1 and anything else are `badAlg`): the
/// stack's one definition, in `sigstack-keys`, with their object identifiers.
pub use sigstack_keys::{HashAlgorithm, SHA256_OID, SHA384_OID, SHA512_OID};

/// The longest nonce we echo, in octets (a nonce is an INTEGER of any size; RFC 3161 clients
/// send 64 bits, sigstore-python 64, openssl 64). Longer ones are refused as `badDataFormat`.
pub const MAX_NONCE_OCTETS: usize = 32;

/// The hash algorithm named `name` (`sha256`, `SHA-384`, …), or a `badAlg` rejection, as
/// sigstore-js's JSON request names it.
pub fn hash_algorithm(name: &str) -> Result<HashAlgorithm, Rejection> {
    HashAlgorithm::from_name(name).ok_or_else(|| {
        Rejection::new(
            FailureInfo::BadAlg,
            format!("unsupported hash algorithm {name:?} (supported: sha256, sha384, sha512)"),
        )
    })
}

/// PKIFailureInfo (RFC 3161 section 2.4.2): why a request was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureInfo {
    /// Unrecognized or unsupported algorithm identifier (bit 0).
    BadAlg,
    /// Transaction not permitted or supported (bit 2).
    BadRequest,
    /// The data submitted has the wrong format (bit 5).
    BadDataFormat,
    /// The TSA's time source is not available (bit 14).
    TimeNotAvailable,
    /// The requested TSA policy is not supported by the TSA (bit 15).
    UnacceptedPolicy,
    /// The requested extension is not supported by the TSA (bit 16).
    UnacceptedExtension,
    /// The request cannot be handled due to system failure (bit 25).
    SystemFailure,
}

impl FailureInfo {
    /// The bit number in the PKIFailureInfo BIT STRING.
    pub fn bit(self) -> usize {
        match self {
            FailureInfo::BadAlg => 0,
            FailureInfo::BadRequest => 2,
            FailureInfo::BadDataFormat => 5,
            FailureInfo::TimeNotAvailable => 14,
            FailureInfo::UnacceptedPolicy => 15,
            FailureInfo::UnacceptedExtension => 16,
            FailureInfo::SystemFailure => 25,
        }
    }

    /// The RFC's name (`badAlg`…), used as the metric label.
    pub fn name(self) -> &'static str {
        match self {
            FailureInfo::BadAlg => "badAlg",
            FailureInfo::BadRequest => "badRequest",
            FailureInfo::BadDataFormat => "badDataFormat",
            FailureInfo::TimeNotAvailable => "timeNotAvailable",
            FailureInfo::UnacceptedPolicy => "unacceptedPolicy",
            FailureInfo::UnacceptedExtension => "unacceptedExtension",
            FailureInfo::SystemFailure => "systemFailure",
        }
    }

    pub(crate) fn all() -> [FailureInfo; 7] {
        [
            Self::BadAlg,
            Self::BadRequest,
            Self::BadDataFormat,
            Self::TimeNotAvailable,
            Self::UnacceptedPolicy,
            Self::UnacceptedExtension,
            Self::SystemFailure,
        ]
    }

    /// DER named-bit BIT STRING contents: trailing zero bits removed (X.690 section 11.2.2).
    pub(crate) fn to_bit_string(self) -> der::asn1::BitString {
        let bit = self.bit();
        let mut bytes = vec![0u8; bit / 8 + 1];
        bytes[bit / 8] = 0x80 >> (bit % 8);
        let unused = u8::try_from(7 - bit % 8).unwrap_or(0);
        der::asn1::BitString::new(unused, bytes).expect("unused bits below 8 with content")
    }
}

/// A TimeStampReq the TSA refuses: answered with a `rejection` TimeStampResp carrying
/// [`FailureInfo`] and `reason` as the status string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{failure:?}: {reason}")]
pub struct Rejection {
    /// The PKIFailureInfo bit.
    pub failure: FailureInfo,
    /// Human-readable reason, sent as PKIFreeText.
    pub reason: String,
}

impl Rejection {
    /// A rejection for `failure` with a reason.
    pub fn new(failure: FailureInfo, reason: impl Into<String>) -> Self {
        Self {
            failure,
            reason: reason.into(),
        }
    }
}

/// Why bytes could not be taken as a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// Not a DER TimeStampReq at all (garbage, trailing bytes, BER, wrong structure). An HTTP
    /// front end answers 400; an RFC 3161 one may answer [`FailureInfo::BadDataFormat`].
    #[error("not a DER TimeStampReq: {0}")]
    Malformed(String),
    /// A well-formed TimeStampReq that the TSA refuses.
    #[error("request refused: {0}")]
    Refused(Rejection),
}

impl From<Rejection> for RequestError {
    fn from(r: Rejection) -> Self {
        RequestError::Refused(r)
    }
}

/// The nonce of a request: a DER INTEGER of at most [`MAX_NONCE_OCTETS`] octets, echoed
/// unchanged in the TSTInfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nonce(Int);

impl Nonce {
    /// A nonce from an unsigned 64-bit value (what clients send).
    pub fn from_u64(n: u64) -> Self {
        Self::from_i128(i128::from(n))
    }

    /// A nonce from a signed value.
    pub fn from_i128(n: i128) -> Self {
        let bytes = n.to_be_bytes();
        // Minimal two's complement: drop a leading 0x00 (0xFF) while the next octet's top bit
        // says the same sign.
        let mut start = 0;
        while start + 1 < bytes.len() {
            let (b, next) = (bytes[start], bytes[start + 1]);
            if (b == 0x00 && next & 0x80 == 0) || (b == 0xFF && next & 0x80 != 0) {
                start += 1;
            } else {
                break;
            }
        }
        Self(Int::new(&bytes[start..]).expect("minimal two's complement integer"))
    }

    fn from_int(int: Int) -> Result<Self, Rejection> {
        if int.as_bytes().len() > MAX_NONCE_OCTETS {
            return Err(Rejection::new(
                FailureInfo::BadDataFormat,
                format!("nonce longer than {MAX_NONCE_OCTETS} octets"),
            ));
        }
        Ok(Self(int))
    }

    /// The INTEGER's content octets (big-endian two's complement).
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    pub(crate) fn as_int(&self) -> &Int {
        &self.0
    }
}

/// A validated timestamp request. Build one with [`parse_request`] (DER) or
/// [`TimeStampRequest::new`] (the JSON form), then hand it to a [`crate::TimestampAuthority`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeStampRequest {
    hash: HashAlgorithm,
    /// The hashAlgorithm as sent, so the TSTInfo echoes it exactly (NULL or absent params).
    hash_algorithm_id: AlgorithmIdentifierOwned,
    digest: Vec<u8>,
    policy: Option<ObjectIdentifier>,
    nonce: Option<Nonce>,
    cert_req: bool,
}

impl TimeStampRequest {
    /// A request for `digest`, which must be as long as `hash`'s digests (else
    /// `badDataFormat`). No policy, no nonce, certReq false. The algorithm identifier is
    /// encoded with NULL parameters, as openssl and Go clients do.
    pub fn new(hash: HashAlgorithm, digest: Vec<u8>) -> Result<Self, Rejection> {
        check_digest_len(hash, &digest)?;
        Ok(Self {
            hash,
            hash_algorithm_id: AlgorithmIdentifierOwned {
                oid: hash.oid(),
                parameters: Some(Any::null()),
            },
            digest,
            policy: None,
            nonce: None,
            cert_req: false,
        })
    }

    /// Asks for a nonce to be echoed.
    pub fn with_nonce(mut self, nonce: Nonce) -> Self {
        self.nonce = Some(nonce);
        self
    }

    /// Asks for the TSA certificate to be included in the response.
    pub fn with_cert_req(mut self, cert_req: bool) -> Self {
        self.cert_req = cert_req;
        self
    }

    /// Asks for a specific TSA policy.
    pub fn with_policy(mut self, policy: ObjectIdentifier) -> Self {
        self.policy = Some(policy);
        self
    }

    /// The imprint's hash algorithm.
    pub fn hash_algorithm(&self) -> HashAlgorithm {
        self.hash
    }

    /// The hashed message.
    pub fn digest(&self) -> &[u8] {
        &self.digest
    }

    /// The requested policy, if any.
    pub fn policy(&self) -> Option<&ObjectIdentifier> {
        self.policy.as_ref()
    }

    /// The nonce, if any.
    pub fn nonce(&self) -> Option<&Nonce> {
        self.nonce.as_ref()
    }

    /// Whether the TSA certificate must be included in the response.
    pub fn cert_req(&self) -> bool {
        self.cert_req
    }

    pub(crate) fn message_imprint(&self) -> Result<asn1::MessageImprint, der::Error> {
        Ok(asn1::MessageImprint {
            hash_algorithm: self.hash_algorithm_id.clone(),
            hashed_message: OctetString::new(self.digest.clone())?,
        })
    }

    /// Encodes the request as DER (what `openssl ts -query` writes).
    pub fn to_der(&self) -> Result<Vec<u8>, der::Error> {
        asn1::TimeStampReq {
            version: Int::new(&[1])?,
            message_imprint: self.message_imprint()?,
            req_policy: self.policy,
            nonce: self.nonce.as_ref().map(|n| n.0.clone()),
            cert_req: self.cert_req,
            extensions: None,
        }
        .to_der()
    }
}

fn check_digest_len(hash: HashAlgorithm, digest: &[u8]) -> Result<(), Rejection> {
    if digest.len() != hash.digest_len() {
        return Err(Rejection::new(
            FailureInfo::BadDataFormat,
            format!(
                "{} message imprint must be {} octets, got {}",
                hash.name(),
                hash.digest_len(),
                digest.len()
            ),
        ));
    }
    Ok(())
}

/// Parses a DER `TimeStampReq` strictly and validates it.
///
/// - Not DER, trailing bytes, or not the TimeStampReq structure: [`RequestError::Malformed`].
/// - `version` other than 1, an imprint of the wrong length or an over-long nonce:
///   `badDataFormat`.
/// - A hash other than SHA-256/384/512, or hash parameters other than absent/NULL: `badAlg`.
/// - Any `extensions` (we understand none): `unacceptedExtension`.
///
/// One leniency: an explicitly encoded `certReq FALSE` (a DEFAULT value, which DER leaves
/// out) is accepted, as some client libraries encode it.
///
/// Whether `reqPolicy` is acceptable is the authority's call ([`crate::TimestampAuthority`]).
pub fn parse_request(der: &[u8]) -> Result<TimeStampRequest, RequestError> {
    let req =
        asn1::TimeStampReq::from_der(der).map_err(|e| RequestError::Malformed(e.to_string()))?;
    if req.version.as_bytes() != [1] {
        return Err(
            Rejection::new(FailureInfo::BadDataFormat, "unsupported request version").into(),
        );
    }
    let alg = &req.message_imprint.hash_algorithm;
    let hash = HashAlgorithm::from_oid(&alg.oid).ok_or_else(|| {
        Rejection::new(
            FailureInfo::BadAlg,
            format!(
                "unsupported message imprint hash algorithm {} (supported: SHA-256, SHA-384, SHA-512)",
                alg.oid
            ),
        )
    })?;
    if let Some(params) = &alg.parameters {
        if params.tag() != Tag::Null || !params.value().is_empty() {
            return Err(Rejection::new(
                FailureInfo::BadAlg,
                "hash algorithm parameters must be absent or NULL",
            )
            .into());
        }
    }
    let digest = req.message_imprint.hashed_message.as_bytes().to_vec();
    check_digest_len(hash, &digest)?;
    if req.extensions.is_some() {
        return Err(Rejection::new(
            FailureInfo::UnacceptedExtension,
            "request extensions are not supported",
        )
        .into());
    }
    let nonce = req.nonce.map(Nonce::from_int).transpose()?;
    Ok(TimeStampRequest {
        hash,
        hash_algorithm_id: alg.clone(),
        digest,
        policy: req.req_policy,
        nonce,
        cert_req: req.cert_req,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonce_is_minimal() {
        assert_eq!(Nonce::from_u64(0).as_bytes(), [0]);
        assert_eq!(Nonce::from_u64(0x80).as_bytes(), [0, 0x80]);
        assert_eq!(
            Nonce::from_u64(u64::MAX).as_bytes(),
            [0, 255, 255, 255, 255, 255, 255, 255, 255]
        );
        assert_eq!(Nonce::from_i128(-1).as_bytes(), [0xff]);
        assert_eq!(Nonce::from_i128(-129).as_bytes(), [0xff, 0x7f]);
    }

    #[test]
    fn failure_bits_are_der_named_bits() {
        use der::Encode;
        let enc = |f: FailureInfo| hex::encode(f.to_bit_string().to_der().unwrap());
        assert_eq!(enc(FailureInfo::BadAlg), "03020780");
        assert_eq!(enc(FailureInfo::BadDataFormat), "03020204");
        assert_eq!(enc(FailureInfo::UnacceptedPolicy), "0303000001");
        assert_eq!(
            enc(FailureInfo::UnacceptedExtension),
            "0304070000".to_string() + "80"
        );
        assert_eq!(
            enc(FailureInfo::SystemFailure),
            "030506000000".to_string() + "40"
        );
    }

    #[test]
    fn round_trip_through_der() {
        let req = TimeStampRequest::new(HashAlgorithm::Sha384, vec![7; 48])
            .unwrap()
            .with_nonce(Nonce::from_u64(42))
            .with_cert_req(true)
            .with_policy(ObjectIdentifier::new_unwrap("1.2.3.4"));
        let der = req.to_der().unwrap();
        assert_eq!(parse_request(&der).unwrap(), req);
    }
}
