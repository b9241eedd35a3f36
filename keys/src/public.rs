use crate::{Algorithm, KeyError};
use ecdsa::signature::Verifier;
use spki::DecodePublicKey;

/// A public key of a supported algorithm, parsed from DER `SubjectPublicKeyInfo`.
#[derive(Clone, Debug)]
pub enum PublicKey {
    /// ECDSA P-256.
    P256(p256::ecdsa::VerifyingKey),
    /// ECDSA P-384.
    P384(p384::ecdsa::VerifyingKey),
    /// Ed25519.
    Ed25519(ed25519_dalek::VerifyingKey),
}

impl PublicKey {
    /// Parses a DER `SubjectPublicKeyInfo`.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        if let Ok(k) = p256::ecdsa::VerifyingKey::from_public_key_der(der) {
            return Ok(PublicKey::P256(k));
        }
        if let Ok(k) = p384::ecdsa::VerifyingKey::from_public_key_der(der) {
            return Ok(PublicKey::P384(k));
        }
        if let Ok(k) = ed25519_dalek::VerifyingKey::from_public_key_der(der) {
            return Ok(PublicKey::Ed25519(k));
        }
        Err(KeyError::Malformed(
            "not a P-256, P-384 or Ed25519 SubjectPublicKeyInfo".into(),
        ))
    }

    /// Parses a PEM `PUBLIC KEY`.
    pub fn from_spki_pem(pem: &str) -> Result<Self, KeyError> {
        let (label, der) = spki::der::pem::decode_vec(pem.trim().as_bytes())
            .map_err(|e| KeyError::Malformed(format!("PEM: {e}")))?;
        if label != "PUBLIC KEY" {
            return Err(KeyError::Malformed(format!(
                "expected a PUBLIC KEY PEM block, found {label}"
            )));
        }
        Self::from_spki_der(&der)
    }

    /// The algorithm of this key.
    pub fn algorithm(&self) -> Algorithm {
        match self {
            PublicKey::P256(_) => Algorithm::EcdsaP256Sha256,
            PublicKey::P384(_) => Algorithm::EcdsaP384Sha384,
            PublicKey::Ed25519(_) => Algorithm::Ed25519,
        }
    }

    /// Verifies `signature` over `message` with the conventions of [`crate::Signer`].
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), KeyError> {
        let ok = match self {
            // P-256 is on every hot path (SCTs, certificate chains, Rekor entries): verify with
            // aws-lc-rs, several times faster than the pure-Rust arithmetic. The key is parsed
            // and validated by `p256` either way.
            PublicKey::P256(k) => {
                let point = k.to_encoded_point(false);
                let key = aws_lc_rs::signature::UnparsedPublicKey::new(
                    &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1,
                    point.as_bytes(),
                );
                Some(key.verify(message, signature).is_ok())
            }
            PublicKey::P384(k) => p384::ecdsa::DerSignature::from_bytes(signature)
                .ok()
                .map(|s| k.verify(message, &s).is_ok()),
            PublicKey::Ed25519(k) => ed25519_dalek::Signature::from_slice(signature)
                .ok()
                .map(|s| k.verify_strict(message, &s).is_ok()),
        };
        match ok {
            Some(true) => Ok(()),
            _ => Err(KeyError::BadSignature),
        }
    }

    /// The raw 32-byte public key of an Ed25519 key (what signed notes hash into key ids).
    pub fn ed25519_raw(&self) -> Option<[u8; 32]> {
        match self {
            PublicKey::Ed25519(k) => Some(k.to_bytes()),
            _ => None,
        }
    }
}
