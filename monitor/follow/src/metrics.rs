//! The monitor's Prometheus metrics, owned by the monitor (no globals).

use prometheus::{IntCounterVec, IntGaugeVec};
use sigstack_http::MetricsRegistry;

/// Counters of one monitor.
#[derive(Clone)]
pub struct Metrics {
    /// The registry `/metrics` renders.
    pub registry: MetricsRegistry,
    /// Findings reported, by kind and log.
    pub(crate) findings: IntCounterVec,
    /// Entries fetched and checked (hash and watch list), by log.
    pub(crate) entries: IntCounterVec,
    /// The size of the last checkpoint verified, by log.
    pub(crate) verified_size: IntGaugeVec,
    /// Rounds by log and outcome (`unchanged`, `grew`, `finding`, `error`).
    pub(crate) rounds: IntCounterVec,
}

impl Metrics {
    /// A fresh set in its own registry.
    pub fn new() -> Self {
        let registry = MetricsRegistry::for_service("monitor");
        Metrics {
            findings: registry.counter_vec(
                "monitor_findings_total",
                "Findings reported, by kind and log",
                &["kind", "log"],
            ),
            entries: registry.counter_vec(
                "monitor_entries_checked_total",
                "Entries fetched, hashed into the tree and matched against the watch list, by log",
                &["log"],
            ),
            verified_size: registry.gauge_vec(
                "monitor_verified_tree_size",
                "Size of the last checkpoint verified, by log",
                &["log"],
            ),
            rounds: registry.counter_vec(
                "monitor_rounds_total",
                "Rounds by log and outcome",
                &["log", "outcome"],
            ),
            registry,
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
