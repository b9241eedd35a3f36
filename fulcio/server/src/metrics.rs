//! The CA's Prometheus metrics, owned by the server (no globals); the binary serves them at
//! `/metrics` ([`crate::FulcioServer::metrics`]).

use prometheus::{Histogram, IntCounter, IntCounterVec};
use sigstack_http::{HttpMetricNames, HttpMetrics, MetricsRegistry};

/// Counters and latencies of one CA.
pub(crate) struct Metrics {
    pub(crate) registry: MetricsRegistry,
    /// Certificates issued, by issuer type (`email`, `ci-provider`, …).
    pub(crate) issued: IntCounterVec,
    /// Refused or failed requests, by fixed reason code.
    pub(crate) errors: IntCounterVec,
    /// Time to get an SCT from the CT log.
    pub(crate) ct_latency: Histogram,
    /// Certificates not issued because no CT log shard's window holds their notAfter.
    pub(crate) ct_no_shard: IntCounter,
    /// CA reloads from changed files, by result (`loaded`, `refused`).
    pub(crate) ca_reloads: IntCounterVec,
    /// Upstream's `fulcio_new_certs`: certificates issued.
    pub(crate) new_certs: IntCounter,
    /// Upstream's per-request metrics (`http_requests_total`, `fulcio_api_latency`), recorded by
    /// the access-log layer.
    pub(crate) http: HttpMetrics,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let registry = MetricsRegistry::for_service("fulcio");
        Self {
            new_certs: registry
                .counter_vec(
                    "fulcio_new_certs",
                    "The total number of certificates generated",
                    &[],
                )
                .with_label_values::<&str>(&[]),
            http: registry.http_metrics(HttpMetricNames::Fulcio),
            issued: registry.counter_vec(
                "fulcio_certificates_issued_total",
                "Certificates issued, by issuer type",
                &["issuer_type"],
            ),
            errors: registry.counter_vec(
                "fulcio_requests_refused_total",
                "Requests refused or failed, by reason",
                &["reason"],
            ),
            ct_latency: registry.histogram(
                "fulcio_ct_submission_seconds",
                "Time to obtain an SCT from the CT log",
                &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0],
            ),
            ct_no_shard: registry
                .counter_vec(
                    "fulcio_ct_no_shard_total",
                    "Certificates not issued because no CT log shard accepts their notAfter",
                    &[],
                )
                .with_label_values::<&str>(&[]),
            ca_reloads: registry.counter_vec(
                "fulcio_ca_reloads_total",
                "CA key and chain reloads after a file change, by result",
                &["result"],
            ),
            registry,
        }
    }
}
