//! The Rekor v1 API (`/api/v1/…`), as upstream's `openapi.yaml` defines it.

use crate::error::refused;
use crate::metrics::LoggedKind;
use crate::{ApiError, Rekor, Shard};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sigstack_http::{with_error_content_type, ErrorKind, JsonBody, RawBody};
use std::collections::BTreeSet;
use std::sync::Arc;
use tlog::merkle::Hash;
use tlog_store::{IndexKey, StoredEntry, Submission};

type AppState = Arc<Rekor>;

/// Most items one `retrieve` request may ask for, per list (upstream's `maxItems`).
const MAX_RETRIEVE_ITEMS: usize = 10;
/// Most UUIDs one search criterion returns.
const MAX_SEARCH_RESULTS: u32 = 1000;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/log", get(log_info))
        .route(
            "/api/v1/log/publicKey",
            with_error_content_type(get(public_key), "application/x-pem-file"),
        )
        .route("/api/v1/log/proof", get(consistency_proof))
        .route(
            "/api/v1/log/checkpoint/witnessed",
            get(witnessed_checkpoint),
        )
        .route("/api/v1/log/witness-policy", get(witness_policy))
        .route(
            "/api/v1/log/entries",
            post(create_entry).get(entry_by_index),
        )
        .route("/api/v1/log/entries/retrieve", post(retrieve_entries))
        // Upstream's parameter name: the route pattern is the `path` label of the metrics.
        .route("/api/v1/log/entries/{entryUUID}", get(entry_by_uuid))
        .route("/api/v1/index/retrieve", post(search_index))
}

/// The active shard's latest checkpoint that met its witness policy, with the cosignatures (not
/// an upstream endpoint: upstream Rekor v1 has no witnesses).
async fn witnessed_checkpoint(State(rekor): State<AppState>) -> Result<Response, ApiError> {
    sigstack_http::witnessed_checkpoint_response(rekor.v1_witnessed.as_ref().map(|w| w.latest()))
}

/// The active shard's witness policy as a C2SP tlog-policy file (not an upstream endpoint). Its
/// `log` line names the v1 key as the checkpoints' signatures do, by the host: the origin
/// `<host> - <tree ID>` cannot be a key name.
async fn witness_policy(State(rekor): State<AppState>) -> Result<Response, ApiError> {
    sigstack_http::witness_policy_response(rekor.v1_witness_policy())
}

// --- writing -------------------------------------------------------------------------------

async fn create_entry(
    State(rekor): State<AppState>,
    RawBody(bytes): RawBody,
) -> Result<Response, ApiError> {
    let (kind, mut response) = create(&rekor, &bytes).await?;
    response.extensions_mut().insert(LoggedKind(kind));
    Ok(response)
}

