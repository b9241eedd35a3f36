//! The witness as a service ([c2sp.org/tlog-witness]):
//!
//! - `POST /add-checkpoint`: old size, consistency proof and checkpoint in; the witness's
//!   `cosignature/v1` line out, or the spec's refusal (400, 403, 404, 409 with the held size as
//!   `text/x.tlog.size`, 413, 422), which never changes what is stored.
//! - `GET /<origin hash>/checkpoint`: the latest checkpoint cosigned for a log (the log's
//!   signatures and the witness's cosignature), for monitors.
//! - `/healthz`, `/readyz`; Prometheus metrics in [`WitnessServer::metrics`], served by the
//!   binary.
//!
//! Every decision is the pure [`witness`] crate's; this crate adds the clock, the key, the
//! database ([`WitnessStore`]) and HTTP. A submission is answered only after the new state is
//! stored by compare-and-swap against the state it was checked against.
//!
//! [c2sp.org/tlog-witness]: https://c2sp.org/tlog-witness

mod api;
mod metrics;
mod store;

pub use api::{router, TLOG_SIZE_CONTENT_TYPE};
pub use store::{SqlWitnessStore, Stored, WitnessStore};

use std::collections::HashMap;
use std::sync::Arc;
use witness::{Cosigner, Witness};

/// Default limit on request bodies: 64 KiB, far above a checkpoint with 63 proof lines and
/// a few dozen signatures.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;

/// Seconds since the Unix epoch: the cosignatures' timestamps.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// A running witness.
pub struct WitnessServer {
    witness: Witness,
    cosigner: Cosigner,
    store: Arc<dyn WitnessStore>,
    /// Origin hash (lowercase hex SHA-256) to origin, for the monitoring endpoint.
    origins_by_hash: HashMap<String, String>,
    clock: Clock,
    max_body_bytes: usize,
    metrics: metrics::Metrics,
}

impl std::fmt::Debug for WitnessServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WitnessServer")
            .field("cosigner", &self.cosigner)
            .field("logs", &self.origins_by_hash.len())
            .field("max_body_bytes", &self.max_body_bytes)
            .finish_non_exhaustive()
    }
}

fn system_clock() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl WitnessServer {
    /// A witness deciding with `witness`, cosigning with `cosigner`, keeping its state in
    /// `store`, with the system clock and the default body limit.
    pub fn new(witness: Witness, cosigner: Cosigner, store: Arc<dyn WitnessStore>) -> Self {
        let origins_by_hash = witness
            .logs()
            .iter()
            .map(|log| (witness::origin_hash(log.origin()), log.origin().to_string()))
            .collect();
        let metrics = metrics::Metrics::new();
        WitnessServer {
            witness,
            cosigner,
            store,
            origins_by_hash,
            clock: Arc::new(system_clock),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            metrics,
        }
    }

    /// Refuses bodies over `max_body_bytes` with 413.
    pub fn with_max_body_bytes(mut self, max_body_bytes: usize) -> Self {
        self.max_body_bytes = max_body_bytes;
        self
    }

    /// Takes cosignature timestamps from `clock` (tests).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The service's metrics (`witness_*`), for whoever serves `/metrics`.
    pub fn metrics(&self) -> &sigstack_http::MetricsRegistry {
        &self.metrics.registry
    }

    /// The cosigner (its verifier key is what logs and clients are configured with).
    pub fn cosigner(&self) -> &Cosigner {
        &self.cosigner
    }
}

impl sigstack_http::BodyPolicy for WitnessServer {
    fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }
}
