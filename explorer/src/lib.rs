//! The log explorer: a web interface over the stack's public read APIs, for auditors who look
//! rather than script.
//!
//! Everything the page needs is in this crate: plain HTML, CSS and JavaScript modules embedded
//! in the binary (the stack runs air-gapped, so nothing is fetched from elsewhere), and a
//! read-only proxy to the services' public APIs, so that the page talks to one origin and the
//! services need no CORS. The proxy forwards `GET` requests and, for Rekor v1, the two `POST`
//! searches (which change nothing); every other method and path is refused before any request
//! leaves. It holds no key and no secret: whatever the page shows, it verifies itself (Merkle
//! proofs and checkpoint signatures with WebCrypto against the keys of `trusted_root.json`),
//! so a proxy or a log that lies shows as NOT verified, never as verified.

mod assets;
mod proxy;

pub use proxy::{check, ProxyRefusal, Service, Upstreams};

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use std::sync::Arc;

/// Largest request body the proxy forwards (a Rekor v1 search: a hash, an email or a key).
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;
/// Largest upstream answer the proxy relays (a page of CT entries, a tile, an entry).
pub const MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;

/// What every page of the explorer may load and reach: only itself (no inline script, no
/// framework from elsewhere), images as `data:` URIs (screenshots of charts are inline SVG).
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The explorer's state: where each service is, and the HTTP client that reaches them.
pub struct Explorer {
    upstreams: Upstreams,
    /// A `trusted_root.json` the operator pinned, served at `/trusted_root.json`; without it
    /// the page takes the TUF repository's.
    trusted_root: Option<Vec<u8>>,
    client: reqwest::Client,
    metrics: sigstack_http::MetricsRegistry,
}

impl Explorer {
    /// An explorer over `upstreams`, each request to them bounded by `timeout`.
    pub fn new(upstreams: Upstreams, timeout: std::time::Duration) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Explorer {
            upstreams,
            trusted_root: None,
            client,
            metrics: sigstack_http::MetricsRegistry::for_service("explorer"),
        })
    }

    /// Pins `trusted_root` (the bytes of a `trusted_root.json`) as the page's source of log keys.
    pub fn with_trusted_root(mut self, trusted_root: Vec<u8>) -> Self {
        self.trusted_root = Some(trusted_root);
        self
    }

    /// The registry of the explorer's metrics (whoever serves `/metrics` serves it).
    pub fn metrics(&self) -> &sigstack_http::MetricsRegistry {
        &self.metrics
    }
}

/// The explorer's routes: the page and its assets, `/config.json` (which logs are configured),
/// `/trusted_root.json` (when pinned), `/proxy/<service>/<path>`, `/healthz` and `/readyz`.
/// Once per explorer (its metrics register here).
pub fn router(explorer: Arc<Explorer>) -> Router {
    let http = explorer
        .metrics
        .http_metrics(sigstack_http::HttpMetricNames::Ours("explorer"));
    let router = Router::new()
        .route("/", get(index))
        .route("/assets/{file}", get(asset))
        .route("/config.json", get(config))
        .route("/trusted_root.json", get(trusted_root))
        .route(
            "/healthz",
            get(|| async { Json(serde_json::json!({"status": "ok"})) }),
        )
        .route(
            "/proxy/{service}/{*path}",
            get(proxy::forward).post(proxy::forward),
        )
        .fallback(|| async { sigstack_http::ApiError::not_found("no such page") })
        .with_state(explorer)
        .layer(axum::middleware::map_response(security_headers));
    sigstack_http::with_access_log(router, "explorer", Some(http))
}

/// Headers on every answer: the content security policy, no MIME sniffing, no referrer.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

async fn index() -> Response {
    asset_response("index.html")
}

async fn asset(Path(file): Path<String>) -> Response {
    asset_response(&file)
}

fn asset_response(name: &str) -> Response {
    match assets::find(name) {
        Some(a) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, a.content_type),
                // The assets change with the binary: revalidate rather than serve a stale page.
                (header::CACHE_CONTROL, sigstack_http::NO_CACHE),
            ],
            a.body,
        )
            .into_response(),
        None => sigstack_http::ApiError::not_found(format!("no asset {name:?}")).into_response(),
    }
}

/// `/trusted_root.json`: the pinned one, or 404 (the page then reads the TUF repository's).
async fn trusted_root(State(explorer): State<Arc<Explorer>>) -> Response {
    match &explorer.trusted_root {
        Some(bytes) => (
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, sigstack_http::NO_CACHE),
            ],
            bytes.clone(),
        )
            .into_response(),
        None => sigstack_http::ApiError::not_found(
            "no trusted_root.json is pinned: the page reads the TUF repository's",
        )
        .into_response(),
    }
}

/// `/config.json`: which services the page may offer (a log not configured is not shown).
async fn config(State(explorer): State<Arc<Explorer>>) -> Json<serde_json::Value> {
    Json(explorer.upstreams.describe())
}
