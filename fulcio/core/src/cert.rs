//! Certificate assembly: the precertificate a CT log is asked to log, and the final certificate
//! carrying the log's SCTs.
//!
//! The flow (RFC 6962 section 3.1, as upstream Fulcio's `pkg/ca` does it):
//! 1. [`build_precertificate`]: the Fulcio leaf profile, with the identity extensions of
//!    [`crate::subject_alt_name`] and [`crate::sigstore_extensions`], plus the critical CT
//!    poison; signed by the CA.
//! 2. The caller submits it to a CT log and gets SCTs back (I/O, not here).
//! 3. [`build_final_certificate`]: the same TBSCertificate with the poison replaced in place by
//!    the SCT list ([`ct::final_tbs`]), signed by the CA.
//!
//! The CA key is only ever used through [`sigstack_keys::Signer`]: the TBSCertificate is built
//! here, encoded in DER and handed to the signer, so an HSM- or KMS-held key works unchanged.

use std::sync::Arc;

use sha2::{Digest, Sha256};
use sigstack_keys::{Algorithm, KeyError, Signer, SoftwareKey};
use sigstack_x509::{
    authority_key_identifier_extension, basic_constraints_extension, certificate_key_identifier,
    extended_key_usage_extension, key_identifier, key_usage_extension, name, parse_spki,
    positive_serial, raw_extension, sign_tbs, signature_algorithm, signer_chain,
    subject_key_identifier_extension, validity, X509Error,
};
use spki::{AlgorithmIdentifierOwned, ObjectIdentifier};
use x509_cert::ext::pkix::{KeyUsage, KeyUsages};
use x509_cert::name::Name;
use x509_cert::{TbsCertificate, Version};

use crate::identity::Principal;
use crate::pop::VerifiedKey;
use crate::profile::{sigstore_extensions, subject_alt_name};

/// Lifetime of a leaf certificate: 10 minutes, as upstream Fulcio.
pub const LEAF_LIFETIME_SECS: u64 = 600;
/// Lifetime of the self-signed root made by [`CertificateAuthority::ephemeral`]: 10 years.
pub const EPHEMERAL_ROOT_LIFETIME_SECS: u64 = 10 * 365 * 24 * 60 * 60;