async fn create(rekor: &Rekor, bytes: &[u8]) -> Result<(&'static str, Response), ApiError> {
    let proposed =
        rekor.parse_within_limit(bytes, rekor_types::ProposedEntry::parse_v1, "entry")?;
    let canonical = proposed
        .canonicalize(Some(&rekor.verifiers))
        .map_err(refused)?;
    let shard = rekor.active();
    let submission = Submission {
        identity: tlog::merkle::leaf_hash(&canonical.body),
        payload: canonical.body,
        index_keys: canonical.index_keys.iter().map(index_key).collect(),
    };
    let appended = shard.log.append(submission).await?;
    let uuid = hex_lower(&appended.entry.leaf_hash);
    let id = entry_id(shard.tree_id, &uuid);
    let location = format!("{}/api/v1/log/entries/{id}", rekor.entry_location_base);
    if appended.duplicate {
        return Err(ApiError::conflict(
            format!("an equivalent entry already exists in the transparency log with UUID {uuid}"),
            Some(location),
        ));
    }
    let entry = render_entry(
        shard,
        &appended.entry,
        &appended.head.checkpoint,
        appended.head.size,
        &appended.head.root,
        &appended.inclusion_proof,
    )?;
    // `{id: entry}`, serialised straight from the structs.
    let body = serde_json::to_vec(&std::collections::BTreeMap::from([(id, entry)]))
        .map_err(|e| ApiError::internal(format!("JSON encoding: {e}")))?;
    let mut response = (
        StatusCode::CREATED,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&location) {
        headers.insert(header::LOCATION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("\"{uuid}\"")) {
        headers.insert(header::ETAG, v);
    }
    Ok((canonical.kind, response))
}

/// The store's index kind of certificate fingerprints: its own, so that a fingerprint is never
/// taken for an artifact digest (a certificate file signed as an artifact has the same hash).
const CERTIFICATE_FINGERPRINT: &str = "certificate-sha256";

/// How an entry's search key is filed in the store's index.
pub(crate) fn index_key(key: &rekor_types::IndexKey) -> IndexKey {
    let (kind, key) = match key {
        rekor_types::IndexKey::ArtifactHash(v) => ("hash", v),
        rekor_types::IndexKey::PublicKey(v) => ("key", v),
        rekor_types::IndexKey::Subject(v) => ("subject", v),
        rekor_types::IndexKey::CertificateFingerprint(v) => (CERTIFICATE_FINGERPRINT, v),
    };
    IndexKey {
        kind: kind.into(),
        key: key.clone(),
    }
}

/// The sharded entry ID: 16 hex digits of the tree ID, then the UUID (the leaf hash in hex).
fn entry_id(tree_id: i64, uuid: &str) -> String {
    format!("{tree_id:016x}{uuid}")
}

/// A `LogEntry` value: the entry, its SignedEntryTimestamp, and its inclusion proof in a tree
/// with that tree's checkpoint. Members are declared in sorted order, as a `serde_json::Value`
/// writes them, so the write path (serialised directly) and the read paths (through `Value`)
/// answer byte-identical JSON.
#[derive(Serialize)]
struct LogEntry {
    body: String,
    #[serde(rename = "integratedTime")]
    integrated_time: i64,
    #[serde(rename = "logID")]
    log_id: String,
    #[serde(rename = "logIndex")]
    log_index: u64,
    verification: Verification,
}

#[derive(Serialize)]
struct Verification {
    #[serde(rename = "inclusionProof")]
    inclusion_proof: InclusionProof,
    #[serde(rename = "signedEntryTimestamp")]
    signed_entry_timestamp: String,
}

#[derive(Serialize)]
struct InclusionProof {
    checkpoint: String,
    hashes: Vec<HexHash>,
    #[serde(rename = "logIndex")]
    log_index: u64,
    #[serde(rename = "rootHash")]
    root_hash: HexHash,
    #[serde(rename = "treeSize")]
    tree_size: u64,
}

/// A hash that serialises as its lowercase hex string, written from the stack: an answer
/// carries some twenty of them, and none needs a `String` of its own.
struct HexHash(Hash);

impl Serialize for HexHash {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 64];
        hex::encode_to_slice(self.0, &mut buf).expect("the buffer is twice as long");
        serializer.serialize_str(std::str::from_utf8(&buf).expect("hex digits are ASCII"))
    }
}

/// The `LogEntry` of `entry` with its SignedEntryTimestamp (signed now) and its inclusion
/// `proof` in the tree of `size`, whose root and checkpoint are given.
fn render_entry(
    shard: &Shard,
    entry: &StoredEntry,
    checkpoint: &[u8],
    size: u64,
    root: &Hash,
    proof: &[Hash],
) -> Result<LogEntry, ApiError> {
    let integrated_time = (entry.integrated_at_ms / 1000) as i64;
    let log_id = hex_lower(&shard.log_id);
    let global_index = shard.offset + entry.index;
    let set = shard
        .key
        .sign(&rekor_types::set_payload(
            &entry.data,
            integrated_time,
            &log_id,
            global_index,
        ))
        .map_err(crate::error::signing)?;
    Ok(LogEntry {
        body: B64.encode(&entry.data),
        integrated_time,
        log_id,
        log_index: global_index,
        verification: Verification {
            inclusion_proof: InclusionProof {
                checkpoint: String::from_utf8_lossy(checkpoint).into_owned(),
                hashes: proof.iter().copied().map(HexHash).collect(),
                log_index: entry.index,
                root_hash: HexHash(*root),
                tree_size: size,
            },
            signed_entry_timestamp: B64.encode(set),
        },
    })
}

