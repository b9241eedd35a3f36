//! Verifying note signatures: a public key under a key name.

use super::*;

/// A public key that verifies note signatures under one key name.
///
/// Build one from a verifier key string ([`NoteVerifier::from_vkey`]) or from a key and the name
/// the log signs under ([`NoteVerifier::ed25519`], [`NoteVerifier::ecdsa_rekor`],
/// [`NoteVerifier::from_spki`]).
#[derive(Debug, Clone)]
pub struct NoteVerifier {
    pub(super) name: String,
    pub(super) key_hash: KeyHash,
    pub(super) kind: SignatureType,
    /// The key as key strings encode it: the raw 32 bytes for Ed25519, DER SPKI for ECDSA.
    pub(super) key_bytes: Vec<u8>,
    pub(super) key: PublicKey,
}

impl NoteVerifier {
    /// A verifier for Ed25519 (type `0x01`) signatures by the raw 32-byte `public_key` under
    /// `name`. For a Rekor v2 log, `name` is the log's origin (its host name).
    pub fn ed25519(name: &str, public_key: &[u8; 32]) -> Result<Self, NoteError> {
        check_name(name)?;
        let mut spki = ED25519_SPKI_PREFIX.to_vec();
        spki.extend_from_slice(public_key);
        let key = PublicKey::from_spki_der(&spki).map_err(NoteError::InvalidPublicKey)?;
        Ok(NoteVerifier {
            name: name.to_string(),
            key_hash: KeyHash::from_digest(&ed25519_key_id(name, public_key)),
            kind: SignatureType::Ed25519,
            key_bytes: public_key.to_vec(),
            key,
        })
    }

    /// A verifier for Rekor-style ECDSA signatures by the P-256 key `spki_der` under `name`.
    /// For Rekor v1, `name` is the log's host name (`rekor.sigstore.dev`), not the origin line.
    pub fn ecdsa_rekor(name: &str, spki_der: &[u8]) -> Result<Self, NoteError> {
        check_name(name)?;
        let key = PublicKey::from_spki_der(spki_der).map_err(NoteError::InvalidPublicKey)?;
        if key.algorithm() != Algorithm::EcdsaP256Sha256 {
            return Err(NoteError::UnsupportedKey {
                reason: "Rekor-style ECDSA note signatures need a P-256 key",
            });
        }
        Ok(NoteVerifier {
            name: name.to_string(),
            key_hash: KeyHash::from_digest(&sigstack_keys::key_id(spki_der)),
            kind: SignatureType::EcdsaRekor,
            key_bytes: spki_der.to_vec(),
            key,
        })
    }

    /// A verifier for the DER `SubjectPublicKeyInfo` `spki_der`, picking the signature type
    /// from the key: Ed25519 keys verify type `0x01`, P-256 keys Rekor-style ECDSA. This is how
    /// a key from a trusted root (`publicKey.rawBytes`) becomes a checkpoint verifier.
    pub fn from_spki(name: &str, spki_der: &[u8]) -> Result<Self, NoteError> {
        let key = PublicKey::from_spki_der(spki_der).map_err(NoteError::InvalidPublicKey)?;
        match key.ed25519_raw() {
            Some(raw) => Self::ed25519(name, &raw),
            None => Self::ecdsa_rekor(name, spki_der),
        }
    }

    /// Parses a verifier key string `<name>+<8 hex digit key hash>+<base64(type || key)>`, with
    /// type `0x01` (32-byte Ed25519 key) or `0x02` (DER SPKI of a P-256 key). The key hash must
    /// match the key. Surrounding whitespace, such as a key file's final newline, is ignored.
    pub fn from_vkey(vkey: &str) -> Result<Self, NoteError> {
        let vkey = vkey.trim();
        let (name, rest) = vkey.split_once('+').ok_or(NoteError::InvalidKeyString {
            reason: "expected <name>+<hash>+<key>",
        })?;
        let (stated, raw) = parse_hash_and_key(rest)?;
        check_name(name)?;
        let verifier = match raw.split_first() {
            Some((&0x01, key)) => {
                let key: &[u8; 32] = key.try_into().map_err(|_| NoteError::InvalidKeyString {
                    reason: "an Ed25519 key must be 32 bytes",
                })?;
                Self::ed25519(name, key)?
            }
            Some((&0x02, der)) => Self::ecdsa_rekor(name, der)?,
            Some((&id, _)) => return Err(NoteError::UnsupportedSignatureType { id }),
            None => {
                return Err(NoteError::InvalidKeyString {
                    reason: "the key is empty",
                })
            }
        };
        if verifier.key_hash != stated {
            return Err(NoteError::KeyHashMismatch {
                name: name.to_string(),
                stated,
                computed: verifier.key_hash,
            });
        }
        Ok(verifier)
    }

    /// The verifier key string `<name>+<hash>+<base64(type || key)>` that
    /// [`NoteVerifier::from_vkey`] parses: what a log publishes so that others can verify it.
    pub fn to_vkey(&self) -> String {
        let mut raw = vec![self.kind.id()];
        raw.extend_from_slice(&self.key_bytes);
        format!("{}+{}+{}", self.name, self.key_hash, BASE64.encode(raw))
    }

    /// The key name signatures must carry.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key hash signatures must start with.
    pub fn key_hash(&self) -> KeyHash {
        self.key_hash
    }

    /// The signature type this verifier checks.
    pub fn signature_type(&self) -> SignatureType {
        self.kind
    }

    /// The public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.key
    }

    pub(super) fn matches(&self, sig: &NoteSignature) -> bool {
        self.name == sig.name && self.key_hash == sig.key_hash
    }

    pub(super) fn same_key(&self, other: &NoteVerifier) -> bool {
        self.kind == other.kind && self.key_bytes == other.key_bytes
    }
}

/// Splits `<8 hex digits>+<base64>` and decodes both.
pub(super) fn parse_hash_and_key(rest: &str) -> Result<(KeyHash, Vec<u8>), NoteError> {
    let (hex, b64) = rest.split_once('+').ok_or(NoteError::InvalidKeyString {
        reason: "expected <name>+<hash>+<key>",
    })?;
    if hex.len() != 8 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(NoteError::InvalidKeyString {
            reason: "the key hash must be 8 hex digits",
        });
    }
    let hash = u32::from_str_radix(hex, 16).map_err(|_| NoteError::InvalidKeyString {
        reason: "the key hash must be 8 hex digits",
    })?;
    let raw = BASE64
        .decode(b64)
        .map_err(|_| NoteError::InvalidKeyString {
            reason: "the key is not valid standard base64",
        })?;
    Ok((KeyHash(hash.to_be_bytes()), raw))
}
