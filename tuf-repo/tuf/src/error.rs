use crate::Time;

/// Everything that can be wrong with TUF metadata; each variant says what, where and why.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TufError {
    /// Not valid JSON, or JSON that is not the expected metadata shape.
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// What was being parsed.
        what: &'static str,
        /// The parser's explanation.
        detail: String,
    },
    /// A value canonical JSON cannot encode (a floating-point number).
    #[error("canonical JSON cannot encode {0}")]
    NotCanonical(String),
    /// An `expires` (or other time) that is not RFC 3339.
    #[error("invalid time {0:?}: expected RFC 3339 such as 2030-01-01T00:00:00Z")]
    BadTime(String),
    /// `_type` names another role.
    #[error("expected {expected} metadata, found _type {found:?}")]
    WrongType {
        /// The role expected.
        expected: &'static str,
        /// The `_type` found.
        found: String,
    },
    /// A key whose keytype/scheme pair this crate cannot verify.
    #[error("unsupported key: keytype {keytype:?}, scheme {scheme:?}")]
    UnsupportedKey {
        /// The key's `keytype`.
        keytype: String,
        /// The key's `scheme`.
        scheme: String,
    },
    /// One signature did not verify (reported by [`crate::Key::verify`]).
    #[error("signature does not verify")]
    BadSignature,
    /// Root does not define the role.
    #[error("role {0:?} is not defined in root")]
    UnknownRole(String),
    /// Root lists a key id for a role that is not in its `keys`.
    #[error("root lists key {keyid} for role {role} but does not define it")]
    MissingKey {
        /// The role.
        role: String,
        /// The undefined key id.
        keyid: String,
    },
    /// A role's threshold is zero or larger than its number of keys.
    #[error("role {role}: threshold {threshold} with {keys} key(s) (need 1 <= threshold <= keys)")]
    BadThreshold {
        /// The role.
        role: String,
        /// Its threshold.
        threshold: u32,
        /// Its number of keys.
        keys: usize,
    },
    /// Fewer valid signatures from the role's keys than its threshold.
    #[error("{role} metadata has {valid} valid signature(s) from the {signer_set}'s keys, threshold is {threshold}")]
    ThresholdNotMet {
        /// The role whose metadata was checked.
        role: String,
        /// Whose keys were counted: "root v3" for example.
        signer_set: String,
        /// Distinct keys of the role whose signature verified.
        valid: usize,
        /// The role's threshold.
        threshold: u32,
    },
    /// The metadata's `expires` is not after `now`.
    #[error("{role} metadata version {version} expired at {expires} (now {now})")]
    Expired {
        /// The role.
        role: String,
        /// Its version.
        version: u64,
        /// Its expiry.
        expires: Time,
        /// The time checked against.
        now: Time,
    },
    /// A version that does not move forward from the published one.
    #[error("{role} version {proposed} would roll back or replay the published version {current}")]
    Rollback {
        /// The role.
        role: String,
        /// The published version.
        current: u64,
        /// The version offered.
        proposed: u64,
    },
    /// A new root whose version is not the trusted version + 1.
    #[error("root version {proposed} cannot follow trusted root version {trusted} (must be {})", trusted + 1)]
    RootNotSuccessor {
        /// The trusted root's version.
        trusted: u64,
        /// The new root's version.
        proposed: u64,
    },
    /// A file's version, length or hash differs from what the referring metadata says.
    #[error("{file}: {field} is {actual} but {referrer} says {expected}")]
    Mismatch {
        /// The file checked.
        file: String,
        /// `version`, `length` or `sha256`.
        field: &'static str,
        /// What the referrer records.
        expected: String,
        /// What the file has.
        actual: String,
        /// The referring metadata.
        referrer: &'static str,
    },
    /// A file the referring metadata must list is absent from it.
    #[error("{file} is not listed in {referrer}")]
    NotListed {
        /// The file.
        file: String,
        /// The referring metadata.
        referrer: &'static str,
    },
    /// A signer failed.
    #[error("signing {role} metadata with key {keyid}")]
    Signing {
        /// The role being signed.
        role: String,
        /// The key.
        keyid: String,
        /// The signer's error.
        #[source]
        source: sigstack_keys::KeyError,
    },
}
