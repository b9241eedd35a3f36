//! `Log::check_ready` reports a wedged sequencer: one whose round hangs while submissions wait.

use crate::common::{self, test_signer, TestDb};
use async_trait::async_trait;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tlog::merkle::Hash;
use tlog::tile::TileId;
use tlog_store::{
    IntegrateRequest, Integrated, Log, LogHead, LogId, LogOptions, LogStore, NotReady,
    PlainEntries, SequencerConfig, StoreError, StoredEntry, Submission,
};
use tokio::sync::watch;

const ORIGIN: &str = "readiness.example/log";

/// How long a stall may last in these tests before the log reads as wedged.
const BOUND: Duration = Duration::from_millis(300);

/// How long a probe waits for the database.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// A store whose rounds wait while `hold` is set, before they touch the database (so that
/// nothing is locked and reads still answer, as when a round waits on another process's lock).
struct Gated {
    inner: Arc<dyn LogStore>,
    hold: watch::Sender<bool>,
    /// Rounds that have entered `integrate`.
    entered: watch::Sender<u64>,
}

impl Gated {
    fn new(inner: Arc<dyn LogStore>) -> Self {
        Self {
            inner,
            hold: watch::Sender::new(false),
            entered: watch::Sender::new(0),
        }
    }

    /// Waits until `n` rounds have entered `integrate`.
    async fn entered(&self, n: u64) {
        let mut rx = self.entered.subscribe();
        tokio::time::timeout(Duration::from_secs(10), rx.wait_for(|e| *e >= n))
            .await
            .expect("the round starts")
            .unwrap();
    }
}

#[async_trait]
impl LogStore for Gated {
    async fn create_log(&self, origin: &str, empty_checkpoint: &[u8]) -> Result<LogId, StoreError> {
        self.inner.create_log(origin, empty_checkpoint).await
    }
    async fn find_log(&self, origin: &str) -> Result<Option<LogId>, StoreError> {
        self.inner.find_log(origin).await
    }
    async fn head(&self, log: LogId) -> Result<LogHead, StoreError> {
        self.inner.head(log).await
    }
    async fn read_tiles(
        &self,
        log: LogId,
        tiles: &[TileId],
    ) -> Result<Vec<(TileId, Vec<Hash>)>, StoreError> {
        self.inner.read_tiles(log, tiles).await
    }
    async fn read_entries(
        &self,
        log: LogId,
        start: u64,
        end: u64,
    ) -> Result<Vec<StoredEntry>, StoreError> {
        self.inner.read_entries(log, start, end).await
    }
    async fn entry_by_identity(
        &self,
        log: LogId,
        identity: &Hash,
    ) -> Result<Option<StoredEntry>, StoreError> {
        self.inner.entry_by_identity(log, identity).await
    }
    async fn entry_by_leaf_hash(
        &self,
        log: LogId,
        leaf_hash: &Hash,
    ) -> Result<Option<StoredEntry>, StoreError> {
        self.inner.entry_by_leaf_hash(log, leaf_hash).await
    }
    async fn lookup_index(
        &self,
        log: LogId,
        kind: &str,
        key: &str,
        limit: u32,
    ) -> Result<Vec<u64>, StoreError> {
        self.inner.lookup_index(log, kind, key, limit).await
    }
    async fn put_blobs(&self, log: LogId, blobs: &[(Hash, Vec<u8>)]) -> Result<(), StoreError> {
        self.inner.put_blobs(log, blobs).await
    }
    async fn get_blob(&self, log: LogId, key: &Hash) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get_blob(log, key).await
    }
    async fn integrate(&self, request: IntegrateRequest<'_>) -> Result<Integrated, StoreError> {
        self.entered.send_modify(|e| *e += 1);
        let mut hold = self.hold.subscribe();
        hold.wait_for(|h| !*h)
            .await
            .expect("the test holds the gate");
        self.inner.integrate(request).await
    }
}

both_backends!(
    a_stuck_round_reads_as_wedged_until_it_finishes,
    |db: TestDb| async move {
        let store = Arc::new(Gated::new(common::connect(&db).await));
        let options = LogOptions {
            sequencer: SequencerConfig {
                max_delay: Duration::from_millis(5),
                wedged_after: BOUND,
                ..SequencerConfig::default()
            },
            ..LogOptions::default()
        };
        let (signer, _) = test_signer(ORIGIN);
        let log = Log::open_or_create(
            store.clone(),
            ORIGIN,
            Arc::new(PlainEntries),
            signer,
            options,
        )
        .await
        .unwrap();
        log.check_ready(PROBE_TIMEOUT).await.unwrap();
        log.append(Submission::by_leaf_hash(vec![0])).await.unwrap();
        store.entered(1).await;

        // An idle log is never wedged, however long since its last round.
        tokio::time::sleep(BOUND * 2).await;
        log.check_ready(PROBE_TIMEOUT).await.unwrap();

        store.hold.send_replace(true);
        let stuck_at = Instant::now();
        let stuck = tokio::spawn({
            let log = log.clone();
            async move { log.append(Submission::by_leaf_hash(vec![1])).await }
        });
        store.entered(2).await;
        // Work that has just arrived at an idle log is no stall, whatever the idle time was.
        log.check_ready(PROBE_TIMEOUT).await.unwrap();

        let (waiting, stalled, bound) = loop {
            match log.check_ready(PROBE_TIMEOUT).await {
                Ok(()) => {
                    assert!(
                        stuck_at.elapsed() < BOUND * 20,
                        "the stuck round never made the log unready"
                    );
                    tokio::time::sleep(BOUND / 10).await;
                }
                Err(NotReady::SequencerWedged {
                    waiting,
                    stalled,
                    bound,
                }) => break (waiting, stalled, bound),
                Err(e) => panic!("unready for another reason: {e}"),
            }
        };
        assert!(stuck_at.elapsed() > BOUND, "unready before the bound");
        assert_eq!(bound, BOUND);
        assert!(stalled > BOUND, "{stalled:?}");
        assert_eq!(waiting, 1);
        let reason = log
            .check_ready(PROBE_TIMEOUT)
            .await
            .unwrap_err()
            .to_string();
        assert!(reason.contains("sequencer is wedged"), "{reason}");
        assert!(!stuck.is_finished(), "the stuck append was answered");

        store.hold.send_replace(false);
        let appended = tokio::time::timeout(Duration::from_secs(10), stuck)
            .await
            .expect("the round finishes once released")
            .unwrap()
            .unwrap();
        assert_eq!(appended.entry.index, 1);
        log.check_ready(PROBE_TIMEOUT).await.unwrap();
    }
);
