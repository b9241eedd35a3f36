//! The witness's Prometheus metrics, owned by the server (no globals).

use prometheus::{IntCounterVec, IntGaugeVec};
use sigstack_http::{HttpMetricNames, HttpMetrics, MetricsRegistry};

/// Counters of one witness.
pub(crate) struct Metrics {
    pub(crate) registry: MetricsRegistry,
    /// `add-checkpoint` outcomes by origin (configured logs only; `unknown` otherwise) and
    /// result (`cosigned`, or the refusal's kind).
    pub(crate) submissions: IntCounterVec,
    /// The size of the latest checkpoint cosigned, by origin.
    pub(crate) tree_size: IntGaugeVec,
    /// Per-request HTTP metrics, recorded by the access-log layer.
    pub(crate) http: HttpMetrics,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let registry = MetricsRegistry::for_service("witness");
        Metrics {
            http: registry.http_metrics(HttpMetricNames::Ours("witness")),
            submissions: registry.counter_vec(
                "witness_add_checkpoint_total",
                "add-checkpoint requests by log origin and result",
                &["origin", "result"],
            ),
            tree_size: registry.gauge_vec(
                "witness_cosigned_tree_size",
                "Size of the latest checkpoint cosigned, by log origin",
                &["origin"],
            ),
            registry,
        }
    }
}
