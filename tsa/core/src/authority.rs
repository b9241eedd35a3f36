//! The authority: turns a validated request, a time and a serial number into a signed
//! TimeStampResp (RFC 3161 section 2.4.2) carried in CMS SignedData (RFC 5652 section 5).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{Int, OctetString, SetOfVec};
use der::{Any, Decode, Encode};
use sha2::Digest;
use sigstack_keys::{Algorithm, KeyError, Signer};
use sigstack_x509::{signer_chain, X509Error};
use spki::{AlgorithmIdentifierOwned, ObjectIdentifier};
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{ExtendedKeyUsage, KeyUsage, KeyUsages};
use x509_cert::Certificate;

use crate::asn1::{self, GenTime};
use crate::request::{FailureInfo, Rejection, TimeStampRequest};

/// Sigstore's TSA policy, 1.3.6.1.4.1.57264.2: the default [`AuthorityConfig::policy`].
pub const SIGSTORE_TSA_POLICY: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.2");
/// id-kp-timeStamping.
pub const ID_KP_TIME_STAMPING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");
/// id-ct-TSTInfo, the eContentType of a timestamp token.
pub const ID_CT_TST_INFO: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
/// id-signedData.
pub const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
pub(crate) const ID_CONTENT_TYPE: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
pub(crate) const ID_MESSAGE_DIGEST: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
pub(crate) const ID_SIGNING_TIME: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");
pub(crate) const ID_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
pub(crate) const ECDSA_WITH_SHA256: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
pub(crate) const ECDSA_WITH_SHA384: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
pub(crate) const ECDSA_WITH_SHA512: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");
const ID_CE_EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");

/// The TSTInfo `accuracy` (RFC 3161 section 2.4.2): how far genTime may be from UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accuracy {
    /// Whole seconds.
    pub seconds: u32,
    /// Milliseconds, 0 (left out) or 1..=999.
    pub millis: u16,
    /// Microseconds, 0 (left out) or 1..=999.
    pub micros: u16,
}

impl Accuracy {
    /// Whole seconds only.
    pub const fn seconds(seconds: u32) -> Self {
        Self {
            seconds,
            millis: 0,
            micros: 0,
        }
    }

    fn to_asn1(self) -> asn1::AccuracyAsn1 {
        asn1::AccuracyAsn1 {
            seconds: (self.seconds != 0).then_some(self.seconds),
            millis: (self.millis != 0).then_some(self.millis),
            micros: (self.micros != 0).then_some(self.micros),
        }
    }
}

/// The precision of genTime: how many fractional-second digits it may carry. The time is
/// truncated to it, and DER drops trailing zeros, so a response may show fewer digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TimePrecision {
    /// Whole seconds, as Sigstore's public TSA (and what every client parses).
    #[default]
    Seconds,
    /// Milliseconds.
    Millis,
    /// Microseconds.
    Micros,
}

/// The default accuracy: one second, as Sigstore's public TSA states.
pub const DEFAULT_ACCURACY: Accuracy = Accuracy::seconds(1);

/// How the authority fills the TSTInfo. Every field has a documented default
/// ([`AuthorityConfig::default`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorityConfig {
    /// The TSA policy OID put in every TSTInfo; a request asking for another policy is
    /// refused with `unacceptedPolicy`. Default [`SIGSTORE_TSA_POLICY`].
    pub policy: ObjectIdentifier,
    /// The stated accuracy; `None` leaves the field out. Default [`DEFAULT_ACCURACY`].
    pub accuracy: Option<Accuracy>,
    /// genTime precision. Default whole seconds.
    pub precision: TimePrecision,
    /// Put the TSA certificate's subject in the TSTInfo `tsa` field (as Sigstore's TSA does).
    /// Default true.
    pub include_tsa_name: bool,
}

impl Default for AuthorityConfig {
    fn default() -> Self {
        Self {
            policy: SIGSTORE_TSA_POLICY,
            accuracy: Some(DEFAULT_ACCURACY),
            precision: TimePrecision::Seconds,
            include_tsa_name: true,
        }
    }
}

/// A TSTInfo serial number: a positive INTEGER, unique per token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialNumber([u8; 16]);

impl SerialNumber {
    /// A serial from 16 random octets: the top bit is cleared (positive) and the next one set
    /// (always 16 octets long), leaving 126 random bits.
    pub fn from_random(mut bytes: [u8; 16]) -> Self {
        bytes[0] = (bytes[0] & 0x7f) | 0x40;
        Self(bytes)
    }

