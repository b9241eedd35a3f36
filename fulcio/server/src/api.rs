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
use sigstack_http::{ErrorShape, JsonBody};
use std::sync::Arc;

type AppState = Arc<FulcioServer>;

/// The CA's errors: the shared [`ApiError`], rendered as upstream Fulcio's grpc-gateway does
/// (`{"code": <gRPC status code>, "message": …, "details": []}`) on both APIs.
pub use sigstack_http::ApiError;

/// The CA's routes, served at the root of its listener (sigstore-python drops any path prefix).
pub fn router(server: Arc<FulcioServer>) -> Router {
    let limit = server.max_body_bytes;
    let http = server.metrics.http.clone();
    let router = Router::new()
        .route("/api/v2/signingCert", post(signing_cert_v2))
        .route("/api/v1/signingCert", post(signing_cert_v1))
        .route("/api/v2/trustBundle", get(trust_bundle))
        .route("/api/v1/rootCert", get(root_cert))
        .route("/api/v2/configuration", get(configuration))
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/readyz", get(readyz))
        .fallback(sigstack_http::unknown_path);
    let router = sigstack_http::with_error_shape(router, ErrorShape::GrpcGateway)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(server);
    sigstack_http::with_access_log(router, "fulcio", Some(http))
}

impl sigstack_http::BodyPolicy for FulcioServer {
    fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }

    /// grpc-gateway reads the body as JSON whatever its `Content-Type` says.
    fn requires_json_content_type(&self) -> bool {
        false
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

/// The key of a CSR sent as base64 of its PEM, its self-signature checked.
fn verified_csr(base64_pem: &str) -> Result<VerifiedKey, ApiError> {
    let pem = B64.decode(base64_pem.trim()).map_err(|e| {
        ApiError::bad_request(format!("certificateSigningRequest is not base64: {e}"))
    })?;
    fulcio::verify_csr(&pem)
        .map_err(|e| ApiError::bad_request(format!("certificate signing request refused: {e}")))
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

/// The PEM chain of an issued certificate: `certificate`, then the CA's chain (kept as PEM).
fn pem_chain(
    certificate: &[u8],
    ca: &fulcio::CertificateAuthority,
) -> Result<Vec<String>, ApiError> {
    let leaf =
        fulcio::certificate_pem(certificate).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(std::iter::once(leaf)
        .chain(ca.chain_pem().iter().cloned())
        .collect())
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
            ApiError::unauthenticated(format!("identity token refused: {e}"))
        };
        // Decoded once: its issuer picks the configuration and keys it is verified with.
        let parsed = fulcio::UnverifiedToken::parse(token).map_err(|e| unauth(&e))?;
        let iss = parsed.issuer().map_err(|e| unauth(&e))?;
        let issuer = self.config.issuer(iss).ok_or_else(|| {
            ApiError::unauthenticated(format!(
                "identity token refused: issuer {iss:?} is not configured on this CA"
            ))
        })?;
        let unavailable = |e: crate::oidc::OidcError| ApiError::unavailable(e.to_string());
        let now = now_secs() as i64;
        let jwks = self.keys.keys(&issuer).await.map_err(unavailable)?;
        let verified = match parsed.verify(&issuer, &jwks, now) {
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
            (Ok(_), Some(t)) => {
                self.metrics.issued.with_label_values(&[t]).inc();
                self.metrics.new_certs.inc();
            }
            (Err(e), _) => self.metrics.errors.with_label_values(&[e.category()]).inc(),
            (Ok(_), None) => {}
        }
    }

    /// Submits `chain` to the CT log shard that accepts `not_after`, its leaf's notAfter
    /// (Unix seconds, as the CA set it) (`add-pre-chain` for a precertificate, else
    /// `add-chain`), timing it; no shard or no SCT means no certificate.
    async fn log(
        &self,
        chain: &[Vec<u8>],
        not_after: u64,
        precertificate: bool,
    ) -> Result<ct::SignedCertificateTimestamp, ApiError> {
        let shard = self.ct.for_not_after(not_after).map_err(|e| {
            self.metrics.ct_no_shard.inc();
            tracing::error!(not_after, error = %e, "no CT log shard for the certificate: nothing issued");
            ApiError::unavailable(format!("no certificate was issued: {e}"))
        })?;
        let started = std::time::Instant::now();
        let sct = if precertificate {
            shard.add_pre_chain(chain).await
        } else {
            shard.add_chain(chain).await
        };
        self.metrics
            .ct_latency
            .observe(started.elapsed().as_secs_f64());
        sct.map_err(|e| {
            ApiError::unavailable(format!(
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
                    .map_err(|e| ApiError::internal(format!("building the precertificate: {e}")))?;
                let mut submission = vec![precert.der().to_vec()];
                submission.extend(ca.chain().iter().cloned());
                let sct = self.log(&submission, precert.not_after(), true).await?;
                let list = ct::SignedCertificateTimestampList::new(vec![sct])
                    .map_err(|e| ApiError::internal(e.to_string()))?;
                let certificate = fulcio::build_final_certificate(&ca, &precert, &list)
                    .map_err(|e| ApiError::internal(format!("building the certificate: {e}")))?;
                (certificate, None)
            }
            SctMode::Detached => {
                let leaf = fulcio::build_certificate(&ca, principal, key, serial, now_secs())
                    .map_err(|e| ApiError::internal(format!("building the certificate: {e}")))?;
                let mut submission = vec![leaf.der.clone()];
                submission.extend(ca.chain().iter().cloned());
                let sct = self.log(&submission, leaf.not_after, false).await?;
                (leaf.der, Some(sct))
            }
        };
        tracing::info!(issuer = %principal.issuer, "certificate issued");
        let chain = pem_chain(&certificate, &ca)?;
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
        Ok(JsonBody(req)) => issue_v2(&server, &headers, req, &mut issuer_type).await,
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
        .ok_or_else(|| ApiError::unauthenticated("no identity token: send it as `Authorization: Bearer` or in credentials.oidcIdentityToken"))?;
    let (principal, kind) = server.authenticate(&token).await?;
    *issuer_type = Some(kind);
    let key = match (&req.certificate_signing_request, &req.public_key_request) {
        (Some(csr), None) => verified_csr(csr)?,
        (None, Some(pk)) => {
            let signature = B64.decode(pk.proof_of_possession.trim()).map_err(|e| {
                ApiError::bad_request(format!("proofOfPossession is not base64: {e}"))
            })?;
            fulcio::verify_signed_challenge(
                pk.public_key.content.as_bytes(),
                &signature,
                &principal.challenge,
            )
            .map_err(|e| ApiError::bad_request(format!("proof of possession refused: {e}")))?
        }
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "send either certificateSigningRequest or publicKeyRequest, not both",
            ))
        }
        (None, None) => {
            return Err(ApiError::bad_request(
                "missing certificateSigningRequest or publicKeyRequest",
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

/// The legacy request: a public key with a signature over the challenge, or a CSR (upstream's
/// legacy document makes every field optional; the CSR wins when both are sent, as upstream).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SigningCertRequestV1 {
    #[serde(default)]
    public_key: Option<PublicKeyContent>,
    #[serde(default)]
    signed_email_address: Option<String>,
    /// base64 of the PEM CSR (a proto `bytes` field).
    #[serde(default)]
    certificate_signing_request: Option<String>,
}

/// The legacy API: a base64 public key and a signature over the challenge, or a CSR; PEM chain
/// back.
async fn signing_cert_v1(
    State(server): State<AppState>,
    headers: HeaderMap,
    body: Result<JsonBody<SigningCertRequestV1>, ApiError>,
) -> Result<Response, ApiError> {
    let mut issuer_type = None;
    let result = match body {
        Ok(JsonBody(req)) => issue_v1(&server, &headers, req, &mut issuer_type).await,
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
        ApiError::unauthenticated("no identity token: send `Authorization: Bearer <token>`")
    })?;
    let (principal, kind) = server.authenticate(&token).await?;
    *issuer_type = Some(kind);
    let key = match (
        req.certificate_signing_request.as_deref().map(str::trim),
        req.public_key,
        req.signed_email_address,
    ) {
        (Some(csr), _, _) if !csr.is_empty() => verified_csr(csr)?,
        (_, Some(public_key), Some(signature)) => {
            let key_bytes = B64.decode(public_key.content.trim()).map_err(|e| {
                ApiError::bad_request(format!("publicKey.content is not base64: {e}"))
            })?;
            let signature = B64.decode(signature.trim()).map_err(|e| {
                ApiError::bad_request(format!("signedEmailAddress is not base64: {e}"))
            })?;
            fulcio::verify_signed_challenge(&key_bytes, &signature, &principal.challenge)
                .map_err(|e| ApiError::bad_request(format!("proof of possession refused: {e}")))?
        }
        _ => {
            return Err(ApiError::bad_request(
                "send publicKey with signedEmailAddress, or certificateSigningRequest",
            ))
        }
    };
    let Issued {
        chain,
        detached_sct,
    } = server.issue(&principal, &key).await?;
    // 201, as upstream's legacy server answers "to be backward compliant": Go clients of this
    // API accept no other status.
    let mut response = (
        StatusCode::CREATED,
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

/// `/readyz`: the CA's key signs.
async fn readyz(State(server): State<AppState>) -> sigstack_http::Readiness {
    sigstack_http::Readiness::new()
        .check("ca key", sigstack_keys::check_signer(server.ca().signer()))
}

async fn trust_bundle(State(server): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let chain = server.ca().chain_pem().to_vec();
    Ok(Json(json!({ "chains": [ { "certificates": chain } ] })))
}

async fn root_cert(State(server): State<AppState>) -> Result<Response, ApiError> {
    let chain = server.ca().chain_pem().concat();
    Ok((
        [(header::CONTENT_TYPE, "application/pem-certificate-chain")],
        chain,
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
