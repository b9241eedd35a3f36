//! Rekor's Prometheus metrics, owned by the service (no globals), served at `/metrics`.

use crate::Rekor;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};
use std::sync::Arc;

/// Counters and latencies of one Rekor.
pub(crate) struct Metrics {
    registry: Registry,
    /// Entries logged, by API (`v1`, `v2`) and kind.
    pub(crate) entries: IntCounterVec,
    /// Refused or failed requests, by API and reason.
    pub(crate) refused: IntCounterVec,
    /// Time from submission to an acknowledged, committed entry (sequencing round included).
    pub(crate) integration: HistogramVec,
    /// Tree size of the active log, by API.
    pub(crate) tree_size: IntGaugeVec,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let registry = Registry::new();
        let entries = IntCounterVec::new(
            Opts::new("rekor_entries_total", "Entries logged, by API and kind"),
            &["api", "kind"],
        )
        .expect("valid metric");
        let refused = IntCounterVec::new(
            Opts::new(
                "rekor_requests_refused_total",
                "Write requests refused or failed, by API and reason",
            ),
            &["api", "reason"],
        )
        .expect("valid metric");
        let integration = HistogramVec::new(
            HistogramOpts::new(
                "rekor_integration_seconds",
                "Time from submission to the committed entry, by API",
            )
            .buckets(vec![
                0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0,
            ]),
            &["api"],
        )
        .expect("valid metric");
        let tree_size = IntGaugeVec::new(
            Opts::new("rekor_tree_size", "Tree size of the active log, by API"),
            &["api"],
        )
        .expect("valid metric");
        for m in [
            Box::new(entries.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(refused.clone()),
            Box::new(integration.clone()),
            Box::new(tree_size.clone()),
        ] {
            registry.register(m).expect("metric registered once");
        }
        Self {
            registry,
            entries,
            refused,
            integration,
            tree_size,
        }
    }

    /// Records the outcome of one write request of `api` (`v1`, `v2`) that began at `started`:
    /// the kind logged and its integration latency, or the reason it was refused.
    pub(crate) fn record_write(
        &self,
        api: &str,
        started: std::time::Instant,
        outcome: Result<&str, &crate::ApiError>,
    ) {
        match outcome {
            Ok(kind) => {
                self.entries.with_label_values(&[api, kind]).inc();
                self.integration
                    .with_label_values(&[api])
                    .observe(started.elapsed().as_secs_f64());
            }
            Err(e) => self.refused.with_label_values(&[api, e.category()]).inc(),
        }
    }

    fn render(&self) -> Vec<u8> {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("text encoding of gathered metrics");
        out
    }
}

pub(crate) async fn serve(State(rekor): State<Arc<Rekor>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        rekor.metrics.render(),
    )
}
