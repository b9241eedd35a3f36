//! The logs' metrics follow what the sequencer and the proof reads do.

use crate::common::{metric_value as value, test_signer, TestDb};
use prometheus::Registry;
use std::sync::Arc;
use std::time::Duration;
use tlog_store::{Log, LogMetrics, LogOptions, PlainEntries, SequencerConfig, Submission};

const ORIGIN: &str = "metrics.example/log";

#[tokio::test]
async fn sequencer_and_proof_metrics_move_as_entries_are_added() {
    let db = TestDb::sqlite().await;
    let registry = Registry::new();
    let metrics = LogMetrics::new();
    registry.register(Box::new(metrics.clone())).unwrap();
    let options = LogOptions {
        sequencer: SequencerConfig {
            max_delay: Duration::from_millis(5),
            ..SequencerConfig::default()
        },
        metrics,
        ..LogOptions::default()
    };
    let (signer, _) = test_signer(ORIGIN);
    let log = Log::open_or_create(
        crate::common::connect(&db).await,
        ORIGIN,
        Arc::new(PlainEntries),
        signer,
        options,
    )
    .await
    .unwrap();
    let label = format!("{{log=\"{ORIGIN}\"}}");
    let series = |name: &str| value(&registry, &format!("{name}{label}"));
    assert_eq!(series("tlog_tree_size"), Some(0.0));

    // Concurrent, so that rounds take several.
    let appends: Vec<_> = (0..10u8)
        .map(|i| {
            let log = log.clone();
            tokio::spawn(async move { log.append(Submission::by_leaf_hash(vec![i])).await })
        })
        .collect();
    for append in appends {
        append.await.unwrap().unwrap();
    }
    assert_eq!(series("tlog_tree_size"), Some(10.0));
    let rounds = series("tlog_sequencer_round_entries_count").unwrap();
    assert!((1.0..=10.0).contains(&rounds), "{rounds} rounds");
    assert_eq!(series("tlog_sequencer_round_entries_sum"), Some(10.0));
    assert_eq!(series("tlog_sequencer_round_seconds_count"), Some(rounds));
    assert_eq!(series("tlog_sequencer_round_failures_total"), Some(0.0));
    assert_eq!(series("tlog_sequencer_queue_depth"), Some(0.0));

    log.inclusion_proof(3, 10).await.unwrap();
    log.consistency_proof(4, 10).await.unwrap();
    let proofs = |kind: &str| {
        value(
            &registry,
            &format!("tlog_proof_seconds_count{{kind=\"{kind}\",log=\"{ORIGIN}\"}}"),
        )
    };
    assert_eq!(proofs("inclusion"), Some(1.0));
    assert_eq!(proofs("consistency"), Some(1.0));
}
