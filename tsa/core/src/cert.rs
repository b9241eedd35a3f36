//! TSA certificates: a self-signed root and a timestamping leaf chained to it, for development
//! and `sigstack up`; and PEM chain encoding/decoding.
//!
//! Assembled from the pieces of [`sigstack_x509`] (as the `fulcio` crate assembles its
//! certificates) on `x509-cert` structures, and signed through [`sigstack_keys::Signer`], so a
//! root key held in an HSM or KMS works unchanged. Not with rcgen: it writes the extensions it
//! knows in a fixed order of its own (AuthorityKeyIdentifier first, SubjectKeyIdentifier
//! before BasicConstraints) and its ExtendedKeyUsage non-critical, where these certificates
//! start with BasicConstraints and RFC 3161 section 2.3 wants the EKU critical. Keeping these
//! bytes would leave rcgen nothing but the outer SEQUENCEs to write, it cannot sign through a
//! `Signer` as such, and it would bring a crypto backend into this pure core (the
//! `sigstack_x509` crate documentation has the details).

use der::Decode;
use sigstack_keys::{Algorithm, KeyError, Signer};
use sigstack_x509::{
    authority_key_identifier_extension, basic_constraints_extension, certificate_key_identifier,
    check_signer_key, extended_key_usage_extension, key_identifier_sha256, key_usage_extension,
    name, parse_spki, positive_serial, sign_tbs, signature_algorithm,
    subject_key_identifier_extension, validity, X509Error,
};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::ext::pkix::{KeyUsage, KeyUsages};
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::{Certificate, TbsCertificate, Version};

use crate::authority::ID_KP_TIME_STAMPING;

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
    /// The issuer's key is not the public key of the issuer certificate given with it.
    #[error("the issuer key does not match the issuer certificate's public key")]
    KeyMismatch,
    /// The signer failed.
    #[error("the certificate signer failed")]
    Signing(#[source] KeyError),
}

