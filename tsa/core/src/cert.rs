//! TSA certificates: a self-signed root and a timestamping leaf chained to it, for development
//! and `sigstack up`; and PEM chain encoding/decoding.
//!
//! Built with `x509-cert` structures and signed through [`sigstack_keys::Signer`] (as the
//! `fulcio` crate builds its certificates), not with rcgen: the TBSCertificate is encoded here
//! and handed to the signer, so a root key held in an HSM or KMS works unchanged, and we
//! control every extension's criticality (RFC 3161 section 2.3 wants the EKU critical).

use std::time::Duration;

use der::asn1::{BitString, OctetString, SetOfVec, Utf8StringRef};
use der::{Any, Decode, Encode};
use sha2::Digest;
use sigstack_keys::{Algorithm, KeyError, Signer};
use spki::{AlgorithmIdentifierOwned, ObjectIdentifier, SubjectPublicKeyInfoOwned};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectKeyIdentifier,
};
use x509_cert::ext::Extension;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::time::{Time, Validity};
use x509_cert::{Certificate, TbsCertificate, Version};

use crate::authority::{ECDSA_WITH_SHA256, ECDSA_WITH_SHA384, ID_KP_TIME_STAMPING};

const ID_CE_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
const ID_CE_EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const ID_CE_SUBJECT_KEY_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");
const ID_CE_AUTHORITY_KEY_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.35");
const ID_CE_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const ID_AT_COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
const ID_AT_ORGANIZATION: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");

/// Default lifetime of development TSA certificates: 10 years.
pub const DEV_CERT_LIFETIME_SECS: u64 = 10 * 365 * 24 * 60 * 60;

/// Why a certificate could not be built or a chain read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CertError {
    /// A key or certificate given is not valid DER.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was being read.
        what: &'static str,
        /// The parser's message.
        reason: String,
    },
    /// The signer's algorithm cannot sign certificates here (ECDSA P-256/P-384 only).
    #[error("unsupported certificate signing algorithm {0}")]
    UnsupportedAlgorithm(&'static str),
    /// The validity period cannot be encoded.
    #[error("validity period cannot be encoded")]
    InvalidValidity,
    /// The PEM holds no certificate.
    #[error("no CERTIFICATE in the PEM")]
    EmptyChain,
    /// The signer failed.
    #[error("the certificate signer failed")]
    Signing(#[source] KeyError),
}

fn enc(what: &'static str) -> impl Fn(der::Error) -> CertError {
    move |e| CertError::Malformed {
        what,
        reason: e.to_string(),
    }
}

/// The names and validity of a TSA certificate to build: parameters in, certificate out
/// ([`CertificateParams::self_signed_root`], [`CertificateParams::tsa_leaf`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateParams {
    /// Subject CN.
    pub common_name: String,
    /// Subject O.
    pub organization: String,
    /// notBefore, seconds since the Unix epoch.
    pub not_before: u64,
    /// Lifetime in seconds (notAfter = notBefore + lifetime).
    pub lifetime_secs: u64,
    /// Serial number octets (give 16 random bytes; the top bit is cleared).
    pub serial: [u8; 16],
}

impl CertificateParams {
    /// A self-signed CA certificate for `key`: BasicConstraints CA (critical), KeyUsage
    /// keyCertSign + cRLSign (critical), SubjectKeyIdentifier.
    pub fn self_signed_root(&self, key: &dyn Signer) -> Result<Vec<u8>, CertError> {
        let spki = spki_of(key.public_key_der())?;
        let name = name(&self.organization, &self.common_name)?;
        let ski = key_identifier(&spki);
        let extensions = vec![
            extension(
                ID_CE_BASIC_CONSTRAINTS,
                true,
                &BasicConstraints {
                    ca: true,
                    path_len_constraint: Some(0),
                },
            )?,
            extension(
                ID_CE_KEY_USAGE,
                true,
                &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
            )?,
            extension(
                ID_CE_SUBJECT_KEY_IDENTIFIER,
                false,
                &SubjectKeyIdentifier(OctetString::new(ski.to_vec()).map_err(enc("SKI"))?),
            )?,
        ];
        let tbs = self.tbs(key, name.clone(), name, spki, extensions)?;
        sign_tbs(key, tbs)
    }

