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
mod de;
mod dsse;
mod hashedrekord;
mod intoto;
mod jcs;
mod pki;
mod util;
mod v2;

use serde::Deserialize;
use serde_json::Value;

use de::{Field, Obj, Sent, Text};

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
/// - `hashedrekord`: the verifier's [`IndexKey::PublicKey`], for a certificate its
///   [`IndexKey::CertificateFingerprint`] and [`IndexKey::Subject`]s, and
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
///
/// Decision: [`IndexKey::CertificateFingerprint`] is ours (upstream indexes the hash of the PEM
/// a client sent, never the certificate's own fingerprint). It is a kind of its own rather than
/// an [`IndexKey::ArtifactHash`], because a certificate's fingerprint is also the digest of the
/// certificate file as an artifact: a search by artifact digest must not find the entries it
/// signed, nor the other way round. Repeated keys are removed.
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
    /// Lowercase hex SHA-256 of the verifier certificate's DER (its fingerprint, as
    /// `openssl x509 -fingerprint -sha256` shows it), as
    /// [`certificate_fingerprint_index_key`] reads it from a search.
    CertificateFingerprint(String),
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

/// A request body parsed once: its kind is known (so a service can apply that kind's size
/// limit) before the entry is verified and canonicalised from the same parse. Strings are
/// borrowed from the body unless they hold JSON escapes.
///
/// Parsing refuses what is not a request of a supported kind (invalid JSON, unknown kind or
/// version, a kind's object missing or not an object); every refusal of a field within the
/// kind's object comes from [`ProposedEntry::canonicalize`], after the size limit.
#[derive(Clone, Debug)]
pub struct ProposedEntry<'a> {
    /// `hashedrekord`, `dsse` or `intoto`.
    kind: &'static str,
    /// The kind's own object (v1 `spec`, or the v2 request's one member), or why its members
    /// do not have the kind's types.
    spec: Result<Spec<'a>, EntryError>,
}

/// A kind's own object, parsed.
#[derive(Clone, Debug)]
enum Spec<'a> {
    HashedRekordV001(hashedrekord::Spec<'a>),
    DsseV001(dsse::Spec<'a>),
    IntotoV002(intoto::Spec<'a>),
    HashedRekordV002(v2::HashedRekordRequest<'a>),
    DsseV002(v2::DsseRequest<'a>),
}

/// The v1 kinds, as [`SUPPORTED_V1`] lists them.
#[derive(Clone, Copy, Debug)]
enum V1Kind {
    HashedRekord,
    Dsse,
    Intoto,
}

impl V1Kind {
    fn of(kind: &str, api_version: &str) -> Result<Self, EntryError> {
        if !matches!(kind, "hashedrekord" | "dsse" | "intoto") {
            return Err(EntryError::Unsupported(format!("kind {kind:?}")));
        }
        match (kind, api_version) {
            ("hashedrekord", "0.0.1") => Ok(V1Kind::HashedRekord),
            ("dsse", "0.0.1") => Ok(V1Kind::Dsse),
            ("intoto", "0.0.2") => Ok(V1Kind::Intoto),
            _ => Err(EntryError::Unsupported(format!(
                "{kind} apiVersion {api_version:?}"
            ))),
        }
    }

    fn name(self) -> &'static str {
        match self {
            V1Kind::HashedRekord => "hashedrekord",
            V1Kind::Dsse => "dsse",
            V1Kind::Intoto => "intoto",
        }
    }
}

/// A v1 body as its typed parse reads it. `spec` is read with the members of every v1 kind
/// (they differ from kind to kind), as `kind` may come after it.
#[derive(Deserialize)]
struct V1Body<'a> {
    #[serde(borrow)]
    kind: Option<Text<'a>>,
    #[serde(rename = "apiVersion", borrow)]
    api_version: Option<Text<'a>>,
    #[serde(borrow)]
    spec: Option<Obj<AnyV1Spec<'a>>>,
}

/// The members of the `spec` of every v1 kind, with the types of the kinds' own `Spec`s.
#[derive(Deserialize)]
struct AnyV1Spec<'a> {
    #[serde(borrow)]
    signature: Option<Obj<hashedrekord::Signature<'a>>>,
    #[serde(borrow)]
    data: Option<Obj<hashedrekord::Data<'a>>>,
    #[serde(rename = "proposedContent", borrow)]
    proposed_content: Option<Obj<dsse::ProposedContent<'a>>>,
    signatures: Option<Sent>,
    #[serde(rename = "envelopeHash")]
    envelope_hash: Option<Sent>,
    #[serde(rename = "payloadHash")]
    payload_hash: Option<Sent>,
    #[serde(borrow)]
    content: Option<Obj<intoto::Content<'a>>>,
}

impl<'a> AnyV1Spec<'a> {
    fn into_spec(self, kind: V1Kind) -> Spec<'a> {
        match kind {
            V1Kind::HashedRekord => Spec::HashedRekordV001(hashedrekord::Spec {
                signature: self.signature,
                data: self.data,
            }),
            V1Kind::Dsse => Spec::DsseV001(dsse::Spec {
                proposed_content: self.proposed_content,
                signatures: self.signatures,
                envelope_hash: self.envelope_hash,
                payload_hash: self.payload_hash,
            }),
            V1Kind::Intoto => Spec::IntotoV002(intoto::Spec {
                content: self.content,
            }),
        }
    }
}

