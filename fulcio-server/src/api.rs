//! HTTP: `/api/v2/signingCert` (both request shapes clients send), `/api/v2/trustBundle`,
//! `/api/v2/configuration`, legacy `/api/v1/signingCert` and `/api/v1/rootCert`, `/healthz`.

use crate::{ct_client, FulcioServer, SctMode};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use fulcio::{Principal, TokenError, VerifiedKey};
use rand::RngCore;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

type AppState = Arc<FulcioServer>;

/// Every error the CA returns, mapped to HTTP in one place. Bodies are JSON with the reason in
/// `message` (what upstream Fulcio's clients print) and a fixed label in `code`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed request, bad proof of possession, refused key (400).
    #[error("{0}")]
    BadRequest(String),
    /// The identity token is missing, invalid or from an unknown issuer (401).
    #[error("{0}")]
    Unauthenticated(String),
    /// The body is over the limit (413).
    #[error("request body is larger than the limit of {0} bytes")]
    PayloadTooLarge(usize),
    /// A dependency (the CT log, an issuer's key endpoint) failed: nothing was issued (503).
    #[error("{0}")]
    Unavailable(String),
    /// Our failure; details go to the log only (500).
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// The fixed reason label, for metrics and clients.
    pub fn code(&self) -> &'static str {
        self.parts().1
    }

    fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.parts();
        match &self {
            ApiError::Internal(detail) => tracing::error!(error = %detail, "internal error"),
            other => tracing::info!(reason = %other, code, "certificate refused"),
        }
        let mut response = (
            status,
            Json(json!({ "code": code, "message": self.to_string(), "error": self.to_string() })),
        )
            .into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
        }
        response
    }
}

/// The CA's routes, served at the root of its listener (sigstore-python drops any path prefix).
pub fn router(server: Arc<FulcioServer>) -> Router {
    let limit = server.max_body_bytes;
    Router::new()
        .route("/api/v2/signingCert", post(signing_cert_v2))
        .route("/api/v1/signingCert", post(signing_cert_v1))
        .route("/api/v2/trustBundle", get(trust_bundle))
        .route("/api/v1/rootCert", get(root_cert))
        .route("/api/v2/configuration", get(configuration))
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/metrics", get(metrics))
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                Json(json!({"code": "not_found", "message": "no such endpoint"})),
            )
        })
        .layer(DefaultBodyLimit::max(limit))
        .with_state(server)
}

/// JSON bodies, refused with this service's errors (413 naming the limit, 400 with axum's reason).
type JsonBody<T> = tlog_http::JsonBody<T, ApiError>;

impl From<tlog_http::BodyRejection> for ApiError {
    fn from(e: tlog_http::BodyRejection) -> Self {
        match e {
            tlog_http::BodyRejection::TooLarge(limit) => ApiError::PayloadTooLarge(limit),
            other => ApiError::BadRequest(other.to_string()),
        }
    }
}

