//! Rekor entry kinds: parse a client's proposed entry, verify its signature(s), and produce the
//! canonical body the log stores and hashes (leaf = SHA-256(0x00 ‖ body)). No I/O.
//!
//! | API | kind | version | upstream behaviour mirrored |
//! |---|---|---|---|
//! | [`canonicalize_v1`] | `hashedrekord` | 0.0.1 | sigstore/rekor `pkg/types/hashedrekord/v0.0.1` |
//! | [`canonicalize_v1`] | `dsse` | 0.0.1 | sigstore/rekor `pkg/types/dsse/v0.0.1` |
//! | [`canonicalize_v1`] | `intoto` | 0.0.2 | sigstore/rekor `pkg/types/intoto/v0.0.2` |
//! | [`canonicalize_v2`] | `hashedrekord` | 0.0.2 | sigstore/rekor-tiles `pkg/types/hashedrekord` |
//! | [`canonicalize_v2`] | `dsse` | 0.0.2 | sigstore/rekor-tiles `pkg/types/dsse` (before its removal) |
//!
//! Every body is RFC 8785 canonical JSON, as upstream stores it (`jsoncanonicalizer.Transform`
//! of the marshalled entry). Signatures are verified; certificate validity periods are not (Rekor
//! checks the signature only; Fulcio certificates expire ten minutes after issuance).
//!
//! Work is bounded: at most 10 signatures / verifiers per entry, RSA keys of 2048–4096 bits, and
//! JSON nesting limited by `serde_json`'s recursion limit. Nothing here panics on any input.
//!
//! ```
//! // Refusals are typed: unknown kinds are `Unsupported`, bad fields name the JSON path.
//! let err = rekor_types::canonicalize_v1(br#"{"kind":"rpm","apiVersion":"0.0.1","spec":{}}"#);
//! assert!(matches!(err, Err(rekor_types::EntryError::Unsupported(_))));
//! let err = rekor_types::canonicalize_v1(
//!     br#"{"kind":"hashedrekord","apiVersion":"0.0.1","spec":{"signature":null}}"#,
//! );
//! assert!(matches!(
//!     err,
//!     Err(rekor_types::EntryError::Invalid { field: "spec.signature", .. })
//! ));
//!
//! // The SignedEntryTimestamp payload: RFC 8785, members sorted.
//! let payload = rekor_types::set_payload(b"{}", 1700000000, "c0d2", 7);
//! assert_eq!(
//!     payload,
//!     br#"{"body":"e30=","integratedTime":1700000000,"logID":"c0d2","logIndex":7}"#
//! );
//! ```

mod cache;
mod dsse;
mod hashedrekord;
mod intoto;
mod jcs;
mod pki;
mod util;
mod v2;

use serde_json::Value;

pub use cache::{VerifierCache, DEFAULT_VERIFIER_CACHE};

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
///
/// Mirrors upstream Rekor's `IndexKeys()`; every value is lowercase, as upstream's index store
/// lowercases keys on write and on lookup. Per kind:
/// - `hashedrekord`: the verifier's [`IndexKey::PublicKey`], its [`IndexKey::Subject`]s, and
///   `<algorithm>:<digest hex>` of the artifact;
/// - `dsse`: per verifier that verified a signature its key and subjects, `sha256:` of the
///   payload and of the envelope, and for in-toto statements `<alg>:<digest>` of every subject
///   (and SLSA v0.2 material);
/// - `intoto`: per signature its key and subjects, `sha256:` of the payload, and the statement's
///   subject/material digests;
/// - Rekor v2 entries (which upstream does not index): key, subjects and `<alg>:<digest hex>`
///   of the signed digest (for DSSE, `sha256:` of the payload and the statement digests).
///
/// Decision: upstream prefixes the key hash of `dsse` and `intoto` entries with `sha256:` while
/// a search by public key looks the bare hex up, so upstream never finds those entries by key.
/// Here [`IndexKey::PublicKey`] is always the bare hex, so searches by key find every kind.
/// Repeated keys are removed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum IndexKey {
    /// `sha256:<lowercase hex>` (or sha384:/sha512:) of the artifact.
    ArtifactHash(String),
    /// Lowercase hex SHA-256 of the canonical PEM of the verifier (certificate or public key),
    /// as [`public_key_index_key`] computes it for a search request.
    PublicKey(String),
    /// An identity from the certificate's subject alternative names (DNS name, email, IP
    /// address, URI, Fulcio username OtherName), lowercased.
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

/// The entry kinds and versions [`canonicalize_v1`] accepts, as `(kind, apiVersion)`.
pub const SUPPORTED_V1: &[(&str, &str)] = &[
    ("hashedrekord", "0.0.1"),
    ("dsse", "0.0.1"),
    ("intoto", "0.0.2"),
];

