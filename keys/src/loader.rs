//! Where a service's signing keys come from: a PKCS#11 URI or a PEM file, encrypted or not,
//! under one policy for the whole process.

use std::path::Path;
use std::sync::Arc;

use zeroize::Zeroizing;

use crate::pkcs11::{Pkcs11Key, Pkcs11Uri};
use crate::{Algorithm, KeyError, Signer, SoftwareKey};

/// Whether plaintext key files may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaintextKeys {
    /// Development: `sigstack up`, tests, and operators who said `--insecure-plaintext-key`.
    Allowed,
    /// Production: a key is in a token or an encrypted file.
    Refused,
}

/// Loads the keys named on a command line under one policy: `pkcs11:` URIs from their token,
/// `ENCRYPTED PRIVATE KEY` files with the process's password, plaintext files only where
/// allowed. Never falls back from one kind to another.
pub struct KeyLoader {
    password: Option<Zeroizing<Vec<u8>>>,
    plaintext: PlaintextKeys,
}

impl std::fmt::Debug for KeyLoader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyLoader")
            .field("password", &self.password.as_ref().map(|_| "(set)"))
            .field("plaintext", &self.plaintext)
            .finish()
    }
}

impl KeyLoader {
    /// A loader with `password` for encrypted key files (and new ones) under `plaintext`.
    pub fn new(password: Option<Zeroizing<Vec<u8>>>, plaintext: PlaintextKeys) -> Self {
        Self {
            password,
            plaintext,
        }
    }

    /// Plaintext files allowed, no password: `sigstack up` and tests.
    pub fn development() -> Self {
        Self::new(None, PlaintextKeys::Allowed)
    }

    /// Whether plaintext key files are allowed.
    pub fn plaintext(&self) -> PlaintextKeys {
        self.plaintext
    }

    /// Whether new key files are written encrypted.
    pub fn encrypts(&self) -> bool {
        self.password.is_some()
    }

    /// The same password, under another plaintext policy.
    pub fn with_plaintext(&self, plaintext: PlaintextKeys) -> Self {
        Self::new(self.password.clone(), plaintext)
    }

    /// The key `spec` names: a `pkcs11:` URI, or the path of a PEM file.
    pub fn load(&self, spec: &Path) -> Result<Arc<dyn Signer>, KeyError> {
        if let Some(uri) = spec.to_str().filter(|s| Pkcs11Uri::is_uri(s)) {
            return Ok(Arc::new(Pkcs11Key::open(&uri.parse()?)?));
        }
        let pem = Zeroizing::new(
            std::fs::read_to_string(spec).map_err(|source| KeyError::Io {
                path: spec.to_owned(),
                source,
            })?,
        );
        self.from_pem(spec, &pem)
    }

    /// The key in `pem`, read from the file `spec` (named in errors), under this loader's
    /// password and plaintext policy.
    pub fn from_pem(&self, spec: &Path, pem: &str) -> Result<Arc<dyn Signer>, KeyError> {
        let with_path = |e: KeyError| match e {
            KeyError::Malformed(m) => KeyError::Malformed(format!("{}: {m}", spec.display())),
            KeyError::WrongPassword | KeyError::PasswordRequired => {
                KeyError::Malformed(format!("{}: {e}", spec.display()))
            }
            other => other,
        };
        if pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
            let password = self.password.as_ref().ok_or(KeyError::PasswordRequired);
            return Ok(Arc::new(
                password
                    .and_then(|p| SoftwareKey::from_encrypted_pkcs8_pem(pem, p))
                    .map_err(with_path)?,
            ));
        }
        let key = SoftwareKey::from_pkcs8_pem(pem).map_err(with_path)?;
        if self.plaintext == PlaintextKeys::Refused {
            return Err(KeyError::PlaintextRefused(spec.to_owned()));
        }
        Ok(Arc::new(key))
    }

    /// The key `spec` names, or for a file that does not exist yet, a new key of `algorithm`
    /// written there (owner-only, encrypted when the loader has a password; refused as
    /// plaintext where plaintext is refused). A PKCS#11 key is never made implicitly: generate
    /// it in the token first (`sigstack keys generate`).
    pub fn load_or_generate(
        &self,
        spec: &Path,
        algorithm: Algorithm,
    ) -> Result<Arc<dyn Signer>, KeyError> {
        let is_uri = spec.to_str().is_some_and(Pkcs11Uri::is_uri);
        if is_uri || spec.exists() {
            return self.load(spec);
        }
        Ok(Arc::new(self.generate_file(spec, algorithm)?))
    }

    /// `key` as an `ENCRYPTED PRIVATE KEY` PEM under this loader's password.
    pub fn encrypt_pem(&self, key: &SoftwareKey) -> Result<String, KeyError> {
        let password = self.password.as_ref().ok_or(KeyError::PasswordRequired)?;
        key.to_encrypted_pkcs8_pem(password)
    }

    /// Writes a new key of `algorithm` to `path` under this loader's policy.
    pub fn generate_file(
        &self,
        path: &Path,
        algorithm: Algorithm,
    ) -> Result<SoftwareKey, KeyError> {
        let key = SoftwareKey::generate(algorithm);
        let pem = match (&self.password, self.plaintext) {
            (Some(password), _) => key.to_encrypted_pkcs8_pem(password)?,
            (None, PlaintextKeys::Allowed) => key.to_pkcs8_pem()?,
            (None, PlaintextKeys::Refused) => {
                return Err(KeyError::PasswordNeededToWrite(path.to_owned()))
            }
        };
        crate::files::write_atomically(path, pem.as_bytes(), crate::files::FileAccess::OwnerOnly)
            .map_err(|source| KeyError::Io {
            path: path.to_owned(),
            source,
        })?;
        Ok(key)
    }
}

