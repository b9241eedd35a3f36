//! The monitor's read-only HTTP API: `GET /findings` (what a web explorer shows) and
//! `GET /healthz`. The shape is documented in docs/monitor.md.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use sigstack_http::ApiError;

use crate::MonitorStore;

/// Most findings one answer holds.
pub const MAX_FINDINGS_PAGE: u32 = 1000;

/// `/findings` query: findings with an id above `after` (default 0), newest first, at most
/// `limit` (default and maximum [`MAX_FINDINGS_PAGE`]).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FindingsQuery {
    #[serde(default)]
    after: i64,
    limit: Option<u32>,
}

async fn findings(
    State(store): State<Arc<dyn MonitorStore>>,
    query: Result<Query<FindingsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let limit = q.limit.unwrap_or(MAX_FINDINGS_PAGE);
    if limit == 0 || limit > MAX_FINDINGS_PAGE {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and {MAX_FINDINGS_PAGE}"
        )));
    }
    let found = store
        .findings(q.after, limit)
        .await
        .map_err(|e| ApiError::unavailable_from("the monitor's database", e))?;
    Ok(Json(json!({ "findings": found })))
}

/// The router: `/findings` and `/healthz` (the caller adds `/metrics`).
pub fn router(store: Arc<dyn MonitorStore>) -> Router {
    Router::new()
        .route("/findings", get(findings))
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .with_state(store)
}