/// Lowercase hex of a hash, as `hex::encode` writes it, through a slice rather than its
/// char-at-a-time iterator.
fn hex_lower(bytes: &[u8]) -> String {
    let mut buf = vec![0u8; bytes.len() * 2];
    hex::encode_to_slice(bytes, &mut buf).expect("the buffer is twice as long");
    String::from_utf8(buf).expect("hex digits are ASCII")
}

impl LogEntry {
    fn into_value(self) -> Value {
        serde_json::to_value(self).expect("a LogEntry serialises")
    }
}

/// An entry with a proof against its shard's current head (read again from the database when
/// another replica committed the entry after this one's cached head).
async fn entry_with_proof(shard: &Shard, entry: &StoredEntry) -> Result<(String, Value), ApiError> {
    let head = shard.log.head_covering(entry.index + 1).await?;
    if entry.index >= head.size {
        // The head and the entry commit in one transaction: a stored entry outside the stored
        // head is a store that contradicts itself.
        return Err(ApiError::internal(format!(
            "entry {} is outside the stored tree head of size {}",
            entry.index, head.size
        )));
    }
    let proof = shard.log.inclusion_proof(entry.index, head.size).await?;
    let value = render_entry(
        shard,
        entry,
        &head.checkpoint,
        head.size,
        &head.root,
        &proof,
    )?
    .into_value();
    Ok((
        entry_id(shard.tree_id, &hex::encode(entry.leaf_hash)),
        value,
    ))
}

// --- reading entries -------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IndexQuery {
    log_index: Option<String>,
}

async fn entry_by_index(
    State(rekor): State<AppState>,
    Query(q): Query<IndexQuery>,
) -> Result<Json<Value>, ApiError> {
    let raw = q
        .log_index
        .ok_or_else(|| ApiError::bad_request("logIndex is required"))?;
    let index: u64 = raw.parse().map_err(|_| {
        ApiError::bad_request(format!("logIndex {raw:?} is not a non-negative integer"))
    })?;
    let (id, value) = by_global_index(&rekor, index).await?;
    Ok(Json(json!({ id: value })))
}

async fn by_global_index(rekor: &Rekor, index: u64) -> Result<(String, Value), ApiError> {
    let not_found = || ApiError::not_found(format!("no entry at logIndex {index}"));
    let (shard, local) = rekor.shard_for_index(index).ok_or_else(not_found)?;
    let entry = shard.log.entry(local).await?.ok_or_else(not_found)?;
    entry_with_proof(shard, &entry).await
}

/// A UUID (64 hex digits) or an entry ID (16 hex digits of tree ID, then the UUID).
fn parse_entry_id(id: &str) -> Result<(Option<i64>, Hash), ApiError> {
    let bad = || {
        ApiError::bad_request(format!(
            "{id:?} is neither a UUID (64 hex digits) nor an entry ID (80 hex digits)"
        ))
    };
    let (tree, uuid) = match id.len() {
        64 => (None, id),
        80 => {
            let tree = u64::from_str_radix(&id[..16], 16).map_err(|_| bad())?;
            (Some(tree as i64), &id[16..])
        }
        _ => return Err(bad()),
    };
    let mut hash = [0u8; 32];
    hex::decode_to_slice(uuid, &mut hash).map_err(|_| bad())?;
    Ok((tree, hash))
}

async fn find_by_uuid(rekor: &Rekor, id: &str) -> Result<Option<(String, Value)>, ApiError> {
    let (tree, leaf) = parse_entry_id(id)?;
    let shards: Vec<&Shard> = match tree {
        Some(t) => rekor.shard_by_tree_id(t).into_iter().collect(),
        None => rekor.shards.iter().rev().collect(),
    };
    for shard in shards {
        if let Some(entry) = shard.log.entry_by_leaf_hash(&leaf).await? {
            return entry_with_proof(shard, &entry).await.map(Some);
        }
    }
    Ok(None)
}

