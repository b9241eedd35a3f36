//! Serving the repository over HTTP, and keeping its online metadata fresh.

use crate::layout::{self, ROOT_JSON, TARGETS_DIR, TIMESTAMP_JSON};
use crate::repo::now;
use crate::Repository;
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// `Cache-Control` of files that never change once published (`N.*.json`, target files).
pub const CACHE_IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of `timestamp.json` (re-signed at half-life; clients poll it).
pub const CACHE_TIMESTAMP: &str = "public, max-age=60";
/// `Cache-Control` of `root.json` (changes at a root rotation).
pub const CACHE_ROOT: &str = "public, max-age=300";

/// The read-only HTTP API of the repository directory `dir`, laid out the way TUF clients with
/// consistent snapshots fetch it:
///
/// - `GET /N.root.json`, `/N.snapshot.json`, `/N.targets.json`: immutable, 404 when missing (a
///   404 on `N+1.root.json` is how clients learn they have the latest root);
/// - `GET /timestamp.json`: short cache;
/// - `GET /root.json`: the latest root, for bootstrapping;
/// - `GET /targets/<sha256>.<name>`: target files, immutable;
/// - `GET /healthz`.
///
/// Only those names are served: never the staging area, the lock or keys. Clients use
/// `metadata_base_url = URL` and `target_base_url = URL + "/targets/"`.
///
/// Requests are counted in `metrics` (`tuf_http_requests_total`,
/// `tuf_http_request_duration_seconds`), a registry made with
/// `MetricsRegistry::for_service("tuf")` that whoever serves `/metrics` serves; once per
/// registry (a second router on the same one panics).
pub fn router(dir: PathBuf, metrics: &sigstack_http::MetricsRegistry) -> Router {
    let http = metrics.http_metrics(sigstack_http::HttpMetricNames::Ours("tuf"));
    let router = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/{file}", get(metadata))
        .route(&format!("/{TARGETS_DIR}/{{file}}"), get(target))
        .with_state(Arc::new(dir));
    sigstack_http::with_access_log(router, "tuf", Some(http))
}

/// `/readyz`: the repository's `timestamp.json` can be read (the directory is mounted and
/// published).
async fn readyz(State(dir): State<Arc<PathBuf>>) -> sigstack_http::Readiness {
    let timestamp = tokio::fs::metadata(dir.join(TIMESTAMP_JSON))
        .await
        .map(|_| ())
        .map_err(|e| format!("{TIMESTAMP_JSON}: {e}"));
    sigstack_http::Readiness::new().check("metadata", timestamp)
}

async fn metadata(State(dir): State<Arc<PathBuf>>, UrlPath(file): UrlPath<String>) -> Response {
    if !layout::is_metadata_name(&file) {
        return not_found();
    }
    let cache = match file.as_str() {
        TIMESTAMP_JSON => CACHE_TIMESTAMP,
        ROOT_JSON => CACHE_ROOT,
        _ => CACHE_IMMUTABLE,
    };
    send(dir.join(&file), "application/json", cache).await
}

async fn target(State(dir): State<Arc<PathBuf>>, UrlPath(file): UrlPath<String>) -> Response {
    if !layout::is_target_file_name(&file) {
        return not_found();
    }
    let content_type = if file.ends_with(".json") {
        "application/json"
    } else if file.ends_with(".pem") || file.ends_with(".crt") || file.ends_with(".pub") {
        "application/x-pem-file"
    } else {
        "application/octet-stream"
    };
    send(
        dir.join(TARGETS_DIR).join(&file),
        content_type,
        CACHE_IMMUTABLE,
    )
    .await
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

async fn send(path: PathBuf, content_type: &'static str, cache: &'static str) -> Response {
    match tokio::fs::read(&path).await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
                (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
            ],
            bytes,
        )
            .into_response(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => not_found(),
        Err(e) => {
            tracing::error!(path = %path.display(), error = %e, "reading a TUF file");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response()
        }
    }
}

/// Longest sleep between refresher rounds, so a clock jump or a changed option is noticed.
pub const MAX_REFRESH_SLEEP: Duration = Duration::from_secs(60);
/// Sleep after a failed refresh round before retrying.
pub const REFRESH_RETRY: Duration = Duration::from_secs(10);

/// Starts the background task that keeps the online metadata fresh: each round calls
/// [`Repository::refresh`] (on a blocking thread) and sleeps until the next half-life, at most
/// [`MAX_REFRESH_SLEEP`]. Errors are logged and retried after [`REFRESH_RETRY`]. Abort the
/// returned handle to stop it.
pub fn spawn_refresher(repo: Arc<Repository>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let r = repo.clone();
            let result = tokio::task::spawn_blocking(move || r.refresh(now())).await;
            let sleep = match result {
                Ok(Ok(refreshed)) => {
                    let wait = refreshed.next_due.unix() - now().unix();
                    Duration::from_secs(wait.clamp(1, MAX_REFRESH_SLEEP.as_secs() as i64) as u64)
                }
                Ok(Err(e)) => {
                    tracing::error!(error = %anyhow_chain(&e), "refreshing TUF metadata failed");
                    REFRESH_RETRY
                }
                Err(e) => {
                    tracing::error!(error = %e, "TUF refresher task failed");
                    REFRESH_RETRY
                }
            };
            tokio::time::sleep(sleep).await;
        }
    })
}

fn anyhow_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
