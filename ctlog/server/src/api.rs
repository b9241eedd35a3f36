//! The HTTP handlers: thin, over [`CtLog`] and the pure [`crate::chain`] and `ct` crates.

use crate::chain::{validate_chain, ChainKind};
use crate::error::ApiError;
use crate::CtLog;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ct::{Asn1Cert, ExtraData, MerkleTreeLeaf, SignedEntry, TileLeaf};
use serde_json::json;
use sigstack_http::{bytes_response, JsonBody, IMMUTABLE};
use std::collections::HashMap;
use std::sync::Arc;
use tlog::note::Note;
use tlog::tile::TilePath;
use tlog_store::{StoredEntry, Submission};

type AppState = Arc<CtLog>;

/// The CT log's routes, served at the root of its listener.
pub fn router(log: Arc<CtLog>) -> Router {
    routes(log.clone(), log)
}

/// `log`'s routes, whose `/readyz` reports on `ready`: the shard that takes submissions, so
/// that a frozen shard's probe says whether the log as a whole can take certificates.
fn routes(log: Arc<CtLog>, ready: Arc<CtLog>) -> Router {
    let limit = log.max_body_bytes;
    let http = log.http_metrics.clone();
    let router = Router::new()
        .route("/ct/v1/add-chain", post(add_chain))
        .route("/ct/v1/add-pre-chain", post(add_pre_chain))
        .route("/ct/v1/get-sth", get(get_sth))
        .route("/ct/v1/get-sth-consistency", get(get_sth_consistency))
        .route("/ct/v1/get-proof-by-hash", get(get_proof_by_hash))
        .route("/ct/v1/get-entries", get(get_entries))
        .route("/ct/v1/get-roots", get(get_roots))
        .route("/ct/v1/get-entry-and-proof", get(get_entry_and_proof))
        .route("/checkpoint", get(checkpoint))
        .route("/checkpoint/witnessed", get(witnessed_checkpoint))
        .route("/witness-policy", get(witness_policy))
        .route("/tile/{*path}", get(tile))
        .route("/issuer/{fingerprint}", get(issuer))
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .route(
            "/readyz",
            get(move || {
                let ready = ready.clone();
                async move { readyz(State(ready)).await }
            }),
        )
        .fallback(sigstack_http::unknown_path);
    // Errors as certificate-transparency-go's ctfe writes them: plain text, status line first.
    let router = sigstack_http::with_error_shape(router, sigstack_http::ErrorShape::CtText)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(log);
    sigstack_http::with_access_log(router, "ctlog", Some(http))
}

/// The routes of every shard of one CT log, generation 1 first (the active one last): each
/// shard's [`router`] under its own path ([`crate::shard_path`]), generation 1 at the root.
/// Every shard's `/readyz` reports on the active shard, the one that takes submissions.
pub fn shards_router(shards: &[Arc<CtLog>]) -> Router {
    let mut all = Router::new();
    let Some(active) = shards.last() else {
        return all;
    };
    for (generation, log) in (1..).zip(shards) {
        let shard = routes(log.clone(), active.clone());
        all = match crate::shard_path(generation) {
            root if root.is_empty() => all.merge(shard),
            path => all.nest(&path, shard),
        };
    }
    all
}

