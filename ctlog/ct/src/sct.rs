//! RFC 6962 sections 3.2, 3.3 and 3.5: Signed Certificate Timestamps, SCT lists and tree head
//! signatures, with the exact bytes each signature covers.

use sigstack_keys::{Algorithm, PublicKey, Signer};

use crate::entry::{CtExtensions, SignedEntry};
use crate::tls::{self, Reader, MAX_U16};
use crate::{CtError, VERSION_V1};

/// RFC 6962 `SignatureType::certificate_timestamp`.
const SIGNATURE_TYPE_CERTIFICATE_TIMESTAMP: u8 = 0;
/// RFC 6962 `SignatureType::tree_hash`.
const SIGNATURE_TYPE_TREE_HASH: u8 = 1;

/// RFC 5246 `DigitallySigned`: the algorithm pair and signature bytes of an SCT or tree head.
///
/// Any algorithm numbers parse (RFC 5246 leaves the enums open); verification accepts only
/// SHA-256 with ECDSA, which is what RFC 6962 logs with P-256 keys produce.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DigitallySigned {
    hash_algorithm: u8,
    signature_algorithm: u8,
    signature: Vec<u8>,
}

impl DigitallySigned {
    /// RFC 5246 `HashAlgorithm::sha256`.
    pub const SHA256: u8 = 4;
    /// RFC 5246 `SignatureAlgorithm::ecdsa`.
    pub const ECDSA: u8 = 3;
    /// The largest signature a TLS `opaque<0..2^16-1>` holds.
    pub const MAX_SIGNATURE_LEN: usize = MAX_U16;

    /// Builds one from its parts, for example from an SCT received as JSON fields. Fails if the
    /// signature is longer than [`DigitallySigned::MAX_SIGNATURE_LEN`].
    pub fn new(
        hash_algorithm: u8,
        signature_algorithm: u8,
        signature: Vec<u8>,
    ) -> Result<Self, CtError> {
        tls::check_len(
            "DigitallySigned.signature",
            signature.len(),
            0,
            Self::MAX_SIGNATURE_LEN,
        )?;
        Ok(DigitallySigned {
            hash_algorithm,
            signature_algorithm,
            signature,
        })
    }

    /// The RFC 5246 `HashAlgorithm` number (4 = SHA-256).
    pub fn hash_algorithm(&self) -> u8 {
        self.hash_algorithm
    }

    /// The RFC 5246 `SignatureAlgorithm` number (3 = ECDSA).
    pub fn signature_algorithm(&self) -> u8 {
        self.signature_algorithm
    }

    /// The signature bytes (a DER `Ecdsa-Sig-Value` for ECDSA).
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// The TLS encoding: hash, signature algorithm, 2-byte length, signature. This is the
    /// `tree_head_signature` of `get-sth` and the `signature` of `add-chain` responses.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + self.signature.len());
        self.encode_into(&mut out);
        out
    }

    /// Parses exactly one `DigitallySigned`.
    pub fn parse(bytes: &[u8]) -> Result<Self, CtError> {
        let mut r = Reader::new(bytes);
        let ds = Self::parse_from(&mut r)?;
        r.finish("DigitallySigned")?;
        Ok(ds)
    }

    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) {
        out.push(self.hash_algorithm);
        out.push(self.signature_algorithm);
        tls::put_opaque(out, 2, &self.signature);
    }

    pub(crate) fn parse_from(r: &mut Reader<'_>) -> Result<Self, CtError> {
        Ok(DigitallySigned {
            hash_algorithm: r.u8("DigitallySigned.hash")?,
            signature_algorithm: r.u8("DigitallySigned.signature_algorithm")?,
            signature: r
                .opaque(2, 0, MAX_U16, "DigitallySigned.signature")?
                .to_vec(),
        })
    }
}

/// RFC 6962 `SignedCertificateTimestamp` (version `v1`): a log's promise to include an entry.
///
/// Only `v1` exists, so the version is not a field: parsing rejects any other version and
/// encoding always writes `v1`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SignedCertificateTimestamp {
    /// SHA-256 of the log's DER `SubjectPublicKeyInfo`.
    pub log_id: [u8; 32],
    /// Milliseconds since the Unix epoch.
    pub timestamp: u64,
    /// Extensions (static-ct-api: the `leaf_index`); covered by the signature.
    pub extensions: CtExtensions,
    /// The log's signature over [`sct_signed_data`].
    pub signature: DigitallySigned,
}