const ID_KP_CODE_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");

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
    /// The precertificate was built by another CA, so this one refuses to sign its contents.
    #[error("the precertificate was not issued by this CA")]
    ForeignPrecertificate,
    /// Building the final TBSCertificate from the precertificate failed.
    #[error("cannot derive the final certificate from the precertificate")]
    Precertificate(#[source] ct::CtError),
    /// The CA's signer failed.
    #[error("the CA signer failed")]
    Signing(#[source] KeyError),
}

/// The shared certificate pieces fail with the variant of the same meaning here.
impl From<X509Error> for CertError {
    fn from(e: X509Error) -> Self {
        match e {
            X509Error::EmptyChain => Self::EmptyChain,
            X509Error::MalformedCertificate { index, reason } => {
                Self::MalformedChainCertificate { index, reason }
            }
            X509Error::KeyMismatch => Self::KeyMismatch,
            X509Error::UnsupportedAlgorithm(name) => Self::UnsupportedAlgorithm(name.to_owned()),
            X509Error::MalformedPublicKey(reason) => Self::MalformedSubjectKey(reason),
            X509Error::InvalidTime { secs } => Self::InvalidValidity { not_before: secs },
            X509Error::InvalidValidity { not_before } => Self::InvalidValidity { not_before },
            X509Error::Encoding { what, source } => Self::Encoding {
                what,
                reason: source.to_string(),
            },
            X509Error::Signing(e) => Self::Signing(e),
        }
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
    /// `chain` as PEM, which every issuance answers with: encoded once, here.
    chain_pem: Vec<String>,
    /// Subject of `chain[0]`: the issuer of every certificate this CA builds.
    subject: Name,
    /// keyIdentifier for the AuthorityKeyIdentifier of issued certificates.
    key_identifier: Vec<u8>,
    /// The signatureAlgorithm matching the signer.
    signature_algorithm: AlgorithmIdentifierOwned,
    /// SHA-256 of `chain[0]`: which CA a [`Precertificate`] came from.
    issuing_fingerprint: [u8; 32],
}

/// A precertificate signed by a [`CertificateAuthority`] ([`build_precertificate`]), and the
/// only thing [`build_final_certificate`] takes: the CA signs again only the contents of
/// precertificates it built itself, which the type guarantees without verifying its own
/// signature a second time (the CT log verifies it before it answers with an SCT).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Precertificate {
    der: Vec<u8>,
    /// What was signed: the final certificate's TBSCertificate is made from it, so the CA
    /// never parses its own precertificate back.
    tbs: TbsCertificate,
    /// The `issuing_fingerprint` of the CA that signed it.
    issuer: [u8; 32],
    /// notAfter, Unix seconds.
    not_after: u64,
}

impl Precertificate {
    /// The precertificate, DER: what is submitted to a CT log's `add-pre-chain`.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// Its notAfter (seconds since the Unix epoch), which the final certificate keeps: what
    /// picks the CT log shard, known here without parsing the DER back.
    pub fn not_after(&self) -> u64 {
        self.not_after
    }
}

/// A final certificate built without a precertificate ([`build_certificate`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeafCertificate {
    /// The certificate, DER.
    pub der: Vec<u8>,
    /// Its notAfter (seconds since the Unix epoch), as the CA set it.
    pub not_after: u64,
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
        let certs = signer_chain(signer.as_ref(), &chain)?;
        let tbs = &certs[0].tbs_certificate;
        let signature_algorithm = signature_algorithm(signer.algorithm())?;
        let key_identifier = certificate_key_identifier(tbs)
            .unwrap_or_else(|| key_identifier(&tbs.subject_public_key_info).to_vec());
        let chain_pem = chain
            .iter()
            .map(|der| certificate_pem(der))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            subject: tbs.subject.clone(),
            signer,
            issuing_fingerprint: Sha256::digest(&chain[0]).into(),
            chain,
            chain_pem,
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

    /// A CA whose issuing certificate is an intermediate for `signer`'s key, signed by
    /// `root_signer`, under a new self-signed root for `root_signer`'s key (`CN=<common_name>`
    /// for the root, `CN=<common_name> intermediate` for the intermediate, both `O=sigstack`,
    /// valid for 10 years from `not_before`). The intermediate, as upstream Fulcio's, is a CA
    /// for code signing only (pathLen 0, EKU codeSigning), so the root key can stay offline
    /// (another token, another machine) once this is made.
    pub fn with_intermediate(
        root_signer: &dyn Signer,
        signer: Arc<dyn Signer>,
        common_name: &str,
        not_before: u64,
    ) -> Result<Self, CertError> {
        let root = self_signed_root(root_signer, common_name, not_before)?;
        let root_spki = parse_spki(root_signer.public_key_der())?;
        let root_ski = key_identifier(&root_spki);
        let spki = parse_spki(signer.public_key_der())?;
        let ski = key_identifier(&spki);
        let extensions = vec![
            basic_constraints_extension(true, Some(0))?,
            key_usage_extension(KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign))?,
            extended_key_usage_extension(vec![ID_KP_CODE_SIGNING], false)?,
            subject_key_identifier_extension(&ski)?,
            authority_key_identifier_extension(&root_ski)?,
        ];
        let mut serial = [0u8; 20];
        serial[..16].copy_from_slice(&ski[..16]);
        serial[16] = 1;
        let tbs = TbsCertificate {
            version: Version::V3,
            serial_number: positive_serial(&serial)?,
            signature: signature_algorithm(root_signer.algorithm())?,
            issuer: name("sigstack", common_name)?,
            validity: validity(not_before, EPHEMERAL_ROOT_LIFETIME_SECS)?,
            subject: name("sigstack", &format!("{common_name} intermediate"))?,
            subject_public_key_info: spki,
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: Some(extensions),
        };
        let intermediate = sign_tbs(root_signer, tbs)?;
        Self::new(signer, vec![intermediate, root])
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

    /// The key the CA signs with.
    pub fn signer(&self) -> &dyn Signer {
        self.signer.as_ref()
    }

    /// The chain, DER: issuing CA certificate first, root last.
    pub fn chain(&self) -> &[Vec<u8>] {
        &self.chain
    }

    /// The chain as PEM `CERTIFICATE` blocks (LF line endings), in the order of `chain()`.
    pub fn chain_pem(&self) -> &[String] {
        &self.chain_pem
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
        Ok(sign_tbs(self.signer.as_ref(), tbs)?)
    }
}