impl tlog_http::BodyLimit for FulcioServer {
    fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Credentials {
    oidc_identity_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PublicKeyContent {
    // `algorithm` is sent too, but the key itself says what it is.
    content: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PublicKeyRequest {
    public_key: PublicKeyContent,
    proof_of_possession: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SigningCertRequestV2 {
    #[serde(default)]
    credentials: Option<Credentials>,
    #[serde(default)]
    certificate_signing_request: Option<String>,
    #[serde(default)]
    public_key_request: Option<PublicKeyRequest>,
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

fn pem_chain(ders: impl IntoIterator<Item = Vec<u8>>) -> Result<Vec<String>, ApiError> {
    ders.into_iter()
        .map(|d| {
            der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, &d)
                .map_err(|e| ApiError::Internal(e.to_string()))
        })
        .collect()
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl FulcioServer {
    /// Verifies the token against its configured issuer's keys and maps it to an identity.
    async fn authenticate(&self, token: &str) -> Result<(Principal, String), ApiError> {
        let unauth = |e: &dyn std::fmt::Display| {
            ApiError::Unauthenticated(format!("identity token refused: {e}"))
        };
        let iss = fulcio::unverified_issuer(token).map_err(|e| unauth(&e))?;
        let issuer = self.config.issuer(&iss).ok_or_else(|| {
            ApiError::Unauthenticated(format!(
                "identity token refused: issuer {iss:?} is not configured on this CA"
            ))
        })?;
        let unavailable = |e: crate::oidc::OidcError| ApiError::Unavailable(e.to_string());
        let now = now_secs() as i64;
        let jwks = self.keys.keys(&issuer).await.map_err(unavailable)?;
        let verified = match fulcio::verify_token(token, &issuer, &jwks, now) {
            Err(TokenError::UnknownKeyId(_)) => {
                // The issuer may have rotated its keys: fetch them again (rate-limited) and retry once.
                let jwks = self.keys.refresh(&issuer).await.map_err(unavailable)?;
                fulcio::verify_token(token, &issuer, &jwks, now)
            }
            other => other,
        }
        .map_err(|e| unauth(&e))?;
        let principal = fulcio::principal_from_token(&verified, &issuer, &self.config)
            .map_err(|e| unauth(&e))?;
        let issuer_type = serde_json::to_value(issuer.issuer_type)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| "unknown".into());
        Ok((principal, issuer_type))
    }

    /// Counts the outcome of a signing request.
    fn record<T>(&self, result: &Result<T, ApiError>, issuer_type: Option<&str>) {
        match (result, issuer_type) {
            (Ok(_), Some(t)) => self.metrics.issued.with_label_values(&[t]).inc(),
            (Err(e), _) => self.metrics.errors.with_label_values(&[e.code()]).inc(),
            (Ok(_), None) => {}
        }
    }

    /// Submits `chain` to the CT log (`add-pre-chain` for a precertificate, else `add-chain`),
    /// timing it; no SCT means no certificate.
    async fn log(
        &self,
        chain: &[Vec<u8>],
        precertificate: bool,
    ) -> Result<ct::SignedCertificateTimestamp, ApiError> {
        let started = std::time::Instant::now();
        let sct = if precertificate {
            self.ct.add_pre_chain(chain).await
        } else {
            self.ct.add_chain(chain).await
        };
        self.metrics
            .ct_latency
            .observe(started.elapsed().as_secs_f64());
        sct.map_err(|e| {
            ApiError::Unavailable(format!(
                "no certificate was issued: the CT log did not accept the {} ({e})",
                if precertificate {
                    "precertificate"
                } else {
                    "certificate"
                }
            ))
        })
    }

    /// Issues the certificate, logged first: in [`SctMode::Embedded`], builds the
    /// precertificate, logs it and signs the final certificate with the SCT; in
    /// [`SctMode::Detached`], signs the certificate, logs it and returns the SCT beside it.
    /// Uses one snapshot of the CA throughout, whatever reloads happen meanwhile.
    async fn issue(&self, principal: &Principal, key: &VerifiedKey) -> Result<Issued, ApiError> {
        let ca = self.ca();
        let mut serial = [0u8; 20];
        rand::thread_rng().fill_bytes(&mut serial);
        let (certificate, detached_sct) = match self.sct_mode {
            SctMode::Embedded => {
                let precert = fulcio::build_precertificate(&ca, principal, key, serial, now_secs())
                    .map_err(|e| ApiError::Internal(format!("building the precertificate: {e}")))?;
                let mut submission = vec![precert.clone()];
                submission.extend(ca.chain().iter().cloned());
                let sct = self.log(&submission, true).await?;
                let list = ct::SignedCertificateTimestampList::new(vec![sct])
                    .map_err(|e| ApiError::Internal(e.to_string()))?;
                let certificate = fulcio::build_final_certificate(&ca, &precert, &list)
                    .map_err(|e| ApiError::Internal(format!("building the certificate: {e}")))?;
                (certificate, None)
            }
            SctMode::Detached => {
                let certificate =
                    fulcio::build_certificate(&ca, principal, key, serial, now_secs()).map_err(
                        |e| ApiError::Internal(format!("building the certificate: {e}")),
                    )?;
                let mut submission = vec![certificate.clone()];
                submission.extend(ca.chain().iter().cloned());
                let sct = self.log(&submission, false).await?;
                (certificate, Some(sct))
            }
        };
        tracing::info!(issuer = %principal.issuer, "certificate issued");
        let chain = pem_chain(std::iter::once(certificate).chain(ca.chain().iter().cloned()))?;
        Ok(Issued {
            chain,
            detached_sct: detached_sct.map(|sct| {
                // The log's add-chain answer, as JSON bytes (what upstream puts in this field).
                B64.encode(ct_client::sct_to_json(&sct).to_string())
            }),
        })
    }
}

/// An issued certificate: the PEM chain (leaf first) and, in detached-SCT mode, the SCT
/// (base64 of its JSON).
struct Issued {
    chain: Vec<String>,
    detached_sct: Option<String>,
}

async fn signing_cert_v2(
    State(server): State<AppState>,
    headers: HeaderMap,
    body: Result<JsonBody<SigningCertRequestV2>, ApiError>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let mut issuer_type = None;
    let result = match body {
        Ok(tlog_http::JsonBody(req, _)) => issue_v2(&server, &headers, req, &mut issuer_type).await,
        Err(e) => Err(e),
    };
    server.record(&result, issuer_type.as_deref());
    result
}

async fn issue_v2(
    server: &FulcioServer,
    headers: &HeaderMap,
    req: SigningCertRequestV2,
    issuer_type: &mut Option<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let token = bearer(headers)
        .or_else(|| req.credentials.as_ref().and_then(|c| c.oidc_identity_token.clone()))
        .ok_or_else(|| ApiError::Unauthenticated("no identity token: send it as `Authorization: Bearer` or in credentials.oidcIdentityToken".into()))?;
    let (principal, kind) = server.authenticate(&token).await?;
    *issuer_type = Some(kind);
    let key = match (&req.certificate_signing_request, &req.public_key_request) {
        (Some(csr), None) => {
            let pem = B64.decode(csr.trim()).map_err(|e| {
                ApiError::BadRequest(format!("certificateSigningRequest is not base64: {e}"))
            })?;
            fulcio::verify_csr(&pem).map_err(|e| {
                ApiError::BadRequest(format!("certificate signing request refused: {e}"))
            })?
        }
        (None, Some(pk)) => {
            let signature = B64.decode(pk.proof_of_possession.trim()).map_err(|e| {
                ApiError::BadRequest(format!("proofOfPossession is not base64: {e}"))
            })?;
            fulcio::verify_signed_challenge(
                pk.public_key.content.as_bytes(),
                &signature,
                &principal.challenge,
            )
            .map_err(|e| ApiError::BadRequest(format!("proof of possession refused: {e}")))?
        }
        (Some(_), Some(_)) => {
            return Err(ApiError::BadRequest(
                "send either certificateSigningRequest or publicKeyRequest, not both".into(),
            ))
        }
        (None, None) => {
            return Err(ApiError::BadRequest(
                "missing certificateSigningRequest or publicKeyRequest".into(),
            ))
        }
    };
    let Issued {
        chain,
        detached_sct,
    } = server.issue(&principal, &key).await?;
    Ok(Json(match detached_sct {
        None => json!({ "signedCertificateEmbeddedSct": { "chain": { "certificates": chain } } }),
        Some(sct) => json!({ "signedCertificateDetachedSct": {
            "chain": { "certificates": chain },
            "signedCertificateTimestamp": sct,
        } }),
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SigningCertRequestV1 {
    public_key: PublicKeyContent,
    signed_email_address: String,
}

/// The legacy API: a base64 public key and a signature over the challenge; PEM chain back.
async fn signing_cert_v1(
    State(server): State<AppState>,
    headers: HeaderMap,
    body: Result<JsonBody<SigningCertRequestV1>, ApiError>,
) -> Result<Response, ApiError> {
    let mut issuer_type = None;
    let result = match body {
        Ok(tlog_http::JsonBody(req, _)) => issue_v1(&server, &headers, req, &mut issuer_type).await,
        Err(e) => Err(e),
    };
    server.record(&result, issuer_type.as_deref());
    result
}

async fn issue_v1(
    server: &FulcioServer,
    headers: &HeaderMap,
    req: SigningCertRequestV1,
    issuer_type: &mut Option<String>,
) -> Result<Response, ApiError> {
    let token = bearer(headers).ok_or_else(|| {
        ApiError::Unauthenticated("no identity token: send `Authorization: Bearer <token>`".into())
    })?;
    let (principal, kind) = server.authenticate(&token).await?;
    *issuer_type = Some(kind);
    let key_bytes = B64
        .decode(req.public_key.content.trim())
        .map_err(|e| ApiError::BadRequest(format!("publicKey.content is not base64: {e}")))?;
    let signature = B64
        .decode(req.signed_email_address.trim())
        .map_err(|e| ApiError::BadRequest(format!("signedEmailAddress is not base64: {e}")))?;
    let key = fulcio::verify_signed_challenge(&key_bytes, &signature, &principal.challenge)
        .map_err(|e| ApiError::BadRequest(format!("proof of possession refused: {e}")))?;
    let Issued {
        chain,
        detached_sct,
    } = server.issue(&principal, &key).await?;
    let mut response = (
        [(header::CONTENT_TYPE, "application/pem-certificate-chain")],
        chain.concat(),
    )
        .into_response();
    if let Some(sct) = detached_sct {
        // Upstream's legacy API hands a detached SCT over in this header.
        if let Ok(value) = header::HeaderValue::from_str(&sct) {
            response.headers_mut().insert("SCT", value);
        }
    }
    Ok(response)
}

async fn metrics(State(server): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        server.metrics.render(),
    )
        .into_response()
}

async fn trust_bundle(State(server): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let chain = pem_chain(server.ca().chain().iter().cloned())?;
    Ok(Json(json!({ "chains": [ { "certificates": chain } ] })))
}

async fn root_cert(State(server): State<AppState>) -> Result<Response, ApiError> {
    let chain = pem_chain(server.ca().chain().iter().cloned())?;
    Ok((
        [(header::CONTENT_TYPE, "application/pem-certificate-chain")],
        chain.concat(),
    )
        .into_response())
}

async fn configuration(State(server): State<AppState>) -> Json<serde_json::Value> {
    let exact = server.config.oidc_issuers.values().map(|i| {
        json!({ "issuerUrl": i.issuer_url, "audience": i.client_id, "challengeClaim": i.challenge_claim(), "spiffeTrustDomain": i.spiffe_trust_domain.clone().unwrap_or_default() })
    });
    let wildcard = server.config.meta_issuers.iter().map(|(pattern, i)| {
        json!({ "wildcardIssuerUrl": pattern, "audience": i.client_id, "challengeClaim": i.challenge_claim(), "spiffeTrustDomain": i.spiffe_trust_domain.clone().unwrap_or_default() })
    });
    Json(json!({ "issuers": exact.chain(wildcard).collect::<Vec<_>>() }))
}
