//! The HTTP API, and the one place where refusals become statuses.

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use sigstack_http::{ApiError, RawBody, Readiness};
use std::sync::Arc;
use tlog::note::Note;
use witness::{AddCheckpoint, Refusal};

use crate::store::Stored;
use crate::WitnessServer;

type AppState = Arc<WitnessServer>;

/// The content type of a 409's body: the size the witness holds, in decimal, and a newline.
pub const TLOG_SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

/// How many times a submission is re-checked after losing a compare-and-swap before the client
/// is told to retry. A lost swap means another submission moved the log on, so the re-check
/// almost always ends in a 409 at once.
const MAX_SWAP_ATTEMPTS: usize = 4;

/// The router: `POST /add-checkpoint`, `GET /<origin hash>/checkpoint`, `/healthz`, `/readyz`.
/// Errors are plain text (status line and reason), except a 409's fixed body.
pub fn router(server: Arc<WitnessServer>) -> Router {
    let limit = server.max_body_bytes;
    let router = Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .route("/{origin_hash}/checkpoint", get(checkpoint))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .fallback(sigstack_http::unknown_path);
    let router = sigstack_http::with_error_shape(router, sigstack_http::ErrorShape::CtText)
        .layer(DefaultBodyLimit::max(limit));
    let http = server.metrics.http.clone();
    sigstack_http::with_access_log(router.with_state(server), "witness", Some(http))
}

/// The status of each refusal, as c2sp.org/tlog-witness gives them.
fn refusal_error(refusal: &Refusal) -> ApiError {
    let message = sigstack_http::error_chain(refusal);
    match refusal {
        Refusal::UnknownLog { .. } => ApiError::not_found(message),
        Refusal::NotSignedByLog { .. } => ApiError::forbidden(message),
        Refusal::OldSizeMismatch { held, .. } => {
            ApiError::conflict(message, None).with_body(TLOG_SIZE_CONTENT_TYPE, format!("{held}\n"))
        }
        Refusal::EmptyTreeRoot | Refusal::UnexpectedProof | Refusal::Inconsistent(_) => {
            ApiError::unprocessable(message)
        }
        // Malformed bodies and an old size above the new one; and any refusal added later.
        _ => ApiError::bad_request(message),
    }
}

/// A fixed, low-cardinality label per refusal, for metrics.
fn refusal_label(refusal: &Refusal) -> &'static str {
    match refusal {
        Refusal::UnknownLog { .. } => "unknown_log",
        Refusal::NotSignedByLog { .. } => "bad_signature",
        Refusal::OldSizeMismatch { .. } => "old_size_mismatch",
        Refusal::EmptyTreeRoot | Refusal::UnexpectedProof | Refusal::Inconsistent(_) => {
            "inconsistent"
        }
        _ => "malformed",
    }
}

async fn add_checkpoint(
    State(server): State<AppState>,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let refuse = |origin: &str, refusal: Refusal| {
        server
            .metrics
            .submissions
            .with_label_values(&[origin, refusal_label(&refusal)])
            .inc();
        refusal_error(&refusal)
    };
    let request = AddCheckpoint::parse(&body).map_err(|r| refuse("unknown", r))?;
    let origin = request.checkpoint().origin().to_string();
    let verified = server.witness.verify(request).map_err(|r| {
        let label = if matches!(r, Refusal::UnknownLog { .. }) {
            "unknown"
        } else {
            origin.as_str()
        };
        refuse(label, r)
    })?;
    for _ in 0..MAX_SWAP_ATTEMPTS {
        let stored = server
            .store
            .get(&origin)
            .await
            .map_err(|e| ApiError::unavailable_from("reading the witness state", e))?;
        let held = stored.as_ref().map(|s| s.held);
        let new = match verified.advance(held.as_ref()) {
            Ok(new) => new,
            Err(refusal) => {
                if matches!(refusal, Refusal::Inconsistent(_) | Refusal::EmptyTreeRoot) {
                    // Signed by the log and inconsistent with what we hold: possible evidence
                    // of a fork, kept in the log (the spec allows it).
                    tracing::warn!(
                        origin = %origin,
                        held_size = held.map(|h| h.size),
                        old_size = verified.old_size(),
                        tree_size = verified.checkpoint().size(),
                        checkpoint = %verified.note(),
                        "log-signed checkpoint inconsistent with the one held"
                    );
                }
                return Err(refuse(&origin, refusal));
            }
        };
        let text = verified.note().text().to_string();
        let timestamp = (server.clock)();
        let cosigner = server.cosigner.clone();
        let cosignature = tokio::task::spawn_blocking(move || cosigner.cosign(&text, timestamp))
            .await
            .map_err(|e| ApiError::internal_from("cosigning task", e))?
            .map_err(|e| ApiError::unavailable_from("cosigning the checkpoint", e))?;
        // Kept and served: the log's verified signatures and ours, nothing unchecked.
        let mut signatures = verified.log_signatures().to_vec();
        signatures.push(cosignature.clone());
        let cosigned = Note::new(verified.note().text(), signatures)
            .map_err(|e| ApiError::internal_from("attaching the cosignature", e))?;
        let stored_new = Stored {
            held: new,
            checkpoint: cosigned.to_bytes(),
        };
        let won = server
            .store
            .compare_and_swap(&origin, held.as_ref(), &stored_new)
            .await
            .map_err(|e| ApiError::unavailable_from("storing the witness state", e))?;
        if won {
            server
                .metrics
                .submissions
                .with_label_values(&[origin.as_str(), "cosigned"])
                .inc();
            server
                .metrics
                .tree_size
                .with_label_values(&[origin.as_str()])
                .set(i64::try_from(new.size).unwrap_or(i64::MAX));
            tracing::info!(
                origin = %origin,
                old_size = verified.old_size(),
                tree_size = new.size,
                "checkpoint cosigned"
            );
            return Ok((
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                cosignature.to_line(),
            )
                .into_response());
        }
        // Another submission moved the log on between our read and our swap: check again.
    }
    Err(ApiError::unavailable(
        "the log's state kept changing while this checkpoint was checked; retry",
    ))
}

async fn checkpoint(
    State(server): State<AppState>,
    Path(origin_hash): Path<String>,
) -> Result<Response, ApiError> {
    let origin = server
        .origins_by_hash
        .get(&origin_hash)
        .ok_or_else(|| ApiError::not_found("this witness follows no log with that origin hash"))?;
    let stored = server
        .store
        .get(origin)
        .await
        .map_err(|e| ApiError::unavailable_from("reading the witness state", e))?
        .ok_or_else(|| {
            ApiError::not_found("this witness has not cosigned a checkpoint of that log")
        })?;
    Ok(sigstack_http::bytes_response(
        "text/plain; charset=utf-8",
        sigstack_http::NO_CACHE,
        stored.checkpoint,
    ))
}

async fn readyz(State(server): State<AppState>) -> Readiness {
    let store = server.store.ping().await;
    let cosigner = server.cosigner.clone();
    let key = tokio::task::spawn_blocking(move || {
        cosigner
            .cosign("sigstack readiness probe\n", 1)
            .map(|_| ())
            .map_err(|e| sigstack_http::error_chain(&e))
    })
    .await
    .unwrap_or_else(|e| Err(e.to_string()));
    Readiness::new()
        .check("database", store)
        .check("witness_key", key)
}