/// `/readyz`: the log takes writes (sequencer running and not wedged, database answering
/// within 2 s: `tlog_store::Log::check_ready`) and its key signs.
async fn readyz(State(log): State<AppState>) -> sigstack_http::Readiness {
    sigstack_http::Readiness::new()
        .check(
            "log",
            log.log.check_ready(std::time::Duration::from_secs(2)).await,
        )
        .check("key", sigstack_keys::check_signer(log.key.as_ref()))
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

async fn add_chain(
    State(log): State<AppState>,
    JsonBody(req): JsonBody<ct::AddChainRequest>,
) -> Result<Json<ct::SctJson>, ApiError> {
    add(log, ChainKind::X509, req).await
}

async fn add_pre_chain(
    State(log): State<AppState>,
    JsonBody(req): JsonBody<ct::AddChainRequest>,
) -> Result<Json<ct::SctJson>, ApiError> {
    add(log, ChainKind::Precert, req).await
}

async fn add(
    log: AppState,
    kind: ChainKind,
    req: ct::AddChainRequest,
) -> Result<Json<ct::SctJson>, ApiError> {
    let mut chain = Vec::with_capacity(req.chain.len());
    for (i, c) in req.chain.iter().enumerate() {
        chain.push(
            B64.decode(c).map_err(|e| {
                ApiError::bad_request(format!("chain[{i}] is not valid base64: {e}"))
            })?,
        );
    }
    if let Some(accepting) = &log.frozen_for {
        let paths: Vec<&str> = accepting
            .iter()
            .map(|p| if p.is_empty() { "/" } else { p.as_str() })
            .collect();
        return Err(ApiError::forbidden(format!(
            "this CT log shard ({}) is frozen (read-only): submit to the accepting shard{} at {}",
            log.origin,
            if paths.len() == 1 { "" } else { "s" },
            paths.join(", ")
        )));
    }
    let now = now_ms();
    let valid = validate_chain(kind, chain, &log.issuers, now / 1000)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    if let Some(window) = log.not_after.filter(|w| !w.admits(valid.leaf_not_after)) {
        return Err(ApiError::bad_request(format!(
            "the certificate expires at {} (notAfter), outside this temporal shard's window {window}",
            humantime::format_rfc3339_seconds(
                std::time::UNIX_EPOCH + std::time::Duration::from_secs(valid.leaf_not_after)
            )
        )));
    }

    // Issuers first: durable before any entry that refers to them is acknowledged. The issuer
    // cache holds only issuers known to be stored, so the usual case writes nothing.
    let fingerprints = valid.issuer_fingerprints();
    let blobs: Vec<([u8; 32], Vec<u8>)> = {
        let known = log.stored_issuers.lock().expect("issuer cache");
        valid
            .issuers
            .iter()
            .filter(|issuer| !known.contains_key(&issuer.fingerprint()))
            .map(|issuer| (issuer.fingerprint(), issuer.certificate().der().to_vec()))
            .collect()
    };
    if !blobs.is_empty() {
        log.log.put_blobs(&blobs).await?;
        let mut known = log.stored_issuers.lock().expect("issuer cache");
        for (fp, cert) in blobs {
            known.insert(fp, Arc::new(cert));
        }
    }

    let pre_certificate = match kind {
        ChainKind::X509 => None,
        ChainKind::Precert => Some(
            Asn1Cert::new(valid.leaf.clone()).map_err(|e| ApiError::bad_request(e.to_string()))?,
        ),
    };
    let submitted = TileLeaf::new(
        ct::TimestampedEntry {
            timestamp: now,
            entry: valid.signed_entry.clone(),
            extensions: ct::CtExtensions::empty(),
        },
        pre_certificate,
        fingerprints,
    )
    .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let ack = log
        .log
        .append_entry(Submission {
            identity: valid.identity(kind),
            payload: submitted.encode(),
            index_keys: Vec::new(),
        })
        .await?;
    // Fail-closed, the SCT waits for a witnessed checkpoint that contains the entry.
    if let Some(witnessed) = log.witnessed() {
        witnessed.settle(ack.head.size).await?;
    }
    // For a resubmission this is the original entry: same timestamp, same leaf index.
    let stored = TileLeaf::parse(&ack.entry.data)
        .map_err(|e| ApiError::internal(format!("stored entry {}: {e}", ack.entry.index)))?;
    let entry = stored.timestamped_entry();
    let sct = ct::sign_sct(
        log.key.as_ref(),
        entry.timestamp,
        &entry.entry,
        entry.extensions.clone(),
    )
    .map_err(|e| ApiError::internal(format!("signing SCT: {e}")))?;
    Ok(Json(ct::SctJson::from(&sct)))
}

/// The signed tree head inside a static-ct-api checkpoint: (timestamp, size, root, signature).
fn sth_of(log: &CtLog, note: &[u8]) -> Result<(u64, u64, [u8; 32], Vec<u8>), ApiError> {
    let internal =
        |e: &dyn std::fmt::Display| ApiError::internal(format!("stored checkpoint: {e}"));
    let (checkpoint, timestamp) =
        ct::open_rfc6962_checkpoint(note, &log.origin, log.key.public_key_der())
            .map_err(|e| internal(&e))?;
    let key_hash = ct::rfc6962_note_key_hash(&log.origin, &log.log_id);
    let parsed = Note::parse(note).map_err(|e| internal(&e))?;
    let signature = parsed
        .signatures()
        .iter()
        .find(|s| s.name() == log.origin && s.key_hash() == key_hash)
        .ok_or_else(|| internal(&"no log signature"))?;
    let body = ct::Rfc6962NoteSignature::parse(signature.signature()).map_err(|e| internal(&e))?;
    Ok((
        timestamp,
        checkpoint.size(),
        *checkpoint.root_hash(),
        body.signature.encode(),
    ))
}

/// The latest checkpoint that met the witness policy, with the witnesses' cosignatures.
async fn witnessed_checkpoint(State(log): State<AppState>) -> Result<Response, ApiError> {
    sigstack_http::witnessed_checkpoint_response(log.witnessed().map(|w| w.latest()))
}

/// The log (its type 0x05 key), its witnesses and the quorum as a C2SP tlog-policy file.
async fn witness_policy(State(log): State<AppState>) -> Result<Response, ApiError> {
    sigstack_http::witness_policy_response(log.witness_policy())
}

async fn get_sth(State(log): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let head = log.log.head().await?;
    let (timestamp, size, root, signature) = sth_of(&log, &head.checkpoint)?;
    Ok(Json(json!({
        "tree_size": size,
        "timestamp": timestamp,
        "sha256_root_hash": B64.encode(root),
        "tree_head_signature": B64.encode(signature),
    })))
}

/// A required non-negative integer query parameter.
fn param_u64(params: &HashMap<String, String>, name: &str) -> Result<u64, ApiError> {
    let raw = params
        .get(name)
        .ok_or_else(|| ApiError::bad_request(format!("missing query parameter {name:?}")))?;
    raw.parse::<u64>().map_err(|_| {
        ApiError::bad_request(format!(
            "query parameter {name:?} must be a non-negative integer, got {raw:?}"
        ))
    })
}

fn b64_hashes(hashes: &[[u8; 32]]) -> Vec<String> {
    hashes.iter().map(|h| B64.encode(h)).collect()
}

async fn get_sth_consistency(
    State(log): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let first = param_u64(&params, "first")?;
    let second = param_u64(&params, "second")?;
    if first > second {
        return Err(ApiError::bad_request(format!(
            "first ({first}) is larger than second ({second})"
        )));
    }
    let proof = if first == 0 || first == second {
        // Consistency with the empty tree, or of a tree with itself, is the empty proof.
        let size = log.log.head_covering(second).await?.size;
        if second > size {
            return Err(ApiError::bad_request(format!(
                "second ({second}) is larger than the tree ({size})"
            )));
        }
        Vec::new()
    } else {
        log.log.consistency_proof(first, second).await?
    };
    Ok(Json(json!({ "consistency": b64_hashes(&proof) })))
}

async fn get_proof_by_hash(
    State(log): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let raw = params
        .get("hash")
        .ok_or_else(|| ApiError::bad_request("missing query parameter \"hash\""))?;
    let hash: [u8; 32] = B64
        .decode(raw)
        .ok()
        .and_then(|h| h.try_into().ok())
        .ok_or_else(|| {
            ApiError::bad_request("hash must be a base64 SHA-256 leaf hash (32 bytes)")
        })?;
    let tree_size = param_u64(&params, "tree_size")?;
    let entry = log
        .log
        .entry_by_leaf_hash(&hash)
        .await?
        .filter(|e| e.index < tree_size)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no entry with that leaf hash in the tree of size {tree_size}"
            ))
        })?;
    let proof = log.log.inclusion_proof(entry.index, tree_size).await?;
    Ok(Json(
        json!({ "leaf_index": entry.index, "audit_path": b64_hashes(&proof) }),
    ))
}