    /// A TSA certificate for the public key `subject_spki_der` (DER SPKI), issued by
    /// `issuer_key` whose certificate is `issuer_cert_der`: KeyUsage digitalSignature
    /// (critical), ExtendedKeyUsage timeStamping (critical, RFC 3161 section 2.3),
    /// SubjectKeyIdentifier, AuthorityKeyIdentifier, BasicConstraints CA:false.
    pub fn tsa_leaf(
        &self,
        subject_spki_der: &[u8],
        issuer_key: &dyn Signer,
        issuer_cert_der: &[u8],
    ) -> Result<Vec<u8>, CertError> {
        let issuer = Certificate::from_der(issuer_cert_der).map_err(enc("issuer certificate"))?;
        let spki = spki_of(subject_spki_der)?;
        let issuer_spki = spki_of(issuer_key.public_key_der())?;
        let aki = issuer
            .tbs_certificate
            .get::<SubjectKeyIdentifier>()
            .ok()
            .flatten()
            .map(|(_, ski)| ski.0.as_bytes().to_vec())
            .unwrap_or_else(|| key_identifier(&issuer_spki).to_vec());
        let ski = key_identifier(&spki);
        let extensions = vec![
            extension(
                ID_CE_BASIC_CONSTRAINTS,
                true,
                &BasicConstraints {
                    ca: false,
                    path_len_constraint: None,
                },
            )?,
            extension(
                ID_CE_KEY_USAGE,
                true,
                &KeyUsage(KeyUsages::DigitalSignature.into()),
            )?,
            extension(
                ID_CE_EXT_KEY_USAGE,
                true,
                &ExtendedKeyUsage(vec![ID_KP_TIME_STAMPING]),
            )?,
            extension(
                ID_CE_SUBJECT_KEY_IDENTIFIER,
                false,
                &SubjectKeyIdentifier(OctetString::new(ski.to_vec()).map_err(enc("SKI"))?),
            )?,
            extension(
                ID_CE_AUTHORITY_KEY_IDENTIFIER,
                false,
                &AuthorityKeyIdentifier {
                    key_identifier: Some(OctetString::new(aki).map_err(enc("AKI"))?),
                    authority_cert_issuer: None,
                    authority_cert_serial_number: None,
                },
            )?,
        ];
        let subject = name(&self.organization, &self.common_name)?;
        let tbs = self.tbs(
            issuer_key,
            issuer.tbs_certificate.subject.clone(),
            subject,
            spki,
            extensions,
        )?;
        sign_tbs(issuer_key, tbs)
    }

    fn tbs(
        &self,
        signer: &dyn Signer,
        issuer: Name,
        subject: Name,
        spki: SubjectPublicKeyInfoOwned,
        extensions: Vec<Extension>,
    ) -> Result<TbsCertificate, CertError> {
        let mut serial = self.serial;
        serial[0] &= 0x7f;
        if serial.iter().all(|&b| b == 0) {
            serial[15] = 1;
        }
        let not_after = self
            .not_before
            .checked_add(self.lifetime_secs)
            .ok_or(CertError::InvalidValidity)?;
        Ok(TbsCertificate {
            version: Version::V3,
            serial_number: x509_cert::serial_number::SerialNumber::new(&serial)
                .map_err(enc("serial"))?,
            signature: signature_algorithm(signer.algorithm())?,
            issuer,
            validity: Validity {
                not_before: time(self.not_before)?,
                not_after: time(not_after)?,
            },
            subject,
            subject_public_key_info: spki,
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: Some(extensions),
        })
    }
}

fn spki_of(der: &[u8]) -> Result<SubjectPublicKeyInfoOwned, CertError> {
    SubjectPublicKeyInfoOwned::from_der(der).map_err(enc("public key"))
}

fn signature_algorithm(algorithm: Algorithm) -> Result<AlgorithmIdentifierOwned, CertError> {
    let oid = match algorithm {
        Algorithm::EcdsaP256Sha256 => ECDSA_WITH_SHA256,
        Algorithm::EcdsaP384Sha384 => ECDSA_WITH_SHA384,
        other => return Err(CertError::UnsupportedAlgorithm(other.name())),
    };
    Ok(AlgorithmIdentifierOwned {
        oid,
        parameters: None,
    })
}

