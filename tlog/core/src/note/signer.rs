//! Signing notes: a key under a key name (a log, a witness).

use super::verifier::parse_hash_and_key;
use super::*;

/// A key that signs notes under a name: a log's checkpoint signer, or a witness.
///
/// Wraps any [`sigstack_keys::Signer`] (software key, HSM), so the note layer never sees key
/// material. Cheap to clone.
#[derive(Clone)]
pub struct NoteSigner {
    verifier: NoteVerifier,
    signer: Arc<dyn Signer>,
}

impl fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the key, only what identifies it.
        f.debug_struct("NoteSigner")
            .field("name", &self.verifier.name)
            .field("key_hash", &self.verifier.key_hash)
            .field("signature_type", &self.verifier.kind)
            .finish_non_exhaustive()
    }
}

impl NoteSigner {
    /// A signer of Ed25519 (type `0x01`) signatures under `name`; `signer` must be an Ed25519
    /// key. For a Rekor v2 style log, `name` is the origin.
    pub fn ed25519(name: &str, signer: Arc<dyn Signer>) -> Result<Self, NoteError> {
        if signer.algorithm() != Algorithm::Ed25519 {
            return Err(NoteError::UnsupportedKey {
                reason: "an Ed25519 note signer needs an Ed25519 key",
            });
        }
        let verifier = NoteVerifier::from_spki(name, signer.public_key_der())?;
        Ok(NoteSigner { verifier, signer })
    }

    /// A signer of Rekor-style ECDSA signatures under `name`; `signer` must be a P-256 key.
    /// The key hash is computed from the signer's public key.
    pub fn ecdsa_rekor(name: &str, signer: Arc<dyn Signer>) -> Result<Self, NoteError> {
        if signer.algorithm() != Algorithm::EcdsaP256Sha256 {
            return Err(NoteError::UnsupportedKey {
                reason: "Rekor-style ECDSA note signatures need a P-256 key",
            });
        }
        let verifier = NoteVerifier::ecdsa_rekor(name, signer.public_key_der())?;
        Ok(NoteSigner { verifier, signer })
    }

    /// A signer for whatever key `signer` holds: Ed25519 keys sign type `0x01`, P-256 keys
    /// Rekor-style ECDSA. Lets a log take its key algorithm from configuration.
    pub fn new(name: &str, signer: Arc<dyn Signer>) -> Result<Self, NoteError> {
        match signer.algorithm() {
            Algorithm::Ed25519 => Self::ed25519(name, signer),
            _ => Self::ecdsa_rekor(name, signer),
        }
    }

    /// Parses a Go-style signer key string `PRIVATE+KEY+<name>+<hash>+<base64(0x01 || seed)>`
    /// (as made by `note.GenerateKey` and used by Tessera) into an in-memory Ed25519 signer.
    /// Errors never include the key.
    pub fn from_skey(skey: &str) -> Result<Self, NoteError> {
        let rest = skey
            .trim()
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(NoteError::InvalidKeyString {
                reason: "a signer key starts with PRIVATE+KEY+",
            })?;
        let (name, rest) = rest.split_once('+').ok_or(NoteError::InvalidKeyString {
            reason: "expected PRIVATE+KEY+<name>+<hash>+<key>",
        })?;
        let (stated, raw) = parse_hash_and_key(rest)?;
        check_name(name)?;
        let seed: &[u8; 32] = match raw.split_first() {
            Some((&0x01, seed)) => seed.try_into().map_err(|_| NoteError::InvalidKeyString {
                reason: "an Ed25519 seed must be 32 bytes",
            })?,
            Some((&id, _)) => return Err(NoteError::UnsupportedSignatureType { id }),
            None => {
                return Err(NoteError::InvalidKeyString {
                    reason: "the key is empty",
                })
            }
        };
        let signer = Self::ed25519(name, Arc::new(SoftwareKey::ed25519_from_seed(seed)))?;
        if signer.key_hash() != stated {
            return Err(NoteError::KeyHashMismatch {
                name: name.to_string(),
                stated,
                computed: signer.key_hash(),
            });
        }
        Ok(signer)
    }

    /// The key name signatures carry.
    pub fn name(&self) -> &str {
        &self.verifier.name
    }

    /// The key hash signatures start with.
    pub fn key_hash(&self) -> KeyHash {
        self.verifier.key_hash
    }

    /// The verifier for this signer's signatures; publish `verifier().to_vkey()` so others can
    /// check them.
    pub fn verifier(&self) -> &NoteVerifier {
        &self.verifier
    }

    /// Signs `text`, which must be a valid note text (non-empty, ending in a newline, no control
    /// characters other than newline).
    pub fn sign(&self, text: &str) -> Result<NoteSignature, NoteError> {
        check_text(text)?;
        let signature = self
            .signer
            .sign(text.as_bytes())
            .map_err(NoteError::Signing)?;
        NoteSignature::new(
            self.verifier.name.clone(),
            self.verifier.key_hash,
            signature,
        )
    }
}
