//! Certificate assembly: the precertificate a CT log is asked to log, and the final certificate
//! carrying the log's SCTs.
//!
//! The flow (RFC 6962 section 3.1, as upstream Fulcio's `pkg/ca` does it):
//! 1. [`build_precertificate`]: the Fulcio leaf profile, with the identity extensions of
//!    [`crate::subject_alt_name`] and [`crate::sigstore_extensions`], plus the critical CT
//!    poison; signed by the CA.
//! 2. The caller submits it to a CT log and gets SCTs back (I/O, not here).
//! 3. [`build_final_certificate`]: the same TBSCertificate with the poison replaced in place by
//!    the SCT list ([`ct::final_tbs_from_precert`]), signed by the CA.
//!
//! The CA key is only ever used through [`sigstack_keys::Signer`]: the TBSCertificate is built
//! here, encoded in DER and handed to the signer, so an HSM- or KMS-held key works unchanged.

use std::sync::Arc;
use std::time::Duration;

use der::asn1::{BitString, GeneralizedTime, OctetString, SetOfVec, UtcTime, Utf8StringRef};
use der::{Any, Decode, Encode};
use sha1::{Digest, Sha1};
use sigstack_keys::{Algorithm, KeyError, Signer, SoftwareKey};
use spki::{AlgorithmIdentifierOwned, ObjectIdentifier, SubjectPublicKeyInfoOwned};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectKeyIdentifier,
};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};
use x509_cert::{Certificate, TbsCertificate, Version};

use crate::identity::Principal;
use crate::pop::VerifiedKey;
use crate::profile::{sigstore_extensions, subject_alt_name};

/// Lifetime of a leaf certificate: 10 minutes, as upstream Fulcio.
pub const LEAF_LIFETIME_SECS: u64 = 600;
/// Lifetime of the self-signed root made by [`CertificateAuthority::ephemeral`]: 10 years.
pub const EPHEMERAL_ROOT_LIFETIME_SECS: u64 = 10 * 365 * 24 * 60 * 60;

const ID_CE_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
const ID_CE_EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const ID_CE_SUBJECT_KEY_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");
const ID_CE_AUTHORITY_KEY_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.35");
const ID_CE_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const ID_KP_CODE_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");
const ID_AT_COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
const ID_AT_ORGANIZATION: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");

/// Why a certificate could not be built, or a CA not set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CertError {
    /// The CA was given no certificates.
    #[error("the CA certificate chain is empty")]
    EmptyChain,
    /// A certificate of the CA chain is not DER X.509.
    #[error("CA chain certificate {index} is malformed: {reason}")]
    MalformedChainCertificate {
        /// Position in the chain (0 = issuing CA).
        index: usize,
        /// The parser's message.
        reason: String,
    },
    /// The signer's public key is not the one in the issuing CA certificate.
    #[error("the signer's public key does not match the issuing CA certificate's key")]
    KeyMismatch,
    /// The signer uses an algorithm this CA cannot name in a certificate.
    #[error("unsupported CA signing algorithm {0}")]
    UnsupportedAlgorithm(String),
    /// The subject key is not a DER SubjectPublicKeyInfo.
    #[error("malformed subject public key: {0}")]
    MalformedSubjectKey(String),
    /// The validity period cannot be represented.
    #[error("validity period starting at {not_before} (Unix seconds) cannot be encoded")]
    InvalidValidity {
        /// The requested notBefore, in seconds since the Unix epoch.
        not_before: u64,
    },
    /// A name or extension could not be encoded.
    #[error("cannot encode {what}: {reason}")]
    Encoding {
        /// What was being encoded.
        what: &'static str,
        /// The encoder's message.
        reason: String,
    },
    /// The precertificate was not issued by this CA, so the CA refuses to sign its contents.
    #[error("the precertificate was not issued by this CA")]
    ForeignPrecertificate(#[source] ct::CtError),
    /// Building the final TBSCertificate from the precertificate failed.
    #[error("cannot derive the final certificate from the precertificate")]
    Precertificate(#[source] ct::CtError),
    /// The CA's signer failed.
    #[error("the CA signer failed")]
    Signing(#[source] KeyError),
}

fn enc(what: &'static str) -> impl FnOnce(der::Error) -> CertError {
    move |e| CertError::Encoding {
        what,
        reason: e.to_string(),
    }
}

/// A certificate authority: a signing key and the chain of certificates above it.
///
/// Invariant (checked by [`CertificateAuthority::new`]): the signer's public key is the
/// SubjectPublicKeyInfo of `chain[0]`, so everything it signs chains to that certificate.
#[derive(Clone)]
pub struct CertificateAuthority {
    signer: Arc<dyn Signer>,
    /// DER certificates: issuing CA first, root last.
    chain: Vec<Vec<u8>>,
    /// Subject of `chain[0]`: the issuer of every certificate this CA builds.
    subject: Name,
    /// keyIdentifier for the AuthorityKeyIdentifier of issued certificates.
    key_identifier: Vec<u8>,
    /// The signatureAlgorithm matching the signer.
    signature_algorithm: AlgorithmIdentifierOwned,
}

impl std::fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateAuthority")
            .field("subject", &self.subject.to_string())
            .field("algorithm", &self.signer.algorithm())
            .field("chain_len", &self.chain.len())
            .finish_non_exhaustive()
    }
}

