//! OIDC discovery and JWKS for the configured issuers: fetched on first use, cached, refreshed
//! when a token names an unknown key (at most once per `min_refresh` per issuer). Nothing is
//! fetched from an issuer the configuration does not name: callers pass a configured issuer.
//!
//! Fetches are single-flight per issuer: requests that need an issuer's keys while a fetch is
//! under way wait for that fetch and share its result, success or failure, so a burst of tokens
//! signed with a new key (or an unreachable issuer) costs the issuer one round trip, not one per
//! request.
//!
//! Fetches trust the system's certificate store, the [`ExtraRoots`] the cache was made with,
//! and the issuer's own `ca-cert` (for that issuer only).

use crate::https::{error_chain, ExtraRoots};
use fulcio::{IssuerConfig, Jwks};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// The largest discovery or JWKS document accepted.
const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// Why an issuer's keys could not be had.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum OidcError {
    /// The issuer's documents could not be fetched or parsed.
    #[error("cannot fetch the keys of issuer {issuer}: {reason}")]
    Unreachable {
        /// The issuer URL.
        issuer: String,
        /// What failed.
        reason: String,
    },
}

/// The outcome of an issuer's latest fetch.
#[derive(Clone)]
struct Fetched {
    result: Result<Arc<Jwks>, OidcError>,
    at: Instant,
}

/// One issuer's keys: the last good key set, the last fetch's outcome, and the lock that lets one
/// fetch run at a time.
#[derive(Default)]
struct Slot {
    keys: std::sync::RwLock<Option<(Arc<Jwks>, Instant)>>,
    last: std::sync::Mutex<Option<Fetched>>,
    fetching: Mutex<()>,
}

impl Slot {
    fn cached(&self) -> Option<(Arc<Jwks>, Instant)> {
        self.keys.read().expect("key slot lock").clone()
    }
}

/// Cached JWKS per issuer URL.
pub struct KeyCache {
    slots: std::sync::Mutex<HashMap<String, Arc<Slot>>>,
    clients: std::sync::Mutex<HashMap<String, reqwest::Client>>,
    min_refresh: Duration,
    timeout: Duration,
    roots: ExtraRoots,
}

impl KeyCache {
    /// A cache that refreshes an issuer's keys at most once per `min_refresh`.
    pub fn new(min_refresh: Duration) -> Self {
        Self::with_roots(min_refresh, ExtraRoots::default())
    }

    /// As [`KeyCache::new`], trusting `roots` too for every issuer.
    pub fn with_roots(min_refresh: Duration, roots: ExtraRoots) -> Self {
        Self {
            slots: std::sync::Mutex::new(HashMap::new()),
            clients: std::sync::Mutex::new(HashMap::new()),
            min_refresh,
            timeout: Duration::from_secs(10),
            roots,
        }
    }

    fn slot(&self, issuer: &IssuerConfig) -> Arc<Slot> {
        self.slots
            .lock()
            .expect("key cache lock")
            .entry(issuer.issuer_url.clone())
            .or_default()
            .clone()
    }

    /// The issuer's keys, fetching them on first use.
    pub async fn keys(&self, issuer: &IssuerConfig) -> Result<Arc<Jwks>, OidcError> {
        let slot = self.slot(issuer);
        if let Some((jwks, _)) = slot.cached() {
            return Ok(jwks);
        }
        self.fetch_shared(&slot, issuer).await
    }

    /// Fetches the keys again (a token named a key we do not have), unless they were fetched
    /// less than `min_refresh` ago: then the cached keys are returned and the token fails.
    pub async fn refresh(&self, issuer: &IssuerConfig) -> Result<Arc<Jwks>, OidcError> {
        let slot = self.slot(issuer);
        if let Some((jwks, at)) = slot.cached() {
            if at.elapsed() < self.min_refresh {
                return Ok(jwks);
            }
        }
        self.fetch_shared(&slot, issuer).await
    }

