//! Reads through a read replica that lags behind the primary: what the replica holds is read
//! from it, what it does not hold yet from the primary, so a reader never gets "not found" for
//! an entry that was just handed out.
//!
//! The replica is a copy of the primary's database taken at one moment (`CREATE DATABASE …
//! TEMPLATE`): to a reader, a streaming replica that stopped applying the primary's WAL at that
//! moment. A real streaming replica is in `scripts/interop/pg_failover.sh`.

use crate::common::{self, test_signer, TestDb};
use sqlx::Connection;
use std::sync::Arc;
use std::time::Duration;
use tlog::merkle;
use tlog_store::{
    IndexKey, Log, LogMetrics, LogOptions, LogStore, PlainEntries, SequencerConfig, SqlStore,
    Submission,
};

const ORIGIN: &str = "replicas.example/log";

/// Entries the replica holds: more than a full tile, so that proofs need a full and a partial
/// tile.
const ON_REPLICA: u64 = 300;
/// Entries appended after the copy, on the primary only.
const PRIMARY_ONLY: u64 = 10;

async fn open(store: Arc<dyn LogStore>, metrics: LogMetrics) -> Log {
    let (signer, _) = test_signer(ORIGIN);
    let options = LogOptions {
        metrics,
        sequencer: SequencerConfig {
            max_delay: Duration::from_millis(2),
            ..SequencerConfig::default()
        },
        head_max_age: Duration::ZERO,
        ..LogOptions::default()
    };
    Log::open_or_create(store, ORIGIN, Arc::new(PlainEntries), signer, options)
        .await
        .unwrap()
}

fn submission(i: u64) -> Submission {
    Submission {
        index_keys: vec![IndexKey {
            kind: "name".into(),
            key: format!("entry-{i}"),
        }],
        ..Submission::by_leaf_hash(format!("entry-{i}").into_bytes())
    }
}

/// Appends entries `range`, all at once; returns (entry, index it got) per entry.
async fn append_all(log: &Log, range: std::ops::Range<u64>) -> Vec<(u64, u64)> {
    let mut tasks = tokio::task::JoinSet::new();
    for n in range {
        let log = log.clone();
        tasks.spawn(async move {
            let appended = log.append_entry(submission(n)).await.unwrap();
            (n, appended.entry.index)
        });
    }
    let mut handed_out = Vec::new();
    while let Some(done) = tasks.join_next().await {
        handed_out.push(done.unwrap());
    }
    handed_out
}

/// `tlog_store_reads_total{target}` as the service's registry renders it.
fn exported_reads(metrics: &LogMetrics, target: &str) -> u64 {
    let registry = prometheus::Registry::new();
    registry.register(Box::new(metrics.clone())).unwrap();
    let series = format!("tlog_store_reads_total{{target=\"{target}\"}}");
    common::metric_value(&registry, &series).expect("the store exports its reads") as u64
}

fn database_name(url: &str) -> String {
    let path = url::Url::parse(url).unwrap().path().to_string();
    path.trim_start_matches('/').to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lagging_replica_serves_what_it_holds_and_the_primary_the_rest() {
    let primary = TestDb::postgres().await;
    {
        let store = common::connect(&primary).await;
        let log = open(store.clone(), LogMetrics::new()).await;
        append_all(&log, 0..ON_REPLICA).await;
        drop(log);
        store.close().await;
    }
    // The replica: the primary as it is now. Its entry at index 7 is marked, to see who
    // answers.
    let replica = TestDb::postgres().await;
    let mut admin = sqlx::AnyConnection::connect(&sigstack_bench_support::postgres_admin_url())
        .await
        .unwrap();
    let name = database_name(&replica.url);
    for statement in [
        format!("DROP DATABASE {name}"),
        format!(
            "CREATE DATABASE {name} TEMPLATE {}",
            database_name(&primary.url)
        ),
    ] {
        sqlx::query(&statement).execute(&mut admin).await.unwrap();
    }
    let mut on_replica = sqlx::AnyConnection::connect(&replica.url).await.unwrap();
    sqlx::query("UPDATE entries SET data = $1 WHERE idx = 7")
        .bind(b"marked on the replica".to_vec())
        .execute(&mut on_replica)
        .await
        .unwrap();

    let store = Arc::new(
        SqlStore::connect_with_replicas(&primary.url, std::slice::from_ref(&replica.url))
            .await
            .unwrap(),
    );
    let metrics = LogMetrics::new();
    let log = open(store.clone(), metrics.clone()).await;
    let handed_out = append_all(&log, ON_REPLICA..ON_REPLICA + PRIMARY_ONLY).await;
    let size = ON_REPLICA + PRIMARY_ONLY;
    let head = log.head().await.unwrap();
    assert_eq!(head.size, size);

    // An entry the replica holds comes from the replica.
    let before = store.replica_read_counts();
    let entry = log.entry(7).await.unwrap().unwrap();
    assert_eq!(entry.data, b"marked on the replica");
    assert_eq!(store.replica_read_counts().0, before.0 + 1);

    // Every entry just handed out, by index, identity, leaf hash and search key, is found
    // (on the primary), with an inclusion proof against the latest head.
    for &(n, i) in &handed_out {
        assert!(i >= ON_REPLICA);
        let data = format!("entry-{n}").into_bytes();
        let entry = log
            .entry(i)
            .await
            .unwrap()
            .expect("entry beyond the replica");
        assert_eq!(entry.data, data);
        let leaf = merkle::leaf_hash(&data);
        let by_identity = log.entry_by_identity(&leaf).await.unwrap().unwrap();
        assert_eq!(by_identity.index, i);
        let by_leaf = log.entry_by_leaf_hash(&leaf).await.unwrap().unwrap();
        assert_eq!(by_leaf.index, i);
        assert_eq!(
            log.lookup("name", &format!("entry-{n}"), 10).await.unwrap(),
            [i]
        );
        let proof = log.inclusion_proof(i, size).await.unwrap();
        merkle::verify_inclusion(&leaf, i, size, &proof, &head.root).unwrap();
    }
    let (replica_reads, primary_reads) = store.replica_read_counts();
    assert!(primary_reads >= 4 * PRIMARY_ONLY, "{primary_reads}");
    // A lookup of an older entry is answered by the replica.
    let found = log.entry_by_identity(&merkle::leaf_hash(b"entry-3")).await;
    assert!(found.unwrap().unwrap().index < ON_REPLICA);
    assert_eq!(store.replica_read_counts().0, replica_reads + 1);

    // The service's metrics say the same.
    let (replica_reads, primary_reads) = store.replica_read_counts();
    assert_eq!(exported_reads(&metrics, "replica"), replica_reads);
    assert_eq!(exported_reads(&metrics, "primary"), primary_reads);

    drop(on_replica);
    drop(log);
    store.close().await;
}
