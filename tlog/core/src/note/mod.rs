//! C2SP signed notes: a UTF-8 text followed by one or more signature lines.
//!
//! Logs publish their checkpoints as signed notes ([c2sp.org/signed-note]), and every client that
//! checks a checkpoint (Sigstore clients, witnesses, monitors) parses this exact format, so the
//! parser here is strict and serialising a parsed [`Note`] gives back the same bytes.
//!
//! ```text
//! rekor.sigstore.dev - 1193050959916656506      ┐
//! 33786589                                      │ text (ends with a newline)
//! ZrYR297TJTi0oux1PnfYzacxRVBAkp5eW5lpw/qFYWQ=  ┘
//!                                                 blank line
//! — rekor.sigstore.dev wNI9ajBEAiA+GpzJ...        signature lines: "— <key name> <base64(key hash || sig)>"
//! ```
//!
//! Two signature types are supported, both through [`sigstack_keys`]:
//!
//! - [`SignatureType::Ed25519`] (type `0x01`): the key hash is
//!   `SHA-256(name || 0x0A || 0x01 || public key)[:4]` and the signature is pure Ed25519 over the
//!   text. Used by Go's `sumdb/note`, Tessera, and Rekor v2.
//! - [`SignatureType::EcdsaRekor`] (type `0x02`, as implemented by transparency-dev/formats and
//!   Rekor v1): the key hash is the first 4 bytes of `SHA-256(DER SubjectPublicKeyInfo)` and the
//!   signature is a DER ECDSA signature over `SHA-256(text)`. Only P-256 is supported: the type
//!   always hashes with SHA-256, while a P-384 [`sigstack_keys::Signer`] hashes with SHA-384.
//!
//! Signatures from keys the caller does not know (witness cosignatures, RFC 6962 note signatures,
//! rotated keys) are kept and reported as unknown, never rejected, as the spec requires.
//!
//! Behaviour follows golang.org/x/mod/sumdb/note with two deliberate differences: a known key's
//! *every* signature line is checked (Go only checks the first one per key), and signatures are
//! kept in their original order in a single list so that a parsed note re-serialises exactly.
//!
//! [c2sp.org/signed-note]: https://c2sp.org/signed-note

use std::fmt;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use sigstack_keys::{Algorithm, KeyError, PublicKey, Signer, SoftwareKey};

mod error;
mod signer;
mod verifier;

pub use error::NoteError;
pub use signer::NoteSigner;
pub use verifier::NoteVerifier;

/// The most signature lines [`Note::parse`] accepts. The spec asks verifiers for a limit of at
/// least 16; Go's implementation uses 100, and so do we, so that a note with many signatures
/// cannot make a verifier spend unbounded time.
pub const MAX_SIGNATURES: usize = 100;

/// The prefix of every signature line: an em dash (U+2014) and a space.
const SIG_PREFIX: &str = "\u{2014} ";

/// The DER prefix of an Ed25519 `SubjectPublicKeyInfo` (RFC 8410), followed by the 32-byte key.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// The 4-byte key hash (C2SP "key ID") that starts every note signature and names the key.
///
/// It is an identifier, not a security property: a verifier still checks the signature with the
/// key it was configured with. Displayed as 8 lowercase hex digits, as in key strings.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyHash([u8; 4]);

impl KeyHash {
    /// Wraps the 4 bytes of a key hash, in the order they appear in a signature.
    pub const fn new(bytes: [u8; 4]) -> Self {
        KeyHash(bytes)
    }

    /// The 4 bytes, in signature order (big-endian).
    pub const fn to_bytes(self) -> [u8; 4] {
        self.0
    }

    fn from_digest(digest: &[u8; 32]) -> Self {
        KeyHash([digest[0], digest[1], digest[2], digest[3]])
    }
}

impl From<[u8; 4]> for KeyHash {
    fn from(bytes: [u8; 4]) -> Self {
        KeyHash(bytes)
    }
}

impl fmt::Display for KeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}", u32::from_be_bytes(self.0))
    }
}

impl fmt::Debug for KeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyHash({self})")
    }
}

/// The signature types this crate signs and verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureType {
    /// C2SP type `0x01`: Ed25519 over the note text.
    Ed25519,
    /// C2SP type `0x02` as Rekor v1 and transparency-dev/formats implement it: ECDSA P-256, DER
    /// signature over SHA-256 of the text, key hash = `SHA-256(DER SPKI)[:4]`.
    EcdsaRekor,
}

