use crate::{Algorithm, KeyError, Signer};
use ecdsa::signature::Signer as _;
use pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use spki::EncodePublicKey;
use std::path::Path;

const ENCRYPTED_LABEL: &str = "ENCRYPTED PRIVATE KEY";

/// A private key held in process memory, loaded from a PKCS#8 PEM file or generated.
pub struct SoftwareKey {
    inner: Inner,
    public_der: Vec<u8>,
}

enum Inner {
    /// Kept as both: `p256` for encoding and inspection, aws-lc-rs for fast signing.
    P256(p256::ecdsa::SigningKey, aws_lc_rs::signature::EcdsaKeyPair),
    P384(p384::ecdsa::SigningKey),
    Ed25519(ed25519_dalek::SigningKey),
}

impl std::fmt::Debug for SoftwareKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("SoftwareKey")
            .field("algorithm", &self.algorithm())
            .finish_non_exhaustive()
    }
}

impl SoftwareKey {
    /// Generates a fresh key from the operating system's random source.
    pub fn generate(algorithm: Algorithm) -> Self {
        let mut rng = rand_core::OsRng;
        let inner = match algorithm {
            Algorithm::EcdsaP256Sha256 => {
                return Self::p256(p256::ecdsa::SigningKey::random(&mut rng))
                    .expect("a freshly generated key encodes")
            }
            Algorithm::EcdsaP384Sha384 => Inner::P384(p384::ecdsa::SigningKey::random(&mut rng)),
            Algorithm::Ed25519 => Inner::Ed25519(ed25519_dalek::SigningKey::generate(&mut rng)),
        };
        Self::from_inner(inner).expect("a freshly generated key encodes")
    }

    /// Builds an Ed25519 key from its 32-byte seed (used for known-answer tests).
    pub fn ed25519_from_seed(seed: &[u8; 32]) -> Self {
        Self::from_inner(Inner::Ed25519(ed25519_dalek::SigningKey::from_bytes(seed)))
            .expect("an Ed25519 key encodes")
    }

    fn p256(key: p256::ecdsa::SigningKey) -> Result<Self, KeyError> {
        let pkcs8 = key
            .to_pkcs8_der()
            .map_err(|e| KeyError::Malformed(e.to_string()))?;
        let fast = aws_lc_rs::signature::EcdsaKeyPair::from_pkcs8(
            &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            pkcs8.as_bytes(),
        )
        .map_err(|e| KeyError::Malformed(e.to_string()))?;
        Self::from_inner(Inner::P256(key, fast))
    }

    fn from_inner(inner: Inner) -> Result<Self, KeyError> {
        let public_der = match &inner {
            Inner::P256(k, _) => k.verifying_key().to_public_key_der(),
            Inner::P384(k) => k.verifying_key().to_public_key_der(),
            Inner::Ed25519(k) => k.verifying_key().to_public_key_der(),
        }
        .map_err(|e| KeyError::Malformed(e.to_string()))?
        .into_vec();
        Ok(Self { inner, public_der })
    }

    /// Parses a PKCS#8 `PRIVATE KEY` PEM (P-256, P-384 or Ed25519).
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, KeyError> {
        let (label, der) = pkcs8::SecretDocument::from_pem(pem).map_err(|_| {
            KeyError::Malformed(
                "expected a PKCS#8 PRIVATE KEY PEM for P-256, P-384 or Ed25519".into(),
            )
        })?;
        if label == ENCRYPTED_LABEL {
            return Err(KeyError::PasswordRequired);
        }
        if label != "PRIVATE KEY" {
            return Err(KeyError::Malformed(format!(
                "a {label} PEM, not a PKCS#8 PRIVATE KEY"
            )));
        }
        Self::from_pkcs8_der(der.as_bytes())
    }

