//! The HTTP face of the issuer: discovery, JWKS, the token endpoint, an explanation page, and
//! the loopback guard around all of them.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::connect_info::IntoMakeServiceWithConnectInfo;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::error::DevOidcError;
use crate::issuer::{DevIssuer, DEFAULT_AUDIENCE, GRANT_TYPES};

/// The header on every response of the development issuer, with the value `true`.
pub const DEVELOPMENT_HEADER: &str = "x-sigstack-development-issuer";
/// The largest token request body accepted, in bytes.
pub const MAX_TOKEN_REQUEST_BYTES: usize = 16 * 1024;

/// The development issuer's routes:
///
/// - `GET /` — a plain-text page saying this is a DEVELOPMENT issuer and how to get a token;
/// - `GET /.well-known/openid-configuration` — the discovery document;
/// - `GET /jwks` — the ES256 public key;
/// - `POST /token` — mints an ID token (form or JSON; see the crate documentation);
/// - `GET /authorize` — an OAuth error: there is no interactive login.
///
/// Every response carries `X-Sigstack-Development-Issuer: true`.
///
/// Unless [`crate::DevIssuerOptions::allow_non_loopback_unsafe`] is set, requests from
/// non-loopback peers get 403. The peer address comes from axum's [`ConnectInfo`], so the router
/// MUST be served with `into_make_service_with_connect_info::<SocketAddr>()`:
///
/// ```no_run
/// # async fn serve(issuer: std::sync::Arc<dev_oidc::DevIssuer>) -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:5556").await?;
/// let app = dev_oidc::router(issuer);
/// axum::serve(
///     listener,
///     app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
/// )
/// .await
/// # }
/// ```
///
/// ([`make_service`] does exactly that.) Served without it, every request fails closed with 500
/// (the peer cannot be checked).
pub fn router(issuer: Arc<DevIssuer>) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .route("/token", post(token))
        .route("/authorize", get(authorize))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_TOKEN_REQUEST_BYTES))
        .layer(middleware::from_fn_with_state(issuer.clone(), guard))
        .with_state(issuer)
}

/// [`router`] as the service to serve, with the peer address recorded for the loopback check:
/// `axum::serve(listener, dev_oidc::make_service(issuer))`.
pub fn make_service(issuer: Arc<DevIssuer>) -> IntoMakeServiceWithConnectInfo<Router, SocketAddr> {
    router(issuer).into_make_service_with_connect_info::<SocketAddr>()
}

/// Refuses a listen address that is not loopback (`127.0.0.0/8`, `::1`, or `::ffff:127.x`),
/// unless `allow_non_loopback_unsafe` is true, in which case it logs a loud warning and allows it.
/// The unspecified addresses `0.0.0.0` and `::` listen on every interface and are refused.
pub fn check_listen_addr(
    addr: SocketAddr,
    allow_non_loopback_unsafe: bool,
) -> Result<(), DevOidcError> {
    if is_loopback(addr.ip()) {
        return Ok(());
    }
    if allow_non_loopback_unsafe {
        tracing::warn!(
            %addr,
            "DEVELOPMENT OIDC ISSUER EXPOSED ON A NON-LOOPBACK ADDRESS: anyone who can reach it \
             can get a token for any identity (allow_non_loopback_unsafe is set)"
        );
        return Ok(());
    }
    Err(DevOidcError::NonLoopbackListenAddress(addr))
}

fn is_loopback(ip: IpAddr) -> bool {
    ip.to_canonical().is_loopback()
}

/// An OAuth 2.0 error response (RFC 6749 §5.2) with the given status.
struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl OAuthError {
    fn invalid_request(description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error: "invalid_request",
            description: description.into(),
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        // RFC 6749 §5.2: error_description is %x20-21 / %x23-5B / %x5D-7E.
        let description: String = self
            .description
            .chars()
            .map(|c| match c {
                ' '..='~' if c != '"' && c != '\\' => c,
                _ => '?',
            })
            .collect();
        let mut response = (
            self.status,
            Json(json!({ "error": self.error, "error_description": description })),
        )
            .into_response();
        no_store(response.headers_mut());
        response
    }
}

fn no_store(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// Loopback check and the development marker header, around every route and the fallback.
async fn guard(State(issuer): State<Arc<DevIssuer>>, request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let allow_any = issuer.options().allow_non_loopback_unsafe;
    let mut response = match peer {
        Some(p) if allow_any || is_loopback(p.ip()) => next.run(request).await,
        None if allow_any => next.run(request).await,
        Some(p) => {
            tracing::warn!(peer = %p, "development issuer refused a non-loopback client");
            OAuthError {
                status: StatusCode::FORBIDDEN,
                error: "access_denied",
                description: "the sigstack development issuer answers loopback clients only".into(),
            }
            .into_response()
        }
        None => {
            tracing::error!(
                "development issuer served without connect info: cannot check the peer, \
                 refusing; serve it with into_make_service_with_connect_info::<SocketAddr>()"
            );
            OAuthError {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                error: "server_error",
                description: "misconfigured development issuer: peer address unknown".into(),
            }
            .into_response()
        }
    };
    response.headers_mut().insert(
        HeaderName::from_static(DEVELOPMENT_HEADER),
        HeaderValue::from_static("true"),
    );
    response
}

async fn home(State(issuer): State<Arc<DevIssuer>>) -> impl IntoResponse {
    let iss = issuer.issuer_url();
    let token = issuer.token_endpoint();
    let base = iss.trim_end_matches('/');
    let reach = if issuer.options().allow_non_loopback_unsafe {
        "WARNING: allow_non_loopback_unsafe is set, so it answers ANY client."
    } else {
        "It answers loopback clients only."
    };
    let page = format!(
        "\
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
!!  SIGSTACK DEVELOPMENT OIDC ISSUER  --  NEVER USE IN PRODUCTION     !!
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!

This issuer gives an identity token for ANY e-mail address to anyone who
asks, without any login. A Fulcio that trusts it certifies any identity.
It exists so that `sigstack up` works on one machine with no external
identity provider. {reach} Never configure a
production Fulcio to trust it.

Issuer:     {iss}
Discovery:  {base}/.well-known/openid-configuration
JWKS:       {base}/jwks
Token:      {token}

Get a token (audience defaults to {DEFAULT_AUDIENCE}):

  sigstack token alice@example.com

  curl -s -d grant_type=urn:sigstack:dev -d email=alice@example.com \\
       {token}

  curl -s -H 'Content-Type: application/json' \\
       -d '{{\"email\":\"alice@example.com\",\"audience\":\"sigstore\"}}' \\
       {token}

The answer is JSON; the token is its id_token member. Every token says
\"sigstack_development_issuer\": true.
"
    );
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], page)
}