impl SignatureType {
    /// The C2SP signature type identifier byte, as used in key strings.
    pub const fn id(self) -> u8 {
        match self {
            SignatureType::Ed25519 => 0x01,
            SignatureType::EcdsaRekor => 0x02,
        }
    }
}

/// The full 32-byte `SHA-256(name || 0x0A || 0x01 || public key)` of an Ed25519 note key.
///
/// Its first 4 bytes are the note key hash; all 32 are the log ID that Rekor v2 publishes in
/// bundles and trusted roots (`logId.keyId`), with the log's origin as `name`.
pub fn ed25519_key_id(name: &str, public_key: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', SignatureType::Ed25519.id()]);
    h.update(public_key);
    h.finalize().into()
}

/// Whether `name` may be a key name: non-empty, no Unicode whitespace, no `+`.
fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(|c: char| c.is_whitespace() || c == '+')
}

fn check_name(name: &str) -> Result<(), NoteError> {
    if is_valid_name(name) {
        Ok(())
    } else {
        Err(NoteError::InvalidKeyName {
            name: name.to_string(),
        })
    }
}

/// The offset of the first ASCII control character other than newline, if any.
fn find_control(s: &str) -> Option<usize> {
    s.bytes().position(|b| b < 0x20 && b != b'\n')
}

/// Checks the rules a note text must follow so that the signed note parses back to it.
fn check_text(text: &str) -> Result<(), NoteError> {
    if text.is_empty() {
        return Err(NoteError::EmptyText);
    }
    if let Some(offset) = find_control(text) {
        return Err(NoteError::ControlCharacter { offset });
    }
    if !text.ends_with('\n') {
        return Err(NoteError::TextNotTerminated);
    }
    Ok(())
}

/// One signature line of a note: the key name, the key hash and the signature bytes.
///
/// Only holds valid values (a valid key name and a non-empty signature), so any note built from
/// these serialises to something [`Note::parse`] accepts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NoteSignature {
    name: String,
    key_hash: KeyHash,
    signature: Vec<u8>,
}

impl NoteSignature {
    /// Builds a signature line from its parts, for example a witness cosignature received
    /// separately that should be attached to a note.
    pub fn new(
        name: impl Into<String>,
        key_hash: KeyHash,
        signature: Vec<u8>,
    ) -> Result<Self, NoteError> {
        let name = name.into();
        check_name(&name)?;
        if signature.is_empty() {
            return Err(NoteError::EmptySignature);
        }
        Ok(NoteSignature {
            name,
            key_hash,
            signature,
        })
    }

    /// The key name on the line.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key hash the signature starts with.
    pub fn key_hash(&self) -> KeyHash {
        self.key_hash
    }

    /// The signature bytes after the key hash.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// The signature line, `— <name> <base64(key hash || signature)>\n`, as it appears in a note
    /// (and as a witness returns a cosignature).
    pub fn to_line(&self) -> String {
        let mut raw = Vec::with_capacity(4 + self.signature.len());
        raw.extend_from_slice(&self.key_hash.0);
        raw.extend_from_slice(&self.signature);
        format!("{SIG_PREFIX}{} {}\n", self.name, BASE64.encode(raw))
    }

    /// Parses one signature line (without its newline); `line` is its number, for errors.
    fn parse_line(text: &str, line: usize) -> Result<Self, NoteError> {
        let malformed = NoteError::MalformedSignatureLine { line };
        let rest = text.strip_prefix(SIG_PREFIX).ok_or(malformed)?;
        let Some((name, b64)) = rest.split_once(' ') else {
            return Err(NoteError::MalformedSignatureLine { line });
        };
        if b64.is_empty() || b64.contains(' ') {
            return Err(NoteError::MalformedSignatureLine { line });
        }
        check_name(name)?;
        let raw = BASE64
            .decode(b64)
            .map_err(|_| NoteError::BadBase64 { line })?;
        if raw.len() < 5 {
            return Err(NoteError::SignatureTooShort { line });
        }
        Ok(NoteSignature {
            name: name.to_string(),
            key_hash: KeyHash([raw[0], raw[1], raw[2], raw[3]]),
            signature: raw[4..].to_vec(),
        })
    }
}

/// The outcome of [`Note::verify`]: which signatures verified and which are from unknown keys.
///
/// Repeated signatures are listed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    verified: Vec<NoteSignature>,
    unknown: Vec<NoteSignature>,
}

