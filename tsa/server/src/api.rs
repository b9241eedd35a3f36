//! HTTP: `POST /api/v1/timestamp` (DER and JSON requests), `GET /api/v1/timestamp/certchain`,
//! `/healthz`, `/readyz`.

use crate::TsaServer;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rand::RngCore;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use tsa::{Nonce, Rejection, RequestError, SerialNumber, TimeStampRequest};

type AppState = Arc<TsaServer>;

/// The content type of DER requests (RFC 3161 section 3.4).
pub const TIMESTAMP_QUERY: &str = "application/timestamp-query";
/// The content type of DER replies.
pub const TIMESTAMP_REPLY: &str = "application/timestamp-reply";

/// The TSA's HTTP-level errors: the shared [`ApiError`], rendered as upstream's go-swagger
/// timestamp authority does (`{"code": <HTTP status>, "message": …}`). Requests that parse but
/// are refused are not errors: they are answered with a rejection TimeStampResp (HTTP 200), as
/// RFC 3161 over HTTP does.
pub use sigstack_http::ApiError;

/// The TSA's routes, served at the root of its listener.
pub fn router(server: Arc<TsaServer>) -> Router {
    let limit = server.max_body_bytes;
    let router = Router::new()
        .route(
            "/api/v1/timestamp",
            sigstack_http::with_error_content_type(post(timestamp), TIMESTAMP_REPLY),
        )
        .route("/api/v1/timestamp/certchain", get(cert_chain))
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/readyz", get(readyz))
        .fallback(sigstack_http::unknown_path);
    let router = sigstack_http::with_error_shape(router, sigstack_http::ErrorShape::Swagger)
        .layer(DefaultBodyLimit::max(limit));
    let http = server.metrics.http.clone();
    sigstack_http::with_access_log(router.with_state(server), "tsa", Some(http))
}

/// sigstore-js's request (field names as upstream timestamp-authority's `JSONRequest`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonRequest {
    artifact_hash: String,
    hash_algorithm: String,
    #[serde(default)]
    nonce: Option<serde_json::Number>,
    #[serde(default, deserialize_with = "sigstack_http::null_as_default")]
    certificates: bool,
    #[serde(default, rename = "tsaPolicyOID")]
    tsa_policy_oid: Option<String>,
}

enum Body {
    Der,
    Json,
}

fn body_kind(headers: &HeaderMap, body: &[u8]) -> Result<Body, ApiError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        // No content type: the first byte tells (a DER request starts with SEQUENCE, 0x30).
        return Ok(if body.first() == Some(&b'{') {
            Body::Json
        } else {
            Body::Der
        });
    };
    let value = value.to_str().unwrap_or_default();
    match sigstack_http::media_type(value).as_str() {
        TIMESTAMP_QUERY => Ok(Body::Der),
        "application/json" => Ok(Body::Json),
        _ => Err(ApiError::unsupported_media_type(format!(
            "unsupported content type {:?}: send application/timestamp-query (DER) or application/json",
            value.chars().take(100).collect::<String>()
        ))),
    }
}

fn parse_json(body: &[u8]) -> Result<Result<TimeStampRequest, Rejection>, ApiError> {
    let req: JsonRequest = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!("request body is not the expected JSON: {e}"))
    })?;
    let digest = B64
        .decode(req.artifact_hash.trim())
        .map_err(|e| ApiError::bad_request(format!("artifactHash is not base64: {e}")))?;
    let nonce = match &req.nonce {
        None => None,
        Some(n) => Some(
            n.as_u64()
                .map(Nonce::from_u64)
                .or_else(|| n.as_i64().map(|v| Nonce::from_i128(v.into())))
                .ok_or_else(|| {
                    ApiError::bad_request("nonce must be an integer of at most 64 bits")
                })?,
        ),
    };
    let policy = match req.tsa_policy_oid.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(oid) => Some(oid.parse::<tsa::ObjectIdentifier>().map_err(|_| {
            ApiError::bad_request(format!("tsaPolicyOID {oid:?} is not an object identifier"))
        })?),
    };
    let request = tsa::hash_algorithm(&req.hash_algorithm)
        .and_then(|hash| TimeStampRequest::new(hash, digest))
        .map(|r| {
            let r = r.with_cert_req(req.certificates);
            let r = match nonce {
                Some(n) => r.with_nonce(n),
                None => r,
            };
            match policy {
                Some(p) => r.with_policy(p),
                None => r,
            }
        });
    Ok(request)
}

fn reply(der: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, TIMESTAMP_REPLY)], der).into_response()
}

impl TsaServer {
    fn refuse(&self, rejection: &Rejection) -> Response {
        tracing::info!(failure = rejection.failure.name(), reason = %rejection.reason, "timestamp request rejected");
        self.metrics
            .refused
            .with_label_values(&[rejection.failure.name()])
            .inc();
        reply(tsa::rejection_response(rejection))
    }

    async fn issue(self: Arc<Self>, request: TimeStampRequest) -> Result<Response, ApiError> {
        let mut serial = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut serial);
        let serial = SerialNumber::from_random(serial);
        let server = self.clone();
        // The signer may block (an HSM round trip): keep it off the async workers.
        let outcome = tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            let outcome = server
                .authority
                .timestamp(&request, std::time::SystemTime::now(), &serial)
                .map(|r| r.map(|ts| (ts, request.hash_algorithm())));
            server
                .metrics
                .signing
                .observe(started.elapsed().as_secs_f64());
            outcome
        })
        .await
        .map_err(|e| ApiError::internal(format!("signing task failed: {e}")))?;
        match outcome {
            Ok(Ok((ts, hash))) => {
                self.metrics.issued.with_label_values(&[hash.name()]).inc();
                tracing::info!(serial = %ts.serial_hex, hash_algorithm = hash.name(), "timestamp issued");
                Ok(reply(ts.response))
            }
            Ok(Err(rejection)) => Ok(self.refuse(&rejection)),
            Err(e) => Err(ApiError::internal(format!("timestamping failed: {e}"))),
        }
    }
}

async fn timestamp(
    State(server): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = handle(&server, &headers, body).await;
    match result {
        Ok(response) => response,
        Err(e) => {
            server
                .metrics
                .refused
                .with_label_values(&[e.category()])
                .inc();
            e.into_response()
        }
    }
}

async fn handle(
    server: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::payload_too_large("request body", server.max_body_bytes)
        } else {
            ApiError::bad_request(format!("cannot read the request body: {}", r.body_text()))
        }
    })?;
    let request = match body_kind(headers, &body)? {
        Body::Der => match tsa::parse_request(&body) {
            Ok(r) => Ok(r),
            Err(RequestError::Refused(rejection)) => Err(rejection),
            Err(RequestError::Malformed(reason)) => {
                return Err(ApiError::bad_request(format!(
                    "the body is not a DER TimeStampReq: {reason}"
                )))
            }
            Err(other) => return Err(ApiError::bad_request(other.to_string())),
        },
        Body::Json => parse_json(&body)?,
    };
    match request {
        Ok(request) => server.clone().issue(request).await,
        Err(rejection) => Ok(server.refuse(&rejection)),
    }
}

async fn cert_chain(State(server): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/pem-certificate-chain")],
        server.chain_pem.clone(),
    )
        .into_response()
}

/// `/readyz`: the timestamping key signs.
async fn readyz(State(server): State<AppState>) -> sigstack_http::Readiness {
    sigstack_http::Readiness::new().check(
        "tsa key",
        sigstack_keys::check_signer(server.authority().signer()),
    )
}
