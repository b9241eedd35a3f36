//! The Rekor v2 API (`/api/v2/…`): entries in, `TransparencyLogEntry` out; reads per C2SP
//! tlog-tiles. Each v2 log (generation) has the whole API under its own path
//! ([`crate::v2_shard_path`]); a frozen one answers reads and refuses entries.

use crate::error::refused;
use crate::metrics::LoggedKind;
use crate::{ApiError, Rekor, V2Log};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Value};
use sigstack_http::{bytes_response, RawBody, IMMUTABLE, NO_CACHE};
use std::sync::Arc;
use tlog::tile::TilePath;
use tlog_store::Submission;

/// The service and which of its v2 logs a route serves.
#[derive(Clone)]
struct AppState {
    rekor: Arc<Rekor>,
    /// Index into [`Rekor::v2_logs`].
    log: usize,
}

impl AppState {
    fn log(&self) -> &V2Log {
        &self.rekor.v2_logs[self.log]
    }

    fn is_active(&self) -> bool {
        self.log + 1 == self.rekor.v2_logs.len()
    }
}

impl sigstack_http::BodyPolicy for AppState {
    fn max_body_bytes(&self) -> usize {
        self.rekor.max_body_bytes()
    }

    fn requires_json_content_type(&self) -> bool {
        self.rekor.requires_json_content_type()
    }
}

const ENTRIES: &str = "/api/v2/log/entries";
const CHECKPOINT: &str = "/api/v2/checkpoint";
const WITNESSED_CHECKPOINT: &str = "/api/v2/checkpoint/witnessed";
const WITNESS_POLICY: &str = "/api/v2/witness-policy";
const TILES: &str = "/api/v2/tile/";

/// The v2 API of every v2 log of `rekor`, each under its own path.
pub(crate) fn routes<S: Clone + Send + Sync + 'static>(rekor: &Arc<Rekor>) -> Router<S> {
    let mut router = Router::new();
    for (index, log) in rekor.v2_logs.iter().enumerate() {
        let api = Router::new()
            .route(ENTRIES, post(create_entry))
            .route(CHECKPOINT, get(checkpoint))
            .route(WITNESSED_CHECKPOINT, get(witnessed_checkpoint))
            .route(WITNESS_POLICY, get(witness_policy))
            .route(&format!("{TILES}{{*path}}"), get(tile))
            .with_state(AppState {
                rekor: rekor.clone(),
                log: index,
            });
        router = match crate::v2_shard_path(log.generation) {
            root if root.is_empty() => router.merge(api),
            path => router.nest(&path, api),
        };
    }
    router
}

