//! The crate's one error type.

/// What can go wrong building trust documents.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A public key is not a DER SubjectPublicKeyInfo this crate can publish for that role.
    #[error("{role}: unsupported or malformed public key: {reason}")]
    UnsupportedKey {
        /// Which service the key belongs to (`ctlog`, `rekor v1`, `rekor v2`).
        role: &'static str,
        /// What was wrong.
        reason: &'static str,
    },
    /// A certificate chain is empty, too short, or holds something that is not a DER certificate.
    #[error("{role}: invalid certificate chain: {reason}")]
    InvalidChain {
        /// `certificate authority` or `timestamp authority`.
        role: &'static str,
        /// What was wrong.
        reason: &'static str,
    },
    /// A URL or Rekor v2 origin is empty or not an http(s) URL.
    #[error("{role}: invalid URL or origin {value:?}")]
    InvalidUrl {
        /// Which service the URL belongs to.
        role: &'static str,
        /// The rejected value.
        value: String,
    },
    /// A timestamp is not RFC 3339.
    #[error("not an RFC 3339 timestamp: {0:?}")]
    InvalidTimestamp(String),
    /// A history file could not be read back.
    #[error("invalid trust history: {0}")]
    InvalidHistory(String),
    /// The instance lacks a service every client needs (a CA, a Rekor log, …).
    #[error("the instance has no current {0}; clients could not sign with it")]
    Incomplete(&'static str),
}
