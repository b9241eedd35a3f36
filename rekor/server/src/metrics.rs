//! Rekor's Prometheus metrics, owned by the service (no globals); the binary serves them at
//! `/metrics` ([`crate::Rekor::metrics`]).

use crate::Rekor;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use prometheus::{HistogramVec, IntCounter, IntCounterVec};
use sigstack_http::{HttpMetricNames, HttpMetrics, MetricsRegistry};
use std::sync::Arc;

/// Counters and latencies of one Rekor.
pub(crate) struct Metrics {
    pub(crate) registry: MetricsRegistry,
    /// The sequencers and proof reads of every log (v1 shards and v2), by origin.
    pub(crate) logs: tlog_store::LogMetrics,
    /// Entries logged, by API (`v1`, `v2`) and kind.
    pub(crate) entries: IntCounterVec,
    /// Refused or failed requests, by API and reason.
    pub(crate) refused: IntCounterVec,
    /// Time from submission to an acknowledged, committed entry (sequencing round included).
    pub(crate) integration: HistogramVec,
    /// Upstream's `rekor_new_entries`: entries logged, both APIs.
    pub(crate) new_entries: IntCounter,
    /// Upstream's per-request metrics (`rekor_qps_by_api`, `rekor_latency_by_api`,
    /// `rekor_api_latency`), recorded by the access-log layer.
    pub(crate) http: HttpMetrics,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let registry = MetricsRegistry::for_service("rekor");
        Self {
            new_entries: registry
                .counter_vec(
                    "rekor_new_entries",
                    "The total number of new log entries",
                    &[],
                )
                .with_label_values::<&str>(&[]),
            http: registry.http_metrics(HttpMetricNames::Rekor),
            logs: {
                let logs = tlog_store::LogMetrics::new();
                registry.register_collector(Box::new(logs.clone()));
                logs
            },
            entries: registry.counter_vec(
                "rekor_entries_total",
                "Entries logged, by API and kind",
                &["api", "kind"],
            ),
            refused: registry.counter_vec(
                "rekor_requests_refused_total",
                "Write requests refused or failed, by API and reason",
                &["api", "reason"],
            ),
            integration: registry.histogram_vec(
                "rekor_integration_seconds",
                "Time from submission to the committed entry, by API",
                &["api"],
                &[0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0],
            ),
            registry,
        }
    }
}

/// The kind of entry a write request logged, left in its response for [`count_writes`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct LoggedKind(pub(crate) &'static str);

/// Counts every write request (`POST /api/v1/log/entries`, `POST /api/v2/log/entries`): the
/// kind logged and its latency to the committed entry, or the reason it was refused. One layer
/// for both APIs, so the handlers only handle.
pub(crate) async fn count_writes(
    State(rekor): State<Arc<Rekor>>,
    request: Request,
    next: Next,
) -> Response {
    let api = match (request.method(), request.uri().path()) {
        (&Method::POST, "/api/v1/log/entries") => "v1",
        (&Method::POST, path) if crate::v2::is_entries(path) => "v2",
        _ => return next.run(request).await,
    };
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let metrics = &rekor.metrics;
    if let Some(LoggedKind(kind)) = response.extensions().get::<LoggedKind>() {
        metrics.entries.with_label_values(&[api, kind]).inc();
        metrics.new_entries.inc();
        metrics
            .integration
            .with_label_values(&[api])
            .observe(started.elapsed().as_secs_f64());
    } else if let Some(kind) = sigstack_http::error_kind(&response) {
        metrics
            .refused
            .with_label_values(&[api, kind.category()])
            .inc();
    }
    response
}
