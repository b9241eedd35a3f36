//! The Fulcio-style CA as a service: `POST /api/v2/signingCert` turns an OIDC identity token and
//! a proof of possession into a 10-minute code-signing certificate, logged in a CT log first.
//!
//! The decisions (which issuer, whether the token is valid, what identity, which key, which
//! extensions) are made by the pure [`fulcio`] crate; this crate adds the I/O around them:
//! issuer key discovery ([`oidc`]), the CT log ([`ct_client`]), both over HTTPS that trusts
//! the system's store and [`ExtraRoots`] ([`https`]), CA key and chain files reloaded on
//! change ([`ca_files`]) and HTTP ([`router`]).

mod api;
pub mod ca_files;
pub mod ct_client;
pub mod https;
mod metrics;
pub mod oidc;

pub use api::{router, ApiError};
pub use https::{ExtraRoots, ExtraRootsError};

use fulcio::{CertificateAuthority, FulcioConfig};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Default limit on request bodies: a token, a CSR and a little JSON.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;
/// Default minimum time between two JWKS fetches of one issuer.
pub const DEFAULT_MIN_JWKS_REFRESH: Duration = Duration::from_secs(30);

/// How the CT log's SCT reaches the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SctMode {
    /// The default, and what sigstore-python and sigstore-js expect: a precertificate is
    /// logged (`add-pre-chain`) and the final certificate embeds the SCT list; the answer is
    /// `signedCertificateEmbeddedSct`.
    #[default]
    Embedded,
    /// Upstream Fulcio's mode for CAs that cannot make precertificates: the final certificate
    /// (no poison, no SCT list) is logged with `add-chain` and the SCT is returned beside it,
    /// in `signedCertificateDetachedSct.signedCertificateTimestamp` (base64 of the log's
    /// `add-chain` JSON answer). Clients that require an embedded SCT refuse such
    /// certificates.
    Detached,
}

/// Settings of a [`FulcioServer`] beyond its issuers, CA and CT log; each has a named default.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerOptions {
    /// Where the SCT goes. Default [`SctMode::Embedded`].
    pub sct_mode: SctMode,
    /// Largest request body accepted. Default [`DEFAULT_MAX_BODY_BYTES`].
    pub max_body_bytes: usize,
    /// Minimum time between two key fetches of one issuer. Default [`DEFAULT_MIN_JWKS_REFRESH`].
    pub min_jwks_refresh: Duration,
    /// CA certificates trusted, beside the system's store, when fetching from every issuer and
    /// submitting to the CT log over HTTPS. Default none.
    pub https_roots: ExtraRoots,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            sct_mode: SctMode::Embedded,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            min_jwks_refresh: DEFAULT_MIN_JWKS_REFRESH,
            https_roots: ExtraRoots::default(),
        }
    }
}

impl ServerOptions {
    /// The defaults with the given SCT mode.
    pub fn with_sct_mode(mut self, sct_mode: SctMode) -> Self {
        self.sct_mode = sct_mode;
        self
    }

    /// These options trusting `roots` too for outbound HTTPS.
    pub fn with_https_roots(mut self, roots: ExtraRoots) -> Self {
        self.https_roots = roots;
        self
    }
}

/// A running CA.
pub struct FulcioServer {
    config: FulcioConfig,
    /// The CA in force. Replaced whole by [`FulcioServer::replace_ca`] (a reload); a request
    /// takes one snapshot of it and uses only that, so it never mixes two CAs.
    ca: RwLock<Arc<CertificateAuthority>>,
    keys: oidc::KeyCache,
    /// The CT log shards, each certificate logged in the one whose window holds its notAfter.
    ct: ct::TemporalShards<ct_client::CtClient>,
    max_body_bytes: usize,
    sct_mode: SctMode,
    metrics: metrics::Metrics,
}

impl FulcioServer {
    /// A CA that trusts the issuers of `config`, signs with `ca`, and logs every certificate in
    /// the RFC 6962 log at `ct_url` before issuing it; default [`ServerOptions`].
    pub fn new(config: FulcioConfig, ca: CertificateAuthority, ct_url: &str) -> Arc<Self> {
        Self::with_options(config, ca, ct_url, ServerOptions::default())
    }

    /// As [`FulcioServer::new`], with `options`.
    pub fn with_options(
        config: FulcioConfig,
        ca: CertificateAuthority,
        ct_url: &str,
        options: ServerOptions,
    ) -> Arc<Self> {
        Self::with_ct_shards(
            config,
            ca,
            ct::TemporalShards::single(ct_url.to_owned()),
            options,
        )
    }

    /// As [`FulcioServer::with_options`], logging each certificate in the CT log shard (base
    /// URL) of `ct_shards` whose expiry window holds the certificate's notAfter, as CAs do with
    /// public CT logs' temporal shards. A certificate no shard accepts is not issued.
    pub fn with_ct_shards(
        config: FulcioConfig,
        ca: CertificateAuthority,
        ct_shards: ct::TemporalShards<String>,
        options: ServerOptions,
    ) -> Arc<Self> {
        Arc::new(Self {
            config,
            ca: RwLock::new(Arc::new(ca)),
            keys: oidc::KeyCache::with_roots(options.min_jwks_refresh, options.https_roots.clone()),
            ct: ct_shards.map(|url| ct_client::CtClient::with_roots(&url, &options.https_roots)),
            max_body_bytes: options.max_body_bytes,
            sct_mode: options.sct_mode,
            metrics: metrics::Metrics::new(),
        })
    }

    /// The CA in force now.
    pub fn ca(&self) -> Arc<CertificateAuthority> {
        // A poisoned lock only means a writer panicked between two whole-Arc stores: the
        // value is still one complete CA.
        self.ca.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Replaces the CA atomically: requests already under way finish with the old one, later
    /// ones use `ca`.
    pub fn replace_ca(&self, ca: CertificateAuthority) {
        *self.ca.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(ca);
    }

    /// The service's metrics (`fulcio_new_certs`, `fulcio_api_latency`, `http_requests_total`,
    /// ours), for whoever serves `/metrics` ([`sigstack_http::metrics_router`]).
    pub fn metrics(&self) -> &sigstack_http::MetricsRegistry {
        &self.metrics.registry
    }

    /// The certificate chain clients must trust now: issuing CA first, root last (DER).
    pub fn chain(&self) -> Vec<Vec<u8>> {
        self.ca().chain().to_vec()
    }
}