/// A DER certificate as one PEM `CERTIFICATE` block with LF line endings.
pub fn certificate_pem(der: &[u8]) -> Result<String, CertError> {
    der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, der).map_err(|e| {
        CertError::Encoding {
            what: "PEM certificate",
            reason: e.to_string(),
        }
    })
}

/// A self-signed CA certificate for `signer`'s key (see [`CertificateAuthority::ephemeral`]).
fn self_signed_root(
    signer: &dyn Signer,
    common_name: &str,
    not_before: u64,
) -> Result<Vec<u8>, CertError> {
    let spki = parse_spki(signer.public_key_der())?;
    let name = name("sigstack", common_name)?;
    let ski = key_identifier(&spki);
    let extensions = vec![
        basic_constraints_extension(true, None)?,
        key_usage_extension(KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign))?,
        subject_key_identifier_extension(&ski)?,
    ];
    let signature_algorithm = signature_algorithm(signer.algorithm())?;
    // The serial: the first 16 octets of the key identifier, then four zero octets.
    let mut serial = [0u8; 20];
    serial[..16].copy_from_slice(&ski[..16]);
    let tbs = TbsCertificate {
        version: Version::V3,
        serial_number: positive_serial(&serial)?,
        signature: signature_algorithm,
        issuer: name.clone(),
        validity: validity(not_before, EPHEMERAL_ROOT_LIFETIME_SECS)?,
        subject: name,
        subject_public_key_info: spki,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(extensions),
    };
    Ok(sign_tbs(signer, tbs)?)
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
) -> Result<Precertificate, CertError> {
    let tbs = leaf_tbs(ca, principal, key, serial, not_before, true)?;
    Ok(Precertificate {
        der: ca.sign(tbs.clone())?,
        not_after: not_after(&tbs),
        tbs,
        issuer: ca.issuing_fingerprint,
    })
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
) -> Result<LeafCertificate, CertError> {
    let tbs = leaf_tbs(ca, principal, key, serial, not_before, false)?;
    let not_after = not_after(&tbs);
    Ok(LeafCertificate {
        der: ca.sign(tbs)?,
        not_after,
    })
}

