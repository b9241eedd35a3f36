//! The CT log client: RFC 6962 `add-pre-chain`, so any RFC 6962 log works, ours by default.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ct::{CtExtensions, DigitallySigned, SignedCertificateTimestamp};
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
    http: reqwest::Client,
}

impl CtClient {
    /// A client of the log at `url` (its base URL, without `/ct/v1`).
    pub fn new(url: &str) -> Self {
        Self::with_roots(url, &ExtraRoots::default())
    }

    /// As [`CtClient::new`], trusting `roots` too (beside the system's store) over HTTPS.
    pub fn with_roots(url: &str, roots: &ExtraRoots) -> Self {
        Self {
            url: url.trim_end_matches('/').to_string(),
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
        self.submit("add-pre-chain", chain).await
    }

    /// `add-chain`: a final certificate followed by its issuing chain, returns the SCT (the
    /// detached-SCT mode, where the certificate carries no SCT list).
    pub async fn add_chain(
        &self,
        chain: &[Vec<u8>],
    ) -> Result<SignedCertificateTimestamp, CtSubmitError> {
        self.submit("add-chain", chain).await
    }

    async fn submit(
        &self,
        endpoint: &str,
        chain: &[Vec<u8>],
    ) -> Result<SignedCertificateTimestamp, CtSubmitError> {
        let fail = |reason: String| CtSubmitError {
            url: self.url.clone(),
            reason,
        };
        let body =
            serde_json::json!({ "chain": chain.iter().map(|c| B64.encode(c)).collect::<Vec<_>>() });
        let response = self
            .http
            .post(format!("{}/ct/v1/{endpoint}", self.url))
            .json(&body)
            .send()
            .await
            .map_err(|e| fail(error_chain(&e)))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| fail(e.to_string()))?;
        if !status.is_success() {
            return Err(fail(format!("HTTP {status}: {text}")));
        }
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| fail(format!("answer is not JSON: {e}")))?;
        let field = |name: &str| -> Result<Vec<u8>, CtSubmitError> {
            v[name]
                .as_str()
                .and_then(|s| B64.decode(s).ok())
                .ok_or_else(|| fail(format!("answer has no base64 {name:?}")))
        };
        if v["sct_version"].as_u64() != Some(0) {
            return Err(fail("answer is not a v1 SCT".into()));
        }
        let log_id: [u8; 32] = field("id")?
            .try_into()
            .map_err(|_| fail("log id is not 32 bytes".into()))?;
        let timestamp = v["timestamp"]
            .as_u64()
            .ok_or_else(|| fail("answer has no timestamp".into()))?;
        let extensions =
            CtExtensions::new(field("extensions")?).map_err(|e| fail(e.to_string()))?;
        let signature =
            DigitallySigned::parse(&field("signature")?).map_err(|e| fail(e.to_string()))?;
        Ok(SignedCertificateTimestamp {
            log_id,
            timestamp,
            extensions,
            signature,
        })
    }
}

/// An SCT as the JSON an RFC 6962 log answers `add-chain` with (section 4.1:
/// `sct_version`, `id`, `timestamp`, `extensions`, `signature`, byte strings in base64): what
/// upstream Fulcio puts, serialized, in `signedCertificateTimestamp` of a detached-SCT answer.
pub fn sct_to_json(sct: &SignedCertificateTimestamp) -> serde_json::Value {
    serde_json::json!({
        "sct_version": 0,
        "id": B64.encode(sct.log_id),
        "timestamp": sct.timestamp,
        "extensions": B64.encode(sct.extensions.as_bytes()),
        "signature": B64.encode(sct.signature.encode()),
    })
}
