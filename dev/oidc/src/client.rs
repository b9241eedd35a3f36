//! Asking a running development issuer for a token (`sigstack token alice@example.com`).

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use crate::error::DevOidcError;
use crate::http::DEVELOPMENT_HEADER;

/// How long [`fetch_token`] waits for the issuer.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest token response [`fetch_token`] reads, in bytes.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

#[derive(Deserialize)]
struct TokenResponse {
    id_token: String,
}

#[derive(Deserialize)]
struct ErrorResponse {
    error: String,
    #[serde(default)]
    error_description: String,
}

/// POSTs `{"email", "audience"}` to `<issuer_url>/token` of a running development issuer and
/// returns the minted ID token.
///
/// The answer must carry the `X-Sigstack-Development-Issuer: true` header: this is a client for
/// the development issuer only. Redirects are not followed; the wait is bounded by
/// [`FETCH_TIMEOUT`]. An OAuth error answer becomes [`DevOidcError::Refused`] with the issuer's
/// `error` and `error_description`.
pub async fn fetch_token(
    issuer_url: &str,
    email: &str,
    audience: &str,
) -> Result<String, DevOidcError> {
    let url = format!("{}/token", issuer_url.trim_end_matches('/'));
    let fail = |reason: String| DevOidcError::Fetch {
        url: url.clone(),
        reason,
    };
    let client = reqwest::Client::builder()
        .timeout(FETCH_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| fail(format!("cannot build an HTTP client: {e}")))?;
    let response = client
        .post(&url)
        .json(&json!({ "email": email, "audience": audience }))
        .send()
        .await
        .map_err(|e| fail(e.to_string()))?;
    let status = response.status();
    let marked = response
        .headers()
        .get(DEVELOPMENT_HEADER)
        .is_some_and(|v| v.as_bytes() == b"true");
    if !marked {
        return Err(DevOidcError::NotDevelopmentIssuer(issuer_url.to_owned()));
    }
    if response
        .content_length()
        .is_some_and(|n| n > MAX_RESPONSE_BYTES as u64)
    {
        return Err(fail(format!(
            "answer larger than {MAX_RESPONSE_BYTES} bytes"
        )));
    }
    let body = response.bytes().await.map_err(|e| fail(e.to_string()))?;
    if body.len() > MAX_RESPONSE_BYTES {
        return Err(fail(format!(
            "answer larger than {MAX_RESPONSE_BYTES} bytes"
        )));
    }
    if !status.is_success() {
        return Err(match serde_json::from_slice::<ErrorResponse>(&body) {
            Ok(e) => DevOidcError::Refused {
                status: status.as_u16(),
                error: e.error,
                description: e.error_description,
            },
            Err(_) => fail(format!("HTTP {status} without an OAuth error body")),
        });
    }
    let answer: TokenResponse = serde_json::from_slice(&body)
        .map_err(|e| fail(format!("answer is not a token response: {e}")))?;
    Ok(answer.id_token)
}