async fn discovery(State(issuer): State<Arc<DevIssuer>>) -> Json<serde_json::Value> {
    Json(issuer.discovery_document())
}

async fn jwks(State(issuer): State<Arc<DevIssuer>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/jwk-set+json")],
        issuer.jwks().to_string(),
    )
}

async fn authorize() -> OAuthError {
    OAuthError {
        status: StatusCode::BAD_REQUEST,
        error: "unsupported_response_type",
        description: "the sigstack development issuer has no interactive login; POST to /token \
                      (see GET / for how)"
            .into(),
    }
}

async fn not_found() -> OAuthError {
    OAuthError {
        status: StatusCode::NOT_FOUND,
        error: "not_found",
        description: "no such endpoint; see GET / for this development issuer's endpoints".into(),
    }
}

/// The fields a token request may carry, form or JSON. Unknown fields are ignored (OAuth
/// clients add `scope`, `client_id`, …); a repeated field is refused.
#[derive(Debug, Deserialize)]
struct TokenRequest {
    grant_type: Option<String>,
    email: Option<String>,
    subject: Option<String>,
    audience: Option<String>,
}

enum Body {
    Form,
    Json,
}

fn body_kind(headers: &HeaderMap) -> Result<Body, OAuthError> {
    let supported = "send application/x-www-form-urlencoded or application/json";
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Err(OAuthError::invalid_request(format!(
            "no Content-Type; {supported}"
        )));
    };
    let essence = value
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/x-www-form-urlencoded" => Ok(Body::Form),
        "application/json" => Ok(Body::Json),
        _ => Err(OAuthError::invalid_request(format!(
            "unsupported Content-Type; {supported}"
        ))),
    }
}

fn parse_request(headers: &HeaderMap, body: &[u8]) -> Result<TokenRequest, OAuthError> {
    match body_kind(headers)? {
        Body::Form => {
            let request: TokenRequest = serde_urlencoded::from_bytes(body)
                .map_err(|e| OAuthError::invalid_request(format!("malformed form body: {e}")))?;
            if request.grant_type.is_none() {
                return Err(OAuthError::invalid_request(format!(
                    "missing grant_type; use {} or {}",
                    GRANT_TYPES[0], GRANT_TYPES[1]
                )));
            }
            Ok(request)
        }
        Body::Json => serde_json::from_slice(body)
            .map_err(|e| OAuthError::invalid_request(format!("malformed JSON body: {e}"))),
    }
}

async fn token(
    State(issuer): State<Arc<DevIssuer>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, OAuthError> {
    let body = body.map_err(|e| OAuthError {
        status: e.status(),
        error: "invalid_request",
        description: format!(
            "cannot read the request body (at most {MAX_TOKEN_REQUEST_BYTES} bytes): {}",
            e.body_text()
        ),
    })?;
    let request = parse_request(&headers, &body)?;
    if let Some(grant) = &request.grant_type {
        if !GRANT_TYPES.contains(&grant.as_str()) {
            return Err(OAuthError {
                status: StatusCode::BAD_REQUEST,
                error: "unsupported_grant_type",
                description: format!(
                    "grant_type must be {} or {}",
                    GRANT_TYPES[0], GRANT_TYPES[1]
                ),
            });
        }
    }
    let email = match (request.email, request.subject) {
        (Some(e), None) | (None, Some(e)) => e,
        (Some(e), Some(s)) if e == s => e,
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request(
                "email and subject differ; send one of them",
            ))
        }
        (None, None) => {
            return Err(OAuthError::invalid_request(
                "missing email: the address to mint a token for (email=alice@example.com)",
            ))
        }
    };
    let audience = request
        .audience
        .unwrap_or_else(|| DEFAULT_AUDIENCE.to_owned());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let token = issuer.mint(&email, &audience, now).map_err(|e| match e {
        DevOidcError::InvalidEmail(_) | DevOidcError::InvalidAudience(_) => {
            OAuthError::invalid_request(e.to_string())
        }
        other => {
            tracing::error!(error = %other, "development issuer could not mint a token");
            OAuthError {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                error: "server_error",
                description: "the development issuer could not sign the token".into(),
            }
        }
    })?;
    tracing::info!(email = %email, audience = %audience, "development issuer minted a token");
    let mut response = Json(json!({
        "id_token": token,
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": issuer.lifetime_secs(),
    }))
    .into_response();
    no_store(response.headers_mut());
    Ok(response)
}
