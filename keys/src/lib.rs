//! Signing keys behind one small interface.
//!
//! Every service of sigstack signs something: log checkpoints, SCTs, certificates, timestamps, TUF
//! metadata. They all do it through [`Signer`], a one-method-to-sign trait, so that a key held in
//! a file today can be held by an HSM tomorrow without touching the services.
//!
//! Conventions (the ones Sigstore clients verify against):
//! - ECDSA keys sign the SHA-256 (P-256) or SHA-384 (P-384) digest of the message and return an
//!   ASN.1 DER `Ecdsa-Sig-Value`.
//! - Ed25519 keys sign the message itself (pure Ed25519) and return the raw 64-byte signature.
//! - A key is identified by the SHA-256 of its DER `SubjectPublicKeyInfo` ([`key_id`]), which is
//!   what Rekor and CT clients call the log ID.

pub mod files;
mod loader;
pub mod pkcs11;
mod public;
mod software;

pub use loader::{password_from_file, KeyLoader, PlaintextKeys};
pub use pkcs11::{Pkcs11Key, Pkcs11Uri};
pub use public::{
    ClientKeyKind, ClientPublicKey, HashAlgorithm, Jwk, P256Key, PublicKey, RsaPublicKey,
    RSA_MAX_BITS, RSA_MIN_BITS, SHA256_OID, SHA384_OID, SHA512_OID,
};
pub use software::SoftwareKey;

use sha2::{Digest, Sha256};

/// The signature algorithms sigstack keys support.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// ECDSA on NIST P-256 over SHA-256, DER signatures.
    EcdsaP256Sha256,
    /// ECDSA on NIST P-384 over SHA-384, DER signatures.
    EcdsaP384Sha384,
    /// Pure Ed25519, raw 64-byte signatures.
    Ed25519,
}

impl Algorithm {
    /// The name used in configuration files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::EcdsaP256Sha256 => "ecdsa-p256",
            Algorithm::EcdsaP384Sha384 => "ecdsa-p384",
            Algorithm::Ed25519 => "ed25519",
        }
    }
}

impl std::str::FromStr for Algorithm {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        match s {
            "ecdsa-p256" | "p256" => Ok(Algorithm::EcdsaP256Sha256),
            "ecdsa-p384" | "p384" => Ok(Algorithm::EcdsaP384Sha384),
            "ed25519" => Ok(Algorithm::Ed25519),
            other => Err(KeyError::UnsupportedAlgorithm(other.to_string())),
        }
    }
}

/// Errors from loading, using or verifying keys.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key file could not be read or written.
    #[error("key file {path}: {source}")]
    Io {
        /// The file concerned.
        path: std::path::PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The key material is not a PKCS#8 / SPKI key of a supported type.
    #[error("malformed or unsupported key: {0}")]
    Malformed(String),
    /// The algorithm named is not one we support.
    #[error("unsupported key algorithm {0:?} (supported: ecdsa-p256, ecdsa-p384, ed25519)")]
    UnsupportedAlgorithm(String),
    /// A client key on an elliptic curve we do not accept.
    #[error("unsupported elliptic curve {0}: only P-256, P-384 and P-521 are accepted")]
    UnsupportedCurve(String),
    /// A client RSA key outside the accepted sizes.
    #[error("RSA key of {bits} bits not accepted: must be {min} to {max} bits", min = public::RSA_MIN_BITS, max = public::RSA_MAX_BITS)]
    RsaKeySize {
        /// Modulus length.
        bits: usize,
    },
    /// A client key of a type that is neither EC, Ed25519 nor RSA (its algorithm OID or JWK type).
    #[error("unsupported public key algorithm {0}")]
    UnsupportedKeyType(String),
    /// The key file is encrypted (`ENCRYPTED PRIVATE KEY`) and no password was given.
    #[error("the key is encrypted and no password was given (--key-password-file or SIGSTACK_KEY_PASSWORD)")]
    PasswordRequired,
    /// The password does not decrypt the key file.
    #[error("wrong password for the encrypted key (or the file is corrupt)")]
    WrongPassword,
    /// A plaintext key file where the policy demands an encrypted key or an HSM.
    #[error("{0} is a plaintext private key: encrypt it (`sigstack keys encrypt`), keep the key in a PKCS#11 token, or pass --insecure-plaintext-key")]
    PlaintextRefused(std::path::PathBuf),
    /// A new key file would be plaintext where plaintext is refused.
    #[error("{0}: a new key is written encrypted, and no key password was given (--key-password-file or SIGSTACK_KEY_PASSWORD); --insecure-plaintext-key writes it in plaintext")]
    PasswordNeededToWrite(std::path::PathBuf),
    /// A PKCS#11 URI that does not parse, a module that does not load, a token, object or PIN
    /// that is wrong.
    #[error("PKCS#11 {uri}: {reason}")]
    Pkcs11 {
        /// The URI, without any PIN value.
        uri: String,
        /// What failed.
        reason: String,
    },
    /// The signer could not produce a signature (an HSM being unreachable, for example).
    #[error("signing failed: {0}")]
    Signing(String),
    /// A signature did not verify.
    #[error("signature verification failed")]
    BadSignature,
}