    /// Fetches the issuer's keys, or, if another caller's fetch finished while this one waited
    /// for its turn, takes that fetch's outcome.
    async fn fetch_shared(
        &self,
        slot: &Slot,
        issuer: &IssuerConfig,
    ) -> Result<Arc<Jwks>, OidcError> {
        let asked = Instant::now();
        let _turn = slot.fetching.lock().await;
        let last = slot.last.lock().expect("key slot lock").clone();
        if let Some(last) = last.filter(|l| l.at >= asked) {
            return last.result;
        }
        let result = self.fetch(issuer).await;
        let at = Instant::now();
        if let Ok(jwks) = &result {
            *slot.keys.write().expect("key slot lock") = Some((jwks.clone(), at));
        }
        *slot.last.lock().expect("key slot lock") = Some(Fetched {
            result: result.clone(),
            at,
        });
        result
    }

    fn client(&self, issuer: &IssuerConfig) -> Result<reqwest::Client, OidcError> {
        let mut clients = self.clients.lock().expect("client cache lock");
        if let Some(c) = clients.get(&issuer.issuer_url) {
            return Ok(c.clone());
        }
        let fail = |reason: String| OidcError::Unreachable {
            issuer: issuer.issuer_url.clone(),
            reason,
        };
        let mut builder = self.roots.apply(
            reqwest::Client::builder()
                .timeout(self.timeout)
                .redirect(reqwest::redirect::Policy::none()),
        );
        if let Some(pem) = &issuer.ca_cert {
            // An IdP behind an internal CA: trust that CA (every certificate in the PEM) for
            // this issuer only.
            let roots = ExtraRoots::from_pem(pem.as_bytes())
                .map_err(|e| fail(format!("its ca-cert is unusable: {e}")))?;
            builder = roots.apply(builder);
        }
        let client = builder.build().map_err(|e| fail(error_chain(&e)))?;
        clients.insert(issuer.issuer_url.clone(), client.clone());
        Ok(client)
    }

    async fn fetch(&self, issuer: &IssuerConfig) -> Result<Arc<Jwks>, OidcError> {
        let fail = |reason: String| OidcError::Unreachable {
            issuer: issuer.issuer_url.clone(),
            reason,
        };
        let client = self.client(issuer)?;
        let discovery_url = format!(
            "{}/.well-known/openid-configuration",
            issuer.issuer_url.trim_end_matches('/')
        );
        let discovery: serde_json::Value =
            serde_json::from_slice(&get(&client, &discovery_url).await.map_err(fail)?)
                .map_err(|e| fail(format!("discovery document is not JSON: {e}")))?;
        if discovery["issuer"].as_str() != Some(issuer.issuer_url.as_str()) {
            return Err(fail(format!(
                "discovery document names issuer {}, not the configured one",
                discovery["issuer"]
            )));
        }
        let jwks_uri = discovery["jwks_uri"]
            .as_str()
            .ok_or_else(|| fail("discovery document has no jwks_uri".into()))?;
        let jwks = Jwks::from_json(&get(&client, jwks_uri).await.map_err(fail)?)
            .map_err(|e| fail(e.to_string()))?;
        let jwks = Arc::new(jwks);
        tracing::info!(issuer = %issuer.issuer_url, keys = jwks.keys.len(), "fetched issuer keys");
        Ok(jwks)
    }
}

async fn get(client: &reqwest::Client, url: &str) -> Result<Vec<u8>, String> {
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("GET {url}: {}", error_chain(&e)))?;
    if !response.status().is_success() {
        return Err(format!("GET {url}: HTTP {}", response.status()));
    }
    let body = response
        .bytes()
        .await
        .map_err(|e| format!("GET {url}: {}", error_chain(&e)))?;
    if body.len() > MAX_DOCUMENT_BYTES {
        return Err(format!(
            "GET {url}: document larger than {MAX_DOCUMENT_BYTES} bytes"
        ));
    }
    Ok(body.to_vec())
}
