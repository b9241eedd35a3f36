//! The runtime sequencers run on, apart from the one serving requests.
//!
//! An integration round is a dozen database round trips in a row, and every one of them is on
//! the path of every entry in the round. On the serving runtime each wake-up of the sequencer
//! queued behind the request handlers' CPU work (a Rekor handler verifies an ECDSA signature
//! and signs a SET: about 110 µs each), so under load a round spent most of its time waiting
//! to be polled. On a runtime of their own, with the database connections they use registered
//! there too, the operating system schedules the sequencers as soon as an answer arrives.
//! Measured on the Rekor write path: round latency halved, throughput up a fifth.

use std::future::Future;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;
use tokio::runtime::{Builder, Handle};
use tokio::task::JoinHandle;

/// Worker threads of the sequencing runtime: a round is mostly waiting on the database, and
/// two let the sequencers of two busy logs (a CT log and Rekor in one process) plan and prove
/// at the same time.
const SEQUENCING_THREADS: usize = 2;

/// The sequencers spawned and not yet seen to have finished.
static SEQUENCERS: Mutex<Vec<JoinHandle<()>>> = Mutex::new(Vec::new());

/// The process-wide sequencing runtime, started on first use; it lives as long as the process.
pub(crate) fn sequencing() -> &'static Handle {
    static HANDLE: OnceLock<Handle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let runtime = Builder::new_multi_thread()
            .worker_threads(SEQUENCING_THREADS)
            .thread_name("tlog-sequencer")
            .enable_all()
            .build()
            .expect("the sequencing runtime starts");
        let handle = runtime.handle().clone();
        // Kept for the life of the process: dropping a runtime from inside another one's task
        // (the first caller is usually one) would panic, and there is nothing to clean up.
        std::mem::forget(runtime);
        handle
    })
}

/// Runs a log's sequencer on the sequencing runtime, where [`wait_for_sequencers`] can wait
/// for it to stop.
pub(crate) fn spawn_sequencer(sequencer: impl Future<Output = ()> + Send + 'static) {
    let handle = sequencing().spawn(sequencer);
    let mut running = SEQUENCERS.lock().expect("sequencer list lock");
    running.retain(|running| !running.is_finished());
    running.push(handle);
}

/// Waits, for up to `timeout`, until every sequencer has stopped and dropped what it held; true
/// if all did. For the end of a process, called outside any runtime once the runtime serving
/// requests is gone: a sequencer stops when the last handle to its log is dropped, after the
/// round in hand, and only then drops its checkpoint signer. A signer's key in a PKCS#11 token
/// closes its sessions as it is dropped, which must happen before the module is finalised:
/// `C_Finalize` racing with `C_CloseSession` on a sequencer's thread crashed SoftHSM2, so that
/// `sigstack up` with its keys in a token ended with SIGSEGV now and then after `stopped`.
pub fn wait_for_sequencers(timeout: Duration) -> bool {
    let running = std::mem::take(&mut *SEQUENCERS.lock().expect("sequencer list lock"));
    if running.is_empty() {
        return true;
    }
    sequencing().block_on(async {
        tokio::time::timeout(timeout, async {
            for sequencer in running {
                // A sequencer that panicked has stopped too: its future is dropped either way.
                let _ = sequencer.await;
            }
        })
        .await
        .is_ok()
    })
}
