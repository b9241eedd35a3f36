//! `cosignature/v1` cosignatures ([c2sp.org/tlog-cosignature], Ed25519, signature type `0x04`).
//!
//! The signed message is `cosignature/v1\ntime <timestamp>\n` followed by the checkpoint's note
//! text; the signature line carries `key ID || u64 big-endian timestamp || Ed25519 signature`,
//! with key ID `SHA-256(name || 0x0A || 0x04 || public key)[:4]`.
//!
//! [c2sp.org/tlog-cosignature]: https://c2sp.org/tlog-cosignature

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use sigstack_keys::{Algorithm, PublicKey, Signer};
use tlog::note::{KeyHash, NoteSignature};

use crate::CosignError;

/// The signature type byte of Ed25519 checkpoint cosignatures (key IDs and verifier keys).
pub const COSIGNATURE_TYPE: u8 = 0x04;

/// The largest timestamp a cosignature may carry.
const MAX_TIMESTAMP: u64 = i64::MAX as u64;

/// The DER prefix of an Ed25519 `SubjectPublicKeyInfo` (RFC 8410), followed by the 32-byte key.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// The message a `cosignature/v1` signs: header line, time line, checkpoint note text.
pub fn cosigned_message(checkpoint_text: &str, timestamp: u64) -> Vec<u8> {
    format!("cosignature/v1\ntime {timestamp}\n{checkpoint_text}").into_bytes()
}

/// The key ID of a cosigner: `SHA-256(name || 0x0A || 0x04 || public key)[:4]`.
pub fn cosignature_key_hash(name: &str, public_key: &[u8; 32]) -> KeyHash {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', COSIGNATURE_TYPE]);
    h.update(public_key);
    let d = h.finalize();
    KeyHash::new([d[0], d[1], d[2], d[3]])
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(|c: char| c.is_whitespace() || c == '+')
}

/// A witness key signing `cosignature/v1` cosignatures under a name. The key is any Ed25519
/// [`Signer`] (file, encrypted file, PKCS#11).
#[derive(Clone)]
pub struct Cosigner {
    verifier: CosignatureVerifier,
    signer: Arc<dyn Signer>,
}

impl std::fmt::Debug for Cosigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cosigner")
            .field("name", &self.verifier.name)
            .field("key_hash", &self.verifier.key_hash)
            .finish_non_exhaustive()
    }
}

impl Cosigner {
    /// A cosigner named `name` (conventionally a schema-less URL) with the Ed25519 key `signer`.
    pub fn new(name: &str, signer: Arc<dyn Signer>) -> Result<Self, CosignError> {
        if signer.algorithm() != Algorithm::Ed25519 {
            return Err(CosignError::NotEd25519 {
                algorithm: signer.algorithm().name(),
            });
        }
        let key = PublicKey::from_spki_der(signer.public_key_der())
            .map_err(CosignError::Signing)?
            .ed25519_raw()
            .ok_or(CosignError::NotEd25519 {
                algorithm: signer.algorithm().name(),
            })?;
        let verifier = CosignatureVerifier::new(name, &key)?;
        Ok(Cosigner { verifier, signer })
    }

    /// The verifier of this cosigner's cosignatures (its verifier key is what clients and logs
    /// are configured with).
    pub fn verifier(&self) -> &CosignatureVerifier {
        &self.verifier
    }

    /// Cosigns the checkpoint whose note text is `checkpoint_text` at `timestamp` (seconds since
    /// the Unix epoch, 1 to 2^63 - 1). The caller has checked the checkpoint.
    pub fn cosign(
        &self,
        checkpoint_text: &str,
        timestamp: u64,
    ) -> Result<NoteSignature, CosignError> {
        if timestamp == 0 || timestamp > MAX_TIMESTAMP {
            return Err(CosignError::TimestampOutOfRange { timestamp });
        }
        let signature = self
            .signer
            .sign(&cosigned_message(checkpoint_text, timestamp))
            .map_err(CosignError::Signing)?;
        let mut body = timestamp.to_be_bytes().to_vec();
        body.extend_from_slice(&signature);
        NoteSignature::new(self.verifier.name.clone(), self.verifier.key_hash, body)
            .map_err(CosignError::Note)
    }
}

/// Verifies one cosigner's `cosignature/v1` cosignatures.
#[derive(Debug, Clone)]
pub struct CosignatureVerifier {
    name: String,
    key_hash: KeyHash,
    public_key: [u8; 32],
    key: PublicKey,
}

impl CosignatureVerifier {
    /// The verifier for the cosigner `name` with the raw Ed25519 key `public_key`.
    pub fn new(name: &str, public_key: &[u8; 32]) -> Result<Self, CosignError> {
        if !valid_name(name) {
            return Err(CosignError::InvalidName {
                name: name.to_string(),
            });
        }
        let mut spki = ED25519_SPKI_PREFIX.to_vec();
        spki.extend_from_slice(public_key);
        let key = PublicKey::from_spki_der(&spki).map_err(CosignError::Signing)?;
        Ok(CosignatureVerifier {
            name: name.to_string(),
            key_hash: cosignature_key_hash(name, public_key),
            public_key: *public_key,
            key,
        })
    }