/// A private key that signs; implementations may keep the key outside the process (HSM, KMS).
///
/// Implementations MUST be safe to call from many threads at once. `sign` MAY block (an HSM
/// round-trip); async callers that care run it on a blocking thread.
pub trait Signer: Send + Sync {
    /// The algorithm this key signs with.
    fn algorithm(&self) -> Algorithm;
    /// The public key as DER `SubjectPublicKeyInfo`.
    fn public_key_der(&self) -> &[u8];
    /// Signs `message` following the conventions in the crate documentation.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError>;
}

/// Whether `signer` signs now, with a signature its own public key verifies: what a readiness
/// probe asks of a key that may live in an HSM or a KMS.
pub fn check_signer(signer: &dyn Signer) -> Result<(), KeyError> {
    const PROBE: &[u8] = b"sigstack readiness probe";
    let signature = signer.sign(PROBE)?;
    PublicKey::from_spki_der(signer.public_key_der())?.verify(PROBE, &signature)
}

/// The SHA-256 of a DER `SubjectPublicKeyInfo`: Rekor's and CT's log ID.
pub fn key_id(spki_der: &[u8]) -> [u8; 32] {
    Sha256::digest(spki_der).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_working_signer_passes_the_probe() {
        for alg in [
            Algorithm::EcdsaP256Sha256,
            Algorithm::EcdsaP384Sha384,
            Algorithm::Ed25519,
        ] {
            check_signer(&SoftwareKey::generate(alg)).unwrap();
        }
    }

    #[test]
    fn every_algorithm_signs_and_verifies_and_rejects_tampering() {
        for alg in [
            Algorithm::EcdsaP256Sha256,
            Algorithm::EcdsaP384Sha384,
            Algorithm::Ed25519,
        ] {
            let key = SoftwareKey::generate(alg);
            let sig = key.sign(b"hello").unwrap();
            let public = PublicKey::from_spki_der(key.public_key_der()).unwrap();
            assert_eq!(public.algorithm(), alg);
            public.verify(b"hello", &sig).unwrap();
            assert!(public.verify(b"hellp", &sig).is_err());
            let mut bad = sig.clone();
            let last = bad.len() - 1;
            bad[last] ^= 1;
            assert!(public.verify(b"hello", &bad).is_err());
        }
    }

    #[test]
    fn pem_round_trip_keeps_the_key() {
        for alg in [
            Algorithm::EcdsaP256Sha256,
            Algorithm::EcdsaP384Sha384,
            Algorithm::Ed25519,
        ] {
            let key = SoftwareKey::generate(alg);
            let pem = key.to_pkcs8_pem().unwrap();
            let again = SoftwareKey::from_pkcs8_pem(&pem).unwrap();
            assert_eq!(key.public_key_der(), again.public_key_der());
            assert_eq!(again.algorithm(), alg);
        }
    }

    #[test]
    fn load_or_generate_creates_owner_only_file_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("log.key");
        let first = SoftwareKey::load_or_generate(&path, Algorithm::Ed25519).unwrap();
        let second = SoftwareKey::load_or_generate(&path, Algorithm::Ed25519).unwrap();
        assert_eq!(first.public_key_der(), second.public_key_der());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn garbage_is_rejected_not_panicked_on() {
        assert!(SoftwareKey::from_pkcs8_pem("not a key").is_err());
        assert!(PublicKey::from_spki_der(&[0x30, 0x03, 0x02, 0x01, 0x00]).is_err());
        assert!(PublicKey::from_spki_der(&[]).is_err());
    }
}
