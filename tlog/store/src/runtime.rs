//! The runtime sequencers run on, apart from the one serving requests.
//!
//! An integration round is a dozen database round trips in a row, and every one of them is on
//! the path of every entry in the round. On the serving runtime each wake-up of the sequencer
//! queued behind the request handlers' CPU work (a Rekor handler verifies an ECDSA signature
//! and signs a SET: about 110 µs each), so under load a round spent most of its time waiting
//! to be polled. On a runtime of their own, with the database connections they use registered
//! there too, the operating system schedules the sequencers as soon as an answer arrives.
//! Measured on the Rekor write path: round latency halved, throughput up a fifth.

use std::sync::OnceLock;
use tokio::runtime::{Builder, Handle};

/// Worker threads of the sequencing runtime: a round is mostly waiting on the database, and
/// two let the sequencers of two busy logs (a CT log and Rekor in one process) plan and prove
/// at the same time.
const SEQUENCING_THREADS: usize = 2;

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