impl CertificateAuthority {
    /// A CA signing with `signer`, whose certificate is `chain[0]` (DER), followed by any
    /// intermediates and the root last.
    ///
    /// Fails if the chain is empty or malformed, if the signer's key is not `chain[0]`'s, or if
    /// the signer's algorithm is not one a certificate can name.
    pub fn new(signer: Arc<dyn Signer>, chain: Vec<Vec<u8>>) -> Result<Self, CertError> {
        let certs = chain
            .iter()
            .enumerate()
            .map(|(index, der)| {
                Certificate::from_der(der).map_err(|e| CertError::MalformedChainCertificate {
                    index,
                    reason: e.to_string(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let issuing = certs.first().ok_or(CertError::EmptyChain)?;
        let signer_spki = SubjectPublicKeyInfoOwned::from_der(signer.public_key_der())
            .map_err(|_| CertError::KeyMismatch)?;
        let tbs = &issuing.tbs_certificate;
        if signer_spki != tbs.subject_public_key_info {
            return Err(CertError::KeyMismatch);
        }
        let signature_algorithm = signature_algorithm(signer.algorithm())?;
        let key_identifier = tbs
            .get::<SubjectKeyIdentifier>()
            .ok()
            .flatten()
            .map(|(_, ski)| ski.0.as_bytes().to_vec())
            .unwrap_or_else(|| key_identifier(&signer_spki).to_vec());
        Ok(Self {
            subject: tbs.subject.clone(),
            signer,
            chain,
            key_identifier,
            signature_algorithm,
        })
    }

    /// A CA whose root is a new self-signed certificate for `signer`'s key (`CN=<common_name>,
    /// O=sigstack`, valid for 10 years from `not_before`): how `sigstack up` creates its
    /// development CA once and keeps it in its data directory.
    pub fn self_signed(
        signer: Arc<dyn Signer>,
        common_name: &str,
        not_before: u64,
    ) -> Result<Self, CertError> {
        let root = self_signed_root(signer.as_ref(), common_name, not_before)?;
        Self::new(signer, vec![root])
    }

    /// For development and tests only: a fresh ECDSA P-256 key and a self-signed root
    /// certificate (`CN=<common_name>, O=sigstack`, CA, keyCertSign and cRLSign, valid for 10
    /// years from `not_before`, in seconds since the Unix epoch). The key exists only in
    /// memory, so certificates it issues cannot be trusted after a restart.
    pub fn ephemeral(common_name: &str, not_before: u64) -> Result<Self, CertError> {
        let signer: Arc<dyn Signer> = Arc::new(SoftwareKey::generate(Algorithm::EcdsaP256Sha256));
        let root = self_signed_root(signer.as_ref(), common_name, not_before)?;
        Self::new(signer, vec![root])
    }

    /// The chain, DER: issuing CA certificate first, root last.
    pub fn chain(&self) -> &[Vec<u8>] {
        &self.chain
    }

    /// The issuing CA certificate (DER), `chain()[0]`: the issuer of every certificate built.
    pub fn issuing_certificate(&self) -> &[u8] {
        &self.chain[0]
    }

    /// The root certificate (DER), the last of `chain()`.
    pub fn root_certificate(&self) -> &[u8] {
        &self.chain[self.chain.len() - 1]
    }

    fn sign(&self, tbs: TbsCertificate) -> Result<Vec<u8>, CertError> {
        sign_tbs(self.signer.as_ref(), tbs)
    }
}

/// A self-signed CA certificate for `signer`'s key (see [`CertificateAuthority::ephemeral`]).
fn self_signed_root(
    signer: &dyn Signer,
    common_name: &str,
    not_before: u64,
) -> Result<Vec<u8>, CertError> {
    let spki = SubjectPublicKeyInfoOwned::from_der(signer.public_key_der())
        .map_err(|e| CertError::MalformedSubjectKey(e.to_string()))?;
    let name = ca_name(common_name)?;
    let ski = key_identifier(&spki);
    let extensions = vec![
        extension(
            ID_CE_BASIC_CONSTRAINTS,
            true,
            &BasicConstraints {
                ca: true,
                path_len_constraint: None,
            },
            "BasicConstraints",
        )?,
        extension(
            ID_CE_KEY_USAGE,
            true,
            &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
            "KeyUsage",
        )?,
        extension(
            ID_CE_SUBJECT_KEY_IDENTIFIER,
            false,
            &SubjectKeyIdentifier(
                OctetString::new(ski.to_vec()).map_err(enc("SubjectKeyIdentifier"))?,
            ),
            "SubjectKeyIdentifier",
        )?,
    ];
    let signature_algorithm = signature_algorithm(signer.algorithm())?;
    let mut serial = [0u8; 20];
    serial[..16].copy_from_slice(&ski[..16]);
    let tbs = TbsCertificate {
        version: Version::V3,
        serial_number: positive_serial(serial)?,
        signature: signature_algorithm,
        issuer: name.clone(),
        validity: validity(not_before, EPHEMERAL_ROOT_LIFETIME_SECS)?,
        subject: name,
        subject_public_key_info: spki,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(extensions),
    };
    sign_tbs(signer, tbs)
}

/// The signatureAlgorithm for a CA key (no parameters, RFC 5758 and RFC 8410).
fn signature_algorithm(algorithm: Algorithm) -> Result<AlgorithmIdentifierOwned, CertError> {
    let oid = match algorithm {
        Algorithm::EcdsaP256Sha256 => ct::ECDSA_WITH_SHA256_OID,
        Algorithm::EcdsaP384Sha384 => ct::ECDSA_WITH_SHA384_OID,
        Algorithm::Ed25519 => ct::ED25519_OID,
        other => return Err(CertError::UnsupportedAlgorithm(other.name().to_owned())),
    };
    Ok(AlgorithmIdentifierOwned {
        oid,
        parameters: None,
    })
}

/// RFC 5280 section 4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING contents.
fn key_identifier(spki: &SubjectPublicKeyInfoOwned) -> [u8; 20] {
    Sha1::digest(spki.subject_public_key.raw_bytes()).into()
}

fn ca_name(common_name: &str) -> Result<Name, CertError> {
    let rdn =
        |oid: ObjectIdentifier, value: &str| -> Result<RelativeDistinguishedName, CertError> {
            let value = Any::encode_from(&Utf8StringRef::new(value).map_err(enc("CA name"))?)
                .map_err(enc("CA name"))?;
            let set = SetOfVec::try_from(vec![AttributeTypeAndValue { oid, value }])
                .map_err(enc("CA name"))?;
            Ok(RelativeDistinguishedName(set))
        };
    Ok(RdnSequence(vec![
        rdn(ID_AT_ORGANIZATION, "sigstack")?,
        rdn(ID_AT_COMMON_NAME, common_name)?,
    ]))
}

/// The serial as a positive INTEGER: the top bit is cleared. DER drops leading zero octets,
/// so the encoding is at most 20 octets (RFC 5280 section 4.1.2.2).
fn positive_serial(mut serial: [u8; 20]) -> Result<SerialNumber, CertError> {
    serial[0] &= 0x7f;
    SerialNumber::new(&serial).map_err(enc("serial number"))
}

/// RFC 5280 section 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
fn time(secs: u64, not_before: u64) -> Result<Time, CertError> {
    let invalid = || CertError::InvalidValidity { not_before };
    let d = Duration::from_secs(secs);
    let dt = der::DateTime::from_unix_duration(d).map_err(|_| invalid())?;
    if dt.year() < 2050 {
        Ok(Time::UtcTime(
            UtcTime::from_date_time(dt).map_err(|_| invalid())?,
        ))
    } else {
        Ok(Time::GeneralTime(GeneralizedTime::from_date_time(dt)))
    }
}

fn validity(not_before: u64, lifetime: u64) -> Result<Validity, CertError> {
    let not_after = not_before
        .checked_add(lifetime)
        .ok_or(CertError::InvalidValidity { not_before })?;
    Ok(Validity {
        not_before: time(not_before, not_before)?,
        not_after: time(not_after, not_before)?,
    })
}

fn extension(
    oid: ObjectIdentifier,
    critical: bool,
    value: &impl Encode,
    what: &'static str,
) -> Result<x509_cert::ext::Extension, CertError> {
    raw_extension(oid, critical, value.to_der().map_err(enc(what))?, what)
}

fn raw_extension(
    oid: ObjectIdentifier,
    critical: bool,
    value: Vec<u8>,
    what: &'static str,
) -> Result<x509_cert::ext::Extension, CertError> {
    Ok(x509_cert::ext::Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value).map_err(enc(what))?,
    })
}

/// Encodes `tbs`, has `signer` sign exactly those bytes and wraps them into a Certificate.
fn sign_tbs(signer: &dyn Signer, tbs: TbsCertificate) -> Result<Vec<u8>, CertError> {
    let tbs_der = tbs.to_der().map_err(enc("TBSCertificate"))?;
    let signature = signer.sign(&tbs_der).map_err(CertError::Signing)?;
    let cert = Certificate {
        signature_algorithm: tbs.signature.clone(),
        tbs_certificate: tbs,
        signature: BitString::from_bytes(&signature).map_err(enc("signature"))?,
    };
    cert.to_der().map_err(enc("certificate"))
}

/// Builds and signs the precertificate for `principal`'s `key`.
///
/// The Fulcio leaf profile: X.509 v3; `serial` with its top bit cleared (pass 20 random
/// bytes); issuer = the CA's subject; empty subject; valid from `not_before` (seconds since
/// the Unix epoch) for [`LEAF_LIFETIME_SECS`]; and these extensions, in order: KeyUsage
/// (critical, digitalSignature), ExtendedKeyUsage (codeSigning), SubjectKeyIdentifier (SHA-1
/// of the key), AuthorityKeyIdentifier (the CA's key identifier), SubjectAltName (critical),
/// the Sigstore identity extensions, and the critical CT poison.
pub fn build_precertificate(
    ca: &CertificateAuthority,
    principal: &Principal,
    key: &VerifiedKey,
    serial: [u8; 20],
    not_before: u64,
) -> Result<Vec<u8>, CertError> {
    ca.sign(leaf_tbs(ca, principal, key, serial, not_before, true)?)
}

/// Builds and signs a final certificate directly, without a precertificate: the profile of
/// [`build_precertificate`] without the CT poison and without an SCT list. For the
/// detached-SCT mode, where the caller submits this certificate itself to a CT log
/// (`add-chain`) and hands the SCT to the client beside the certificate, as upstream Fulcio
/// does when its CA cannot make precertificates.
pub fn build_certificate(
    ca: &CertificateAuthority,
    principal: &Principal,
    key: &VerifiedKey,
    serial: [u8; 20],
    not_before: u64,
) -> Result<Vec<u8>, CertError> {
    ca.sign(leaf_tbs(ca, principal, key, serial, not_before, false)?)
}

/// The leaf TBSCertificate, with the critical CT poison last when `poison`.
fn leaf_tbs(
    ca: &CertificateAuthority,
    principal: &Principal,
    key: &VerifiedKey,
    serial: [u8; 20],
    not_before: u64,
    poison: bool,
) -> Result<TbsCertificate, CertError> {
    let spki = SubjectPublicKeyInfoOwned::from_der(&key.spki_der)
        .map_err(|e| CertError::MalformedSubjectKey(e.to_string()))?;
    let ski =
        OctetString::new(key_identifier(&spki).to_vec()).map_err(enc("SubjectKeyIdentifier"))?;
    let aki = AuthorityKeyIdentifier {
        key_identifier: Some(
            OctetString::new(ca.key_identifier.clone()).map_err(enc("AuthorityKeyIdentifier"))?,
        ),
        authority_cert_issuer: None,
        authority_cert_serial_number: None,
    };
    let mut extensions = vec![
        extension(
            ID_CE_KEY_USAGE,
            true,
            &KeyUsage(KeyUsages::DigitalSignature.into()),
            "KeyUsage",
        )?,
        extension(
            ID_CE_EXT_KEY_USAGE,
            false,
            &ExtendedKeyUsage(vec![ID_KP_CODE_SIGNING]),
            "ExtendedKeyUsage",
        )?,
        extension(
            ID_CE_SUBJECT_KEY_IDENTIFIER,
            false,
            &SubjectKeyIdentifier(ski),
            "SubjectKeyIdentifier",
        )?,
        extension(
            ID_CE_AUTHORITY_KEY_IDENTIFIER,
            false,
            &aki,
            "AuthorityKeyIdentifier",
        )?,
    ];
    for e in std::iter::once(subject_alt_name(principal)).chain(sigstore_extensions(principal)) {
        extensions.push(raw_extension(
            e.oid,
            e.critical,
            e.value,
            "identity extension",
        )?);
    }
    if poison {
        extensions.push(raw_extension(
            ct::CT_POISON_OID,
            true,
            ct::POISON_EXTENSION_VALUE.to_vec(),
            "CT poison",
        )?);
    }
    Ok(TbsCertificate {
        version: Version::V3,
        serial_number: positive_serial(serial)?,
        signature: ca.signature_algorithm.clone(),
        issuer: ca.subject.clone(),
        validity: validity(not_before, LEAF_LIFETIME_SECS)?,
        subject: Name::default(),
        subject_public_key_info: spki,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(extensions),
    })
}

/// Builds and signs the final certificate: the precertificate's TBSCertificate with the poison
/// replaced by `scts` ([`ct::final_tbs_from_precert`]).
///
/// Refuses a precertificate this CA did not sign ([`CertError::ForeignPrecertificate`]): the
/// CA signs the precertificate's contents again, so they must be its own.
pub fn build_final_certificate(
    ca: &CertificateAuthority,
    precert_der: &[u8],
    scts: &ct::SignedCertificateTimestampList,
) -> Result<Vec<u8>, CertError> {
    ct::verify_issued_by(precert_der, ca.issuing_certificate())
        .map_err(CertError::ForeignPrecertificate)?;
    let tbs_der =
        ct::final_tbs_from_precert(precert_der, scts).map_err(CertError::Precertificate)?;
    let tbs = TbsCertificate::from_der(&tbs_der).map_err(enc("final TBSCertificate"))?;
    let cert = ca.sign(tbs)?;
    // The signature covers `tbs_der` only if re-encoding gave back the same bytes; ct builds
    // canonical DER, so this holds, but a mismatch must never leave the CA.
    let signed = ct::tbs_and_signature(&cert).map_err(CertError::Precertificate)?;
    if signed.tbs_der != tbs_der {
        return Err(CertError::Encoding {
            what: "final TBSCertificate",
            reason: "re-encoding changed the signed bytes".to_owned(),
        });
    }
    Ok(cert)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::SubjectAltName;
    use crate::pop::KeyType;
    use std::collections::BTreeMap;

    const NOW: u64 = 1_783_500_000;

    fn principal() -> Principal {
        Principal {
            san: SubjectAltName::Email("alice@example.com".into()),
            issuer: "https://accounts.example.com".into(),
            token_subject: "alice".into(),
            ci_extensions: BTreeMap::new(),
            challenge: "alice@example.com".into(),
        }
    }

    fn subject_key(algorithm: Algorithm) -> VerifiedKey {
        let key = SoftwareKey::generate(algorithm);
        VerifiedKey {
            key_type: match algorithm {
                Algorithm::Ed25519 => KeyType::Ed25519,
                Algorithm::EcdsaP384Sha384 => KeyType::EcdsaP384,
                _ => KeyType::EcdsaP256,
            },
            spki_der: key.public_key_der().to_vec(),
        }
    }

    fn ca_with(algorithm: Algorithm) -> CertificateAuthority {
        let signer: Arc<dyn Signer> = Arc::new(SoftwareKey::generate(algorithm));
        let root = self_signed_root(signer.as_ref(), "test CA", NOW).unwrap();
        CertificateAuthority::new(signer, vec![root]).unwrap()
    }

    #[test]
    fn detached_mode_certificate_is_the_precertificate_without_poison() {
        let ca = CertificateAuthority::ephemeral("sigstack dev", NOW).unwrap();
        let key = subject_key(Algorithm::EcdsaP256Sha256);
        let pre = build_precertificate(&ca, &principal(), &key, [7; 20], NOW).unwrap();
        let cert = build_certificate(&ca, &principal(), &key, [7; 20], NOW).unwrap();
        assert!(!ct::has_poison(&cert).unwrap());
        ct::verify_issued_by(&cert, ca.root_certificate()).unwrap();
        assert!(ct::SignedCertificateTimestampList::from_certificate(&cert).is_err());
        // Same TBSCertificate as the precertificate's once the poison is taken out.
        assert_eq!(
            ct::precert_tbs_from_precert(&pre).unwrap(),
            Certificate::from_der(&cert)
                .unwrap()
                .tbs_certificate
                .to_der()
                .unwrap()
        );
    }

    #[test]
    fn precert_follows_the_leaf_profile() {
        let ca = CertificateAuthority::ephemeral("sigstack dev", NOW).unwrap();
        for alg in [Algorithm::EcdsaP256Sha256, Algorithm::Ed25519] {
            let key = subject_key(alg);
            let der = build_precertificate(&ca, &principal(), &key, [0xff; 20], NOW).unwrap();
            let cert = Certificate::from_der(&der).unwrap();
            let tbs = &cert.tbs_certificate;
            assert_eq!(tbs.version, Version::V3);
            // Top bit cleared, still 20 octets.
            let serial = tbs.serial_number.as_bytes();
            assert_eq!(serial.len(), 20);
            assert_eq!(serial[0], 0x7f);
            assert!(tbs.subject.0.is_empty());
            assert_eq!(tbs.issuer, ca.subject);
            assert_eq!(
                tbs.validity.not_before.to_unix_duration().as_secs(),
                NOW,
                "{alg:?}"
            );
            assert_eq!(
                tbs.validity.not_after.to_unix_duration().as_secs(),
                NOW + 600
            );
            assert_eq!(tbs.subject_public_key_info.to_der().unwrap(), key.spki_der);
            assert_eq!(cert.signature_algorithm.oid, ct::ECDSA_WITH_SHA256_OID);
            let exts = tbs.extensions.as_ref().unwrap();
            let got: Vec<(String, bool)> = exts
                .iter()
                .map(|e| (e.extn_id.to_string(), e.critical))
                .collect();
            let mut want = vec![
                ("2.5.29.15".to_owned(), true),
                ("2.5.29.37".to_owned(), false),
                ("2.5.29.14".to_owned(), false),
                ("2.5.29.35".to_owned(), false),
                ("2.5.29.17".to_owned(), true),
            ];
            want.extend(
                sigstore_extensions(&principal())
                    .into_iter()
                    .map(|e| (e.oid.to_string(), e.critical)),
            );
            want.push(("1.3.6.1.4.1.11129.2.4.3".to_owned(), true));
            assert_eq!(got, want);
            // KeyUsage digitalSignature only; EKU codeSigning only.
            let (_, ku) = tbs.get::<KeyUsage>().unwrap().unwrap();
            assert_eq!(ku, KeyUsage(KeyUsages::DigitalSignature.into()));
            let (_, eku) = tbs.get::<ExtendedKeyUsage>().unwrap().unwrap();
            assert_eq!(eku.0, vec![ID_KP_CODE_SIGNING]);
            // SKI is SHA-1 of the subject key, AKI the CA certificate's SKI.
            let (_, ski) = tbs.get::<SubjectKeyIdentifier>().unwrap().unwrap();
            let spki = SubjectPublicKeyInfoOwned::from_der(&key.spki_der).unwrap();
            assert_eq!(ski.0.as_bytes(), key_identifier(&spki));
            let (_, aki) = tbs.get::<AuthorityKeyIdentifier>().unwrap().unwrap();
            let root = Certificate::from_der(ca.root_certificate()).unwrap();
            let (_, root_ski) = root
                .tbs_certificate
                .get::<SubjectKeyIdentifier>()
                .unwrap()
                .unwrap();
            assert_eq!(aki.key_identifier.unwrap(), root_ski.0);
            assert!(ct::has_poison(&der).unwrap());
            ct::verify_issued_by(&der, ca.root_certificate()).unwrap();
        }
    }

    #[test]
    fn serial_with_leading_zero_octet_is_shortened_not_negative() {
        let ca = CertificateAuthority::ephemeral("dev", NOW).unwrap();
        let mut serial = [0x80u8; 20];
        serial[1] = 0x01;
        let der = build_precertificate(
            &ca,
            &principal(),
            &subject_key(Algorithm::EcdsaP256Sha256),
            serial,
            NOW,
        )
        .unwrap();
        let cert = Certificate::from_der(&der).unwrap();
        assert_eq!(cert.tbs_certificate.serial_number.as_bytes().len(), 19);
    }

    #[test]
    fn signature_algorithm_follows_the_ca_key() {
        for (alg, oid) in [
            (Algorithm::EcdsaP256Sha256, ct::ECDSA_WITH_SHA256_OID),
            (Algorithm::EcdsaP384Sha384, ct::ECDSA_WITH_SHA384_OID),
            (Algorithm::Ed25519, ct::ED25519_OID),
        ] {
            let ca = ca_with(alg);
            let der = build_precertificate(
                &ca,
                &principal(),
                &subject_key(Algorithm::EcdsaP256Sha256),
                [7; 20],
                NOW,
            )
            .unwrap();
            let cert = Certificate::from_der(&der).unwrap();
            assert_eq!(cert.signature_algorithm.oid, oid);
            assert_eq!(cert.tbs_certificate.signature.oid, oid);
            ct::verify_issued_by(&der, ca.issuing_certificate()).unwrap();
        }
    }

    #[test]
    fn constructor_checks_the_key_and_chain() {
        let ca = ca_with(Algorithm::EcdsaP256Sha256);
        let other: Arc<dyn Signer> = Arc::new(SoftwareKey::generate(Algorithm::EcdsaP256Sha256));
        assert!(matches!(
            CertificateAuthority::new(other.clone(), ca.chain().to_vec()),
            Err(CertError::KeyMismatch)
        ));
        assert!(matches!(
            CertificateAuthority::new(other.clone(), vec![]),
            Err(CertError::EmptyChain)
        ));
        assert!(matches!(
            CertificateAuthority::new(other, vec![b"junk".to_vec()]),
            Err(CertError::MalformedChainCertificate { index: 0, .. })
        ));
    }

    #[test]
    fn aki_falls_back_to_the_key_hash_without_ca_ski() {
        // A CA certificate without SubjectKeyIdentifier.
        let signer: Arc<dyn Signer> = Arc::new(SoftwareKey::generate(Algorithm::EcdsaP256Sha256));
        let root = self_signed_root(signer.as_ref(), "no ski", NOW).unwrap();
        let mut cert = Certificate::from_der(&root).unwrap();
        cert.tbs_certificate
            .extensions
            .as_mut()
            .unwrap()
            .retain(|e| e.extn_id != ID_CE_SUBJECT_KEY_IDENTIFIER);
        let root = sign_tbs(signer.as_ref(), cert.tbs_certificate).unwrap();
        let ca = CertificateAuthority::new(signer.clone(), vec![root]).unwrap();
        let spki = SubjectPublicKeyInfoOwned::from_der(signer.public_key_der()).unwrap();
        assert_eq!(ca.key_identifier, key_identifier(&spki));
    }

    #[test]
    fn final_certificate_refuses_foreign_precertificates() {
        let ca = ca_with(Algorithm::EcdsaP256Sha256);
        let other = ca_with(Algorithm::EcdsaP256Sha256);
        let key = subject_key(Algorithm::EcdsaP256Sha256);
        let precert = build_precertificate(&other, &principal(), &key, [1; 20], NOW).unwrap();
        let log = SoftwareKey::generate(Algorithm::EcdsaP256Sha256);
        let entry = ct::SignedEntry::Precert {
            issuer_key_hash: ct::issuer_key_hash(other.issuing_certificate()).unwrap(),
            tbs_certificate: ct::Asn1Cert::new(ct::precert_tbs_from_precert(&precert).unwrap())
                .unwrap(),
        };
        let sct = ct::sign_sct(&log, NOW * 1000, &entry, ct::CtExtensions::empty()).unwrap();
        let scts = ct::SignedCertificateTimestampList::new(vec![sct]).unwrap();
        assert!(matches!(
            build_final_certificate(&ca, &precert, &scts),
            Err(CertError::ForeignPrecertificate(_))
        ));
        // The issuing CA, given a final certificate instead of a precertificate, refuses too.
        let final_der = build_final_certificate(&other, &precert, &scts).unwrap();
        assert!(matches!(
            build_final_certificate(&other, &final_der, &scts),
            Err(CertError::Precertificate(_))
        ));
    }

    #[test]
    fn times_switch_to_generalized_time_in_2050() {
        let y2050 = 2_524_608_000; // 2050-01-01T00:00:00Z
        assert!(matches!(time(y2050 - 1, 0).unwrap(), Time::UtcTime(_)));
        assert!(matches!(time(y2050, 0).unwrap(), Time::GeneralTime(_)));
        assert!(matches!(
            validity(u64::MAX, 1),
            Err(CertError::InvalidValidity { .. })
        ));
    }
}
