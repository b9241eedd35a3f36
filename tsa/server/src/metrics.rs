//! The TSA's Prometheus metrics, owned by the server (no globals), served at `/metrics`.

use prometheus::{Encoder, Histogram, HistogramOpts, IntCounterVec, Opts, Registry, TextEncoder};

/// Counters and latencies of one TSA.
pub(crate) struct Metrics {
    registry: Registry,
    /// Timestamps issued, by imprint hash algorithm (`sha256`, `sha384`, `sha512`).
    pub(crate) issued: IntCounterVec,
    /// Requests refused: PKIFailureInfo names (`badAlg`…) for RFC 3161 rejections, and
    /// `bad_request`, `payload_too_large`, `unsupported_media_type`, `internal` for HTTP errors.
    pub(crate) refused: IntCounterVec,
    /// Time to build and sign one token.
    pub(crate) signing: Histogram,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let registry = Registry::new();
        let issued = IntCounterVec::new(
            Opts::new(
                "tsa_timestamps_issued_total",
                "Timestamps issued, by message imprint hash algorithm",
            ),
            &["hash_algorithm"],
        )
        .expect("valid metric");
        let refused = IntCounterVec::new(
            Opts::new(
                "tsa_requests_refused_total",
                "Requests refused or failed, by reason",
            ),
            &["reason"],
        )
        .expect("valid metric");
        let signing = Histogram::with_opts(
            HistogramOpts::new(
                "tsa_signing_seconds",
                "Time to build and sign one timestamp token",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5,
            ]),
        )
        .expect("valid metric");
        for m in [
            Box::new(issued.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(refused.clone()),
            Box::new(signing.clone()),
        ] {
            registry.register(m).expect("metric registered once");
        }
        Self {
            registry,
            issued,
            refused,
            signing,
        }
    }

    /// The Prometheus text exposition.
    pub(crate) fn render(&self) -> String {
        let mut out = Vec::new();
        // Encoding gathered metric families into a Vec cannot fail.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}