async fn entry_by_uuid(
    State(rekor): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (id, value) = find_by_uuid(&rekor, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no entry with UUID {id}")))?;
    Ok(Json(json!({ id: value })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
/// Each list is optional (absent or JSON `null`, as Go clients send what they leave unset), but
/// one that is given holds 1 to 10 items (upstream's `minItems`/`maxItems`).
struct RetrieveRequest {
    #[serde(default, rename = "entryUUIDs")]
    entry_uuids: Option<Vec<String>>,
    #[serde(default)]
    log_indexes: Option<Vec<i64>>,
    #[serde(default)]
    entries: Option<Vec<Value>>,
}

async fn retrieve_entries(
    State(rekor): State<AppState>,
    JsonBody(req): JsonBody<RetrieveRequest>,
) -> Result<Json<Vec<Value>>, ApiError> {
    for (name, len) in [
        ("entryUUIDs", req.entry_uuids.as_ref().map(Vec::len)),
        ("logIndexes", req.log_indexes.as_ref().map(Vec::len)),
        ("entries", req.entries.as_ref().map(Vec::len)),
    ] {
        match len {
            Some(0) => {
                return Err(ApiError::bad_request(format!(
                    "{name} is empty; give at least one item or leave it out"
                )))
            }
            Some(len) if len > MAX_RETRIEVE_ITEMS => {
                return Err(ApiError::bad_request(format!(
                    "{name} has {len} items; at most {MAX_RETRIEVE_ITEMS} are allowed"
                )))
            }
            _ => {}
        }
    }
    let (entry_uuids, log_indexes, entries) = (
        req.entry_uuids.unwrap_or_default(),
        req.log_indexes.unwrap_or_default(),
        req.entries.unwrap_or_default(),
    );
    let mut out = Vec::new();
    for id in &entry_uuids {
        if let Some((id, value)) = find_by_uuid(&rekor, id).await? {
            out.push(json!({ id: value }));
        }
    }
    for &index in &log_indexes {
        let index = u64::try_from(index)
            .map_err(|_| ApiError::bad_request(format!("logIndex {index} is negative")))?;
        match by_global_index(&rekor, index).await {
            Ok((id, value)) => out.push(json!({ id: value })),
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    for proposed in &entries {
        let bytes = serde_json::to_vec(proposed).expect("a JSON value serialises");
        let canonical = rekor_types::canonicalize_v1(&bytes).map_err(refused)?;
        let uuid = hex::encode(tlog::merkle::leaf_hash(&canonical.body));
        if let Some((id, value)) = find_by_uuid(&rekor, &uuid).await? {
            out.push(json!({ id: value }));
        }
    }
    Ok(Json(out))
}

// --- search ----------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchPublicKey {
    format: String,
    content: Option<String>,
    url: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchRequest {
    email: Option<String>,
    #[serde(rename = "publicKey")]
    public_key: Option<SearchPublicKey>,
    hash: Option<String>,
    /// Ours, not upstream's: the SHA-256 of a signing certificate's DER (see
    /// [`rekor_types::certificate_fingerprint_index_key`] for the forms taken).
    #[serde(rename = "certificateFingerprint")]
    certificate_fingerprint: Option<String>,
    operator: Option<String>,
}

async fn search_index(
    State(rekor): State<AppState>,
    JsonBody(req): JsonBody<SearchRequest>,
) -> Result<Json<Vec<String>>, ApiError> {
    let mut criteria: Vec<(&'static str, String)> = Vec::new();
    if let Some(hash) = &req.hash {
        criteria.push(("hash", normalise_hash(hash)?));
    }
    if let Some(key) = &req.public_key {
        if key.url.is_some() {
            return Err(ApiError::bad_request(
                "publicKey.url is not supported: send publicKey.content",
            ));
        }
        let content = key.content.as_deref().ok_or_else(|| {
            ApiError::bad_request("publicKey.content is required for a key search")
        })?;
        let bytes = B64
            .decode(content)
            .map_err(|e| ApiError::bad_request(format!("publicKey.content is not base64: {e}")))?;
        criteria.push((
            "key",
            rekor_types::public_key_index_key(&key.format, &bytes).map_err(refused)?,
        ));
    }
    if let Some(email) = &req.email {
        if !email.contains('@') {
            return Err(ApiError::bad_request(format!(
                "email {email:?} is not an email address"
            )));
        }
        criteria.push(("subject", email.to_lowercase()));
    }
    if let Some(fingerprint) = &req.certificate_fingerprint {
        criteria.push((
            CERTIFICATE_FINGERPRINT,
            rekor_types::certificate_fingerprint_index_key(fingerprint).map_err(refused)?,
        ));
    }
    if criteria.is_empty() {
        return Err(ApiError::bad_request(
            "give at least one of hash, publicKey, email, certificateFingerprint",
        ));
    }
    let all = match req.operator.as_deref() {
        None | Some("or") => false,
        Some("and") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "operator {other:?} is neither \"and\" nor \"or\""
            )))
        }
    };
    let mut result: Option<BTreeSet<String>> = None;
    for (kind, key) in criteria {
        let mut found = BTreeSet::new();
        for shard in &rekor.shards {
            for index in shard.log.lookup(kind, &key, MAX_SEARCH_RESULTS).await? {
                if let Some(entry) = shard.log.entry(index).await? {
                    found.insert(hex::encode(entry.leaf_hash));
                }
            }
        }
        result = Some(match result {
            None => found,
            Some(acc) if all => acc.intersection(&found).cloned().collect(),
            Some(acc) => acc.union(&found).cloned().collect(),
        });
    }
    Ok(Json(result.unwrap_or_default().into_iter().collect()))
}

/// `sha256:<hex>` (or sha384/sha512), or bare hex taken as SHA-256; lowercase.
fn normalise_hash(hash: &str) -> Result<String, ApiError> {
    let lower = hash.to_ascii_lowercase();
    let (algorithm, hex_digest) = lower.split_once(':').unwrap_or(("sha256", &lower));
    let want = match algorithm {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        other => {
            return Err(ApiError::bad_request(format!(
                "hash algorithm {other:?} is not one of sha256, sha384, sha512"
            )))
        }
    };
    if hex_digest.len() != want || !hex_digest.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::bad_request(format!(
            "hash {hash:?}: a {algorithm} digest is {want} hex digits"
        )));
    }
    Ok(format!("{algorithm}:{hex_digest}"))
}

// --- the log -------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TreeQuery {
    #[serde(rename = "treeID")]
    tree_id: Option<String>,
}

