//! The TSA's Prometheus metrics, owned by the server (no globals); the binary serves them at
//! `/metrics` ([`crate::TsaServer::metrics`]).

use prometheus::{Histogram, IntCounterVec};
use sigstack_http::{HttpMetricNames, HttpMetrics, MetricsRegistry};

/// Counters and latencies of one TSA.
pub(crate) struct Metrics {
    pub(crate) registry: MetricsRegistry,
    /// Timestamps issued, by imprint hash algorithm (`sha256`, `sha384`, `sha512`).
    pub(crate) issued: IntCounterVec,
    /// Requests refused: PKIFailureInfo names (`badAlg`…) for RFC 3161 rejections, and
    /// `bad_request`, `payload_too_large`, `unsupported_media_type`, `internal` for HTTP errors.
    pub(crate) refused: IntCounterVec,
    /// Time to build and sign one token.
    pub(crate) signing: Histogram,
    /// Upstream's per-request metrics (`timestamp_authority_http_requests_total`,
    /// `timestamp_authority_latency_by_api`, `timestamp_authority_api_latency`), recorded by the
    /// access-log layer.
    pub(crate) http: HttpMetrics,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let registry = MetricsRegistry::for_service("timestamp_authority");
        Self {
            http: registry.http_metrics(HttpMetricNames::TimestampAuthority),
            issued: registry.counter_vec(
                "tsa_timestamps_issued_total",
                "Timestamps issued, by message imprint hash algorithm",
                &["hash_algorithm"],
            ),
            refused: registry.counter_vec(
                "tsa_requests_refused_total",
                "Requests refused or failed, by reason",
                &["reason"],
            ),
            signing: registry.histogram(
                "tsa_signing_seconds",
                "Time to build and sign one timestamp token",
                &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
            ),
            registry,
        }
    }
}