/// `path` without the `/v2-shards/<N>` prefix of a later v2 generation, if it has one.
fn within_shard(path: &str) -> &str {
    path.strip_prefix("/v2-shards/")
        .and_then(|rest| rest.split_once('/'))
        .filter(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .map_or(path, |(n, _)| &path["/v2-shards/".len() + n.len()..])
}

/// Whether `path` is a v2 entry submission (to any v2 log), for the write metrics.
pub(crate) fn is_entries(path: &str) -> bool {
    within_shard(path) == ENTRIES
}

/// Whether `path` is one of [`routes`]'s (so its errors take the v2 API's shape).
pub(crate) fn serves(path: &str) -> bool {
    let path = within_shard(path);
    path == ENTRIES
        || path == CHECKPOINT
        || path == WITNESSED_CHECKPOINT
        || path == WITNESS_POLICY
        || path
            .strip_prefix(TILES)
            .is_some_and(|rest| !rest.is_empty())
}

async fn create_entry(
    State(state): State<AppState>,
    RawBody(bytes): RawBody,
) -> Result<Response, ApiError> {
    if !state.is_active() {
        let active = state.rekor.active_v2();
        return Err(ApiError::forbidden(format!(
            "the v2 log {} is frozen (read-only): new entries go to the active log {}, at {}{ENTRIES} (signing_config names it)",
            state.log().origin,
            active.origin,
            crate::v2_shard_path(active.generation)
        )));
    }
    let (kind, mut response) = create(&state.rekor, state.log(), &bytes).await?;
    response.extensions_mut().insert(LoggedKind(kind));
    Ok(response)
}

async fn create(
    rekor: &Rekor,
    log: &V2Log,
    bytes: &[u8],
) -> Result<(&'static str, Response), ApiError> {
    let proposed =
        rekor.parse_within_limit(bytes, rekor_types::ProposedEntry::parse_v2, "request")?;
    let canonical = proposed.canonicalize(None).map_err(refused)?;
    let submission = Submission {
        identity: tlog::merkle::leaf_hash(&canonical.body),
        payload: canonical.body,
        index_keys: Vec::new(),
    };
    let appended = log.log.append(submission).await?;
    if appended.duplicate {
        return Err(ApiError::conflict(
            format!(
                "an equivalent entry already exists in the transparency log with UUID {}",
                hex::encode(appended.entry.leaf_hash)
            ),
            None,
        ));
    }
    let entry = &appended.entry;
    let witnessed = match &rekor.v2_witnessed {
        Some(w) => w.settle(appended.head.size).await?,
        None => None,
    };
    // Fail-closed, the proof is against the witnessed checkpoint, whose note carries the
    // cosignatures after the log's signature: the round's own, or a later one.
    let (size, root, proof, checkpoint) = match witnessed {
        Some(w) if w.size == appended.head.size => {
            (w.size, w.root, appended.inclusion_proof.clone(), w.note)
        }
        Some(w) => (
            w.size,
            w.root,
            log.log.inclusion_proof(entry.index, w.size).await?,
            w.note,
        ),
        None => (
            appended.head.size,
            appended.head.root,
            appended.inclusion_proof.clone(),
            Arc::new(appended.head.checkpoint.clone()),
        ),
    };
    let body = json!({
        "logIndex": entry.index.to_string(),
        "logId": { "keyId": B64.encode(log.log_id) },
        "kindVersion": { "kind": canonical.kind, "version": canonical.api_version },
        "inclusionProof": {
            "logIndex": entry.index.to_string(),
            "rootHash": B64.encode(root),
            "treeSize": size.to_string(),
            "hashes": proof.iter().map(|h| B64.encode(h)).collect::<Vec<_>>(),
            "checkpoint": { "envelope": String::from_utf8_lossy(&checkpoint) },
        },
        "canonicalizedBody": B64.encode(&entry.data),
    });
    Ok((
        canonical.kind,
        (StatusCode::CREATED, Json::<Value>(body)).into_response(),
    ))
}

async fn checkpoint(State(state): State<AppState>) -> Result<Response, ApiError> {
    let head = state.log().log.head().await?;
    Ok(bytes_response(
        "text/plain; charset=utf-8",
        NO_CACHE,
        head.checkpoint.clone(),
    ))
}

/// The latest checkpoint that met the witness policy, with the witnesses' cosignatures (the
/// active log's: a frozen log does not grow, so it is not witnessed any more).
async fn witnessed_checkpoint(State(state): State<AppState>) -> Result<Response, ApiError> {
    let witnessed = state
        .rekor
        .v2_witnessed
        .as_ref()
        .filter(|_| state.is_active());
    sigstack_http::witnessed_checkpoint_response(witnessed.map(|w| w.latest()))
}

/// The log, its witnesses and the quorum as a C2SP tlog-policy file: what a client that
/// requires witnessed checkpoints is configured with.
async fn witness_policy(State(state): State<AppState>) -> Result<Response, ApiError> {
    sigstack_http::witness_policy_response(
        state
            .rekor
            .v2_witness_policy()
            .filter(|_| state.is_active()),
    )
}

async fn tile(
    State(state): State<AppState>,
    Path(path): Path<String>,
) -> Result<Response, ApiError> {
    let missing = || ApiError::not_found(format!("no tile at tile/{path}"));
    let parsed = TilePath::parse(&format!("tile/{path}")).map_err(|_| missing())?;
    let log = &state.log().log;
    // Entry bundles as C2SP tlog-tiles frames them: each entry after its 16-bit length (the
    // stored entries are the bare request bodies, so `read_tile`'s concatenation would not do).
    let body = match parsed {
        TilePath::Entries { index, width } => log.entry_bundle(index, width).await?,
        TilePath::Hashes { .. } => log.read_tile(&parsed).await?,
    }
    .ok_or_else(missing)?;
    Ok(bytes_response("application/octet-stream", IMMUTABLE, body))
}