impl Verified {
    /// Signatures checked against one of the verifiers, at most one per key; never empty.
    pub fn verified(&self) -> &[NoteSignature] {
        &self.verified
    }

    /// Signatures from keys that were not among the verifiers (witnesses, other signature
    /// types, rotated keys). They were not checked.
    pub fn unknown(&self) -> &[NoteSignature] {
        &self.unknown
    }

    /// Whether a signature under `verifier`'s name and key hash verified. Meaningful for the
    /// verifiers passed to [`Note::verify`]; use it to require a specific key (the log's own)
    /// when several are trusted (witnesses).
    pub fn is_verified_by(&self, verifier: &NoteVerifier) -> bool {
        self.verified.iter().any(|s| verifier.matches(s))
    }
}

/// A signed note: a text and its signatures, in order.
///
/// Always well formed: [`Note::to_bytes`] gives bytes that [`Note::parse`] accepts, and parsing
/// then serialising gives back the input byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

impl Note {
    /// Parses the structure of a signed note without checking any signature.
    ///
    /// The text must not be trusted until [`Note::verify`] succeeds.
    pub fn parse(bytes: &[u8]) -> Result<Note, NoteError> {
        let msg = std::str::from_utf8(bytes).map_err(|e| NoteError::InvalidUtf8 {
            offset: e.valid_up_to(),
        })?;
        if let Some(offset) = find_control(msg) {
            return Err(NoteError::ControlCharacter { offset });
        }
        // The text ends at the last blank line: the text itself may contain blank lines, the
        // signature block may not.
        let split = msg.rfind("\n\n").ok_or(NoteError::MissingSeparator)?;
        let (text, sigs) = (&msg[..split + 1], &msg[split + 2..]);
        let Some(sigs) = sigs.strip_suffix('\n') else {
            return Err(if sigs.is_empty() {
                NoteError::NoSignatures
            } else {
                NoteError::SignaturesNotTerminated
            });
        };
        // Counted before decoding anything, to bound the work on hostile input.
        if sigs.bytes().filter(|&b| b == b'\n').count() >= MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures {
                max: MAX_SIGNATURES,
            });
        }
        let first_line = text.bytes().filter(|&b| b == b'\n').count() + 2;
        let signatures = sigs
            .split('\n')
            .enumerate()
            .map(|(i, line)| NoteSignature::parse_line(line, first_line + i))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Note {
            text: text.to_string(),
            signatures,
        })
    }

    /// Builds a note from a text and signatures made elsewhere (for example adding a witness
    /// cosignature to a checkpoint). Nothing is verified.
    pub fn new(text: impl Into<String>, signatures: Vec<NoteSignature>) -> Result<Note, NoteError> {
        let text = text.into();
        check_text(&text)?;
        if signatures.is_empty() {
            return Err(NoteError::NoSignatures);
        }
        if signatures.len() > MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures {
                max: MAX_SIGNATURES,
            });
        }
        Ok(Note { text, signatures })
    }

    /// Signs `text` with every signer, in order.
    pub fn sign(text: &str, signers: &[&NoteSigner]) -> Result<Note, NoteError> {
        check_text(text)?;
        let signatures = signers
            .iter()
            .map(|s| s.sign(text))
            .collect::<Result<Vec<_>, _>>()?;
        Note::new(text, signatures)
    }

    /// The text, including its final newline. Untrusted until [`Note::verify`] succeeds.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// All signatures, in the order they appear.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Checks the signatures against the trusted `verifiers`.
    ///
    /// Succeeds when at least one signature is from a trusted key and every signature from a
    /// trusted key verifies. Signatures whose name and key hash match no verifier are reported
    /// as unknown and otherwise ignored, as the spec requires. A signature from a trusted key that
    /// does not verify fails the whole note ([`NoteError::BadSignature`]).
    pub fn verify(&self, verifiers: &[NoteVerifier]) -> Result<Verified, NoteError> {
        let mut verified: Vec<NoteSignature> = Vec::new();
        let mut unknown: Vec<NoteSignature> = Vec::new();
        for sig in &self.signatures {
            let mut candidates = verifiers.iter().filter(|v| v.matches(sig));
            let Some(verifier) = candidates.next() else {
                if !unknown.contains(sig) {
                    unknown.push(sig.clone());
                }
                continue;
            };
            if candidates.any(|other| !other.same_key(verifier)) {
                return Err(NoteError::AmbiguousVerifier {
                    name: sig.name.clone(),
                    key_hash: sig.key_hash,
                });
            }
            if verifier
                .key
                .verify(self.text.as_bytes(), &sig.signature)
                .is_err()
            {
                return Err(NoteError::BadSignature {
                    name: sig.name.clone(),
                    key_hash: sig.key_hash,
                });
            }
            if !verified.iter().any(|v| verifier.matches(v)) {
                verified.push(sig.clone());
            }
        }
        if verified.is_empty() {
            return Err(NoteError::NoVerifiedSignature {
                signers: unknown
                    .iter()
                    .map(|s| format!("{}+{}", s.name, s.key_hash))
                    .collect(),
            });
        }
        Ok(Verified { verified, unknown })
    }

    /// The signed note's bytes: text, blank line, signature lines.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)?;
        f.write_str("\n")?;
        for sig in &self.signatures {
            f.write_str(&sig.to_line())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const PETER_SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                        then you don't know what your problem is.\n";
    const PETER_SIG: &str = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    fn peter_note() -> String {
        format!("{TEXT}\n{PETER_SIG}")
    }

    fn random_ed25519() -> [u8; 32] {
        let key = SoftwareKey::generate(Algorithm::Ed25519);
        PublicKey::from_spki_der(key.public_key_der())
            .unwrap()
            .ed25519_raw()
            .unwrap()
    }

    fn parse_err(s: &str) -> NoteError {
        Note::parse(s.as_bytes()).unwrap_err()
    }

    #[test]
    fn parses_verifies_and_round_trips() {
        let msg = peter_note();
        let note = Note::parse(msg.as_bytes()).unwrap();
        assert_eq!(note.text(), TEXT);
        assert_eq!(note.signatures().len(), 1);
        assert_eq!(note.signatures()[0].key_hash().to_string(), "c74f20a3");
        assert_eq!(note.to_bytes(), msg.as_bytes());
        let v = NoteVerifier::from_vkey(PETER_VKEY).unwrap();
        let verified = note.verify(std::slice::from_ref(&v)).unwrap();
        assert!(verified.is_verified_by(&v));
        assert!(verified.unknown().is_empty());
    }

    #[test]
    fn signer_reproduces_go_signature_and_its_vkey() {
        let signer = NoteSigner::from_skey(PETER_SKEY).unwrap();
        assert_eq!(signer.verifier().to_vkey(), PETER_VKEY);
        let note = Note::sign(TEXT, &[&signer]).unwrap();
        assert_eq!(note.to_string(), peter_note());
        let dbg = format!("{signer:?}");
        assert!(dbg.contains("PeterNeumann") && !dbg.contains("AYEK"));
    }

    #[test]
    fn error_invalid_utf8() {
        let mut msg = peter_note().into_bytes();
        msg[3] = 0xff;
        assert!(matches!(
            Note::parse(&msg),
            Err(NoteError::InvalidUtf8 { offset: 3 })
        ));
    }

    #[test]
    fn error_control_character() {
        let msg = format!("a\rb\n\n{PETER_SIG}");
        assert!(matches!(
            parse_err(&msg),
            NoteError::ControlCharacter { offset: 1 }
        ));
        // In a signature line too.
        let msg = format!("{TEXT}\n— Peter\tNeumann AAAAAAA=\n");
        assert!(matches!(
            parse_err(&msg),
            NoteError::ControlCharacter { .. }
        ));
        let signer = NoteSigner::from_skey(PETER_SKEY).unwrap();
        assert!(matches!(
            signer.sign("tab\there\n"),
            Err(NoteError::ControlCharacter { offset: 3 })
        ));
    }

    #[test]
    fn error_missing_separator() {
        assert!(matches!(parse_err(TEXT), NoteError::MissingSeparator));
        assert!(matches!(parse_err(""), NoteError::MissingSeparator));
    }

    #[test]
    fn error_no_signatures() {
        assert!(matches!(
            parse_err(&format!("{TEXT}\n")),
            NoteError::NoSignatures
        ));
        assert!(matches!(
            Note::new(TEXT, vec![]),
            Err(NoteError::NoSignatures)
        ));
        assert!(matches!(
            Note::sign(TEXT, &[]),
            Err(NoteError::NoSignatures)
        ));
    }

    #[test]
    fn error_signatures_not_terminated() {
        let msg = peter_note();
        assert!(matches!(
            parse_err(msg.trim_end_matches('\n')),
            NoteError::SignaturesNotTerminated
        ));
    }

    #[test]
    fn error_malformed_signature_line() {
        for bad in [
            "Unexpected line.\n",
            "- PeterNeumann AAAAAAA=\n",
            "—PeterNeumann AAAAAAA=\n",
            "— PeterNeumann\n",
            "— PeterNeumann \n",
            "— Peter Neumann AAAAAAA=\n",
            "— PeterNeumann AAAA AAA=\n",
        ] {
            let msg = format!("{TEXT}\n{PETER_SIG}{bad}");
            match parse_err(&msg) {
                NoteError::MalformedSignatureLine { line } => assert_eq!(line, 5, "{bad:?}"),
                other => panic!("{bad:?}: {other}"),
            }
        }
    }

    #[test]
    fn error_bad_base64() {
        for bad in ["AAAAAAA", "AAAAAAA*", "AAAAAAB=", "AAAAAAA=="] {
            let msg = format!("{TEXT}\n— PeterNeumann {bad}\n");
            assert!(
                matches!(parse_err(&msg), NoteError::BadBase64 { line: 4 }),
                "{bad}"
            );
        }
    }

    #[test]
    fn error_signature_too_short() {
        let msg = format!("{TEXT}\n— PeterNeumann AAAAAA==\n");
        assert!(matches!(
            parse_err(&msg),
            NoteError::SignatureTooShort { line: 4 }
        ));
        assert!(matches!(
            NoteSignature::new("x", KeyHash::new([0; 4]), vec![]),
            Err(NoteError::EmptySignature)
        ));
    }

    #[test]
    fn error_too_many_signatures() {
        let many = PETER_SIG.repeat(MAX_SIGNATURES);
        let note = Note::parse(format!("{TEXT}\n{many}").as_bytes()).unwrap();
        assert_eq!(note.signatures().len(), MAX_SIGNATURES);
        let more = PETER_SIG.repeat(MAX_SIGNATURES + 1);
        assert!(matches!(
            parse_err(&format!("{TEXT}\n{more}")),
            NoteError::TooManySignatures { max: 100 }
        ));
        let sig = note.signatures()[0].clone();
        assert!(matches!(
            Note::new(TEXT, vec![sig; MAX_SIGNATURES + 1]),
            Err(NoteError::TooManySignatures { .. })
        ));
    }

    #[test]
    fn error_invalid_key_name() {
        for bad in ["", "a+b", "a\u{a0}b", "a\u{2003}b"] {
            assert!(matches!(
                NoteSignature::new(bad, KeyHash::new([0; 4]), vec![1]),
                Err(NoteError::InvalidKeyName { .. })
            ));
            assert!(NoteVerifier::ed25519(bad, &random_ed25519()).is_err());
        }
        let msg = format!("{TEXT}\n— Peter+Neumann AAAAAAA=\n");
        assert!(matches!(parse_err(&msg), NoteError::InvalidKeyName { .. }));
        // Two spaces after the dash: an empty name.
        let msg = format!("{TEXT}\n—  AAAAAAA=\n");
        match parse_err(&msg) {
            NoteError::InvalidKeyName { name } => assert_eq!(name, ""),
            other => panic!("{other}"),
        }
    }

    #[test]
    fn error_text_rules_when_signing() {
        let signer = NoteSigner::from_skey(PETER_SKEY).unwrap();
        assert!(matches!(signer.sign(""), Err(NoteError::EmptyText)));
        assert!(matches!(
            signer.sign("no newline"),
            Err(NoteError::TextNotTerminated)
        ));
        assert!(matches!(
            Note::new("x", vec![]),
            Err(NoteError::TextNotTerminated)
        ));
    }

    #[test]
    fn text_may_hold_blank_lines_and_end_with_one() {
        let signer = NoteSigner::from_skey(PETER_SKEY).unwrap();
        for text in ["\n", "a\n\nb\n", "a\n\n", "\n\n\n", "— x y\n"] {
            let note = Note::sign(text, &[&signer]).unwrap();
            let again = Note::parse(&note.to_bytes()).unwrap();
            assert_eq!(again.text(), text);
            again.verify(&[signer.verifier().clone()]).unwrap();
        }
    }

    #[test]
    fn error_invalid_key_string() {
        for bad in [
            "",
            "PeterNeumann",
            "PeterNeumann+c74f20a3",
            "PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+c74f20ag+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T",
            "PeterNeumann+c74f20a3+",
            "PeterNeumann+c74f20a3+AQID",
        ] {
            assert!(
                matches!(
                    NoteVerifier::from_vkey(bad),
                    Err(NoteError::InvalidKeyString { .. })
                ),
                "{bad:?}"
            );
        }
        for bad in [
            "PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
            "PRIVATE+KEY+PeterNeumann",
            "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEK",
        ] {
            assert!(
                matches!(
                    NoteSigner::from_skey(bad),
                    Err(NoteError::InvalidKeyString { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn error_key_hash_mismatch() {
        let wrong = PETER_VKEY.replace("c74f20a3", "C74F20A4");
        match NoteVerifier::from_vkey(&wrong) {
            Err(NoteError::KeyHashMismatch {
                stated, computed, ..
            }) => {
                assert_eq!(stated.to_string(), "c74f20a4");
                assert_eq!(computed.to_string(), "c74f20a3");
            }
            other => panic!("{other:?}"),
        }
        // Upper-case hex is accepted, like Go's ParseUint.
        NoteVerifier::from_vkey(&PETER_VKEY.replace("c74f20a3", "C74F20A3")).unwrap();
        let renamed = PETER_SKEY.replace("PeterNeumann", "Peter");
        assert!(matches!(
            NoteSigner::from_skey(&renamed),
            Err(NoteError::KeyHashMismatch { .. })
        ));
    }

    #[test]
    fn error_unsupported_signature_type() {
        let witness = "witness.example.org+b8a2cf20+BFLN3yikSfFkVAJtrnh/CiY3Zozkoy7clp+P7XB28qUN";
        assert!(matches!(
            NoteVerifier::from_vkey(witness),
            Err(NoteError::UnsupportedSignatureType { id: 4 })
        ));
        let skey = format!("PRIVATE+KEY+x+00000000+{}", BASE64.encode([2u8; 33]));
        assert!(matches!(
            NoteSigner::from_skey(&skey),
            Err(NoteError::UnsupportedSignatureType { id: 2 })
        ));
    }

    #[test]
    fn error_unsupported_key() {
        let p384: Arc<dyn Signer> = Arc::new(SoftwareKey::generate(Algorithm::EcdsaP384Sha384));
        assert!(matches!(
            NoteSigner::new("x", p384.clone()),
            Err(NoteError::UnsupportedKey { .. })
        ));
        assert!(matches!(
            NoteVerifier::ecdsa_rekor("x", p384.public_key_der()),
            Err(NoteError::UnsupportedKey { .. })
        ));
        let ed: Arc<dyn Signer> = Arc::new(SoftwareKey::generate(Algorithm::Ed25519));
        assert!(matches!(
            NoteSigner::ecdsa_rekor("x", ed.clone()),
            Err(NoteError::UnsupportedKey { .. })
        ));
        assert!(matches!(
            NoteVerifier::ecdsa_rekor("x", ed.public_key_der()),
            Err(NoteError::UnsupportedKey { .. })
        ));
        let p256: Arc<dyn Signer> = Arc::new(SoftwareKey::generate(Algorithm::EcdsaP256Sha256));
        assert!(matches!(
            NoteSigner::ed25519("x", p256),
            Err(NoteError::UnsupportedKey { .. })
        ));
    }

    #[test]
    fn error_invalid_public_key() {
        assert!(matches!(
            NoteVerifier::ecdsa_rekor("x", b"not der"),
            Err(NoteError::InvalidPublicKey(_))
        ));
        assert!(matches!(
            NoteVerifier::from_spki("x", &[]),
            Err(NoteError::InvalidPublicKey(_))
        ));
    }

    struct FailingSigner(Vec<u8>);
    impl Signer for FailingSigner {
        fn algorithm(&self) -> Algorithm {
            Algorithm::Ed25519
        }
        fn public_key_der(&self) -> &[u8] {
            &self.0
        }
        fn sign(&self, _: &[u8]) -> Result<Vec<u8>, KeyError> {
            Err(KeyError::Signing("HSM unreachable".into()))
        }
    }

    #[test]
    fn error_signing() {
        let key = SoftwareKey::generate(Algorithm::Ed25519);
        let failing = FailingSigner(key.public_key_der().to_vec());
        let signer = NoteSigner::ed25519("x", Arc::new(failing)).unwrap();
        let err = Note::sign("hi\n", &[&signer]).unwrap_err();
        assert!(matches!(err, NoteError::Signing(_)));
        assert!(std::error::Error::source(&err).is_some());
    }

    #[test]
    fn error_ambiguous_verifier() {
        let v = NoteVerifier::from_vkey(PETER_VKEY).unwrap();
        let note = Note::parse(peter_note().as_bytes()).unwrap();
        // The same key twice is not ambiguous.
        note.verify(&[v.clone(), v.clone()]).unwrap();
        let mut impostor = NoteVerifier::ed25519("PeterNeumann", &random_ed25519()).unwrap();
        impostor.key_hash = v.key_hash;
        assert!(matches!(
            note.verify(&[v, impostor]),
            Err(NoteError::AmbiguousVerifier { .. })
        ));
    }

    #[test]
    fn error_bad_signature() {
        let v = NoteVerifier::from_vkey(PETER_VKEY).unwrap();
        let msg = peter_note().replace("cryptography", "cryptographY");
        let err = Note::parse(msg.as_bytes())
            .unwrap()
            .verify(&[v])
            .unwrap_err();
        assert!(matches!(err, NoteError::BadSignature { .. }));
        assert_eq!(
            err.to_string(),
            "the signature by known key PeterNeumann+c74f20a3 does not verify"
        );
    }

    #[test]
    fn every_signature_by_a_known_key_is_checked() {
        let v = NoteVerifier::from_vkey(PETER_VKEY).unwrap();
        let good = Note::parse(peter_note().as_bytes()).unwrap();
        let mut sigs = good.signatures().to_vec();
        let mut forged = sigs[0].signature.clone();
        forged[10] ^= 1;
        sigs.push(NoteSignature::new("PeterNeumann", sigs[0].key_hash(), forged).unwrap());
        let note = Note::new(TEXT, sigs).unwrap();
        assert!(matches!(
            note.verify(&[v]),
            Err(NoteError::BadSignature { .. })
        ));
    }

    #[test]
    fn error_no_verified_signature() {
        let note = Note::parse(peter_note().as_bytes()).unwrap();
        let err = note.verify(&[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "note has no signature from a trusted key (it is signed by: PeterNeumann+c74f20a3)"
        );
        // Same name, other key: unknown, not an error of its own.
        let other = NoteVerifier::ed25519("PeterNeumann", &random_ed25519()).unwrap();
        assert!(matches!(
            note.verify(&[other]),
            Err(NoteError::NoVerifiedSignature { .. })
        ));
    }

    #[test]
    fn duplicate_signatures_are_reported_once() {
        let v = NoteVerifier::from_vkey(PETER_VKEY).unwrap();
        let unknown = "— Other AAAAAAA=\n";
        let msg = format!("{TEXT}\n{PETER_SIG}{PETER_SIG}{unknown}{unknown}");
        let note = Note::parse(msg.as_bytes()).unwrap();
        assert_eq!(note.to_bytes(), msg.as_bytes());
        let verified = note.verify(&[v]).unwrap();
        assert_eq!(verified.verified().len(), 1);
        assert_eq!(verified.unknown().len(), 1);
    }

    #[test]
    fn ed25519_key_id_prefix_is_the_key_hash() {
        let v = NoteVerifier::from_vkey(PETER_VKEY).unwrap();
        let raw = v.public_key().ed25519_raw().unwrap();
        let id = ed25519_key_id("PeterNeumann", &raw);
        assert_eq!(KeyHash::from_digest(&id), v.key_hash());
    }

    #[test]
    fn ecdsa_vkey_round_trips() {
        let key: Arc<dyn Signer> = Arc::new(SoftwareKey::generate(Algorithm::EcdsaP256Sha256));
        let signer = NoteSigner::new("log.example", key.clone()).unwrap();
        let vkey = signer.verifier().to_vkey();
        let v = NoteVerifier::from_vkey(&vkey).unwrap();
        assert_eq!(v.signature_type(), SignatureType::EcdsaRekor);
        assert_eq!(
            v.key_hash().to_bytes(),
            sigstack_keys::key_id(key.public_key_der())[..4]
        );
        let note = Note::sign("hello\n", &[&signer]).unwrap();
        note.verify(&[v]).unwrap();
    }
}