impl CtLog {
    async fn issuer_cert(&self, fingerprint: &[u8; 32]) -> Result<Option<Arc<Vec<u8>>>, ApiError> {
        if let Some(c) = self
            .stored_issuers
            .lock()
            .expect("issuer cache")
            .get(fingerprint)
        {
            return Ok(Some(c.clone()));
        }
        let Some(cert) = self.log.blob(fingerprint).await? else {
            return Ok(None);
        };
        let cert = Arc::new(cert);
        self.stored_issuers
            .lock()
            .expect("issuer cache")
            .insert(*fingerprint, cert.clone());
        Ok(Some(cert))
    }

    /// RFC 6962 `leaf_input` and `extra_data` of a stored entry.
    async fn rfc6962_entry(&self, entry: &StoredEntry) -> Result<(Vec<u8>, Vec<u8>), ApiError> {
        let leaf = TileLeaf::parse(&entry.data)
            .map_err(|e| ApiError::internal(format!("stored entry {}: {e}", entry.index)))?;
        let mut chain = Vec::new();
        for fp in leaf.certificate_chain() {
            let cert = self.issuer_cert(fp).await?.ok_or_else(|| {
                ApiError::internal(format!(
                    "issuer {} of entry {} is missing",
                    hex::encode(fp),
                    entry.index
                ))
            })?;
            chain.push(
                Asn1Cert::new(cert.as_ref().clone())
                    .map_err(|e| ApiError::internal(e.to_string()))?,
            );
        }
        let extra = match (&leaf.timestamped_entry().entry, leaf.pre_certificate()) {
            (SignedEntry::Precert { .. }, Some(pre)) => ExtraData::precert(pre.clone(), chain),
            _ => ExtraData::x509(chain),
        }
        .map_err(|e| ApiError::internal(e.to_string()))?;
        let mtl = MerkleTreeLeaf {
            timestamped_entry: leaf.timestamped_entry().clone(),
        };
        Ok((mtl.encode(), extra.encode()))
    }
}