    /// Parses a PKCS#8 `PrivateKeyInfo` in DER (P-256, P-384 or Ed25519).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        let inner = if let Ok(k) = p256::ecdsa::SigningKey::from_pkcs8_der(der) {
            return Self::p256(k);
        } else if let Ok(k) = p384::ecdsa::SigningKey::from_pkcs8_der(der) {
            Inner::P384(k)
        } else if let Ok(k) = ed25519_dalek::SigningKey::from_pkcs8_der(der) {
            Inner::Ed25519(k)
        } else {
            return Err(KeyError::Malformed(
                "expected a PKCS#8 private key for P-256, P-384 or Ed25519".into(),
            ));
        };
        Self::from_inner(inner)
    }

    /// Parses a PKCS#8 `ENCRYPTED PRIVATE KEY` PEM (PBES2: scrypt or PBKDF2, with AES-CBC),
    /// as OpenSSL and upstream Fulcio's file CA write them.
    pub fn from_encrypted_pkcs8_pem(pem: &str, password: &[u8]) -> Result<Self, KeyError> {
        let (label, der) = pkcs8::Document::from_pem(pem)
            .map_err(|e| KeyError::Malformed(format!("not a PEM key: {e}")))?;
        if label != ENCRYPTED_LABEL {
            return Err(KeyError::Malformed(format!(
                "a {label} PEM, not an {ENCRYPTED_LABEL}"
            )));
        }
        let info = pkcs8::EncryptedPrivateKeyInfo::try_from(der.as_bytes())
            .map_err(|e| KeyError::Malformed(format!("encrypted PKCS#8: {e}")))?;
        // A wrong password shows as bad padding or a key that does not parse: the same error
        // either way, and never the plaintext's bytes.
        let plain = info
            .decrypt(password)
            .map_err(|_| KeyError::WrongPassword)?;
        Self::from_pkcs8_der(plain.as_bytes()).map_err(|_| KeyError::WrongPassword)
    }

    /// Encodes the key as an `ENCRYPTED PRIVATE KEY` PEM under `password`: PBES2 with scrypt
    /// (the pkcs8 crate's recommended cost) and AES-256-CBC, which OpenSSL reads too.
    pub fn to_encrypted_pkcs8_pem(&self, password: &[u8]) -> Result<String, KeyError> {
        let pem = self.to_pkcs8_pem()?;
        let (_, der) = pkcs8::SecretDocument::from_pem(&pem)
            .map_err(|e| KeyError::Malformed(e.to_string()))?;
        let info = pkcs8::PrivateKeyInfo::try_from(der.as_bytes())
            .map_err(|e| KeyError::Malformed(e.to_string()))?;
        let encrypted = info
            .encrypt(rand_core::OsRng, password)
            .map_err(|e| KeyError::Malformed(e.to_string()))?;
        let pem = encrypted
            .to_pem(ENCRYPTED_LABEL, LineEnding::LF)
            .map_err(|e| KeyError::Malformed(e.to_string()))?;
        Ok(pem.to_string())
    }

    /// Encodes the key as PKCS#8 PEM. The caller is responsible for where it goes.
    pub fn to_pkcs8_pem(&self) -> Result<String, KeyError> {
        let pem = match &self.inner {
            Inner::P256(k, _) => k.to_pkcs8_pem(LineEnding::LF),
            Inner::P384(k) => k.to_pkcs8_pem(LineEnding::LF),
            // PKCS#8 v1 (no public key inside): OpenSSL 3.0 and Python's `cryptography` refuse
            // the v2 form ed25519-dalek writes by default, and operators inspect keys with them.
            Inner::Ed25519(k) => ed25519_dalek::pkcs8::KeypairBytes {
                secret_key: k.to_bytes(),
                public_key: None,
            }
            .to_pkcs8_pem(LineEnding::LF),
        }
        .map_err(|e| KeyError::Malformed(e.to_string()))?;
        Ok(pem.to_string())
    }

    /// Loads a PKCS#8 PEM key file.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let pem = std::fs::read_to_string(path).map_err(|source| KeyError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_pkcs8_pem(&pem)
    }

    /// Loads the key at `path`, or generates one of `algorithm` and writes it there first.
    ///
    /// The file is created owner-read/write only (0600), written to a temporary name, fsynced and
    /// renamed into place, so a crash never leaves a half-written key behind.
    pub fn load_or_generate(path: &Path, algorithm: Algorithm) -> Result<Self, KeyError> {
        if path.exists() {
            return Self::load(path);
        }
        let key = Self::generate(algorithm);
        write_private_file(path, key.to_pkcs8_pem()?.as_bytes())?;
        Ok(key)
    }
}

fn write_private_file(path: &Path, contents: &[u8]) -> Result<(), KeyError> {
    crate::files::write_atomically(path, contents, crate::files::FileAccess::OwnerOnly).map_err(
        |source| KeyError::Io {
            path: path.to_owned(),
            source,
        },
    )
}

impl Signer for SoftwareKey {
    fn algorithm(&self) -> Algorithm {
        match self.inner {
            Inner::P256(..) => Algorithm::EcdsaP256Sha256,
            Inner::P384(_) => Algorithm::EcdsaP384Sha384,
            Inner::Ed25519(_) => Algorithm::Ed25519,
        }
    }

    fn public_key_der(&self) -> &[u8] {
        &self.public_der
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        Ok(match &self.inner {
            Inner::P256(_, fast) => fast
                .sign(&aws_lc_rs::rand::SystemRandom::new(), message)
                .map_err(|e| KeyError::Signing(e.to_string()))?
                .as_ref()
                .to_vec(),
            Inner::P384(k) => {
                let sig: p384::ecdsa::DerSignature = k.sign(message);
                sig.as_bytes().to_vec()
            }
            Inner::Ed25519(k) => k.sign(message).to_bytes().to_vec(),
        })
    }
}
