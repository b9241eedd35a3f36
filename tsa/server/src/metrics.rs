//! The TSA's Prometheus metrics, owned by the server (no globals); the binary serves them at
//! `/metrics` ([`crate::TsaServer::metrics`]).

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{Gauge, Histogram, IntCounterVec};
use sigstack_http::{HttpMetricNames, HttpMetrics, MetricsRegistry};
use std::time::SystemTime;

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
    /// The metrics of an authority whose chain's first certificate expires at `chain_expiry`.
    pub(crate) fn new(chain_expiry: SystemTime) -> Self {
        let registry = MetricsRegistry::for_service("timestamp_authority");
        registry.register_collector(Box::new(DaysRemaining::new(chain_expiry)));
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

/// Upstream's `timestamp_authority_certificate_valid_days_remaining`: days until the first
/// certificate of the chain expires (negative once it has), computed at each scrape.
#[derive(Clone)]
struct DaysRemaining {
    chain_expiry: SystemTime,
    gauge: Gauge,
}

impl DaysRemaining {
    fn new(chain_expiry: SystemTime) -> Self {
        Self {
            chain_expiry,
            gauge: Gauge::new(
                "timestamp_authority_certificate_valid_days_remaining",
                "Number of days remaining in validity period of signing certificate",
            )
            .expect("valid metric"),
        }
    }
}

impl Collector for DaysRemaining {
    fn desc(&self) -> Vec<&Desc> {
        self.gauge.desc()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let seconds = match self.chain_expiry.duration_since(SystemTime::now()) {
            Ok(left) => left.as_secs_f64(),
            Err(past) => -past.duration().as_secs_f64(),
        };
        self.gauge.set(seconds / 86_400.0);
        self.gauge.collect()
    }
}