/// A password from a file: its contents without one trailing newline (as `echo` leaves it).
pub fn password_from_file(path: &Path) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let mut bytes = Zeroizing::new(std::fs::read(path).map_err(|source| KeyError::Io {
        path: path.to_owned(),
        source,
    })?);
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
    }
    if bytes.is_empty() {
        return Err(KeyError::Malformed(format!(
            "{}: the password file is empty",
            path.display()
        )));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password(p: &str) -> Option<Zeroizing<Vec<u8>>> {
        Some(Zeroizing::new(p.as_bytes().to_vec()))
    }

    #[test]
    fn encrypted_files_need_the_right_password_and_plaintext_follows_the_policy() {
        let dir = tempfile::tempdir().unwrap();
        let enc = dir.path().join("enc.pem");
        let production = KeyLoader::new(password("correct horse"), PlaintextKeys::Refused);
        let made = production
            .load_or_generate(&enc, Algorithm::Ed25519)
            .unwrap();
        let text = std::fs::read_to_string(&enc).unwrap();
        assert!(
            text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
            "{text}"
        );
        let again = production.load(&enc).unwrap();
        assert_eq!(made.public_key_der(), again.public_key_der());

        let wrong = KeyLoader::new(password("wrong"), PlaintextKeys::Refused);
        let err = wrong.load(&enc).err().unwrap().to_string();
        assert!(
            err.contains("wrong password") && err.contains("enc.pem"),
            "{err}"
        );
        let none = KeyLoader::new(None, PlaintextKeys::Allowed);
        let err = none.load(&enc).err().unwrap().to_string();
        assert!(err.contains("no password"), "{err}");

        let plain = dir.path().join("plain.pem");
        KeyLoader::development()
            .load_or_generate(&plain, Algorithm::EcdsaP256Sha256)
            .unwrap();
        assert!(matches!(
            production.load(&plain),
            Err(KeyError::PlaintextRefused(_))
        ));
        assert!(matches!(
            KeyLoader::new(None, PlaintextKeys::Refused)
                .load_or_generate(&dir.path().join("new.pem"), Algorithm::Ed25519),
            Err(KeyError::PasswordNeededToWrite(_))
        ));
        assert!(!dir.path().join("new.pem").exists());
    }

    #[test]
    fn openssl_encrypted_keys_load() {
        // `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -aes-256-cbc
        // -pass pass:sigstack`: PBES2 with PBKDF2-HMAC-SHA256, OpenSSL 3's default.
        let Ok(out) = std::process::Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-aes-256-cbc",
                "-pass",
                "pass:sigstack",
            ])
            .output()
        else {
            eprintln!("openssl is not installed: the OpenSSL-made key is not tried");
            return;
        };
        assert!(out.status.success());
        let pem = String::from_utf8(out.stdout).unwrap();
        let key = SoftwareKey::from_encrypted_pkcs8_pem(&pem, b"sigstack").unwrap();
        assert_eq!(key.algorithm(), Algorithm::EcdsaP256Sha256);
        assert!(matches!(
            SoftwareKey::from_encrypted_pkcs8_pem(&pem, b"other"),
            Err(KeyError::WrongPassword)
        ));
    }

    #[test]
    fn password_files_lose_one_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        std::fs::write(&path, "s3cret\n").unwrap();
        assert_eq!(&**password_from_file(&path).unwrap(), b"s3cret");
        std::fs::write(&path, "\n").unwrap();
        assert!(password_from_file(&path).is_err());
    }
}