/// The shared certificate pieces fail with the variant of the same meaning here.
impl From<X509Error> for CertError {
    fn from(e: X509Error) -> Self {
        match e {
            X509Error::Encoding { what, source } => Self::Malformed {
                what,
                reason: source.to_string(),
            },
            X509Error::MalformedPublicKey(reason) => Self::Malformed {
                what: "public key",
                reason,
            },
            X509Error::MalformedCertificate { reason, .. } => Self::Malformed {
                what: "certificate",
                reason,
            },
            X509Error::UnsupportedAlgorithm(name) => Self::UnsupportedAlgorithm(name),
            X509Error::InvalidTime { .. } | X509Error::InvalidValidity { .. } => {
                Self::InvalidValidity
            }
            X509Error::EmptyChain => Self::EmptyChain,
            X509Error::KeyMismatch => Self::KeyMismatch,
            X509Error::Signing(e) => Self::Signing(e),
        }
    }
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
        let spki = parse_spki(key.public_key_der())?;
        let name = name(&self.organization, &self.common_name)?;
        let extensions = vec![
            basic_constraints_extension(true, Some(0))?,
            key_usage_extension(KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign))?,
            subject_key_identifier_extension(&key_identifier_sha256(&spki))?,
        ];
        let tbs = self.tbs(key, name.clone(), name, spki, extensions)?;
        Ok(sign_tbs(key, tbs)?)
    }

    /// A TSA certificate for the public key `subject_spki_der` (DER SPKI), issued by
    /// `issuer_key` whose certificate is `issuer_cert_der`: KeyUsage digitalSignature
    /// (critical), ExtendedKeyUsage timeStamping (critical, RFC 3161 section 2.3),
    /// SubjectKeyIdentifier, AuthorityKeyIdentifier, BasicConstraints CA:false.
    ///
    /// Refuses an `issuer_key` that is not the key of `issuer_cert_der`
    /// ([`CertError::KeyMismatch`]): the leaf would not chain to that certificate.
    pub fn tsa_leaf(
        &self,
        subject_spki_der: &[u8],
        issuer_key: &dyn Signer,
        issuer_cert_der: &[u8],
    ) -> Result<Vec<u8>, CertError> {
        let issuer = Certificate::from_der(issuer_cert_der).map_err(enc("issuer certificate"))?;
        let spki = parse_spki(subject_spki_der)?;
        let issuer_tbs = issuer.tbs_certificate;
        check_signer_key(issuer_key, &issuer_tbs.subject_public_key_info)?;
        let aki = certificate_key_identifier(&issuer_tbs)
            .unwrap_or_else(|| key_identifier_sha256(&issuer_tbs.subject_public_key_info).to_vec());
        let extensions = vec![
            basic_constraints_extension(false, None)?,
            key_usage_extension(KeyUsage(KeyUsages::DigitalSignature.into()))?,
            extended_key_usage_extension(vec![ID_KP_TIME_STAMPING], true)?,
            subject_key_identifier_extension(&key_identifier_sha256(&spki))?,
            authority_key_identifier_extension(&aki)?,
        ];
        let subject = name(&self.organization, &self.common_name)?;
        let tbs = self.tbs(issuer_key, issuer_tbs.subject, subject, spki, extensions)?;
        Ok(sign_tbs(issuer_key, tbs)?)
    }

    fn tbs(
        &self,
        signer: &dyn Signer,
        issuer: Name,
        subject: Name,
        spki: SubjectPublicKeyInfoOwned,
        extensions: Vec<Extension>,
    ) -> Result<TbsCertificate, CertError> {
        // The serial is never 0 (a positive INTEGER): an all-zero draw becomes 1.
        let mut serial = self.serial;
        serial[0] &= 0x7f;
        if serial.iter().all(|&b| b == 0) {
            serial[15] = 1;
        }
        let validity = validity(self.not_before, self.lifetime_secs)?;
        // ECDSA P-256/P-384 only, the algorithms the TSA signs with.
        let signature = match signer.algorithm() {
            alg @ (Algorithm::EcdsaP256Sha256 | Algorithm::EcdsaP384Sha384) => {
                signature_algorithm(alg)?
            }
            other => return Err(CertError::UnsupportedAlgorithm(other.name())),
        };
        Ok(TbsCertificate {
            version: Version::V3,
            serial_number: positive_serial(&serial)?,
            signature,
            issuer,
            validity,
            subject,
            subject_public_key_info: spki,
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: Some(extensions),
        })
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use sigstack_keys::SoftwareKey;

    fn params(cn: &str) -> CertificateParams {
        CertificateParams {
            common_name: cn.into(),
            organization: "sigstack-test".into(),
            not_before: 1_700_000_000,
            lifetime_secs: DEV_CERT_LIFETIME_SECS,
            serial: [0; 16],
        }
    }

    #[test]
    fn leaf_issuer_key_must_be_the_issuer_certificates() {
        let root_key = SoftwareKey::generate(Algorithm::EcdsaP256Sha256);
        let other = SoftwareKey::generate(Algorithm::EcdsaP256Sha256);
        let leaf_key = SoftwareKey::generate(Algorithm::EcdsaP256Sha256);
        let root = params("root").self_signed_root(&root_key).unwrap();
        assert!(matches!(
            params("leaf").tsa_leaf(leaf_key.public_key_der(), &other, &root),
            Err(CertError::KeyMismatch)
        ));
        let leaf = params("leaf")
            .tsa_leaf(leaf_key.public_key_der(), &root_key, &root)
            .unwrap();
        // An all-zero serial draw still gives a positive serial, 1.
        let leaf = Certificate::from_der(&leaf).unwrap();
        assert_eq!(leaf.tbs_certificate.serial_number.as_bytes(), [1]);
    }

    #[test]
    fn ed25519_cannot_sign_tsa_certificates() {
        let key = SoftwareKey::generate(Algorithm::Ed25519);
        assert!(matches!(
            params("root").self_signed_root(&key),
            Err(CertError::UnsupportedAlgorithm("ed25519"))
        ));
    }
}