/// A v2 body as its typed parse reads it.
#[derive(Deserialize)]
struct V2Body<'a> {
    #[serde(
        rename = "hashedRekordRequestV002",
        alias = "hashed_rekord_request_v002",
        borrow
    )]
    hashed_rekord: Option<Obj<v2::HashedRekordRequest<'a>>>,
    #[serde(rename = "dsseRequestV002", alias = "dsse_request_v002", borrow)]
    dsse: Option<Obj<v2::DsseRequest<'a>>>,
}

impl<'a> ProposedEntry<'a> {
    /// A Rekor v1 body: `{"kind","apiVersion","spec"}` of a supported kind and version.
    pub fn parse_v1(proposed_entry_json: &'a [u8]) -> Result<Self, EntryError> {
        Self::parse_v1_typed(proposed_entry_json)
            .unwrap_or_else(|| Self::parse_v1_value(proposed_entry_json))
    }

    /// [`ProposedEntry::parse_v1`] in one typed parse, or `None` where it does not apply (the
    /// parse fails, or `kind`, `apiVersion` or `spec` is missing).
    fn parse_v1_typed(proposed_entry_json: &'a [u8]) -> Option<Result<Self, EntryError>> {
        let body = serde_json::from_slice::<Obj<V1Body<'a>>>(proposed_entry_json).ok()?;
        let V1Body {
            kind: Some(kind),
            api_version: Some(api_version),
            spec: Some(spec),
        } = body.into_inner()
        else {
            return None;
        };
        Some(V1Kind::of(&kind, &api_version).map(|kind| ProposedEntry {
            kind: kind.name(),
            spec: Ok(spec.into_inner().into_spec(kind)),
        }))
    }

    /// [`ProposedEntry::parse_v1`] through a `serde_json::Value`, whose refusals it defines
    /// (see the `de` module for why the typed parse agrees with it wherever it applies).
    fn parse_v1_value(proposed_entry_json: &[u8]) -> Result<Self, EntryError> {
        let mut entry = util::parse_object(proposed_entry_json)?;
        let string = |name: &str| match entry.get(name) {
            Some(Value::String(k)) => Ok(k.as_str()),
            Some(_) => Err(EntryError::Malformed(format!("{name} must be a string"))),
            None => Err(EntryError::Malformed(format!("{name} is required"))),
        };
        let kind = V1Kind::of(string("kind")?, string("apiVersion")?)?;
        let spec = match entry.remove("spec") {
            None | Some(Value::Null) => return Err(util::invalid("spec", "is required")),
            Some(spec @ Value::Object(_)) => spec,
            Some(other) => {
                return Err(util::invalid(
                    "spec",
                    format!("must be an object, found {}", util::type_name(&other)),
                ))
            }
        };
        let spec = match kind {
            V1Kind::HashedRekord => {
                typed(spec, "spec", hashedrekord::FIELDS, Spec::HashedRekordV001)
            }
            V1Kind::Dsse => typed(spec, "spec", dsse::FIELDS, Spec::DsseV001),
            V1Kind::Intoto => typed(spec, "spec", intoto::FIELDS, Spec::IntotoV002),
        };
        Ok(ProposedEntry {
            kind: kind.name(),
            spec,
        })
    }

