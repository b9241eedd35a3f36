//! Load generator for Rekor v1: hashedrekord entries per second over real HTTP on loopback,
//! every response checked to carry its SET and inclusion proof.
//!
//! Entries are signed before the clock starts, so the client's signing is not measured; the
//! server's verification, canonicalisation, sequencing, proof and SET are.
//!
//! ```text
//! scripts/with-postgres.sh cargo run --release -p sigstack-rekor --features loadgen --bin rekor-loadgen
//! cargo run --release -p sigstack-rekor --features loadgen --bin rekor-loadgen -- --url http://127.0.0.1:3000
//! ```
//!
//! Without `--url` it starts Rekor in-process on a fresh database: PostgreSQL when
//! `SIGSTACK_TEST_DATABASE_URL` is set (or `BENCH_BACKEND=postgres`), else SQLite.

use anyhow::Context;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::SendRequest;
use serde::de::IgnoredAny;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use sigstack_bench_support::{percentile_ms, BenchDatabase};
use sigstack_keys::Signer as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

// The allocator `sigstack` itself runs with, so the in-process server is measured as deployed.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
struct Args {
    /// A running Rekor to load; without it, one is started in-process on a fresh database.
    #[arg(long)]
    url: Option<String>,
    /// How long to send, in seconds.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Requests in flight (256 fills a 2-core machine; see docs/performance.md).
    #[arg(long, default_value_t = 256)]
    concurrency: usize,
    /// Entries to pre-sign (the run stops early when they are used up).
    #[arg(long, default_value_t = 100_000)]
    entries: usize,
    /// Batching window of the in-process Rekor's sequencer, in milliseconds.
    #[arg(long)]
    max_delay_ms: Option<u64>,
    /// Writes one JSON line per acknowledged entry to this file: `ms` (since the start),
    /// `uuid`, `index`, and the `tree_size` and `root_hash` of its inclusion proof. For checks
    /// that every acknowledged entry is in the log afterwards (scripts/interop/pg_failover.sh).
    #[arg(long)]
    record: Option<std::path::PathBuf>,
    /// Exits with success even when requests failed (during a database failover some fail by
    /// design); the failures are still counted and printed.
    #[arg(long)]
    allow_failures: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // `RUST_LOG=tlog_store=debug` shows each sequencing round and its transaction's phases.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();

    let made = Instant::now();
    // aws-lc-rs signing (through `SoftwareKey`), spread over the cores: pre-signing is not
    // measured, but should not take longer than the run.
    let keys: Vec<(sigstack_keys::SoftwareKey, String)> = (0..16)
        .map(|_| {
            let key =
                sigstack_keys::SoftwareKey::generate(sigstack_keys::Algorithm::EcdsaP256Sha256);
            let pem = pem_rfc7468::encode_string(
                "PUBLIC KEY",
                pem_rfc7468::LineEnding::LF,
                key.public_key_der(),
            )
            .expect("PEM of a P-256 key");
            (key, B64.encode(pem))
        })
        .collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_thread = args.entries.div_ceil(threads).max(1);
    let bodies: Vec<Vec<u8>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..args.entries)
            .step_by(per_thread)
            .map(|start| {
                let keys = &keys;
                let end = (start + per_thread).min(args.entries);
                scope.spawn(move || {
                    (start..end)
                        .map(|i| sign_entry(i, &keys[i % keys.len()]))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("signing thread"))
            .collect()
    });
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
                sigstack_bench_support::bench_signer(
                    "rekor-v1",
                    sigstack_keys::Algorithm::EcdsaP256Sha256,
                ),
                sigstack_bench_support::bench_signer("rekor-v2", sigstack_keys::Algorithm::Ed25519),
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

    let bodies: Arc<Vec<Bytes>> = Arc::new(bodies.into_iter().map(Bytes::from).collect());
    let next = Arc::new(AtomicUsize::new(0));
    let target = Arc::new(Target::parse(&endpoint)?);
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let cpu_before = process_cpu();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency {
        let (bodies, next, target) = (bodies.clone(), next.clone(), target.clone());
        let record = args.record.is_some();
        tasks.push(tokio::spawn(async move {
            // One keep-alive connection per task, straight on hyper: the client shares the
            // machine with the server, so it should cost as little as it can.
            let mut sender = target.connect().await?;
            let mut latencies = Vec::new();
            let mut acks = Vec::new();
            let mut failures = 0usize;
            while Instant::now() < deadline {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(i) else { break };
                let t = Instant::now();
                if sender.ready().await.is_err() {
                    sender = target.connect().await?;
                }
                let ok = match sender.send_request(target.request(body.clone())).await {
                    Ok(r) if r.status() == hyper::StatusCode::CREATED => {
                        match r.into_body().collect().await.map(|b| b.to_bytes()) {
                            Ok(b) if has_proof(&b) => {
                                acks.push((started.elapsed(), record.then_some(b)));
                                true
                            }
                            _ => false,
                        }
                    }
                    Ok(r) => {
                        // Read the refusal so the connection stays usable.
                        let _ = r.into_body().collect().await;
                        false
                    }
                    Err(_) => false,
                };
                if ok {
                    latencies.push(t.elapsed());
                } else {
                    failures += 1;
                }
            }
            anyhow::Ok((latencies, acks, failures))
        }));
    }
    let mut latencies = Vec::new();
    let mut acks = Vec::new();
    let mut failures = 0;
    for t in tasks {
        let (l, a, f) = t.await.context("load task")??;
        latencies.extend(l);
        acks.extend(a);
        failures += f;
    }
    acks.sort_by_key(|(at, _)| *at);
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = process_cpu()
        .zip(cpu_before)
        .map(|(a, b)| a.saturating_sub(b));
    latencies.sort();
    println!(
        "rekor v1 hashedrekord ({backend}, {} keys): {} entries in {elapsed:.1}s = {:.0} entries/s, p50 {:.1} ms, p99 {:.1} ms, concurrency {}, failures {failures} (every success carried SET + inclusion proof + checkpoint)",
        sigstack_bench_support::bench_keys_label(),
        latencies.len(),
        latencies.len() as f64 / elapsed,
        percentile_ms(&latencies, 0.50),
        percentile_ms(&latencies, 0.99),
        args.concurrency,
    );
    if let Some(cpu) = cpu {
        // On a shared machine throughput is noisy; the CPU spent per entry (client and, when
        // in-process, server; the database not included) is the steadier figure.
        println!(
            "cpu of this process: {:.2}s = {:.0} µs per entry",
            cpu.as_secs_f64(),
            cpu.as_secs_f64() * 1e6 / latencies.len().max(1) as f64
        );
    }
    // The longest time without an acknowledgement: the write gap of a database failover.
    if let Some((gap, after)) = acks
        .windows(2)
        .map(|w| (w[1].0 - w[0].0, w[0].0))
        .max_by_key(|(gap, _)| *gap)
    {
        println!(
            "longest gap between acknowledgements: {:.2}s (from {:.2}s into the run)",
            gap.as_secs_f64(),
            after.as_secs_f64()
        );
    }
    if let Some(path) = &args.record {
        write_record(path, &acks)?;
    }
    anyhow::ensure!(
        failures == 0 || args.allow_failures,
        "{failures} requests failed"
    );
    Ok(())
}

