//! Why a witness refuses a submission, why its configuration is wrong, why it cannot cosign.

use tlog::checkpoint::CheckpointError;
use tlog::merkle::VerifyError;
use tlog::note::NoteError;

/// Why an `add-checkpoint` request is refused. Each variant is one answer of the spec; the
/// server maps them to HTTP statuses in one place. A refusal never changes the stored state.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The body is not `old <size>`, at most 63 proof lines, a blank line and a note (400).
    #[error("malformed add-checkpoint body: {reason}")]
    Malformed {
        /// What is wrong.
        reason: &'static str,
    },
    /// The note after the blank line is not a signed note (400).
    #[error("malformed checkpoint note")]
    MalformedNote(#[source] NoteError),
    /// The note's text is not a checkpoint (400).
    #[error("malformed checkpoint")]
    MalformedCheckpoint(#[source] CheckpointError),
    /// The old size is larger than the checkpoint's size (400).
    #[error("old size {old} is larger than the checkpoint's size {size}")]
    OldSizeTooLarge {
        /// The `old` line.
        old: u64,
        /// The checkpoint's size.
        size: u64,
    },
    /// The witness does not follow a log with this origin (404).
    #[error("unknown log origin {origin:?}")]
    UnknownLog {
        /// The checkpoint's origin.
        origin: String,
    },
    /// No signature from a key trusted for the origin is on the note, or one of them does not
    /// verify (403).
    #[error("checkpoint is not validly signed by the log: {reason}")]
    NotSignedByLog {
        /// What is wrong with the signatures.
        reason: String,
    },
    /// The old size is not the size of the checkpoint the witness holds (409; the answer carries
    /// `held`).
    #[error("old size {old} does not match the size {held} the witness holds")]
    OldSizeMismatch {
        /// The `old` line.
        old: u64,
        /// The size of the checkpoint the witness holds (0 if none).
        held: u64,
    },
    /// A checkpoint of size 0 whose root is not the empty tree's (422).
    #[error("a checkpoint of size 0 must have the empty tree's root hash")]
    EmptyTreeRoot,
    /// A consistency proof sent with old size 0 (422).
    #[error("old size 0 needs an empty consistency proof")]
    UnexpectedProof,
    /// The consistency proof from the held checkpoint does not verify, or the roots of two
    /// checkpoints of equal size differ (422).
    #[error("checkpoint is not consistent with the one the witness holds")]
    Inconsistent(#[source] VerifyError),
}

/// Why a witness configuration or a log key cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A verifier key string is malformed or names an unsupported signature type.
    #[error("log key {vkey:?}")]
    Key {
        /// The key string.
        vkey: String,
        /// Why.
        #[source]
        source: NoteError,
    },
    /// A type `0x05` key whose hash or DER key is wrong.
    #[error("log key {vkey:?}: {reason}")]
    Rfc6962Key {
        /// The key string.
        vkey: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// An origin is empty, or holds whitespace or a control character.
    #[error("log origin {origin:?} is not a valid checkpoint origin")]
    InvalidOrigin {
        /// The origin.
        origin: String,
    },
    /// A log has no key: no checkpoint of it could ever be cosigned.
    #[error("log {origin:?} has no key")]
    NoKeys {
        /// The origin.
        origin: String,
    },
    /// Two logs with the same origin.
    #[error("log {origin:?} is configured twice")]
    DuplicateOrigin {
        /// The origin.
        origin: String,
    },
    /// A witness that follows no log.
    #[error("the witness follows no log: the configuration needs at least one [[log]]")]
    NoLogs,
}

/// Why a cosignature cannot be made or checked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CosignError {
    /// A cosigner key must be Ed25519.
    #[error("a cosignature/v1 key must be Ed25519, not {algorithm}")]
    NotEd25519 {
        /// The key's algorithm.
        algorithm: &'static str,
    },
    /// The cosigner name is not a valid note key name.
    #[error("invalid cosigner name {name:?}: it must be non-empty, without whitespace or '+'")]
    InvalidName {
        /// The name.
        name: String,
    },
    /// The timestamp must be above 0 and at most 2^63 - 1.
    #[error("cosignature timestamp {timestamp} is out of range (1 to 2^63 - 1)")]
    TimestampOutOfRange {
        /// The timestamp.
        timestamp: u64,
    },
    /// The key failed to sign (an unreachable HSM, for example).
    #[error("the witness key failed to sign")]
    Signing(#[source] sigstack_keys::KeyError),
    /// The signature line could not be built or parsed.
    #[error("cosignature note line")]
    Note(#[source] NoteError),
    /// A cosignature is not 72 bytes (timestamp and Ed25519 signature) or does not verify.
    #[error("the cosignature does not verify")]
    BadCosignature,
}
