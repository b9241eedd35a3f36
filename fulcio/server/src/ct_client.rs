//! The CT log client: RFC 6962 `add-pre-chain`, so any RFC 6962 log works, ours by default.

use ct::SignedCertificateTimestamp;
use std::time::Duration;

use crate::https::{error_chain, ExtraRoots};

/// Why no SCT was obtained. The CA then issues nothing.
#[derive(Debug, thiserror::Error)]
#[error("CT log {url}: {reason}")]
pub struct CtSubmitError {
    url: String,
    reason: String,
}

/// Submits precertificates to one RFC 6962 log.
#[derive(Clone)]
pub struct CtClient {
    url: String,
    /// `add-pre-chain` and `add-chain`, parsed once (or why the log's URL does not make them).
    add_pre_chain: Result<reqwest::Url, String>,
    add_chain: Result<reqwest::Url, String>,
    http: reqwest::Client,
}

impl CtClient {
    /// A client of the log at `url` (its base URL, without `/ct/v1`).
    pub fn new(url: &str) -> Self {
        Self::with_roots(url, &ExtraRoots::default())
    }

    /// As [`CtClient::new`], trusting `roots` too (beside the system's store) over HTTPS.
    pub fn with_roots(url: &str, roots: &ExtraRoots) -> Self {
        let url = url.trim_end_matches('/').to_string();
        let endpoint = |name: &str| {
            reqwest::Url::parse(&format!("{url}/ct/v1/{name}")).map_err(|e| e.to_string())
        };
        Self {
            add_pre_chain: endpoint("add-pre-chain"),
            add_chain: endpoint("add-chain"),
            url,
            http: roots
                .apply(reqwest::Client::builder().timeout(Duration::from_secs(30)))
                .build()
                // ExtraRoots::from_pem built a client with these roots already.
                .expect("a client with a timeout and usable roots builds"),
        }
    }

    /// `add-pre-chain`: the precertificate followed by its issuing chain, returns the SCT.
    pub async fn add_pre_chain(
        &self,
        chain: &[Vec<u8>],
    ) -> Result<SignedCertificateTimestamp, CtSubmitError> {
        self.submit(&self.add_pre_chain, chain).await
    }

    /// `add-chain`: a final certificate followed by its issuing chain, returns the SCT (the
    /// detached-SCT mode, where the certificate carries no SCT list).
    pub async fn add_chain(
        &self,
        chain: &[Vec<u8>],
    ) -> Result<SignedCertificateTimestamp, CtSubmitError> {
        self.submit(&self.add_chain, chain).await
    }

    async fn submit(
        &self,
        endpoint: &Result<reqwest::Url, String>,
        chain: &[Vec<u8>],
    ) -> Result<SignedCertificateTimestamp, CtSubmitError> {
        let fail = |reason: String| CtSubmitError {
            url: self.url.clone(),
            reason,
        };
        let endpoint = endpoint
            .as_ref()
            .map_err(|e| fail(format!("not a usable URL: {e}")))?;
        let body = ct::AddChainRequest::new(chain);
        let response = self
            .http
            .post(endpoint.clone())
            .json(&body)
            .send()
            .await
            .map_err(|e| fail(error_chain(&e)))?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| fail(e.to_string()))?;
        if !status.is_success() {
            return Err(fail(format!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&bytes)
            )));
        }
        let answer: ct::SctJson = serde_json::from_slice(&bytes)
            .map_err(|e| fail(format!("answer is not an RFC 6962 SCT: {e}")))?;
        answer.to_sct().map_err(fail)
    }
}

/// An SCT as the JSON an RFC 6962 log answers `add-chain` with (section 4.1:
/// `sct_version`, `id`, `timestamp`, `extensions`, `signature`, byte strings in base64): what
/// upstream Fulcio puts, serialized, in `signedCertificateTimestamp` of a detached-SCT answer.
pub fn sct_to_json(sct: &SignedCertificateTimestamp) -> serde_json::Value {
    serde_json::to_value(ct::SctJson::from(sct)).expect("an SCT's JSON fields serialize")
}
