//! The metrics of a service's logs: what its sequencers and proof reads measure, one series per
//! log (label `log`, the log's origin).
//!
//! The service owns them: it makes one [`LogMetrics`], registers it with its registry (it is a
//! Prometheus collector) and hands it to each of its logs in [`crate::LogOptions`]. Without
//! that, the default records into metrics no registry holds.

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge};
use prometheus::{IntGaugeVec, Opts};
use std::time::Duration;

/// Round sizes, in submissions: powers of two up to the default batch limit.
const ROUND_ENTRIES_BUCKETS: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0, 4096.0,
];
/// Round durations (one database transaction, with signing the checkpoint), in seconds.
const ROUND_SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Proof reads (from cached tiles, or a few tile reads from the store), in seconds.
const PROOF_SECONDS_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];

/// The metrics of every log of one service, one series per log.
///
/// - `tlog_sequencer_round_entries{log}`: submissions per sequencing round (histogram);
/// - `tlog_sequencer_round_seconds{log}`: duration of a round, from its batch to its commit
///   (histogram, failed rounds included);
/// - `tlog_sequencer_round_failures_total{log}`: rounds whose commit failed (none of their
///   entries was acknowledged);
/// - `tlog_sequencer_queue_depth{log}`: submissions queued for a later round, sampled as each
///   round starts and ends;
/// - `tlog_tree_size{log}`: size of the latest committed tree;
/// - `tlog_proof_seconds{log,kind}`: duration of an inclusion or consistency proof read
///   (`kind` = `inclusion`, `consistency`), without the ones a round answers from its own tiles;
/// - `tlog_store_reads_total{target}`: with read replicas (`--read-database-url`), the reads
///   of the service's store by where they were answered (`target` = `replica`, or `primary`
///   when no replica held what the read needed or a lookup found nothing on one). Absent
///   without replicas.
#[derive(Clone)]
pub struct LogMetrics {
    round_entries: HistogramVec,
    round_seconds: HistogramVec,
    round_failures: IntCounterVec,
    queue_depth: IntGaugeVec,
    tree_size: IntGaugeVec,
    proof_seconds: HistogramVec,
    store_reads: IntCounterVec,
}

impl std::fmt::Debug for LogMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogMetrics").finish_non_exhaustive()
    }
}

impl Default for LogMetrics {
    fn default() -> Self {
        Self::new()
    }
}

fn histogram(name: &str, help: &str, labels: &[&str], buckets: &[f64]) -> HistogramVec {
    HistogramVec::new(
        HistogramOpts::new(name, help).buckets(buckets.to_vec()),
        labels,
    )
    .expect("constant names and labels are valid")
}

impl LogMetrics {
    /// The metrics, not yet registered anywhere.
    pub fn new() -> Self {
        Self {
            round_entries: histogram(
                "tlog_sequencer_round_entries",
                "Submissions per sequencing round",
                &["log"],
                ROUND_ENTRIES_BUCKETS,
            ),
            round_seconds: histogram(
                "tlog_sequencer_round_seconds",
                "Duration of a sequencing round, from its batch to its commit, in seconds",
                &["log"],
                ROUND_SECONDS_BUCKETS,
            ),
            round_failures: IntCounterVec::new(
                Opts::new(
                    "tlog_sequencer_round_failures_total",
                    "Sequencing rounds whose commit failed",
                ),
                &["log"],
            )
            .expect("constant names and labels are valid"),
            queue_depth: IntGaugeVec::new(
                Opts::new(
                    "tlog_sequencer_queue_depth",
                    "Submissions queued for a later round, sampled as each round starts and ends",
                ),
                &["log"],
            )
            .expect("constant names and labels are valid"),
            tree_size: IntGaugeVec::new(
                Opts::new("tlog_tree_size", "Size of the latest committed tree"),
                &["log"],
            )
            .expect("constant names and labels are valid"),
            proof_seconds: histogram(
                "tlog_proof_seconds",
                "Duration of an inclusion or consistency proof read, in seconds",
                &["log", "kind"],
                PROOF_SECONDS_BUCKETS,
            ),
            store_reads: IntCounterVec::new(
                Opts::new(
                    "tlog_store_reads_total",
                    "Reads of a store with read replicas, by where they were answered",
                ),
                &["target"],
            )
            .expect("constant names and labels are valid"),
        }
    }

    /// Where a store with read replicas counts its reads ([`crate::LogStore::export_metrics`]).
    pub(crate) fn store_reads(&self) -> &IntCounterVec {
        &self.store_reads
    }

    /// The series of the log named `origin`.
    pub(crate) fn for_log(&self, origin: &str) -> OneLog {
        OneLog {
            round_entries: self.round_entries.with_label_values(&[origin]),
            round_seconds: self.round_seconds.with_label_values(&[origin]),
            round_failures: self.round_failures.with_label_values(&[origin]),
            queue_depth: self.queue_depth.with_label_values(&[origin]),
            tree_size: self.tree_size.with_label_values(&[origin]),
            inclusion_seconds: self.proof_seconds.with_label_values(&[origin, "inclusion"]),
            consistency_seconds: self
                .proof_seconds
                .with_label_values(&[origin, "consistency"]),
        }
    }

    fn collectors(&self) -> [&dyn Collector; 7] {
        [
            &self.store_reads,
            &self.round_entries,
            &self.round_seconds,
            &self.round_failures,
            &self.queue_depth,
            &self.tree_size,
            &self.proof_seconds,
        ]
    }
}

impl Collector for LogMetrics {
    fn desc(&self) -> Vec<&Desc> {
        self.collectors()
            .into_iter()
            .flat_map(|c| c.desc())
            .collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        self.collectors()
            .into_iter()
            .flat_map(|c| c.collect())
            .collect()
    }
}

/// One log's series.
#[derive(Clone)]
pub(crate) struct OneLog {
    round_entries: Histogram,
    round_seconds: Histogram,
    round_failures: IntCounter,
    queue_depth: IntGauge,
    tree_size: IntGauge,
    inclusion_seconds: Histogram,
    consistency_seconds: Histogram,
}

impl OneLog {
    /// A round of `submissions` ended after `elapsed`, committed or not.
    pub(crate) fn round(&self, submissions: usize, elapsed: Duration, committed: bool) {
        self.round_entries.observe(submissions as f64);
        self.round_seconds.observe(elapsed.as_secs_f64());
        if !committed {
            self.round_failures.inc();
        }
    }

    pub(crate) fn queued(&self, waiting: usize) {
        self.queue_depth.set(waiting as i64);
    }

    pub(crate) fn tree_size(&self, size: u64) {
        self.tree_size.set(size as i64);
    }

    pub(crate) fn inclusion_proof(&self, elapsed: Duration) {
        self.inclusion_seconds.observe(elapsed.as_secs_f64());
    }

    pub(crate) fn consistency_proof(&self, elapsed: Duration) {
        self.consistency_seconds.observe(elapsed.as_secs_f64());
    }
}