/// The notAfter of `tbs`, Unix seconds: read from what is signed, so it is the certificate's.
fn not_after(tbs: &TbsCertificate) -> u64 {
    tbs.validity.not_after.to_unix_duration().as_secs()
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
    let spki = parse_spki(&key.spki_der)?;
    let mut extensions = vec![
        key_usage_extension(KeyUsage(KeyUsages::DigitalSignature.into()))?,
        extended_key_usage_extension(vec![ID_KP_CODE_SIGNING], false)?,
        subject_key_identifier_extension(&key_identifier(&spki))?,
        authority_key_identifier_extension(&ca.key_identifier)?,
    ];
    for e in std::iter::once(subject_alt_name(principal)).chain(sigstore_extensions(principal)) {
        extensions.push(raw_extension(e.oid, e.critical, e.value)?);
    }
    if poison {
        extensions.push(raw_extension(
            ct::CT_POISON_OID,
            true,
            ct::POISON_EXTENSION_VALUE.to_vec(),
        )?);
    }
    Ok(TbsCertificate {
        version: Version::V3,
        serial_number: positive_serial(&serial)?,
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
/// replaced by `scts` ([`ct::final_tbs`]; the same as [`ct::final_tbs_from_precert`] of its DER).
///
/// Refuses a precertificate another CA built ([`CertError::ForeignPrecertificate`]): the CA
/// signs the precertificate's contents again, so they must be its own.
pub fn build_final_certificate(
    ca: &CertificateAuthority,
    precert: &Precertificate,
    scts: &ct::SignedCertificateTimestampList,
) -> Result<Vec<u8>, CertError> {
    if precert.issuer != ca.issuing_fingerprint {
        return Err(CertError::ForeignPrecertificate);
    }
    // From the TBSCertificate the precertificate's signature covers, as built, not from its
    // DER read back: DER is canonical, so the log's precertificate TBS (the precertificate's
    // DER parsed, without the poison) is this one without the poison, and the SCTs verify.
    let tbs = ct::final_tbs(precert.tbs.clone(), scts).map_err(CertError::Precertificate)?;
    ca.sign(tbs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::SubjectAltName;
    use crate::pop::KeyType;
    use der::Decode;
    use der::Encode;
    use sigstack_x509::ID_CE_SUBJECT_KEY_IDENTIFIER;
    use spki::SubjectPublicKeyInfoOwned;
    use std::collections::BTreeMap;
    use x509_cert::ext::pkix::{AuthorityKeyIdentifier, ExtendedKeyUsage, SubjectKeyIdentifier};
    use x509_cert::Certificate;

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
        let leaf = build_certificate(&ca, &principal(), &key, [7; 20], NOW).unwrap();
        assert_eq!(leaf.not_after, NOW + LEAF_LIFETIME_SECS);
        assert_eq!(pre.not_after(), NOW + LEAF_LIFETIME_SECS);
        let cert = leaf.der;
        assert!(!ct::has_poison(&cert).unwrap());
        ct::verify_issued_by(&cert, ca.root_certificate()).unwrap();
        assert!(ct::SignedCertificateTimestampList::from_certificate(&cert).is_err());
        // Same TBSCertificate as the precertificate's once the poison is taken out.
        assert_eq!(
            ct::precert_tbs_from_precert(pre.der()).unwrap(),
            Certificate::from_der(&cert)
                .unwrap()
                .tbs_certificate
                .to_der()
                .unwrap()
        );
    }

    #[test]
    fn an_intermediate_under_an_offline_root_issues_leaves() {
        let root_key = SoftwareKey::generate(Algorithm::EcdsaP384Sha384);
        let issuing: Arc<dyn Signer> = Arc::new(SoftwareKey::generate(Algorithm::EcdsaP256Sha256));
        let ca =
            CertificateAuthority::with_intermediate(&root_key, issuing, "org CA", NOW).unwrap();
        assert_eq!(ca.chain().len(), 2);
        ct::verify_issued_by(ca.issuing_certificate(), ca.root_certificate()).unwrap();
        let leaf = build_certificate(
            &ca,
            &principal(),
            &subject_key(Algorithm::EcdsaP256Sha256),
            [9; 20],
            NOW,
        )
        .unwrap()
        .der;
        ct::verify_issued_by(&leaf, ca.issuing_certificate()).unwrap();
        let intermediate = Certificate::from_der(ca.issuing_certificate()).unwrap();
        let tbs = &intermediate.tbs_certificate;
        assert_eq!(tbs.subject.to_string(), "CN=org CA intermediate,O=sigstack");
        let (_, constraints) = tbs
            .get::<x509_cert::ext::pkix::BasicConstraints>()
            .unwrap()
            .unwrap();
        assert!(constraints.ca);
        assert_eq!(constraints.path_len_constraint, Some(0));
        let (_, eku) = tbs.get::<ExtendedKeyUsage>().unwrap().unwrap();
        assert_eq!(eku.0, vec![ID_KP_CODE_SIGNING]);
        // The leaf names the intermediate as its issuer.
        let leaf = Certificate::from_der(&leaf).unwrap();
        assert_eq!(leaf.tbs_certificate.issuer, tbs.subject);
    }

    #[test]
    fn precert_follows_the_leaf_profile() {
        let ca = CertificateAuthority::ephemeral("sigstack dev", NOW).unwrap();
        for alg in [Algorithm::EcdsaP256Sha256, Algorithm::Ed25519] {
            let key = subject_key(alg);
            let pre = build_precertificate(&ca, &principal(), &key, [0xff; 20], NOW).unwrap();
            let der = pre.der();
            let cert = Certificate::from_der(der).unwrap();
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
            assert!(ct::has_poison(der).unwrap());
            ct::verify_issued_by(der, ca.root_certificate()).unwrap();
        }
    }

    #[test]
    fn serial_with_leading_zero_octet_is_shortened_not_negative() {
        let ca = CertificateAuthority::ephemeral("dev", NOW).unwrap();
        let mut serial = [0x80u8; 20];
        serial[1] = 0x01;
        let pre = build_precertificate(
            &ca,
            &principal(),
            &subject_key(Algorithm::EcdsaP256Sha256),
            serial,
            NOW,
        )
        .unwrap();
        let cert = Certificate::from_der(pre.der()).unwrap();
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
            let pre = build_precertificate(
                &ca,
                &principal(),
                &subject_key(Algorithm::EcdsaP256Sha256),
                [7; 20],
                NOW,
            )
            .unwrap();
            let der = pre.der();
            let cert = Certificate::from_der(der).unwrap();
            assert_eq!(cert.signature_algorithm.oid, oid);
            assert_eq!(cert.tbs_certificate.signature.oid, oid);
            ct::verify_issued_by(der, ca.issuing_certificate()).unwrap();
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
            tbs_certificate: ct::Asn1Cert::new(
                ct::precert_tbs_from_precert(precert.der()).unwrap(),
            )
            .unwrap(),
        };
        let sct = ct::sign_sct(&log, NOW * 1000, &entry, ct::CtExtensions::empty()).unwrap();
        let scts = ct::SignedCertificateTimestampList::new(vec![sct]).unwrap();
        assert!(matches!(
            build_final_certificate(&ca, &precert, &scts),
            Err(CertError::ForeignPrecertificate)
        ));
        // Its own CA signs it; a final certificate is no `Precertificate`, so it cannot be
        // handed back in.
        let final_der = build_final_certificate(&other, &precert, &scts).unwrap();
        ct::verify_issued_by(&final_der, other.issuing_certificate()).unwrap();
        // What it signed is what the precertificate's DER gives (what a CT log and a verifier
        // of the embedded SCTs rebuild), not only what the CA kept of it.
        assert_eq!(
            ct::tbs_and_signature(&final_der).unwrap().tbs_der,
            ct::final_tbs_from_precert(precert.der(), &scts).unwrap()
        );
        assert_eq!(
            ct::precert_tbs_from_final_cert(&final_der).unwrap(),
            ct::precert_tbs_from_precert(precert.der()).unwrap()
        );
        // A CA made again from the same key and chain (a reload) is the same CA.
        let reloaded =
            CertificateAuthority::new(other.signer.clone(), other.chain.clone()).unwrap();
        let again = build_final_certificate(&reloaded, &precert, &scts).unwrap();
        assert_eq!(
            ct::tbs_and_signature(&again).unwrap().tbs_der,
            ct::tbs_and_signature(&final_der).unwrap().tbs_der
        );
    }
}
