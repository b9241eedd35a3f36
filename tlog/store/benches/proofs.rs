//! Proof serving in a log of 1,000,000 entries: inclusion and consistency proofs computed from
//! tiles read from the store (SQLite, and PostgreSQL when `SIGSTACK_TEST_DATABASE_URL` is set),
//! with and without the in-memory cache of full tiles.
//!
//! Run with `scripts/with-postgres.sh cargo bench -p sigstack-tlog-store --bench proofs`. The first run
//! builds the logs (about a minute each) and keeps them for later runs.

use criterion::{criterion_group, criterion_main, Criterion};
use std::sync::Arc;
use std::time::Duration;
use tlog::note::NoteSigner;
use tlog::tile::TreeEdge;
use tlog_store::{
    IntegrateRequest, Log, LogOptions, LogStore, NoteCheckpointSigner, PlainEntries, SqlStore,
    Submission,
};

const SIZE: u64 = 1_000_000;
const ORIGIN: &str = "bench.example/proofs";

fn signer() -> Arc<NoteCheckpointSigner> {
    let key = sigstack_keys::SoftwareKey::ed25519_from_seed(&[9u8; 32]);
    Arc::new(NoteCheckpointSigner::new(vec![NoteSigner::ed25519(
        ORIGIN,
        Arc::new(key),
    )
    .unwrap()]))
}

/// Opens (building it on first use) a log of `SIZE` entries.
async fn million_entry_log(url: &str, tile_cache: usize) -> Log {
    let store: Arc<dyn LogStore> = Arc::new(SqlStore::connect(url).await.unwrap());
    let signer = signer();
    if store.find_log(ORIGIN).await.unwrap().is_none() {
        Log::create(store.as_ref(), ORIGIN, signer.as_ref())
            .await
            .unwrap();
    }
    let id = store.find_log(ORIGIN).await.unwrap().unwrap();
    let mut edge = TreeEdge::empty();
    // Integrate large rounds straight through the store: the fastest way to build the log.
    loop {
        let size = store.head(id).await.unwrap().size;
        if size >= SIZE {
            break;
        }
        if edge.size() != size {
            edge = TreeEdge::empty(); // the store rebuilds it from its tiles
        }
        let batch: Vec<Submission> = (size..(size + 20_000).min(SIZE))
            .map(|i| Submission::by_leaf_hash(format!("bench entry {i}").into_bytes()))
            .collect();
        let done = store
            .integrate(IntegrateRequest {
                log: id,
                origin: ORIGIN,
                edge: &edge,
                batch: &batch,
                encoder: &PlainEntries,
                signer: signer.as_ref(),
                now_ms: 0,
            })
            .await
            .unwrap();
        edge = done.edge;
    }
    let options = LogOptions {
        tile_cache,
        ..LogOptions::default()
    };
    Log::open(store, ORIGIN, Arc::new(PlainEntries), signer, options)
        .await
        .unwrap()
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn bench_backend(c: &mut Criterion, name: &str, url: &str) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    for (cache_name, cache) in [("cached", 4096usize), ("uncached", 1)] {
        let log = rt.block_on(million_entry_log(url, cache));
        let mut group = c.benchmark_group(format!("{name}/{cache_name}"));
        group.measurement_time(Duration::from_secs(5));
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        group.bench_function("inclusion_proof_1m", |b| {
            b.to_async(&rt).iter(|| {
                let index = next() % SIZE;
                let log = log.clone();
                async move { log.inclusion_proof(index, SIZE).await.unwrap() }
            })
        });
        group.bench_function("consistency_proof_1m", |b| {
            b.to_async(&rt).iter(|| {
                let old = 1 + next() % (SIZE - 1);
                let log = log.clone();
                async move { log.consistency_proof(old, SIZE).await.unwrap() }
            })
        });
        group.finish();
        eprintln!(
            "{name}/{cache_name}: resident memory after the runs: {} KiB",
            rss_kib()
        );
    }
}

fn proofs(c: &mut Criterion) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    bench_backend(
        c,
        "sqlite",
        &format!("sqlite://{}", dir.join("proofs-1m.sqlite").display()),
    );
    if let Ok(admin) = std::env::var("SIGSTACK_TEST_DATABASE_URL") {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let url = rt.block_on(async {
            use sqlx::Connection;
            sqlx::any::install_default_drivers();
            let mut conn = sqlx::AnyConnection::connect(&admin).await.unwrap();
            let exists =
                sqlx::query("SELECT 1 FROM pg_database WHERE datname = 'sigstack_bench_proofs'")
                    .fetch_optional(&mut conn)
                    .await
                    .unwrap()
                    .is_some();
            if !exists {
                sqlx::query("CREATE DATABASE sigstack_bench_proofs")
                    .execute(&mut conn)
                    .await
                    .unwrap();
            }
            // The admin URL with another database; its query (sslmode=…) kept.
            let mut url = url::Url::parse(&admin).unwrap();
            url.set_path("/sigstack_bench_proofs");
            String::from(url)
        });
        bench_backend(c, "postgres", &url);
    }
}

criterion_group!(benches, proofs);
criterion_main!(benches);