    /// Parses a verifier key string `<name>+<key ID>+<base64(0x04 || 32-byte key)>`.
    pub fn from_vkey(vkey: &str) -> Result<Self, CosignError> {
        let bad = || CosignError::InvalidName {
            name: vkey.to_string(),
        };
        let mut parts = vkey.trim().splitn(3, '+');
        let (name, hash, b64) = (
            parts.next().ok_or_else(bad)?,
            parts.next().ok_or_else(bad)?,
            parts.next().ok_or_else(bad)?,
        );
        let raw = BASE64.decode(b64).map_err(|_| bad())?;
        let key: [u8; 32] = match raw.split_first() {
            Some((&COSIGNATURE_TYPE, key)) => key.try_into().map_err(|_| bad())?,
            _ => return Err(bad()),
        };
        let verifier = Self::new(name, &key)?;
        if !verifier.key_hash.to_string().eq_ignore_ascii_case(hash) {
            return Err(bad());
        }
        Ok(verifier)
    }

    /// The verifier key string `<name>+<key ID>+<base64(0x04 || key)>`.
    pub fn to_vkey(&self) -> String {
        let mut raw = vec![COSIGNATURE_TYPE];
        raw.extend_from_slice(&self.public_key);
        format!("{}+{}+{}", self.name, self.key_hash, BASE64.encode(raw))
    }

    /// The cosigner name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_hash(&self) -> KeyHash {
        self.key_hash
    }

    /// Whether `signature` is under this cosigner's name and key ID (else it is not for this
    /// verifier to check).
    pub fn matches(&self, signature: &NoteSignature) -> bool {
        signature.name() == self.name && signature.key_hash() == self.key_hash
    }

    /// Checks a cosignature of the checkpoint whose note text is `checkpoint_text`; returns its
    /// timestamp.
    pub fn verify(
        &self,
        checkpoint_text: &str,
        signature: &NoteSignature,
    ) -> Result<u64, CosignError> {
        if !self.matches(signature) {
            return Err(CosignError::BadCosignature);
        }
        let body = signature.signature();
        if body.len() != 8 + 64 {
            return Err(CosignError::BadCosignature);
        }
        let (ts, sig) = body.split_at(8);
        let timestamp = u64::from_be_bytes(ts.try_into().map_err(|_| CosignError::BadCosignature)?);
        if timestamp > MAX_TIMESTAMP {
            return Err(CosignError::BadCosignature);
        }
        self.key
            .verify(&cosigned_message(checkpoint_text, timestamp), sig)
            .map_err(|_| CosignError::BadCosignature)?;
        Ok(timestamp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sigstack_keys::SoftwareKey;

    fn cosigner() -> Cosigner {
        Cosigner::new(
            "witness.example/w1",
            Arc::new(SoftwareKey::ed25519_from_seed(&[3; 32])),
        )
        .unwrap()
    }

    #[test]
    fn cosigns_and_verifies() {
        let c = cosigner();
        let text = "example.com/log\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
        let sig = c.cosign(text, 1_679_315_147).unwrap();
        assert_eq!(sig.signature().len(), 72);
        assert_eq!(&sig.signature()[..8], &1_679_315_147u64.to_be_bytes());
        assert_eq!(c.verifier().verify(text, &sig).unwrap(), 1_679_315_147);
        // Another text, another timestamp in the line: refused.
        assert!(c.verifier().verify("other\n1\nAAAA\n", &sig).is_err());
        let mut body = sig.signature().to_vec();
        body[7] ^= 1;
        let forged = NoteSignature::new(sig.name(), sig.key_hash(), body).unwrap();
        assert!(c.verifier().verify(text, &forged).is_err());
        let vkey = c.verifier().to_vkey();
        assert!(vkey.starts_with("witness.example/w1+"));
        let back = CosignatureVerifier::from_vkey(&vkey).unwrap();
        // The key ID's hex is read in either case, as for log keys.
        let mut parts = vkey.splitn(3, '+');
        let upper = format!(
            "{}+{}+{}",
            parts.next().unwrap(),
            parts.next().unwrap().to_ascii_uppercase(),
            parts.next().unwrap()
        );
        assert_eq!(
            CosignatureVerifier::from_vkey(&upper).unwrap().to_vkey(),
            vkey
        );
        assert_eq!(back.verify(text, &sig).unwrap(), 1_679_315_147);
    }

    #[test]
    fn refuses_bad_keys_names_and_timestamps() {
        let p256 = Arc::new(SoftwareKey::generate(Algorithm::EcdsaP256Sha256));
        assert!(matches!(
            Cosigner::new("w", p256),
            Err(CosignError::NotEd25519 { .. })
        ));
        let ed = Arc::new(SoftwareKey::ed25519_from_seed(&[1; 32]));
        assert!(Cosigner::new("has space", ed.clone()).is_err());
        assert!(Cosigner::new("a+b", ed).is_err());
        let c = cosigner();
        assert!(c.cosign("x\n", 0).is_err());
        assert!(c.cosign("x\n", 1 << 63).is_err());
        assert!(c.cosign("x\n", (1 << 63) - 1).is_ok());
    }

    #[test]
    fn message_matches_the_spec_example() {
        let text =
            "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        assert_eq!(
            cosigned_message(text, 1679315147),
            b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
        );
    }
}