    /// The INTEGER content octets.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Why the authority could not be set up, or could not sign.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthorityError {
    /// No certificates were given.
    #[error("the TSA certificate chain is empty")]
    EmptyChain,
    /// A chain certificate is not DER X.509.
    #[error("TSA chain certificate {index} is malformed: {reason}")]
    MalformedCertificate {
        /// Position in the chain (0 = the TSA certificate).
        index: usize,
        /// The parser's message.
        reason: String,
    },
    /// The signer's public key is not the TSA certificate's.
    #[error("the signing key does not match the TSA certificate's public key")]
    KeyMismatch,
    /// The TSA certificate lacks what RFC 3161 section 2.3 requires.
    #[error("the TSA certificate is not usable for timestamping: {0}")]
    NotATsaCertificate(&'static str),
    /// The key type cannot sign timestamps (only ECDSA P-256 and P-384 are supported).
    #[error("unsupported TSA key algorithm {0}")]
    UnsupportedAlgorithm(&'static str),
    /// The time cannot be encoded (before 1970 or after 9999).
    #[error("the time cannot be encoded as GeneralizedTime")]
    InvalidTime,
    /// Encoding a structure failed.
    #[error("cannot encode {what}: {reason}")]
    Encoding {
        /// What was being encoded.
        what: &'static str,
        /// The encoder's message.
        reason: String,
    },
    /// A setting is out of range (accuracy millis or micros above 999).
    #[error("invalid authority configuration: {0}")]
    InvalidConfig(&'static str),
    /// The key failed to sign.
    #[error("the TSA signer failed")]
    Signing(#[source] KeyError),
}

fn enc(what: &'static str) -> impl Fn(der::Error) -> AuthorityError {
    move |e| AuthorityError::Encoding {
        what,
        reason: e.to_string(),
    }
}

/// A timestamp authority: a signing key, its certificate chain and the TSTInfo settings.
///
/// Invariant (checked by [`TimestampAuthority::new`]): the signer's key is the SPKI of
/// `chain[0]`, which has a critical ExtendedKeyUsage of exactly id-kp-timeStamping.
pub struct TimestampAuthority {
    signer: Arc<dyn Signer>,
    /// DER certificates: TSA certificate first, root last.
    chain: Vec<Vec<u8>>,
    config: AuthorityConfig,
    /// Certificates put in responses with certReq: the chain without its root (as Sigstore's
    /// TSA does; a verifier has the root).
    embedded: CertificateSet,
    sid: SignerIdentifier,
    tsa_name: GeneralName,
    /// The DER signingCertificateV2 attribute value (SHA-256 of the TSA certificate).
    signing_certificate: Any,
    digest_algorithm: AlgorithmIdentifierOwned,
    signature_algorithm: AlgorithmIdentifierOwned,
    hash: HashFn,
    /// notBefore and notAfter of the TSA certificate: no token is issued outside them.
    validity: (SystemTime, SystemTime),
    /// The earliest notAfter of the chain: when the first of its certificates expires.
    chain_expiry: SystemTime,
}

impl std::fmt::Debug for TimestampAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimestampAuthority")
            .field("algorithm", &self.signer.algorithm())
            .field("chain_len", &self.chain.len())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A signed timestamp, with what the service logs and counts.
#[derive(Debug, Clone)]
pub struct Timestamp {
    /// The DER TimeStampResp (status granted).
    pub response: Vec<u8>,
    /// The serial number, hex.
    pub serial_hex: String,
    /// genTime, as written.
    pub gen_time: SystemTime,
}

/// A digest function (SHA-256 or SHA-384, matching the signer).
type HashFn = fn(&[u8]) -> Vec<u8>;

fn sha256(data: &[u8]) -> Vec<u8> {
    sha2::Sha256::digest(data).to_vec()
}

fn sha384(data: &[u8]) -> Vec<u8> {
    sha2::Sha384::digest(data).to_vec()
}

impl TimestampAuthority {
    /// An authority signing with `signer`, whose certificate is `chain[0]` (DER), followed by
    /// any intermediates and the root last.
    pub fn new(
        signer: Arc<dyn Signer>,
        chain: Vec<Vec<u8>>,
        config: AuthorityConfig,
    ) -> Result<Self, AuthorityError> {
        let certs = signer_chain(signer.as_ref(), &chain).map_err(chain_error)?;
        let leaf = &certs[0];
        let tbs = &leaf.tbs_certificate;
        check_tsa_certificate(leaf)?;
        if let Some(a) = config.accuracy {
            if a.millis > 999 || a.micros > 999 {
                return Err(AuthorityError::InvalidConfig(
                    "accuracy millis and micros must be at most 999",
                ));
            }
        }
        let validity = (
            tbs.validity.not_before.to_system_time(),
            tbs.validity.not_after.to_system_time(),
        );
        let chain_expiry = certs
            .iter()
            .map(|c| c.tbs_certificate.validity.not_after.to_system_time())
            .min()
            .unwrap_or(validity.1);
        let (digest_oid, signature_oid, hash): (_, _, HashFn) = match signer.algorithm() {
            Algorithm::EcdsaP256Sha256 => (crate::request::SHA256_OID, ECDSA_WITH_SHA256, sha256),
            Algorithm::EcdsaP384Sha384 => (crate::request::SHA384_OID, ECDSA_WITH_SHA384, sha384),
            other => return Err(AuthorityError::UnsupportedAlgorithm(other.name())),
        };
        let embedded_certs: Vec<CertificateChoices> = certs
            .iter()
            .take(certs.len().saturating_sub(1).max(1))
            .cloned()
            .map(CertificateChoices::Certificate)
            .collect();
        let embedded =
            CertificateSet(SetOfVec::try_from(embedded_certs).map_err(enc("certificate set"))?);
        let ess = asn1::SigningCertificateV2 {
            certs: vec![asn1::EssCertIdV2 {
                hash_algorithm: None,
                cert_hash: OctetString::new(sha256(&chain[0])).map_err(enc("ESSCertIDv2"))?,
                issuer_serial: Some(asn1::IssuerSerial {
                    issuer: vec![GeneralName::DirectoryName(tbs.issuer.clone())],
                    serial_number: tbs.serial_number.clone(),
                }),
            }],
            policies: None,
        };
        let signing_certificate = Any::encode_from(&ess).map_err(enc("SigningCertificateV2"))?;
        Ok(Self {
            sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: tbs.issuer.clone(),
                serial_number: tbs.serial_number.clone(),
            }),
            tsa_name: GeneralName::DirectoryName(tbs.subject.clone()),
            signer,
            chain,
            config,
            embedded,
            signing_certificate,
            digest_algorithm: AlgorithmIdentifierOwned {
                oid: digest_oid,
                parameters: None,
            },
            signature_algorithm: AlgorithmIdentifierOwned {
                oid: signature_oid,
                parameters: None,
            },
            hash,
            validity,
            chain_expiry,
        })
    }

    /// The key the authority signs with.
    pub fn signer(&self) -> &dyn Signer {
        self.signer.as_ref()
    }

    /// The chain, DER: TSA certificate first, root last.
    pub fn chain(&self) -> &[Vec<u8>] {
        &self.chain
    }

    /// The TSTInfo settings.
    pub fn config(&self) -> &AuthorityConfig {
        &self.config
    }

    /// The TSA certificate's notBefore and notAfter: [`Self::timestamp`] refuses to issue
    /// outside them (`systemFailure`).
    pub fn validity(&self) -> (SystemTime, SystemTime) {
        self.validity
    }

    /// The earliest notAfter of the chain's certificates: when the chain stops verifying.
    pub fn chain_expiry(&self) -> SystemTime {
        self.chain_expiry
    }

    /// Refuses what this authority does not serve: a `reqPolicy` other than its policy.
    pub fn check(&self, request: &TimeStampRequest) -> Result<(), Rejection> {
        match request.policy() {
            Some(p) if *p != self.config.policy => Err(Rejection::new(
                FailureInfo::UnacceptedPolicy,
                format!(
                    "policy {p} is not served by this TSA (it serves {})",
                    self.config.policy
                ),
            )),
            _ => Ok(()),
        }
    }

    /// Timestamps `request` at `now` with `serial`: a granted TimeStampResp, signed.
    ///
    /// `now` is truncated to [`AuthorityConfig::precision`]. Refusals ([`Self::check`], or
    /// `now` outside the TSA certificate's validity) come back as `Ok(Err(rejection))` so the caller answers them with [`rejection_response`];
    /// `Err` is our own failure (the signer, an encoding).
    pub fn timestamp(
        &self,
        request: &TimeStampRequest,
        now: SystemTime,
        serial: &SerialNumber,
    ) -> Result<Result<Timestamp, Rejection>, AuthorityError> {
        if let Err(rejection) = self.check(request) {
            return Ok(Err(rejection));
        }
        if now < self.validity.0 || now > self.validity.1 {
            // A token outside its certificate's validity would not verify anywhere.
            return Ok(Err(Rejection::new(
                FailureInfo::SystemFailure,
                "the TSA certificate is not valid at this time",
            )));
        }
        let since = now
            .duration_since(UNIX_EPOCH)
            .map_err(|_| AuthorityError::InvalidTime)?;
        let nanos = match self.config.precision {
            TimePrecision::Seconds => 0,
            TimePrecision::Millis => since.subsec_millis() * 1_000_000,
            TimePrecision::Micros => since.subsec_micros() * 1_000,
        };
        let gen_time = GenTime {
            secs: since.as_secs(),
            nanos,
        };
        gen_time.render().map_err(|_| AuthorityError::InvalidTime)?;
        let tst = asn1::TstInfo {
            version: Int::new(&[1]).map_err(enc("version"))?,
            policy: self.config.policy,
            message_imprint: request.message_imprint().map_err(enc("messageImprint"))?,
            serial_number: Int::new(serial.as_bytes()).map_err(enc("serialNumber"))?,
            gen_time,
            accuracy: self.config.accuracy.map(Accuracy::to_asn1),
            ordering: false,
            nonce: request.nonce().map(|n| n.as_int().clone()),
            tsa: self.config.include_tsa_name.then(|| self.tsa_name.clone()),
            extensions: None,
        };
        let tst_der = tst.to_der().map_err(enc("TSTInfo"))?;
        let token = self.sign(&tst_der, gen_time, request.cert_req())?;
        let response = asn1::TimeStampResp {
            status: asn1::PkiStatusInfo {
                status: 0,
                status_string: None,
                fail_info: None,
            },
            time_stamp_token: Some(token),
        }
        .to_der()
        .map_err(enc("TimeStampResp"))?;
        Ok(Ok(Timestamp {
            response,
            serial_hex: serial
                .as_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
            gen_time: UNIX_EPOCH + Duration::new(gen_time.secs, gen_time.nanos),
        }))
    }

    /// The CMS SignedData around an encoded TSTInfo (RFC 3161 section 2.4.2, RFC 5652 5.3).
    fn sign(
        &self,
        tst_der: &[u8],
        gen_time: GenTime,
        include_certs: bool,
    ) -> Result<ContentInfo, AuthorityError> {
        let attr = |oid, value: Any| -> Result<Attribute, AuthorityError> {
            Ok(Attribute {
                oid,
                values: SetOfVec::try_from(vec![value]).map_err(enc("attribute"))?,
            })
        };
        let signing_time = signing_time(gen_time.secs)?;
        // SetOfVec sorts its elements by their DER encodings: the SET OF is DER, which strict
        // parsers (sigstore-python's rfc3161-client) require.
        let signed_attrs = SetOfVec::try_from(vec![
            attr(
                ID_CONTENT_TYPE,
                Any::encode_from(&ID_CT_TST_INFO).map_err(enc("contentType"))?,
            )?,
            attr(ID_SIGNING_TIME, signing_time)?,
            attr(
                ID_MESSAGE_DIGEST,
                Any::encode_from(
                    &OctetString::new((self.hash)(tst_der)).map_err(enc("messageDigest"))?,
                )
                .map_err(enc("messageDigest"))?,
            )?,
            attr(ID_SIGNING_CERTIFICATE_V2, self.signing_certificate.clone())?,
        ])
        .map_err(enc("signed attributes"))?;
        // RFC 5652 section 5.4: the signature covers the DER of the attributes as a SET OF.
        let to_sign = signed_attrs.to_der().map_err(enc("signed attributes"))?;
        let signature = self
            .signer
            .sign(&to_sign)
            .map_err(AuthorityError::Signing)?;
        let signer_info = SignerInfo {
            version: CmsVersion::V1,
            sid: self.sid.clone(),
            digest_alg: self.digest_algorithm.clone(),
            signed_attrs: Some(signed_attrs),
            signature_algorithm: self.signature_algorithm.clone(),
            signature: OctetString::new(signature).map_err(enc("signature"))?,
            unsigned_attrs: None,
        };
        let signed_data = SignedData {
            version: CmsVersion::V3,
            digest_algorithms: SetOfVec::try_from(vec![self.digest_algorithm.clone()])
                .map_err(enc("digestAlgorithms"))?,
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: ID_CT_TST_INFO,
                econtent: Some(
                    Any::encode_from(&OctetString::new(tst_der).map_err(enc("eContent"))?)
                        .map_err(enc("eContent"))?,
                ),
            },
            certificates: include_certs.then(|| self.embedded.clone()),
            crls: None,
            signer_infos: SignerInfos(
                SetOfVec::try_from(vec![signer_info]).map_err(enc("signerInfos"))?,
            ),
        };
        Ok(ContentInfo {
            content_type: ID_SIGNED_DATA,
            content: Any::encode_from(&signed_data).map_err(enc("SignedData"))?,
        })
    }
}

/// What [`signer_chain`] refuses, as this authority says it: an empty chain, a malformed
/// certificate, or a signer whose key is not the TSA certificate's.
fn chain_error(e: X509Error) -> AuthorityError {
    match e {
        X509Error::EmptyChain => AuthorityError::EmptyChain,
        X509Error::MalformedCertificate { index, reason } => {
            AuthorityError::MalformedCertificate { index, reason }
        }
        _ => AuthorityError::KeyMismatch,
    }
}

/// signingTime (RFC 5652 section 11.3): UTCTime through 2049, GeneralizedTime after.
fn signing_time(secs: u64) -> Result<Any, AuthorityError> {
    let time = sigstack_x509::time(secs).map_err(|_| AuthorityError::InvalidTime)?;
    Any::encode_from(&time).map_err(enc("signingTime"))
}

/// RFC 3161 section 2.3: the TSA certificate MUST have exactly one, critical, ExtendedKeyUsage
/// of id-kp-timeStamping; and it must be allowed to sign (KeyUsage, if present).
fn check_tsa_certificate(cert: &Certificate) -> Result<(), AuthorityError> {
    let tbs = &cert.tbs_certificate;
    let eku = tbs
        .extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id == ID_CE_EXT_KEY_USAGE)
        .ok_or(AuthorityError::NotATsaCertificate(
            "no ExtendedKeyUsage extension",
        ))?;
    if !eku.critical {
        return Err(AuthorityError::NotATsaCertificate(
            "the ExtendedKeyUsage extension is not critical",
        ));
    }
    let usages = ExtendedKeyUsage::from_der(eku.extn_value.as_bytes())
        .map_err(|_| AuthorityError::NotATsaCertificate("malformed ExtendedKeyUsage extension"))?;
    if usages.0 != [ID_KP_TIME_STAMPING] {
        return Err(AuthorityError::NotATsaCertificate(
            "the ExtendedKeyUsage must be exactly timeStamping",
        ));
    }
    if let Ok(Some((_, ku))) = tbs.get::<KeyUsage>() {
        if !ku.0.contains(KeyUsages::DigitalSignature) && !ku.0.contains(KeyUsages::NonRepudiation)
        {
            return Err(AuthorityError::NotATsaCertificate(
                "KeyUsage allows neither digitalSignature nor nonRepudiation",
            ));
        }
    }
    Ok(())
}

/// A `rejection` TimeStampResp (status 2) with `rejection`'s failure bit and reason.
pub fn rejection_response(rejection: &Rejection) -> Vec<u8> {
    let resp = asn1::TimeStampResp {
        status: asn1::PkiStatusInfo {
            status: 2,
            status_string: Some(vec![rejection.reason.clone()]),
            fail_info: Some(rejection.failure.to_bit_string()),
        },
        time_stamp_token: None,
    };
    resp.to_der().unwrap_or_else(|_| {
        // Only the free text can fail to encode (it cannot in practice); answer without it.
        asn1::TimeStampResp {
            status: asn1::PkiStatusInfo {
                status: 2,
                status_string: None,
                fail_info: Some(rejection.failure.to_bit_string()),
            },
            time_stamp_token: None,
        }
        .to_der()
        .unwrap_or_default()
    })
}
