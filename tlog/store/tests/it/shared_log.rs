//! Two processes on one log (two stores on one database, as two replicas of a service run): a
//! read through one of what the other has just handed out is answered at once, however old
//! the reader's cached head (issue 17: a second Rekor replica answered 503 for a moment right
//! after a write through the first); and the same entries sent to both are logged once.

use crate::common::{self, test_signer};
use std::sync::Arc;
use std::time::Duration;
use tlog::merkle;
use tlog::tile::TileId;
use tlog_store::{Log, LogOptions, PlainEntries, ReadError, SequencerConfig, Submission};

const ORIGIN: &str = "shared.example/log";

/// More than a full tile, so that the reads need a full and a partial tile.
const ENTRIES: u64 = 300;

async fn open(db: &common::TestDb, head_max_age: Duration) -> Log {
    let (signer, _) = test_signer(ORIGIN);
    let options = LogOptions {
        sequencer: SequencerConfig {
            max_delay: Duration::from_millis(2),
            ..SequencerConfig::default()
        },
        head_max_age,
        ..LogOptions::default()
    };
    let store = common::connect(db).await;
    Log::open_or_create(store, ORIGIN, Arc::new(PlainEntries), signer, options)
        .await
        .unwrap()
}

/// Entries `entry-0` to `entry-{ENTRIES - 1}`, each appended through every one of `writers`
/// at once: each append's data and the index it was given.
async fn append_all(writers: &[Log]) -> Vec<(Vec<u8>, u64)> {
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..ENTRIES {
        for writer in writers {
            let writer = writer.clone();
            tasks.spawn(async move {
                let data = format!("entry-{n}").into_bytes();
                let appended = writer
                    .append(Submission::by_leaf_hash(data.clone()))
                    .await
                    .unwrap();
                (data, appended.entry.index)
            });
        }
    }
    tasks.join_all().await
}

both_backends!(
    a_replica_reads_what_another_just_handed_out,
    |db: common::TestDb| async move {
        let writer = open(&db, Duration::from_millis(500)).await;
        // The reader's cached head (size 0) would stay its answer for an hour.
        let reader = open(&db, Duration::from_secs(3600)).await;
        assert_eq!(reader.head().await.unwrap().size, 0);

        let handed_out = append_all(std::slice::from_ref(&writer)).await;
        let head = writer.head().await.unwrap();
        assert_eq!(head.size, ENTRIES);
        assert_eq!(
            reader.head().await.unwrap().size,
            0,
            "still the cached head"
        );

        // Every entry just handed out, by index and by leaf hash, with a proof against the
        // writer's head; the ranges, tiles and bundles of that tree.
        for (data, index) in &handed_out {
            let leaf = merkle::leaf_hash(data);
            let entry = reader.entry(*index).await.unwrap().expect("entry by index");
            assert_eq!(&entry.data, data);
            let by_leaf = reader.entry_by_leaf_hash(&leaf).await.unwrap().unwrap();
            assert_eq!(by_leaf.index, *index);
            let proof = reader.inclusion_proof(*index, head.size).await.unwrap();
            merkle::verify_inclusion(&leaf, *index, head.size, &proof, &head.root).unwrap();
        }
        assert_eq!(
            reader.entries(0, head.size).await.unwrap().len() as u64,
            head.size
        );
        assert_eq!(reader.root_at(head.size).await.unwrap(), head.root);
        let consistency = reader.consistency_proof(1, head.size).await.unwrap();
        let first = merkle::leaf_hash(&reader.entry(0).await.unwrap().unwrap().data);
        merkle::verify_consistency(1, head.size, &consistency, &first, &head.root).unwrap();
        let partial = u8::try_from(ENTRIES - 256).unwrap();
        assert!(reader
            .tile(TileId::new(0, 1), Some(partial))
            .await
            .unwrap()
            .is_some());
        assert!(reader
            .bundle_entries(1, Some(partial))
            .await
            .unwrap()
            .is_some());
        assert_eq!(reader.head().await.unwrap().size, head.size, "now cached");

        // What the log does not hold is still refused, after a look at the store.
        assert!(matches!(
            reader.inclusion_proof(0, head.size + 1).await,
            Err(ReadError::OutOfRange(_))
        ));
        assert!(reader.entry(head.size).await.unwrap().is_none());
        assert!(reader
            .tile(TileId::new(0, 2), Some(1))
            .await
            .unwrap()
            .is_none());
    }
);

both_backends!(
    two_writers_given_the_same_entries_log_each_once,
    |db: common::TestDb| async move {
        // Two processes on one log, each sent every entry (a client retrying against another
        // replica): the database, not either process, decides what is already logged
        // (PostgreSQL: the round statement's probe under the log's lock, migration 0008;
        // SQLite: the unique index).
        let first = open(&db, Duration::from_millis(500)).await;
        let second = open(&db, Duration::from_millis(500)).await;
        let handed_out = append_all(&[first.clone(), second.clone()]).await;
        let mut index_of = std::collections::HashMap::new();
        for (data, index) in handed_out {
            // Both submissions of an entry were given the same index.
            assert_eq!(
                *index_of.entry(data.clone()).or_insert(index),
                index,
                "{data:?}"
            );
        }
        let size = first
            .head()
            .await
            .unwrap()
            .size
            .max(second.head().await.unwrap().size);
        assert_eq!(size, ENTRIES, "each entry logged once");
        let logged = first.entries(0, size).await.unwrap();
        let mut indexes: Vec<u64> = index_of.values().copied().collect();
        indexes.sort_unstable();
        assert_eq!(indexes, (0..ENTRIES).collect::<Vec<_>>());
        for entry in logged {
            assert_eq!(index_of[&entry.data], entry.index);
        }
    }
);
