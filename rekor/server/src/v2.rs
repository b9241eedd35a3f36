//! The Rekor v2 API (`/api/v2/…`): entries in, `TransparencyLogEntry` out; reads per C2SP
//! tlog-tiles.

use crate::error::refused;
use crate::metrics::LoggedKind;
use crate::{ApiError, Rekor};
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

type AppState = Arc<Rekor>;

const ENTRIES: &str = "/api/v2/log/entries";
const CHECKPOINT: &str = "/api/v2/checkpoint";
const WITNESSED_CHECKPOINT: &str = "/api/v2/checkpoint/witnessed";
const WITNESS_POLICY: &str = "/api/v2/witness-policy";
const TILES: &str = "/api/v2/tile/";

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(ENTRIES, post(create_entry))
        .route(CHECKPOINT, get(checkpoint))
        .route(WITNESSED_CHECKPOINT, get(witnessed_checkpoint))
        .route(WITNESS_POLICY, get(witness_policy))
        .route(&format!("{TILES}{{*path}}"), get(tile))
}

/// Whether `path` is one of [`routes`]'s (so its errors take the v2 API's shape).
pub(crate) fn serves(path: &str) -> bool {
    path == ENTRIES
        || path == CHECKPOINT
        || path == WITNESSED_CHECKPOINT
        || path == WITNESS_POLICY
        || path
            .strip_prefix(TILES)
            .is_some_and(|rest| !rest.is_empty())
}

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
        rekor.parse_within_limit(bytes, rekor_types::ProposedEntry::parse_v2, "request")?;
    let canonical = proposed.canonicalize(None).map_err(refused)?;
    let submission = Submission {
        identity: tlog::merkle::leaf_hash(&canonical.body),
        payload: canonical.body,
        index_keys: Vec::new(),
    };
    let appended = rekor.v2.append(submission).await?;
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
    let body = json!({
        "logIndex": entry.index.to_string(),
        "logId": { "keyId": B64.encode(rekor.v2_log_id) },
        "kindVersion": { "kind": canonical.kind, "version": canonical.api_version },
        "inclusionProof": {
            "logIndex": entry.index.to_string(),
            "rootHash": B64.encode(appended.head.root),
            "treeSize": appended.head.size.to_string(),
            "hashes": appended.inclusion_proof.iter().map(|h| B64.encode(h)).collect::<Vec<_>>(),
            "checkpoint": { "envelope": String::from_utf8_lossy(&appended.head.checkpoint) },
        },
        "canonicalizedBody": B64.encode(&entry.data),
    });
    Ok((
        canonical.kind,
        (StatusCode::CREATED, Json::<Value>(body)).into_response(),
    ))
}

async fn checkpoint(State(rekor): State<AppState>) -> Result<Response, ApiError> {
    let head = rekor.v2.head().await?;
    Ok(bytes_response(
        "text/plain; charset=utf-8",
        NO_CACHE,
        head.checkpoint.clone(),
    ))
}

/// The latest checkpoint that met the witness policy, with the witnesses' cosignatures.
async fn witnessed_checkpoint(State(rekor): State<AppState>) -> Result<Response, ApiError> {
    sigstack_http::witnessed_checkpoint_response(rekor.v2_witnessed.as_ref().map(|w| w.latest()))
}

/// The log, its witnesses and the quorum as a C2SP tlog-policy file: what a client that
/// requires witnessed checkpoints is configured with.
async fn witness_policy(State(rekor): State<AppState>) -> Result<Response, ApiError> {
    let policy = rekor
        .v2_witness_policy
        .as_ref()
        .ok_or_else(|| ApiError::not_found("this log has no witnesses configured"))?;
    Ok(bytes_response(
        "text/plain; charset=utf-8",
        NO_CACHE,
        policy.clone().into_bytes(),
    ))
}

async fn tile(
    State(rekor): State<AppState>,
    Path(path): Path<String>,
) -> Result<Response, ApiError> {
    let missing = || ApiError::not_found(format!("no tile at tile/{path}"));
    let parsed = TilePath::parse(&format!("tile/{path}")).map_err(|_| missing())?;
    // Entry bundles are C2SP tlog-tiles bundles (each entry length-prefixed), which `read_tile`
    // leaves to the log (its concatenation suits self-delimiting static-ct-api entries only).
    let body = match parsed {
        TilePath::Entries { index, width } => rekor.v2.entry_bundle(index, width).await?,
        TilePath::Hashes { .. } => rekor.v2.read_tile(&parsed).await?,
    }
    .ok_or_else(missing)?;
    Ok(bytes_response("application/octet-stream", IMMUTABLE, body))
}
