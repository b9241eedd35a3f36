//! The RFC 3161 timestamp authority as a service, the way Sigstore clients call it:
//!
//! - `POST /api/v1/timestamp`: a DER `TimeStampReq` (`application/timestamp-query`, what
//!   sigstore-python and `openssl ts -query` send) or sigstore-js's JSON
//!   `{"artifactHash", "hashAlgorithm", "nonce"?, "certificates"?, "tsaPolicyOID"?}`; the answer
//!   is always a DER `TimeStampResp` (`application/timestamp-reply`), HTTP 200, granted or
//!   rejected with a PKIFailureInfo. Bodies that are no request at all get a 400 JSON error.
//! - `GET /api/v1/timestamp/certchain`: the PEM chain, TSA certificate first.
//! - `/healthz` and `/readyz`; Prometheus metrics in [`TsaServer::metrics`], served by the binary.
//!
//! Every decision about the bytes is made by the pure [`tsa`] crate; this crate adds the clock,
//! serial numbers, key and chain files, and HTTP.

mod api;
mod files;
mod metrics;

pub use api::{router, ApiError, TIMESTAMP_QUERY, TIMESTAMP_REPLY};
pub use files::{dev_authority, load_authority, AuthorityFilesError, DEV_CHAIN_FILE, DEV_KEY_FILE};

use std::sync::Arc;
use tsa::TimestampAuthority;

/// Default limit on request bodies: 128 KiB, far above any TimeStampReq (about 100 bytes).
pub const DEFAULT_MAX_BODY_BYTES: usize = 128 * 1024;

/// A running timestamp authority.
pub struct TsaServer {
    authority: TimestampAuthority,
    /// The chain as PEM, TSA certificate first: served as is by `/certchain`.
    chain_pem: String,
    max_body_bytes: usize,
    metrics: metrics::Metrics,
}

impl std::fmt::Debug for TsaServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TsaServer")
            .field("authority", &self.authority)
            .field("max_body_bytes", &self.max_body_bytes)
            .finish_non_exhaustive()
    }
}

impl TsaServer {
    /// A server for `authority` with the default body limit.
    pub fn new(authority: TimestampAuthority) -> Result<Arc<Self>, tsa::CertError> {
        Self::with_max_body_bytes(authority, DEFAULT_MAX_BODY_BYTES)
    }

    /// A server for `authority` refusing bodies over `max_body_bytes` with 413.
    pub fn with_max_body_bytes(
        authority: TimestampAuthority,
        max_body_bytes: usize,
    ) -> Result<Arc<Self>, tsa::CertError> {
        let chain_pem = tsa::chain_to_pem(authority.chain())?;
        let metrics = metrics::Metrics::new(authority.chain_expiry());
        Ok(Arc::new(Self {
            authority,
            chain_pem,
            max_body_bytes,
            metrics,
        }))
    }

    /// The service's metrics (`timestamp_authority_*`, ours), for whoever serves `/metrics`
    /// ([`sigstack_http::metrics_router`]).
    pub fn metrics(&self) -> &sigstack_http::MetricsRegistry {
        &self.metrics.registry
    }

    /// The authority (its chain, DER, TSA certificate first: what a trusted root lists).
    pub fn authority(&self) -> &TimestampAuthority {
        &self.authority
    }

    /// The chain as PEM, TSA certificate first.
    pub fn chain_pem(&self) -> &str {
        &self.chain_pem
    }
}