    /// A Rekor v2 body: exactly one of `hashedRekordRequestV002` and `dsseRequestV002` (or
    /// their proto field names `hashed_rekord_request_v002`, `dsse_request_v002`).
    pub fn parse_v2(create_entry_request_json: &'a [u8]) -> Result<Self, EntryError> {
        match Self::parse_v2_typed(create_entry_request_json) {
            Some(entry) => Ok(entry),
            None => Self::parse_v2_value(create_entry_request_json),
        }
    }

    /// [`ProposedEntry::parse_v2`] in one typed parse, or `None` where it does not apply (the
    /// parse fails, or the request does not hold exactly one kind's member).
    fn parse_v2_typed(create_entry_request_json: &'a [u8]) -> Option<Self> {
        let body = serde_json::from_slice::<Obj<V2Body<'a>>>(create_entry_request_json).ok()?;
        match body.into_inner() {
            V2Body {
                hashed_rekord: Some(request),
                dsse: None,
            } => Some(ProposedEntry {
                kind: "hashedrekord",
                spec: Ok(Spec::HashedRekordV002(request.into_inner())),
            }),
            V2Body {
                hashed_rekord: None,
                dsse: Some(request),
            } => Some(ProposedEntry {
                kind: "dsse",
                spec: Ok(Spec::DsseV002(request.into_inner())),
            }),
            _ => None,
        }
    }

    /// [`ProposedEntry::parse_v2`] through a `serde_json::Value`, whose refusals it defines.
    fn parse_v2_value(create_entry_request_json: &[u8]) -> Result<Self, EntryError> {
        let mut req = util::parse_object(create_entry_request_json)?;
        let mut take = |json: &str, proto: &str| {
            let json_value = req.remove(json).filter(|v| !v.is_null());
            let proto_value = req.remove(proto).filter(|v| !v.is_null());
            json_value.or(proto_value)
        };
        let hashed = take("hashedRekordRequestV002", "hashed_rekord_request_v002");
        let dsse = take("dsseRequestV002", "dsse_request_v002");
        match (hashed, dsse) {
            (Some(_), Some(_)) => Err(EntryError::Malformed(
                "a request holds exactly one of hashedRekordRequestV002 and dsseRequestV002".into(),
            )),
            (Some(request), None) => Ok(ProposedEntry {
                kind: "hashedrekord",
                spec: v2_member(
                    request,
                    "hashedRekordRequestV002",
                    v2::HASHED_REKORD_FIELDS,
                    Spec::HashedRekordV002,
                )?,
            }),
            (None, Some(request)) => Ok(ProposedEntry {
                kind: "dsse",
                spec: v2_member(request, "dsseRequestV002", v2::DSSE_FIELDS, Spec::DsseV002)?,
            }),
            (None, None) => Err(EntryError::Unsupported(match req.keys().next() {
                Some(k) => format!("request type {k:?}"),
                None => "empty request".into(),
            })),
        }
    }

    /// The entry's kind (`hashedrekord`, `dsse`, `intoto`), which sets its size limit.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// Verifies the entry and produces its canonical body; `cache` holds the parsed verifiers
    /// of v1 `hashedrekord` entries.
    pub fn canonicalize(
        &self,
        cache: Option<&VerifierCache>,
    ) -> Result<CanonicalEntry, EntryError> {
        match &self.spec {
            Err(e) => Err(e.clone()),
            Ok(Spec::HashedRekordV001(spec)) => hashedrekord::canonicalize(spec, cache),
            Ok(Spec::DsseV001(spec)) => dsse::canonicalize(spec),
            Ok(Spec::IntotoV002(spec)) => intoto::canonicalize(spec),
            Ok(Spec::HashedRekordV002(request)) => v2::hashedrekord(request),
            Ok(Spec::DsseV002(request)) => v2::dsse(request),
        }
    }
}

/// A kind's object (`value`, at `root`) deserialised as `T`, into a [`Spec`] by `spec`.
fn typed<'a, T: Deserialize<'a>>(
    value: Value,
    root: &'static str,
    fields: &[Field],
    spec: fn(T) -> Spec<'a>,
) -> Result<Spec<'a>, EntryError> {
    de::from_value::<Obj<T>>(value, root, fields).map(|t| spec(t.into_inner()))
}

/// The one member of a v2 request (`value`, named `field`) as [`typed`] reads it, once it is
/// known to be an object.
fn v2_member<'a, T: Deserialize<'a>>(
    mut value: Value,
    field: &'static str,
    fields: &[Field],
    spec: fn(T) -> Spec<'a>,
) -> Result<Result<Spec<'a>, EntryError>, EntryError> {
    if !value.is_object() {
        return Err(util::invalid(
            field,
            format!("must be an object, found {}", util::type_name(&value)),
        ));
    }
    v2::prefer_json_names(&mut value);
    Ok(typed(value, field, fields, spec))
}

