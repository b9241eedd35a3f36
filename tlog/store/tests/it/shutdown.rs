//! The end of a process can wait for the logs' sequencers, which run on a runtime of their own,
//! to stop and drop their checkpoint signers (`sigstack` does before finalising PKCS#11
//! modules, whose keys must be closed first).

use crate::common::{connect, test_signer, TestDb};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tlog::merkle::Hash;
use tlog_store::{
    wait_for_sequencers, CheckpointSigner, Log, LogOptions, PlainEntries, Submission,
};

const ORIGIN: &str = "shutdown.example/log";

/// A signer that takes a while to be dropped, as a key in a PKCS#11 token closing its sessions
/// does, and records when it has been.
struct SlowToDrop {
    inner: Arc<dyn CheckpointSigner>,
    dropped: Arc<AtomicBool>,
}

impl CheckpointSigner for SlowToDrop {
    fn sign(&self, origin: &str, size: u64, root: &Hash, at: u64) -> Result<Vec<u8>, String> {
        self.inner.sign(origin, size, root, at)
    }
}

impl Drop for SlowToDrop {
    fn drop(&mut self) {
        std::thread::sleep(Duration::from_millis(300));
        self.dropped.store(true, Ordering::SeqCst);
    }
}

#[test]
fn the_end_of_a_process_waits_until_every_sequencer_has_dropped_its_signer() {
    let dropped = Arc::new(AtomicBool::new(false));
    let serving = tokio::runtime::Runtime::new().unwrap();
    let db = serving.block_on(TestDb::sqlite());
    serving.block_on(async {
        let (signer, _) = test_signer(ORIGIN);
        let signer = Arc::new(SlowToDrop {
            inner: signer,
            dropped: dropped.clone(),
        });
        let log = Log::open_or_create(
            connect(&db).await,
            ORIGIN,
            Arc::new(PlainEntries),
            signer,
            LogOptions::default(),
        )
        .await
        .unwrap();
        log.append(Submission::by_leaf_hash(vec![1])).await.unwrap();
    });
    // The log's last handle is gone with the block above, and the serving runtime now: the
    // sequencer stops on its own runtime, and drops the signer there, in its own time.
    drop(serving);
    // Other tests' sequencers may still be running in this binary: only this one's signer is
    // checked, not whether all of them stopped within the time.
    wait_for_sequencers(Duration::from_secs(60));
    assert!(
        dropped.load(Ordering::SeqCst),
        "the sequencer's signer is dropped by the time the wait returns"
    );
}