fn pick_shard<'a>(rekor: &'a Rekor, tree_id: Option<&str>) -> Result<&'a Shard, ApiError> {
    match tree_id {
        None => Ok(rekor.active()),
        Some(raw) => {
            let id: i64 = raw
                .parse()
                .map_err(|_| ApiError::bad_request(format!("treeID {raw:?} is not an integer")))?;
            rekor
                .shard_by_tree_id(id)
                .ok_or_else(|| ApiError::not_found(format!("no shard with treeID {id}")))
        }
    }
}

async fn shard_info(shard: &Shard) -> Result<Value, ApiError> {
    let head = shard.log.head().await?;
    Ok(json!({
        "rootHash": hex::encode(head.root),
        "treeSize": head.size,
        "signedTreeHead": String::from_utf8_lossy(&head.checkpoint),
        "treeID": shard.tree_id.to_string(),
    }))
}

async fn log_info(State(rekor): State<AppState>) -> Result<Json<Value>, ApiError> {
    let mut info = shard_info(rekor.active()).await?;
    let mut inactive = Vec::new();
    for shard in rekor.shards.iter().rev().skip(1) {
        inactive.push(shard_info(shard).await?);
    }
    if !inactive.is_empty() {
        info["inactiveShards"] = Value::Array(inactive);
    }
    Ok(Json(info))
}