/// The identities in a certificate's subject alternative names, as Rekor indexes them (DNS
/// names, emails, IP addresses, URIs, then Fulcio's username OtherName), in upstream
/// `Subjects()` order and case: for monitors matching entries against identities.
pub fn certificate_subjects(cert: &x509_cert::Certificate) -> Vec<String> {
    pki::subjects(cert)
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

/// The [`IndexKey::CertificateFingerprint`] value for a search by certificate fingerprint: 64
/// hex digits in either case, bare, with a colon between bytes (`AB:CD:…`, as `openssl` prints
/// it) or after `sha256:`.
pub fn certificate_fingerprint_index_key(fingerprint: &str) -> Result<String, EntryError> {
    const F: &str = "certificateFingerprint";
    let trimmed = fingerprint.trim();
    let hex_part = match trimmed.split_once(':') {
        Some((algorithm, rest)) if algorithm.eq_ignore_ascii_case("sha256") => rest,
        _ => trimmed,
    };
    let digits = if hex_part.contains(':') {
        let pairs: Vec<&str> = hex_part.split(':').collect();
        if pairs.iter().any(|p| p.len() != 2) {
            return Err(util::invalid(
                F,
                "colons must separate bytes (two hex digits each)",
            ));
        }
        pairs.concat()
    } else {
        hex_part.to_string()
    };
    if digits.len() != 64 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(util::invalid(
            F,
            "a certificate fingerprint is a SHA-256: 64 hex digits, optionally after sha256: or with colons between bytes",
        ));
    }
    Ok(digits.to_ascii_lowercase())
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

    const V1_VECTORS: &[&str] = &[
        "rekor/v1/hashedrekord-v0.0.1/proposed-entry.json",
        "rekor/v1/dsse-v0.0.1/proposed-entry.json",
        "rekor/v1/intoto-v0.0.2/proposed-entry.json",
    ];
    const V2_VECTORS: &[&str] = &[
        "rekor/v2/hashedrekord-v0.0.2/proposed-entry.json",
        "rekor/v2/dsse-as-hashedrekord-v0.0.2/proposed-entry.json",
    ];

    fn vector(name: &str) -> Value {
        serde_json::from_slice(&sigstack_test_vectors::read(name)).unwrap()
    }

    type Outcome = Result<(&'static str, Result<CanonicalEntry, EntryError>), EntryError>;

    fn outcome(parsed: Result<ProposedEntry<'_>, EntryError>) -> Outcome {
        parsed.map(|p| (p.kind(), p.canonicalize(None)))
    }

    /// The typed parse, where it applies, answers as the `Value` parse does.
    fn typed_agrees(bytes: &[u8]) -> bool {
        let v1 = ProposedEntry::parse_v1_typed(bytes).map(outcome);
        let v2 = ProposedEntry::parse_v2_typed(bytes).map(|p| outcome(Ok(p)));
        if let Some(typed) = &v1 {
            assert_eq!(typed, &outcome(ProposedEntry::parse_v1_value(bytes)));
        }
        if let Some(typed) = &v2 {
            assert_eq!(typed, &outcome(ProposedEntry::parse_v2_value(bytes)));
        }
        v1.is_some() || v2.is_some()
    }

    /// `doc` as JSON text with the members of every object in reverse order.
    fn reversed(doc: &Value) -> String {
        match doc {
            Value::Object(m) => {
                let members: Vec<String> = m
                    .iter()
                    .rev()
                    .map(|(k, v)| format!("{}:{}", Value::from(k.as_str()), reversed(v)))
                    .collect();
                format!("{{{}}}", members.join(","))
            }
            Value::Array(items) => {
                let items: Vec<String> = items.iter().map(reversed).collect();
                format!("[{}]", items.join(","))
            }
            other => other.to_string(),
        }
    }

    #[test]
    fn vectors_take_the_typed_parse_in_any_member_order() {
        for name in V1_VECTORS.iter().chain(V2_VECTORS) {
            let doc = vector(name);
            // Go clients (go-openapi) send `kind` after `spec`.
            for text in [doc.to_string(), reversed(&doc)] {
                assert!(typed_agrees(text.as_bytes()), "{name}: {text}");
            }
        }
    }

    #[test]
    fn a_repeated_member_keeps_its_last_value() {
        let doc = vector(V1_VECTORS[0]).to_string();
        let body = doc.strip_prefix('{').unwrap();
        let want = canonicalize_v1(doc.as_bytes()).unwrap();
        for text in [
            format!(r#"{{"kind":"rekord","spec":[1],{body}"#),
            doc.replace(r#""data":{"#, r#""data":5,"data":{"#),
        ] {
            assert!(ProposedEntry::parse_v1_typed(text.as_bytes()).is_none());
            assert_eq!(canonicalize_v1(text.as_bytes()), Ok(want.clone()), "{text}");
        }
        let text = format!(r#"{},"kind":"rekord"}}"#, doc.strip_suffix('}').unwrap());
        assert!(matches!(
            canonicalize_v1(text.as_bytes()),
            Err(EntryError::Unsupported(_))
        ));
    }

    #[test]
    fn a_certificate_fingerprint_is_read_in_each_way_people_write_it() {
        let hex = "ab".repeat(32);
        let colons = vec!["AB"; 32].join(":");
        for term in [
            hex.clone(),
            hex.to_uppercase(),
            format!("sha256:{hex}"),
            format!("SHA256:{colons}"),
            colons.clone(),
            format!(" {hex}\n"),
        ] {
            assert_eq!(
                certificate_fingerprint_index_key(&term),
                Ok(hex.clone()),
                "{term:?}"
            );
        }
        for bad in [
            "",
            "ab",
            &"ab".repeat(33),
            &format!("sha384:{hex}"),
            &format!("sha256:{}", "zz".repeat(32)),
            &format!("{}:a:bc", vec!["ab"; 31].join(":")),
            &format!("{}:", colons),
        ] {
            assert!(
                matches!(
                    certificate_fingerprint_index_key(bad),
                    Err(EntryError::Invalid {
                        field: "certificateFingerprint",
                        ..
                    })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn v2_json_names_win_over_proto_names() {
        let mut doc = vector(V2_VECTORS[0]);
        let want = canonicalize_v2(doc.to_string().as_bytes()).unwrap();
        let verifier = &mut doc["hashedRekordRequestV002"]["signature"]["verifier"];
        verifier["key_details"] = json!(5);
        verifier["x509_certificate"] = json!({"raw_bytes": "AA=="});
        verifier["keyDetails"] = json!(null);
        let details = verifier.as_object_mut().unwrap().remove("keyDetails");
        verifier["key_details"] = json!("PKIX_ECDSA_P256_SHA_256");
        verifier["keyDetails"] = details.unwrap();
        let text = doc.to_string();
        assert!(ProposedEntry::parse_v2_typed(text.as_bytes()).is_none());
        assert_eq!(canonicalize_v2(text.as_bytes()), Ok(want));
    }

    proptest! {
        #[test]
        fn the_typed_parse_agrees_with_the_value_parse(
            file in 0..V1_VECTORS.len() + V2_VECTORS.len(),
            which in any::<usize>(),
            replacement in prop_oneof![
                Just(Value::Null),
                Just(json!("")),
                Just(json!("AAAA")),
                Just(json!(7)),
                Just(json!([])),
                Just(json!({})),
                Just(json!([{}, "x"])),
                Just(json!({"content": 1, "sig": "x", "rawBytes": []})),
            ],
            reverse in any::<bool>(),
        ) {
            let name = V1_VECTORS.iter().chain(V2_VECTORS).nth(file).unwrap();
            let mut doc = vector(name);
            let mut pointers = Vec::new();
            let mut stack = vec![(String::new(), doc.clone())];
            while let Some((at, v)) = stack.pop() {
                let children: Vec<(String, Value)> = match v {
                    Value::Object(m) => m.into_iter().map(|(k, x)| (format!("{at}/{k}"), x)).collect(),
                    Value::Array(a) => a.into_iter().enumerate().map(|(i, x)| (format!("{at}/{i}"), x)).collect(),
                    _ => Vec::new(),
                };
                pointers.extend(children.iter().map(|(p, _)| p.clone()));
                stack.extend(children);
            }
            if let Some(slot) = doc.pointer_mut(&pointers[which % pointers.len()]) {
                *slot = replacement;
            }
            let text = if reverse { reversed(&doc) } else { doc.to_string() };
            typed_agrees(text.as_bytes());
        }

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
