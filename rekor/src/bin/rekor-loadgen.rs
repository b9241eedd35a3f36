//! Load generator for Rekor v1: hashedrekord entries per second over real HTTP on loopback,
//! every response checked to carry its SET and inclusion proof.
//!
//! Entries are signed before the clock starts, so the client's signing is not measured; the
//! server's verification, canonicalisation, sequencing, proof and SET are.
//!
//! ```text
//! scripts/with-postgres.sh cargo run --release -p rekor --features loadgen --bin rekor-loadgen
//! cargo run --release -p rekor --features loadgen --bin rekor-loadgen -- --url http://127.0.0.1:3000
//! ```
//!
//! Without `--url` it starts Rekor in-process on a fresh database: PostgreSQL when
//! `SIGSTACK_TEST_DATABASE_URL` is set (or `BENCH_BACKEND=postgres`), else SQLite.

use anyhow::Context;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use clap::Parser;
use p256::ecdsa::signature::Signer as _;
use p256::pkcs8::{EncodePublicKey, LineEnding};
use sha2::{Digest, Sha256};
use sigstack_bench_support::{percentile_ms, BenchDatabase};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    /// A running Rekor to load; without it, one is started in-process on a fresh database.
    #[arg(long)]
    url: Option<String>,
    /// How long to send, in seconds.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Requests in flight.
    #[arg(long, default_value_t = 128)]
    concurrency: usize,
    /// Entries to pre-sign (the run stops early when they are used up).
    #[arg(long, default_value_t = 100_000)]
    entries: usize,
    /// Batching window of the in-process Rekor's sequencer, in milliseconds.
    #[arg(long)]
    max_delay_ms: Option<u64>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();

    let made = Instant::now();
    let keys: Vec<(p256::ecdsa::SigningKey, String)> = (0..16)
        .map(|_| {
            let key = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
            let pem = key
                .verifying_key()
                .to_public_key_pem(LineEnding::LF)
                .expect("PEM of a P-256 key");
            (key, B64.encode(pem))
        })
        .collect();
    let bodies: Vec<Vec<u8>> = (0..args.entries)
        .map(|i| {
            let (key, pem_b64) = &keys[i % keys.len()];
            let artifact = format!("loadgen artifact {i} {}", rand::random::<u64>());
            let sig: p256::ecdsa::DerSignature = key.sign(artifact.as_bytes());
            serde_json::to_vec(&serde_json::json!({
                "apiVersion": "0.0.1",
                "kind": "hashedrekord",
                "spec": {
                    "data": {"hash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(artifact.as_bytes()))}},
                    "signature": {"content": B64.encode(sig.as_bytes()), "publicKey": {"content": pem_b64}}
                }
            }))
            .expect("JSON")
        })
        .collect();
    eprintln!(
        "signed {} entries in {:.1}s",
        bodies.len(),
        made.elapsed().as_secs_f64()
    );

    // Keep the database alive for the run.
    let mut _db = None;
    let (endpoint, backend) = match &args.url {
        Some(url) => (
            format!("{}/api/v1/log/entries", url.trim_end_matches('/')),
            "external".to_string(),
        ),
        None => {
            let db = BenchDatabase::fresh("sigstack_bench_rekor").await;
            let backend = db.backend().to_string();
            let store: Arc<dyn tlog_store::LogStore> =
                Arc::new(tlog_store::SqlStore::connect(&db.url).await?);
            _db = Some(db);
            let mut config = rekor::RekorConfig::new(
                Arc::new(sigstack_keys::SoftwareKey::generate(
                    sigstack_keys::Algorithm::EcdsaP256Sha256,
                )),
                Arc::new(sigstack_keys::SoftwareKey::generate(
                    sigstack_keys::Algorithm::Ed25519,
                )),
                "rekor.bench.example",
                "rekor.bench.example",
                rekor::ShardLayout::new_random(),
            );
            if let Some(ms) = args.max_delay_ms {
                config.log_options.sequencer.max_delay = Duration::from_millis(ms);
            }
            let rekor = rekor::Rekor::open(store, config).await?;
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let endpoint = format!("http://{}/api/v1/log/entries", listener.local_addr()?);
            tokio::spawn(async move { axum::serve(listener, rekor::router(rekor)).await });
            (endpoint, backend)
        }
    };

    let bodies = Arc::new(bodies);
    let next = Arc::new(AtomicUsize::new(0));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency {
        let (bodies, next, client, endpoint) = (
            bodies.clone(),
            next.clone(),
            client.clone(),
            endpoint.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = 0usize;
            while Instant::now() < deadline {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(i) else { break };
                let t = Instant::now();
                let ok = match client
                    .post(&endpoint)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                {
                    Ok(r) if r.status().as_u16() == 201 => {
                        r.json::<serde_json::Value>().await.is_ok_and(has_proof)
                    }
                    _ => false,
                };
                if ok {
                    latencies.push(t.elapsed());
                } else {
                    failures += 1;
                }
            }
            (latencies, failures)
        }));
    }
    let mut latencies = Vec::new();
    let mut failures = 0;
    for t in tasks {
        let (l, f) = t.await.context("load task")?;
        latencies.extend(l);
        failures += f;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    println!(
        "rekor v1 hashedrekord ({backend}): {} entries in {elapsed:.1}s = {:.0} entries/s, p50 {:.1} ms, p99 {:.1} ms, concurrency {}, failures {failures} (every success carried SET + inclusion proof + checkpoint)",
        latencies.len(),
        latencies.len() as f64 / elapsed,
        percentile_ms(&latencies, 0.50),
        percentile_ms(&latencies, 0.99),
        args.concurrency,
    );
    anyhow::ensure!(failures == 0, "{failures} requests failed");
    Ok(())
}

/// A response `{id: entry}` whose entry carries a SET, an inclusion proof and a checkpoint.
fn has_proof(v: serde_json::Value) -> bool {
    v.as_object()
        .and_then(|o| o.values().next())
        .map(|e| &e["verification"])
        .is_some_and(|ver| {
            ver["signedEntryTimestamp"].is_string()
                && ver["inclusionProof"]["hashes"].is_array()
                && ver["inclusionProof"]["checkpoint"].is_string()
        })
}