async fn public_key(
    State(rekor): State<AppState>,
    Query(q): Query<TreeQuery>,
) -> Result<Response, ApiError> {
    // Each shard's own key, as upstream answers `?treeID=` (the active shard's without it).
    let shard = pick_shard(&rekor, q.tree_id.as_deref())?;
    let pem = pem_rfc7468::encode_string(
        "PUBLIC KEY",
        pem_rfc7468::LineEnding::LF,
        shard.key.public_key_der(),
    )
    .map_err(|e| ApiError::internal(format!("PEM encoding: {e}")))?;
    Ok(([(header::CONTENT_TYPE, "application/x-pem-file")], pem).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProofQuery {
    first_size: Option<String>,
    last_size: Option<String>,
    #[serde(rename = "treeID")]
    tree_id: Option<String>,
}

async fn consistency_proof(
    State(rekor): State<AppState>,
    Query(q): Query<ProofQuery>,
) -> Result<Json<Value>, ApiError> {
    let shard = pick_shard(&rekor, q.tree_id.as_deref())?;
    let size = |name: &str, raw: Option<&str>, default: Option<u64>| -> Result<u64, ApiError> {
        match (raw, default) {
            (Some(raw), _) => raw.parse::<u64>().ok().filter(|&v| v >= 1).ok_or_else(|| {
                ApiError::bad_request(format!("{name} {raw:?} is not a positive integer"))
            }),
            (None, Some(d)) => Ok(d),
            (None, None) => Err(ApiError::bad_request(format!("{name} is required"))),
        }
    };
    let first = size("firstSize", q.first_size.as_deref(), Some(1))?;
    let last = size("lastSize", q.last_size.as_deref(), None)?;
    if first > last {
        return Err(ApiError::bad_request(format!(
            "firstSize {first} is larger than lastSize {last}"
        )));
    }
    let head = shard.log.head_covering(last).await?;
    if last > head.size {
        return Err(ApiError::bad_request(format!(
            "lastSize {last} is larger than the tree ({})",
            head.size
        )));
    }
    let proof = shard.log.consistency_proof(first, last).await?;
    let root = shard.log.root_at(last).await?;
    Ok(Json(json!({
        "rootHash": hex::encode(root),
        "hashes": proof.iter().map(hex::encode).collect::<Vec<_>>(),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_ids_and_uuids_parse() {
        let uuid = "aa".repeat(32);
        assert_eq!(parse_entry_id(&uuid).unwrap(), (None, [0xaa; 32]));
        let id = entry_id(0x1234, &uuid);
        assert_eq!(id.len(), 80);
        assert_eq!(parse_entry_id(&id).unwrap(), (Some(0x1234), [0xaa; 32]));
        for bad in ["", "zz", &"g".repeat(64), &"a".repeat(63), &"a".repeat(81)] {
            assert!(parse_entry_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hex_hashes_serialise_as_hex_encode() {
        let hash: Hash = std::array::from_fn(|i| (i * 37) as u8);
        assert_eq!(
            serde_json::to_string(&HexHash(hash)).unwrap(),
            format!("\"{}\"", hex::encode(hash))
        );
    }

    #[test]
    fn hex_lower_is_hex_encode() {
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(hex_lower(&bytes), hex::encode(&bytes));
        assert_eq!(hex_lower(&[]), "");
    }

    #[test]
    fn hashes_normalise() {
        let hex = "AB".repeat(32);
        assert_eq!(
            normalise_hash(&hex).unwrap(),
            format!("sha256:{}", hex.to_lowercase())
        );
        assert!(normalise_hash("sha256:abcd").is_err());
        assert!(normalise_hash(&format!("md5:{hex}")).is_err());
        assert!(normalise_hash(&format!("sha512:{}", "0".repeat(128))).is_ok());
    }
}
