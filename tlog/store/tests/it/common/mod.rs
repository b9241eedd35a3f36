//! Test databases (a fresh SQLite file or PostgreSQL database per test, from
//! `sigstack_bench_support`), and a test checkpoint signer.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use tlog::note::{NoteSigner, NoteVerifier};
use tlog_store::{NoteCheckpointSigner, SqlStore};

pub use sigstack_bench_support::TestDb;

/// The store in `db`.
pub async fn connect(db: &TestDb) -> Arc<SqlStore> {
    Arc::new(SqlStore::connect(&db.url).await.unwrap())
}

/// A fixed Ed25519 checkpoint signer and its verifier.
pub fn test_signer(origin: &str) -> (Arc<NoteCheckpointSigner>, NoteVerifier) {
    let key = sigstack_keys::SoftwareKey::ed25519_from_seed(&[7u8; 32]);
    let signer = NoteSigner::ed25519(origin, Arc::new(key)).unwrap();
    let verifier = signer.verifier().clone();
    (Arc::new(NoteCheckpointSigner::new(vec![signer])), verifier)
}

/// Runs a test body once per backend.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = common::TestDb::sqlite().await;
                ($body)(db).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let db = common::TestDb::postgres().await;
                ($body)(db).await;
            }
        }
    };
}

/// The value of `name{labels…}` (a counter, a gauge, or a histogram's `_count`/`_sum`) in the
/// text exposition of `registry`, if present.
pub fn metric_value(registry: &prometheus::Registry, series: &str) -> Option<f64> {
    use prometheus::Encoder as _;
    let mut out = Vec::new();
    prometheus::TextEncoder::new()
        .encode(&registry.gather(), &mut out)
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}
