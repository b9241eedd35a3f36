//! TUF public keys in the securesystemslib encoding python-tuf reads.

use crate::{canonical_json, TufError};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sigstack_keys::{Algorithm, PublicKey, Signer};
use std::collections::BTreeMap;

/// DER prefix of an Ed25519 `SubjectPublicKeyInfo`; the raw 32-byte key follows.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];
/// DER prefix of a P-256 `SubjectPublicKeyInfo`; the 65-byte uncompressed point follows.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// The key scheme of ECDSA P-256 / SHA-256 (DER signatures, hex-encoded in metadata).
pub const SCHEME_ECDSA_P256: &str = "ecdsa-sha2-nistp256";
/// The key scheme of ECDSA P-384 / SHA-384.
pub const SCHEME_ECDSA_P384: &str = "ecdsa-sha2-nistp384";
/// The key scheme of pure Ed25519.
pub const SCHEME_ED25519: &str = "ed25519";

/// A key id: lowercase hex SHA-256 of the canonical JSON of the key object.
pub type KeyId = String;

/// A public key as it appears in root metadata (`keys` map) and delegations.
///
/// What we write: ECDSA keys as `keytype: "ecdsa"`, `scheme: "ecdsa-sha2-nistp256"` (or
/// `-nistp384`) with a PEM `SubjectPublicKeyInfo` in `keyval.public`; Ed25519 keys as
/// `keytype: "ed25519"`, `scheme: "ed25519"` with the raw key in hex. What we also read: the
/// legacy `keytype: "ecdsa-sha2-nistp256"` and hex-encoded SEC1 points of old Sigstore roots.
/// Unrecognised members (`x-…`, `keyid_hash_algorithms`) are kept so key ids and signatures
/// over parsed metadata stay exact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Key {
    /// `ecdsa`, `ecdsa-sha2-nistp256` (legacy) or `ed25519`.
    pub keytype: String,
    /// The signature scheme, e.g. `ecdsa-sha2-nistp256`.
    pub scheme: String,
    /// The key material.
    pub keyval: KeyVal,
    /// Members this crate does not interpret, kept verbatim.
    #[serde(flatten)]
    pub unrecognized: BTreeMap<String, Value>,
}

/// The `keyval` object of a [`Key`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyVal {
    /// PEM `SubjectPublicKeyInfo` (ECDSA), or hex (Ed25519, legacy ECDSA points).
    pub public: String,
    /// Members this crate does not interpret, kept verbatim.
    #[serde(flatten)]
    pub unrecognized: BTreeMap<String, Value>,
}

impl Key {
    /// The TUF key of a signer's public key.
    pub fn from_signer(signer: &dyn Signer) -> Result<Self, TufError> {
        Self::from_spki_der(signer.public_key_der())
    }

    /// The TUF key of a DER `SubjectPublicKeyInfo` (P-256, P-384 or Ed25519).
    pub fn from_spki_der(der: &[u8]) -> Result<Self, TufError> {
        let public = PublicKey::from_spki_der(der).map_err(|e| TufError::Malformed {
            what: "public key",
            detail: e.to_string(),
        })?;
        let (keytype, scheme, public) = match public.algorithm() {
            Algorithm::EcdsaP256Sha256 => ("ecdsa", SCHEME_ECDSA_P256, pem(der)),
            Algorithm::EcdsaP384Sha384 => ("ecdsa", SCHEME_ECDSA_P384, pem(der)),
            Algorithm::Ed25519 => (
                "ed25519",
                SCHEME_ED25519,
                hex::encode(public.ed25519_raw().expect("an Ed25519 key has raw bytes")),
            ),
            other => {
                return Err(TufError::UnsupportedKey {
                    keytype: other.name().to_owned(),
                    scheme: String::new(),
                })
            }
        };
        Ok(Key {
            keytype: keytype.to_owned(),
            scheme: scheme.to_owned(),
            keyval: KeyVal {
                public,
                unrecognized: BTreeMap::new(),
            },
            unrecognized: BTreeMap::new(),
        })
    }

    /// The key id: hex SHA-256 over the canonical JSON of this key object (all members,
    /// including unrecognised ones). Fails only if the key holds a non-integer number.
    pub fn key_id(&self) -> Result<KeyId, TufError> {
        let value = serde_json::to_value(self).map_err(|e| TufError::Malformed {
            what: "key",
            detail: e.to_string(),
        })?;
        Ok(hex::encode(Sha256::digest(canonical_json(&value)?)))
    }

    /// The verifying key, checking that keytype, scheme and encoding agree.
    pub fn public_key(&self) -> Result<PublicKey, TufError> {
        let unsupported = || TufError::UnsupportedKey {
            keytype: self.keytype.clone(),
            scheme: self.scheme.clone(),
        };
        let bad = |detail: String| TufError::Malformed {
            what: "public key",
            detail,
        };
        let material = self.keyval.public.trim();
        let (key, expected) = match (self.keytype.as_str(), self.scheme.as_str()) {
            ("ecdsa" | SCHEME_ECDSA_P256, SCHEME_ECDSA_P256) => {
                let key = if material.starts_with("-----BEGIN") {
                    PublicKey::from_spki_pem(material).map_err(|e| bad(e.to_string()))?
                } else {
                    // Legacy: hex-encoded uncompressed SEC1 point.
                    let point = hex::decode(material).map_err(|e| bad(e.to_string()))?;
                    let mut der = P256_SPKI_PREFIX.to_vec();
                    der.extend_from_slice(&point);
                    PublicKey::from_spki_der(&der).map_err(|e| bad(e.to_string()))?
                };
                (key, Algorithm::EcdsaP256Sha256)
            }
            ("ecdsa" | SCHEME_ECDSA_P384, SCHEME_ECDSA_P384) => (
                PublicKey::from_spki_pem(material).map_err(|e| bad(e.to_string()))?,
                Algorithm::EcdsaP384Sha384,
            ),
            (SCHEME_ED25519, SCHEME_ED25519) => {
                let raw = hex::decode(material).map_err(|e| bad(e.to_string()))?;
                if raw.len() != 32 {
                    return Err(bad(format!("Ed25519 key of {} bytes", raw.len())));
                }
                let mut der = ED25519_SPKI_PREFIX.to_vec();
                der.extend_from_slice(&raw);
                (
                    PublicKey::from_spki_der(&der).map_err(|e| bad(e.to_string()))?,
                    Algorithm::Ed25519,
                )
            }
            _ => return Err(unsupported()),
        };
        if key.algorithm() != expected {
            return Err(bad(format!(
                "scheme {} but the key is {}",
                self.scheme,
                key.algorithm().name()
            )));
        }
        Ok(key)
    }

    /// Verifies a hex-encoded signature over `message` (the canonical JSON of `signed`).
    pub fn verify(&self, message: &[u8], sig_hex: &str) -> Result<(), TufError> {
        let sig = hex::decode(sig_hex).map_err(|_| TufError::BadSignature)?;
        self.public_key()?
            .verify(message, &sig)
            .map_err(|_| TufError::BadSignature)
    }
}

/// PEM `PUBLIC KEY` block with 64-column lines and a final newline, as securesystemslib writes.
fn pem(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN PUBLIC KEY-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str("-----END PUBLIC KEY-----\n");
    out
}