/// One line per acknowledged entry (see `--record`), in the order they were acknowledged.
fn write_record(path: &std::path::Path, acks: &[(Duration, Option<Bytes>)]) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
    );
    for (at, body) in acks {
        let Some(body) = body else { continue };
        let answer: std::collections::HashMap<String, serde_json::Value> =
            serde_json::from_slice(body).context("an acknowledged entry's JSON")?;
        for (uuid, entry) in answer {
            let proof = &entry["verification"]["inclusionProof"];
            let line = serde_json::json!({
                "ms": at.as_millis() as u64,
                "uuid": uuid,
                "index": entry["logIndex"],
                "tree_size": proof["treeSize"],
                "root_hash": proof["rootHash"],
            });
            writeln!(out, "{line}")?;
        }
    }
    out.flush()?;
    Ok(())
}

/// Where the entries go: a plain-HTTP endpoint.
struct Target {
    /// `host:port`, to connect to and to send as `Host`.
    authority: String,
    path: String,
}

impl Target {
    fn parse(url: &str) -> anyhow::Result<Self> {
        let rest = url
            .strip_prefix("http://")
            .context("the load generator speaks plain http:// only")?;
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        Ok(Self {
            authority: authority.to_string(),
            path: if path.is_empty() { "/" } else { path }.to_string(),
        })
    }

    async fn connect(&self) -> anyhow::Result<SendRequest<Full<Bytes>>> {
        let stream = tokio::net::TcpStream::connect(&self.authority)
            .await
            .with_context(|| format!("connecting to {}", self.authority))?;
        stream.set_nodelay(true)?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        Ok(sender)
    }

    fn request(&self, body: Bytes) -> hyper::Request<Full<Bytes>> {
        hyper::Request::post(&self.path)
            .header(hyper::header::HOST, &self.authority)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(body))
            .expect("a valid request")
    }
}

/// CPU time (user + system) of this process so far, where `/proc` tells it (Linux).
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) : state is field 3, utime 14, stime 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux platform Rust supports.
    Some(Duration::from_millis(ticks * 10))
}

/// One pre-signed `hashedrekord` request body.
fn sign_entry(i: usize, (key, pem_b64): &(sigstack_keys::SoftwareKey, String)) -> Vec<u8> {
    let artifact = format!("loadgen artifact {i} {}", rand::random::<u64>());
    // ECDSA P-256 over SHA-256 of the artifact: the signature hashedrekord verifies over its
    // digest.
    let sig = key.sign(artifact.as_bytes()).expect("signing");
    serde_json::to_vec(&serde_json::json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(artifact.as_bytes()))}},
            "signature": {"content": B64.encode(sig), "publicKey": {"content": pem_b64}}
        }
    }))
    .expect("JSON")
}

/// The parts of a `LogEntry` the load generator checks; the rest is skipped unparsed.
#[derive(Deserialize)]
struct Checked {
    #[serde(rename = "verification")]
    _verification: CheckedVerification,
}

#[derive(Deserialize)]
struct CheckedVerification {
    #[serde(rename = "signedEntryTimestamp")]
    _set: String,
    #[serde(rename = "inclusionProof")]
    _proof: CheckedProof,
}

#[derive(Deserialize)]
struct CheckedProof {
    #[serde(rename = "hashes")]
    _hashes: Vec<IgnoredAny>,
    #[serde(rename = "checkpoint")]
    _checkpoint: String,
}

/// A response `{id: entry}` whose entry carries a SET (a string), an inclusion proof (an array
/// of hashes) and a checkpoint (a string).
fn has_proof(body: &[u8]) -> bool {
    serde_json::from_slice::<std::collections::HashMap<String, Checked>>(body)
        .is_ok_and(|m| m.len() == 1)
}