/// Rekor v1: a `POST /api/v1/log/entries` body (`{"kind","apiVersion","spec"}`).
pub fn canonicalize_v1(proposed_entry_json: &[u8]) -> Result<CanonicalEntry, EntryError> {
    ProposedEntry::parse_v1(proposed_entry_json)?.canonicalize(None)
}

/// [`canonicalize_v1`], taking the verifiers of `hashedrekord` entries from `cache` (and
/// remembering new ones there): the same answer, refusals included, for less work when many
/// entries are signed with the same key or certificate.
pub fn canonicalize_v1_cached(
    proposed_entry_json: &[u8],
    cache: &VerifierCache,
) -> Result<CanonicalEntry, EntryError> {
    ProposedEntry::parse_v1(proposed_entry_json)?.canonicalize(Some(cache))
}

/// Rekor v2: a `POST /api/v2/log/entries` body (`{"hashedRekordRequestV002":…}` or
/// `{"dsseRequestV002":…}`, or their proto field names).
pub fn canonicalize_v2(create_entry_request_json: &[u8]) -> Result<CanonicalEntry, EntryError> {
    ProposedEntry::parse_v2(create_entry_request_json)?.canonicalize(None)
}

/// Which parser a [`ProposedEntry`] goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    HashedRekordV001,
    DsseV001,
    IntotoV002,
    HashedRekordV002,
    DsseV002,
}

/// A request body parsed once: its kind is known (so a service can apply that kind's size
/// limit) before the entry is verified and canonicalised from the same parse.
#[derive(Clone, Debug)]
pub struct ProposedEntry {
    kind: Kind,
    /// The kind's own object: v1 `spec`, or the v2 request's one member.
    spec: serde_json::Map<String, Value>,
}

impl ProposedEntry {
    /// A Rekor v1 body: `{"kind","apiVersion","spec"}` of a supported kind and version.
    pub fn parse_v1(proposed_entry_json: &[u8]) -> Result<Self, EntryError> {
        let mut entry = util::parse_object(proposed_entry_json)?;
        let string = |name: &str| match entry.get(name) {
            Some(Value::String(k)) => Ok(k.as_str()),
            Some(_) => Err(EntryError::Malformed(format!("{name} must be a string"))),
            None => Err(EntryError::Malformed(format!("{name} is required"))),
        };
        let (kind_name, api_version) = (string("kind")?, string("apiVersion")?);
        if !matches!(kind_name, "hashedrekord" | "dsse" | "intoto") {
            return Err(EntryError::Unsupported(format!("kind {kind_name:?}")));
        }
        let kind = match (kind_name, api_version) {
            ("hashedrekord", "0.0.1") => Kind::HashedRekordV001,
            ("dsse", "0.0.1") => Kind::DsseV001,
            ("intoto", "0.0.2") => Kind::IntotoV002,
            _ => {
                return Err(EntryError::Unsupported(format!(
                    "{kind_name} apiVersion {api_version:?}"
                )))
            }
        };
        util::req_object(&entry, "spec", "spec")?;
        let Some(Value::Object(spec)) = entry.remove("spec") else {
            unreachable!("req_object checked that spec is an object");
        };
        Ok(ProposedEntry { kind, spec })
    }

    /// A Rekor v2 body: exactly one of `hashedRekordRequestV002` and `dsseRequestV002` (or
    /// their proto field names `hashed_rekord_request_v002`, `dsse_request_v002`).
    pub fn parse_v2(create_entry_request_json: &[u8]) -> Result<Self, EntryError> {
        let mut req = util::parse_object(create_entry_request_json)?;
        let mut take = |json: &str, proto: &str| {
            let json_value = req.remove(json).filter(|v| !v.is_null());
            let proto_value = req.remove(proto).filter(|v| !v.is_null());
            json_value.or(proto_value)
        };
        let hashed = take("hashedRekordRequestV002", "hashed_rekord_request_v002");
        let dsse = take("dsseRequestV002", "dsse_request_v002");
        let (kind, field, value) =
            match (hashed, dsse) {
                (Some(_), Some(_)) => return Err(EntryError::Malformed(
                    "a request holds exactly one of hashedRekordRequestV002 and dsseRequestV002"
                        .into(),
                )),
                (Some(h), None) => (Kind::HashedRekordV002, "hashedRekordRequestV002", h),
                (None, Some(d)) => (Kind::DsseV002, "dsseRequestV002", d),
                (None, None) => {
                    return Err(EntryError::Unsupported(match req.keys().next() {
                        Some(k) => format!("request type {k:?}"),
                        None => "empty request".into(),
                    }))
                }
            };
        match value {
            Value::Object(spec) => Ok(ProposedEntry { kind, spec }),
            other => Err(util::invalid(
                field,
                format!("must be an object, found {}", util::type_name(&other)),
            )),
        }
    }