/// RFC 7093 section 2 method 1: the leftmost 160 bits of the SHA-256 of the subjectPublicKey
/// BIT STRING contents.
fn key_identifier(spki: &SubjectPublicKeyInfoOwned) -> [u8; 20] {
    let digest = sha2::Sha256::digest(spki.subject_public_key.raw_bytes());
    let mut out = [0u8; 20];
    out.copy_from_slice(&digest[..20]);
    out
}

fn name(organization: &str, common_name: &str) -> Result<Name, CertError> {
    let rdn = |oid: ObjectIdentifier,
               value: &str|
     -> Result<RelativeDistinguishedName, CertError> {
        let value = Any::encode_from(&Utf8StringRef::new(value).map_err(enc("name"))?)
            .map_err(enc("name"))?;
        Ok(RelativeDistinguishedName(
            SetOfVec::try_from(vec![AttributeTypeAndValue { oid, value }]).map_err(enc("name"))?,
        ))
    };
    Ok(RdnSequence(vec![
        rdn(ID_AT_ORGANIZATION, organization)?,
        rdn(ID_AT_COMMON_NAME, common_name)?,
    ]))
}

/// RFC 5280 section 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
fn time(secs: u64) -> Result<Time, CertError> {
    let dt = der::DateTime::from_unix_duration(Duration::from_secs(secs))
        .map_err(|_| CertError::InvalidValidity)?;
    if dt.year() < 2050 {
        Ok(Time::UtcTime(
            der::asn1::UtcTime::from_date_time(dt).map_err(|_| CertError::InvalidValidity)?,
        ))
    } else {
        Ok(Time::GeneralTime(
            der::asn1::GeneralizedTime::from_date_time(dt),
        ))
    }
}

fn extension(
    oid: ObjectIdentifier,
    critical: bool,
    value: &impl Encode,
) -> Result<Extension, CertError> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value.to_der().map_err(enc("extension"))?)
            .map_err(enc("extension"))?,
    })
}

fn sign_tbs(signer: &dyn Signer, tbs: TbsCertificate) -> Result<Vec<u8>, CertError> {
    let tbs_der = tbs.to_der().map_err(enc("TBSCertificate"))?;
    let signature = signer.sign(&tbs_der).map_err(CertError::Signing)?;
    Certificate {
        signature_algorithm: tbs.signature.clone(),
        tbs_certificate: tbs,
        signature: BitString::from_bytes(&signature).map_err(enc("signature"))?,
    }
    .to_der()
    .map_err(enc("certificate"))
}

/// The DER certificates of a PEM bundle, in file order. Anything other than `CERTIFICATE`
/// blocks is an error.
pub fn chain_from_pem(pem: &str) -> Result<Vec<Vec<u8>>, CertError> {
    // Block by block with `der::pem` (x509-cert's `load_pem_chain` panics on some inputs).
    const BEGIN: &str = "-----BEGIN ";
    let malformed = |reason: String| CertError::Malformed {
        what: "PEM certificate chain",
        reason,
    };
    let mut chain = Vec::new();
    let mut rest = pem;
    while let Some(start) = rest.find(BEGIN) {
        let block = &rest[start..];
        let end_marker = block
            .find("-----END ")
            .ok_or_else(|| malformed("a PEM block has no END line".into()))?;
        let end = block[end_marker..]
            .find('\n')
            .map_or(block.len(), |i| end_marker + i + 1);
        let (label, der) =
            der::pem::decode_vec(&block.as_bytes()[..end]).map_err(|e| malformed(e.to_string()))?;
        if label != "CERTIFICATE" {
            return Err(malformed(format!("unexpected PEM block {label:?}")));
        }
        Certificate::from_der(&der).map_err(enc("certificate"))?;
        chain.push(der);
        rest = &block[end..];
    }
    if chain.is_empty() {
        return Err(CertError::EmptyChain);
    }
    Ok(chain)
}

/// A PEM bundle of DER certificates, in the order given.
pub fn chain_to_pem(chain: &[Vec<u8>]) -> Result<String, CertError> {
    chain
        .iter()
        .map(|der| {
            der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, der).map_err(|e| {
                CertError::Malformed {
                    what: "PEM",
                    reason: e.to_string(),
                }
            })
        })
        .collect()
}
