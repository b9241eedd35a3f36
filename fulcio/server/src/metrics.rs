//! The CA's Prometheus metrics, owned by the server (no globals), served at `/metrics`.

use prometheus::{Encoder, Histogram, HistogramOpts, IntCounterVec, Opts, Registry, TextEncoder};

/// Counters and latencies of one CA.
pub(crate) struct Metrics {
    registry: Registry,
    /// Certificates issued, by issuer type (`email`, `ci-provider`, …).
    pub(crate) issued: IntCounterVec,
    /// Refused or failed requests, by fixed reason code.
    pub(crate) errors: IntCounterVec,
    /// Time to get an SCT from the CT log.
    pub(crate) ct_latency: Histogram,
    /// CA reloads from changed files, by result (`loaded`, `refused`).
    pub(crate) ca_reloads: IntCounterVec,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let registry = Registry::new();
        let issued = IntCounterVec::new(
            Opts::new(
                "fulcio_certificates_issued_total",
                "Certificates issued, by issuer type",
            ),
            &["issuer_type"],
        )
        .expect("valid metric");
        let errors = IntCounterVec::new(
            Opts::new(
                "fulcio_requests_refused_total",
                "Requests refused or failed, by reason",
            ),
            &["reason"],
        )
        .expect("valid metric");
        let ct_latency = Histogram::with_opts(
            HistogramOpts::new(
                "fulcio_ct_submission_seconds",
                "Time to obtain an SCT from the CT log",
            )
            .buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
        )
        .expect("valid metric");
        let ca_reloads = IntCounterVec::new(
            Opts::new(
                "fulcio_ca_reloads_total",
                "CA key and chain reloads after a file change, by result",
            ),
            &["result"],
        )
        .expect("valid metric");
        for m in [
            Box::new(issued.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(errors.clone()),
            Box::new(ct_latency.clone()),
            Box::new(ca_reloads.clone()),
        ] {
            registry.register(m).expect("metric registered once");
        }
        Self {
            registry,
            issued,
            errors,
            ct_latency,
            ca_reloads,
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
