//! Rekor entry kinds: parse a client's proposed entry, verify its signature(s), and produce the
//! canonical body the log stores and hashes (leaf = SHA-256(0x00 ‖ body)). No I/O.
//!
//! INTERFACE CONTRACT (used by the `rekor` service; keep these signatures, extend freely).

/// What a proposed entry becomes once verified: the exact bytes the log stores, and the search
/// keys written in the same transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CanonicalEntry {
    /// `hashedrekord`, `dsse` or `intoto`.
    pub kind: &'static str,
    /// `0.0.1`, `0.0.2`, …
    pub api_version: &'static str,
    /// The canonical body, byte for byte what upstream Rekor would store.
    pub body: Vec<u8>,
    /// Search index keys (see [`IndexKey`]).
    pub index_keys: Vec<IndexKey>,
}

/// One search key of an entry, as `POST /api/v1/index/retrieve` looks it up.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum IndexKey {
    /// `sha256:<lowercase hex>` (or sha384:/sha512:) of the artifact.
    ArtifactHash(String),
    /// Lowercase hex SHA-256 of the canonical PEM of the verifier (certificate or public key),
    /// as [`public_key_index_key`] computes it for a search request.
    PublicKey(String),
    /// An identity from the certificate: lowercased email, or URI / other SAN value.
    Subject(String),
}

/// Why a proposed entry is refused; every variant is the client's fault (HTTP 400).
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntryError {
    /// The request is not valid JSON of the expected shape.
    #[error("malformed entry: {0}")]
    Malformed(String),
    /// Unknown kind or apiVersion.
    #[error("unsupported entry type: {0}")]
    Unsupported(String),
    /// A field is present but wrong (digest length, base64, PEM, …).
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The JSON path of the field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The signature does not verify against the given certificate or key.
    #[error("signature verification failed: {0}")]
    BadSignature(String),
}

/// Rekor v1: a `POST /api/v1/log/entries` body (`{"kind","apiVersion","spec"}`).
pub fn canonicalize_v1(_proposed_entry_json: &[u8]) -> Result<CanonicalEntry, EntryError> {
    Err(EntryError::Unsupported("not implemented yet".into()))
}

/// Rekor v2: a `POST /api/v2/log/entries` body (`{"hashedRekordRequestV002":…}` or
/// `{"dsseRequestV002":…}`).
pub fn canonicalize_v2(_create_entry_request_json: &[u8]) -> Result<CanonicalEntry, EntryError> {
    Err(EntryError::Unsupported("not implemented yet".into()))
}

/// The bytes a Rekor v1 SignedEntryTimestamp signs: RFC 8785 JSON of
/// `{"body": base64(body), "integratedTime", "logID": hex, "logIndex"}` (global index).
pub fn set_payload(body: &[u8], integrated_time: i64, log_id_hex: &str, log_index: u64) -> Vec<u8> {
    let _ = (body, integrated_time, log_id_hex, log_index);
    Vec::new()
}

/// The [`IndexKey::PublicKey`] value for a search by public key: `format` is `x509`, `pkix`, …
/// and `content` the decoded bytes of the request's `publicKey.content`.
pub fn public_key_index_key(_format: &str, _content: &[u8]) -> Result<String, EntryError> {
    Err(EntryError::Unsupported("not implemented yet".into()))
}