impl SignedCertificateTimestamp {
    /// The TLS encoding, as carried in SCT lists and TLS extensions.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(47 + self.extensions.as_bytes().len() + 4 + 72);
        out.push(VERSION_V1);
        out.extend_from_slice(&self.log_id);
        tls::put_uint(&mut out, 8, self.timestamp);
        self.extensions.encode_into(&mut out);
        self.signature.encode_into(&mut out);
        out
    }

    /// Parses exactly one SCT; any version but `v1`, or trailing bytes, is an error.
    pub fn parse(bytes: &[u8]) -> Result<Self, CtError> {
        let mut r = Reader::new(bytes);
        let version = r.u8("SignedCertificateTimestamp.sct_version")?;
        if version != VERSION_V1 {
            return Err(CtError::UnknownValue {
                what: "SignedCertificateTimestamp.sct_version",
                value: version.into(),
            });
        }
        let sct = SignedCertificateTimestamp {
            log_id: r.array("SignedCertificateTimestamp.id")?,
            timestamp: r.u64("SignedCertificateTimestamp.timestamp")?,
            extensions: CtExtensions::parse_from(&mut r)?,
            signature: DigitallySigned::parse_from(&mut r)?,
        };
        r.finish("SignedCertificateTimestamp")?;
        Ok(sct)
    }
}

/// RFC 6962 section 3.3 `SignedCertificateTimestampList`: the SCTs embedded in a certificate
/// (X.509 extension 1.3.6.1.4.1.11129.2.4.2) or sent in a TLS extension or OCSP response.
///
/// Always holds at least one SCT and fits its 2-byte length, so encoding cannot fail.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SignedCertificateTimestampList {
    scts: Vec<SignedCertificateTimestamp>,
}

impl SignedCertificateTimestampList {
    /// A list of the given SCTs, in order. Fails if empty or if the encoding would exceed the
    /// list's 65,535-byte limit.
    pub fn new(scts: Vec<SignedCertificateTimestamp>) -> Result<Self, CtError> {
        let len: usize = scts.iter().map(|s| 2 + s.encode().len()).sum();
        tls::check_len("SignedCertificateTimestampList", len, 1, MAX_U16)?;
        Ok(SignedCertificateTimestampList { scts })
    }

    /// The SCTs, in list order.
    pub fn scts(&self) -> &[SignedCertificateTimestamp] {
        &self.scts
    }

    /// The SCTs, by value.
    pub fn into_scts(self) -> Vec<SignedCertificateTimestamp> {
        self.scts
    }

    /// The TLS encoding: `opaque SerializedSCT<1..2^16-1>` entries inside an
    /// `opaque<1..2^16-1>`.
    pub fn encode(&self) -> Vec<u8> {
        let mut inner = Vec::new();
        for sct in &self.scts {
            tls::put_opaque(&mut inner, 2, &sct.encode());
        }
        let mut out = Vec::with_capacity(2 + inner.len());
        tls::put_opaque(&mut out, 2, &inner);
        out
    }

    /// Parses a TLS-encoded list; every entry must be a well-formed `v1` SCT.
    pub fn parse(bytes: &[u8]) -> Result<Self, CtError> {
        let mut r = Reader::new(bytes);
        let mut list = Reader::new(r.opaque(2, 1, MAX_U16, "SignedCertificateTimestampList")?);
        r.finish("SignedCertificateTimestampList")?;
        let mut scts = Vec::new();
        while !list.is_empty() {
            let serialized = list.opaque(2, 1, MAX_U16, "SerializedSCT")?;
            scts.push(SignedCertificateTimestamp::parse(serialized)?);
        }
        Ok(SignedCertificateTimestampList { scts })
    }

    /// The contents of the X.509 extension's `extnValue`: a DER OCTET STRING wrapping the TLS
    /// list. A CA puts this, non-critical, under [`crate::SCT_LIST_OID`].
    pub fn to_extension_value(&self) -> Vec<u8> {
        crate::x509::der_octet_string(&self.encode())
    }

    /// Parses the contents of the X.509 extension's `extnValue`.
    pub fn from_extension_value(bytes: &[u8]) -> Result<Self, CtError> {
        Self::parse(crate::x509::parse_der_octet_string(bytes)?)
    }

    /// The list embedded in a DER certificate; [`CtError::MissingSctList`] if it has none.
    pub fn from_certificate(cert_der: &[u8]) -> Result<Self, CtError> {
        crate::x509::embedded_sct_list(cert_der)
    }
}

/// The exact bytes an SCT's signature covers (RFC 6962 section 3.2): `sct_version`,
/// `signature_type = certificate_timestamp`, `timestamp`, `entry_type`, `signed_entry` and
/// `extensions`.
///
/// Exposed so that a log can hand signing to an external signer and tests can compare bytes.
pub fn sct_signed_data(timestamp: u64, entry: &SignedEntry, extensions: &CtExtensions) -> Vec<u8> {
    let mut out = vec![VERSION_V1, SIGNATURE_TYPE_CERTIFICATE_TIMESTAMP];
    tls::put_uint(&mut out, 8, timestamp);
    entry.encode_typed_into(&mut out);
    extensions.encode_into(&mut out);
    out
}

