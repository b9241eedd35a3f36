//! The one error type of this crate.

use std::fmt;

use sigstack_keys::KeyError;
use tlog::checkpoint::CheckpointError;
use tlog::note::NoteError;

/// Everything that can go wrong parsing, building, signing or verifying CT structures.
///
/// Parsing errors name the field (`what`) that was being read, so a log can tell a submitter
/// precisely what is wrong with its input. Foreign errors are wrapped in types of this crate or
/// of the workspace (`DerError`), so dependency types never appear in the public API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CtError {
    /// The input ended before the named field was complete.
    #[error("truncated input: {what} is incomplete")]
    Truncated {
        /// The field being read.
        what: &'static str,
    },
    /// Bytes follow a complete structure that should end the input.
    #[error("{extra} unexpected byte(s) after {what}")]
    TrailingData {
        /// The structure that should have ended the input.
        what: &'static str,
        /// How many bytes are left over.
        extra: usize,
    },
    /// A variable-length field is shorter or longer than its TLS or spec bounds allow.
    #[error("{what} has length {len}, outside the allowed range {min}..={max}")]
    LengthOutOfRange {
        /// The field.
        what: &'static str,
        /// Its length in bytes (or entries, for lists of fixed-size items).
        len: usize,
        /// The smallest allowed length.
        min: usize,
        /// The largest allowed length.
        max: usize,
    },
    /// An enumerated field holds a value the spec does not define.
    #[error("unknown {what} value {value}")]
    UnknownValue {
        /// The field.
        what: &'static str,
        /// The value found.
        value: u64,
    },
    /// A static-ct-api `CtExtensions` list names the same extension type twice.
    #[error("CT extension type {extension_type} appears more than once")]
    DuplicateCtExtension {
        /// The repeated extension type.
        extension_type: u8,
    },
    /// The SCT extensions carry no static-ct-api `leaf_index` extension.
    #[error("the SCT extensions carry no leaf_index extension")]
    MissingLeafIndex,
    /// A leaf index does not fit in the 40 bits static-ct-api gives it.
    #[error("leaf index {index} does not fit in 40 bits")]
    LeafIndexOutOfRange {
        /// The index.
        index: u64,
    },
    /// A static-ct-api data tile entry is inconsistent.
    #[error("invalid TileLeaf: {reason}")]
    InvalidTileLeaf {
        /// What is wrong.
        reason: &'static str,
    },
    /// The bytes are not a well-formed DER certificate (or certificate part).
    #[error("malformed certificate")]
    MalformedCertificate(#[source] DerError),
    /// The certificate is not in canonical DER, so re-encoding it would change bytes that
    /// signatures cover; precertificate reconstruction refuses such input.
    #[error("certificate is not canonical DER: re-encoding it does not give back the same bytes")]
    NonCanonicalCertificate,
    /// The certificate has two extensions with the same OID (RFC 5280 forbids this).
    #[error("certificate has more than one extension {oid}")]
    DuplicateX509Extension {
        /// The repeated OID, dotted.
        oid: String,
    },
    /// A precertificate lacks the CT poison extension.
    #[error(
        "certificate has no CT poison extension (1.3.6.1.4.1.11129.2.4.3): not a precertificate"
    )]
    MissingPoison,
    /// The CT poison extension is not marked critical, as RFC 6962 section 3.1 requires.
    #[error("the CT poison extension is not critical")]
    PoisonNotCritical,
    /// The CT poison extension's value is not an ASN.1 NULL.
    #[error("the CT poison extension's value is not ASN.1 NULL (05 00)")]
    MalformedPoison,
    /// A certificate that should be a final certificate carries the CT poison extension.
    #[error("certificate carries the CT poison extension: it is a precertificate, not a final certificate")]
    UnexpectedPoison,
    /// A certificate has no embedded SCT list extension (1.3.6.1.4.1.11129.2.4.2).
    #[error("certificate has no embedded SCT list extension (1.3.6.1.4.1.11129.2.4.2)")]
    MissingSctList,
    /// The outer signatureAlgorithm of a certificate differs from the one inside its TBS.
    #[error("certificate signatureAlgorithm does not match the TBSCertificate signature field")]
    SignatureAlgorithmMismatch,
    /// A signature algorithm, hash or key type this crate does not verify or produce.
    #[error("unsupported signature algorithm: {algorithm}")]
    UnsupportedSignatureAlgorithm {
        /// What was found (an OID or TLS algorithm numbers, and the key type).
        algorithm: String,
    },
    /// A key that cannot sign or verify CT structures (RFC 6962 logs sign with ECDSA P-256 and
    /// SHA-256; RSA logs are not supported).
    #[error("unsupported key for CT signatures: {reason}")]
    UnsupportedKey {
        /// Why.
        reason: &'static str,
    },
    /// A public key could not be parsed.
    #[error("malformed public key")]
    InvalidPublicKey(#[source] KeyError),
    /// The signer failed to sign (an unreachable HSM, for example).
    #[error("signing failed")]
    Signing(#[source] KeyError),
    /// The SCT names a different log than the key it is verified with.
    #[error("the SCT's log ID does not match the log key it is verified with")]
    LogIdMismatch,
    /// A signature does not verify.
    #[error("signature verification failed")]
    BadSignature,
    /// A certificate's embedded SCT list has no SCT from the log being checked.
    #[error("no embedded SCT is from the given log")]
    NoSctFromLog,
    /// A signed note or checkpoint is malformed.
    #[error("malformed signed note")]
    Note(#[source] NoteError),
    /// A checkpoint body is malformed.
    #[error("malformed checkpoint")]
    Checkpoint(#[source] CheckpointError),
    /// The checkpoint's origin is not the one expected.
    #[error("checkpoint origin {found:?} is not the expected {expected:?}")]
    OriginMismatch {
        /// The origin expected by the caller.
        expected: String,
        /// The origin in the checkpoint.
        found: String,
    },
    /// A checkpoint signed with an RFC 6962 note signature has extension lines, which
    /// static-ct-api forbids (the tree head signature would not cover them).
    #[error("a checkpoint with an RFC 6962 note signature must not have extension lines")]
    CheckpointHasExtensions,
    /// A note carries no RFC 6962 (type 0x05) signature by the expected log.
    #[error("the note has no RFC 6962 signature from the expected log")]
    NoLogSignature,
}

/// A DER decoding or encoding error from the X.509 parser, kept as the cause of
/// [`CtError::MalformedCertificate`] without exposing the parser's own type.
#[derive(Debug)]
pub struct DerError(der::Error);

impl fmt::Display for DerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for DerError {}

impl From<der::Error> for CtError {
    fn from(e: der::Error) -> Self {
        CtError::MalformedCertificate(DerError(e))
    }
}