async fn get_entries(
    State(log): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let start = param_u64(&params, "start")?;
    let end = param_u64(&params, "end")?;
    if start > end {
        return Err(ApiError::bad_request(format!(
            "start ({start}) is larger than end ({end})"
        )));
    }
    // Inclusive range, cut to the page limit, then to the tree.
    let wanted_end = end
        .saturating_add(1)
        .min(start.saturating_add(log.max_get_entries));
    let size = log.log.head_covering(wanted_end).await?.size;
    if start >= size {
        return Err(ApiError::bad_request(format!(
            "start ({start}) is not in the tree (size {size})"
        )));
    }
    let end_exclusive = wanted_end.min(size);
    let mut entries = Vec::new();
    for e in log.log.entries(start, end_exclusive).await? {
        let (leaf_input, extra_data) = log.rfc6962_entry(&e).await?;
        entries.push(
            json!({ "leaf_input": B64.encode(leaf_input), "extra_data": B64.encode(extra_data) }),
        );
    }
    Ok(Json(json!({ "entries": entries })))
}

async fn get_roots(State(log): State<AppState>) -> Json<serde_json::Value> {
    let roots: Vec<String> = log.roots.iter().map(|r| B64.encode(r)).collect();
    Json(json!({ "certificates": roots }))
}

async fn get_entry_and_proof(
    State(log): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let index = param_u64(&params, "leaf_index")?;
    let tree_size = param_u64(&params, "tree_size")?;
    let proof = log.log.inclusion_proof(index, tree_size).await?;
    let entry = log
        .log
        .entry(index)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no entry {index}")))?;
    let (leaf_input, extra_data) = log.rfc6962_entry(&entry).await?;
    Ok(Json(json!({
        "leaf_input": B64.encode(leaf_input),
        "extra_data": B64.encode(extra_data),
        "audit_path": b64_hashes(&proof),
    })))
}

/// Tiles and issuers never change once they exist: cache them forever.
async fn checkpoint(State(log): State<AppState>) -> Result<Response, ApiError> {
    let head = log.log.head().await?;
    Ok(bytes_response(
        "text/plain; charset=utf-8",
        "no-cache",
        head.checkpoint.clone(),
    ))
}

async fn tile(State(log): State<AppState>, Path(path): Path<String>) -> Result<Response, ApiError> {
    let bad = || ApiError::not_found(format!("no tile at tile/{path}"));
    // static-ct-api calls the entry bundles `tile/data/…`.
    let parsed = match path.strip_prefix("data/") {
        Some(rest) => TilePath::parse(&format!("tile/entries/{rest}")),
        None if path.starts_with("entries/") => return Err(bad()),
        None => TilePath::parse(&format!("tile/{path}")),
    }
    .map_err(|_| bad())?;
    let body = log.log.read_tile(&parsed).await?;
    let body = body.ok_or_else(bad)?;
    Ok(bytes_response("application/octet-stream", IMMUTABLE, body))
}

async fn issuer(
    State(log): State<AppState>,
    Path(fingerprint): Path<String>,
) -> Result<Response, ApiError> {
    let fp: [u8; 32] = hex::decode(&fingerprint)
        .ok()
        .and_then(|f| f.try_into().ok())
        .filter(|_| {
            fingerprint
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
        .ok_or_else(|| ApiError::not_found("issuer fingerprints are 64 lowercase hex digits"))?;
    let cert = log
        .issuer_cert(&fp)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no issuer {fingerprint}")))?;
    Ok(bytes_response(
        "application/pkix-cert",
        IMMUTABLE,
        cert.as_ref().clone(),
    ))
}