/// Issues an SCT: the log's signature, with `signer`, over [`sct_signed_data`].
///
/// The signer must be an ECDSA P-256 key (RFC 6962 section 2.1.4 allows only SHA-256 with
/// ECDSA P-256 or RSA; sigstack keys do not do RSA). The log ID is computed from the signer's
/// public key, so it cannot disagree with the key.
pub fn sign_sct(
    signer: &dyn Signer,
    timestamp: u64,
    entry: &SignedEntry,
    extensions: CtExtensions,
) -> Result<SignedCertificateTimestamp, CtError> {
    let signature = sign_digitally(signer, &sct_signed_data(timestamp, entry, &extensions))?;
    Ok(SignedCertificateTimestamp {
        log_id: sigstack_keys::key_id(signer.public_key_der()),
        timestamp,
        extensions,
        signature,
    })
}

/// Checks that `sct` is a valid promise, by the log whose DER `SubjectPublicKeyInfo` is
/// `log_spki_der`, to log `entry`.
///
/// Fails with [`CtError::LogIdMismatch`] if the SCT names another log, before any signature
/// work.
pub fn verify_sct(
    sct: &SignedCertificateTimestamp,
    log_spki_der: &[u8],
    entry: &SignedEntry,
) -> Result<(), CtError> {
    if sct.log_id != sigstack_keys::key_id(log_spki_der) {
        return Err(CtError::LogIdMismatch);
    }
    verify_digitally(
        log_spki_der,
        &sct_signed_data(sct.timestamp, entry, &sct.extensions),
        &sct.signature,
    )
}

/// The exact bytes a tree head signature covers (RFC 6962 section 3.5 `TreeHeadSignature`):
/// `version = v1`, `signature_type = tree_hash`, `timestamp`, `tree_size`, `sha256_root_hash`.
pub fn tree_head_signed_data(timestamp: u64, tree_size: u64, root_hash: &[u8; 32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(50);
    out.push(VERSION_V1);
    out.push(SIGNATURE_TYPE_TREE_HASH);
    tls::put_uint(&mut out, 8, timestamp);
    tls::put_uint(&mut out, 8, tree_size);
    out.extend_from_slice(root_hash);
    out
}

/// Signs a tree head (the `tree_head_signature` of `get-sth`, and the body of a static-ct-api
/// checkpoint signature). The signer must be ECDSA P-256, as for [`sign_sct`].
pub fn sign_tree_head(
    signer: &dyn Signer,
    timestamp: u64,
    tree_size: u64,
    root_hash: &[u8; 32],
) -> Result<DigitallySigned, CtError> {
    sign_digitally(
        signer,
        &tree_head_signed_data(timestamp, tree_size, root_hash),
    )
}

/// Verifies a tree head signature by the log whose DER `SubjectPublicKeyInfo` is
/// `log_spki_der`.
pub fn verify_tree_head(
    log_spki_der: &[u8],
    timestamp: u64,
    tree_size: u64,
    root_hash: &[u8; 32],
    signature: &DigitallySigned,
) -> Result<(), CtError> {
    verify_digitally(
        log_spki_der,
        &tree_head_signed_data(timestamp, tree_size, root_hash),
        signature,
    )
}

fn sign_digitally(signer: &dyn Signer, message: &[u8]) -> Result<DigitallySigned, CtError> {
    if signer.algorithm() != Algorithm::EcdsaP256Sha256 {
        return Err(CtError::UnsupportedKey {
            reason: "RFC 6962 signatures need an ECDSA P-256 key (SHA-256)",
        });
    }
    let signature = signer.sign(message).map_err(CtError::Signing)?;
    DigitallySigned::new(DigitallySigned::SHA256, DigitallySigned::ECDSA, signature)
}

fn verify_digitally(
    spki_der: &[u8],
    message: &[u8],
    signature: &DigitallySigned,
) -> Result<(), CtError> {
    if signature.hash_algorithm != DigitallySigned::SHA256
        || signature.signature_algorithm != DigitallySigned::ECDSA
    {
        return Err(CtError::UnsupportedSignatureAlgorithm {
            algorithm: format!(
                "TLS hash {} / signature {} (only 4 = SHA-256 / 3 = ECDSA is supported)",
                signature.hash_algorithm, signature.signature_algorithm
            ),
        });
    }
    let key = PublicKey::from_spki_der(spki_der).map_err(CtError::InvalidPublicKey)?;
    if key.algorithm() != Algorithm::EcdsaP256Sha256 {
        return Err(CtError::UnsupportedKey {
            reason: "RFC 6962 signatures need an ECDSA P-256 key (SHA-256)",
        });
    }
    key.verify(message, &signature.signature)
        .map_err(|_| CtError::BadSignature)
}
