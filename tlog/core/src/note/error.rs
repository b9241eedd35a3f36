//! Why a note could not be parsed, signed or verified.

use super::*;

/// Errors from parsing, signing or verifying a signed note.
///
/// Every message says what is wrong with the input; line numbers count from 1 over the whole
/// note, text included.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// The note is not valid UTF-8.
    #[error("note is not valid UTF-8 (invalid byte at offset {offset})")]
    InvalidUtf8 {
        /// Byte offset of the first invalid byte.
        offset: usize,
    },
    /// The note or its text contains an ASCII control character other than newline.
    #[error("note contains a control character at byte offset {offset}; only newline (U+000A) is allowed")]
    ControlCharacter {
        /// Byte offset of the control character.
        offset: usize,
    },
    /// There is no blank line separating the text from the signatures.
    #[error("note has no blank line separating its text from its signature lines")]
    MissingSeparator,
    /// A note must carry at least one signature.
    #[error("note has no signature lines; a signed note needs at least one")]
    NoSignatures,
    /// The last signature line is not followed by a newline.
    #[error("note does not end with a newline after its last signature line")]
    SignaturesNotTerminated,
    /// A line after the blank line is not a signature line.
    #[error("line {line} of the note is not a signature line of the form \"— <key name> <base64 signature>\"")]
    MalformedSignatureLine {
        /// The offending line number.
        line: usize,
    },
    /// The signature's base64 is not canonical standard base64 with padding.
    #[error("line {line} of the note has a signature that is not valid standard base64")]
    BadBase64 {
        /// The offending line number.
        line: usize,
    },
    /// A signature is too short to hold a 4-byte key hash and a signature.
    #[error("line {line} of the note has a signature shorter than 5 bytes (4-byte key hash and at least one signature byte)")]
    SignatureTooShort {
        /// The offending line number.
        line: usize,
    },
    /// More than [`MAX_SIGNATURES`] signatures.
    #[error("note has more than {max} signatures")]
    TooManySignatures {
        /// The limit, [`MAX_SIGNATURES`].
        max: usize,
    },
    /// A key name is empty or contains whitespace or `+`.
    #[error("invalid key name {name:?}: key names must be non-empty and contain no whitespace and no '+'")]
    InvalidKeyName {
        /// The rejected name.
        name: String,
    },
    /// The text to sign is empty.
    #[error("note text is empty")]
    EmptyText,
    /// The text to sign does not end with a newline.
    #[error("note text does not end with a newline")]
    TextNotTerminated,
    /// A signature has no bytes after the key hash.
    #[error("a note signature must have at least one byte after the key hash")]
    EmptySignature,
    /// A verifier key (`name+hash+key`) or signer key (`PRIVATE+KEY+name+hash+key`) string is
    /// malformed.
    #[error("malformed note key string: {reason}")]
    InvalidKeyString {
        /// What is wrong.
        reason: &'static str,
    },
    /// The key hash written in a key string does not match the key.
    #[error("key hash {stated} in the key string for {name:?} does not match its key (computed {computed})")]
    KeyHashMismatch {
        /// The key name.
        name: String,
        /// The hash written in the key string.
        stated: KeyHash,
        /// The hash computed from the name and key.
        computed: KeyHash,
    },
    /// A key string names a signature type this crate does not verify.
    #[error(
        "unsupported note signature type 0x{id:02x} (supported: 0x01 Ed25519, 0x02 ECDSA P-256)"
    )]
    UnsupportedSignatureType {
        /// The type identifier byte.
        id: u8,
    },
    /// The key is valid but cannot be used for the requested signature type.
    #[error("unsupported key for note signatures: {reason}")]
    UnsupportedKey {
        /// What is wrong.
        reason: &'static str,
    },
    /// The public key could not be parsed.
    #[error("malformed public key for note verification")]
    InvalidPublicKey(#[source] KeyError),
    /// The signing key failed to sign (an unreachable HSM, for example).
    #[error("the note signing key failed to sign")]
    Signing(#[source] KeyError),
    /// Two different verifiers share the same name and key hash, so a signature cannot be
    /// attributed.
    #[error(
        "two different verifier keys are named {name}+{key_hash}; cannot tell which one signed"
    )]
    AmbiguousVerifier {
        /// The shared key name.
        name: String,
        /// The shared key hash.
        key_hash: KeyHash,
    },
    /// A signature from a known key does not verify: the note was altered or forged.
    #[error("the signature by known key {name}+{key_hash} does not verify")]
    BadSignature {
        /// The key name.
        name: String,
        /// The key hash.
        key_hash: KeyHash,
    },
    /// No signature on the note is from one of the trusted keys.
    #[error("note has no signature from a trusted key (it is signed by: {})", list_signers(.signers))]
    NoVerifiedSignature {
        /// The `name+hash` of every (unknown) key that signed the note.
        signers: Vec<String>,
    },
}

fn list_signers(signers: &[String]) -> String {
    if signers.is_empty() {
        "nobody".to_string()
    } else {
        signers.join(", ")
    }
}
