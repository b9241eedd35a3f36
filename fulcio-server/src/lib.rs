//! The Fulcio-style CA as a service: `POST /api/v2/signingCert` turns an OIDC identity token and
//! a proof of possession into a 10-minute code-signing certificate, logged in a CT log first.
//!
//! The decisions (which issuer, whether the token is valid, what identity, which key, which
//! extensions) are made by the pure [`fulcio`] crate; this crate adds the I/O around them:
//! issuer key discovery ([`oidc`]), the CT log ([`ct_client`]) and HTTP ([`router`]).

mod api;
pub mod ct_client;
mod metrics;
pub mod oidc;

pub use api::{router, ApiError};

use fulcio::{CertificateAuthority, FulcioConfig};
use std::sync::Arc;
use std::time::Duration;

/// Default limit on request bodies: a token, a CSR and a little JSON.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;
/// Default minimum time between two JWKS fetches of one issuer.
pub const DEFAULT_MIN_JWKS_REFRESH: Duration = Duration::from_secs(30);

/// A running CA.
pub struct FulcioServer {
    config: FulcioConfig,
    ca: CertificateAuthority,
    keys: oidc::KeyCache,
    ct: ct_client::CtClient,
    max_body_bytes: usize,
    metrics: metrics::Metrics,
}

impl FulcioServer {
    /// A CA that trusts the issuers of `config`, signs with `ca`, and logs every certificate in
    /// the RFC 6962 log at `ct_url` before issuing it.
    pub fn new(config: FulcioConfig, ca: CertificateAuthority, ct_url: &str) -> Arc<Self> {
        Arc::new(Self {
            config,
            ca,
            keys: oidc::KeyCache::new(DEFAULT_MIN_JWKS_REFRESH),
            ct: ct_client::CtClient::new(ct_url),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            metrics: metrics::Metrics::new(),
        })
    }

    /// The certificate chain clients must trust: issuing CA first, root last (DER).
    pub fn chain(&self) -> &[Vec<u8>] {
        self.ca.chain()
    }
}