    /// The entry's kind (`hashedrekord`, `dsse`, `intoto`), which sets its size limit.
    pub fn kind(&self) -> &'static str {
        match self.kind {
            Kind::HashedRekordV001 | Kind::HashedRekordV002 => "hashedrekord",
            Kind::DsseV001 | Kind::DsseV002 => "dsse",
            Kind::IntotoV002 => "intoto",
        }
    }

    /// Verifies the entry and produces its canonical body; `cache` holds the parsed verifiers
    /// of v1 `hashedrekord` entries.
    pub fn canonicalize(
        &self,
        cache: Option<&VerifierCache>,
    ) -> Result<CanonicalEntry, EntryError> {
        match self.kind {
            Kind::HashedRekordV001 => hashedrekord::canonicalize(&self.spec, cache),
            Kind::DsseV001 => dsse::canonicalize(&self.spec),
            Kind::IntotoV002 => intoto::canonicalize(&self.spec),
            Kind::HashedRekordV002 => v2::hashedrekord(&self.spec),
            Kind::DsseV002 => v2::dsse(&self.spec),
        }
    }
}

/// The bytes a Rekor v1 SignedEntryTimestamp signs: RFC 8785 JSON of
/// `{"body": base64(body), "integratedTime", "logID": hex, "logIndex"}` (global index).
pub fn set_payload(body: &[u8], integrated_time: i64, log_id_hex: &str, log_index: u64) -> Vec<u8> {
    use base64::Engine as _;
    // Written directly (it is on every write path): the members are already in RFC 8785 order,
    // base64 needs no escaping, and the log ID is escaped like any string.
    let mut out = Vec::with_capacity(body.len().div_ceil(3) * 4 + log_id_hex.len() + 80);
    out.extend_from_slice(b"{\"body\":\"");
    let start = out.len();
    out.resize(start + body.len().div_ceil(3) * 4, 0);
    let written = base64::engine::general_purpose::STANDARD
        .encode_slice(body, &mut out[start..])
        .expect("the buffer fits padded base64");
    out.truncate(start + written);
    out.extend_from_slice(format!("\",\"integratedTime\":{integrated_time},\"logID\":").as_bytes());
    jcs::write_string(log_id_hex, &mut out);
    out.extend_from_slice(format!(",\"logIndex\":{log_index}}}").as_bytes());
    out
}

/// The [`IndexKey::PublicKey`] value for a search by public key: `format` is `x509`, `pkix`, …
/// and `content` the decoded bytes of the request's `publicKey.content`.
///
/// `x509` takes a PEM certificate or PEM public key (upstream `pki/x509`); `pkix` takes the same,
/// or the DER of a certificate or SubjectPublicKeyInfo. Other upstream formats (`pgp`,
/// `minisign`, `ssh`, `tuf`, `pkcs7`) belong to entry kinds this log does not accept.
pub fn public_key_index_key(format: &str, content: &[u8]) -> Result<String, EntryError> {
    const F: &str = "publicKey.content";
    let verifier = match format {
        "x509" => pki::Verifier::from_pem(F, content)?,
        "pkix" => pki::Verifier::from_pem(F, content)
            .or_else(|_| pki::Verifier::from_cert_der(F, content))
            .or_else(|_| pki::Verifier::from_spki_der(F, content))?,
        other => {
            return Err(EntryError::Unsupported(format!(
                "public key format {other:?}"
            )))
        }
    };
    Ok(verifier.index_hash())
}

/// Removes repeated keys, keeping the first occurrence of each.
fn dedup(keys: Vec<IndexKey>) -> Vec<IndexKey> {
    let mut seen = std::collections::HashSet::new();
    keys.into_iter()
        .filter(|k| seen.insert(k.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// The published list and the parser's own table must not drift apart.
    #[test]
    fn supported_v1_is_exactly_what_parse_v1_accepts() {
        for (kind, version) in SUPPORTED_V1 {
            let body = json!({"kind": kind, "apiVersion": version, "spec": {}}).to_string();
            let parsed = ProposedEntry::parse_v1(body.as_bytes()).unwrap();
            assert_eq!(parsed.kind(), *kind);
        }
        for (kind, version) in [
            ("hashedrekord", "0.0.2"),
            ("dsse", "0.0.2"),
            ("intoto", "0.0.1"),
        ] {
            let body = json!({"kind": kind, "apiVersion": version, "spec": {}}).to_string();
            assert!(matches!(
                ProposedEntry::parse_v1(body.as_bytes()),
                Err(EntryError::Unsupported(_))
            ));
        }
    }

    proptest! {
        #[test]
        fn set_payload_is_the_canonical_json_of_its_members(
            body in proptest::collection::vec(any::<u8>(), 0..300),
            integrated_time in any::<i64>(),
            log_id in ".{0,20}",
            log_index in any::<u64>(),
        ) {
            let want = jcs::canonical_json(&json!({
                "body": util::b64(&body),
                "integratedTime": integrated_time,
                "logID": log_id,
                "logIndex": log_index,
            }));
            prop_assert_eq!(set_payload(&body, integrated_time, &log_id, log_index), want);
        }
    }
}
