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
//!
//! With `--grown N` it measures what a large log costs Rekor's writers: windows on a log
//! grown to `N` entries, each paired with one on a fresh empty log ([`grown`]).

mod grown;

use anyhow::Context;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use clap::Parser;
use serde::de::IgnoredAny;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use sigstack_bench_support::{load, BenchDatabase};
use sigstack_keys::Signer as _;
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
    /// Requests in flight (a closed loop: the clients waiting on a round leave the cores idle
    /// while it commits, so a faster machine needs more; 256 filled the 2-core machines of
    /// earlier runs, 384 a faster one; see docs/performance.md).
    #[arg(long, default_value_t = 256)]
    concurrency: usize,
    /// Entries to pre-sign (the run stops early when they are used up).
    #[arg(long, default_value_t = 100_000)]
    entries: usize,
    /// Batching window of the in-process Rekor's sequencer, in milliseconds.
    #[arg(long)]
    max_delay_ms: Option<u64>,
    /// Also print the run's share of the crypto bound: the cores divided by one P-256
    /// verification and one signature per entry (`openssl speed ecdsap256`, same run).
    #[arg(long)]
    crypto_bound: bool,
    /// Writes one JSON line per acknowledged entry to this file: `ms` (since the start),
    /// `uuid`, `index`, and the `tree_size` and `root_hash` of its inclusion proof. For checks
    /// that every acknowledged entry is in the log afterwards (scripts/interop/pg_failover.sh).
    #[arg(long)]
    record: Option<std::path::PathBuf>,
    /// Exits with success even when requests failed (during a database failover some fail by
    /// design); the failures are still counted and printed.
    #[arg(long)]
    allow_failures: bool,
    /// Tree sizes, comma-separated: grows one log to each in turn (synthetic entries appended
    /// through the active shard's sequencer and store, shaped as hashedrekord's: deduplicated
    /// by leaf hash, filed under a key and an artifact digest) and at each measures pairs of
    /// windows, one on a fresh empty log, then one on the grown log, each of `--seconds` with
    /// `--entries` new entries. Prints each pair and the median of the grown log's rate as a
    /// share of the empty log's.
    #[arg(long, value_delimiter = ',', conflicts_with_all = ["url", "record"])]
    grown: Vec<u64>,
    /// Pairs of windows with `--grown`.
    #[arg(long, default_value_t = 3, requires = "grown")]
    pairs: usize,
    /// Concurrent appending tasks growing the log for `--grown`.
    #[arg(long, default_value_t = 4096, requires = "grown")]
    fill_concurrency: usize,
    /// Payload bytes of the synthetic entries growing the log for `--grown` (as
    /// `tlog-loadgen grow`'s).
    #[arg(long, default_value_t = 128, requires = "grown")]
    fill_payload_bytes: usize,
}

/// A signing key of the entries, and its public key's PEM in base64 as hashedrekord carries it.
type EntryKey = (sigstack_keys::SoftwareKey, String);

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
    let keys: Vec<EntryKey> = (0..16)
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
    if !args.grown.is_empty() {
        return grown::run(&args, &args.grown, &keys).await;
    }
    let bodies = sign_entries(args.entries, &keys);
    eprintln!(
        "signed {} entries in {:.1}s",
        bodies.len(),
        made.elapsed().as_secs_f64()
    );

    // Keep the database, and the service on it, alive for the run.
    let mut database = None;
    let mut in_process = None;
    let (endpoint, backend) = match &args.url {
        Some(url) => (
            format!("{}/api/v1/log/entries", url.trim_end_matches('/')),
            "external".to_string(),
        ),
        None => {
            let db = BenchDatabase::fresh("sigstack_bench_rekor").await;
            let backend = db.backend().to_string();
            let served = InProcess::start(&db, &ServiceKeys::new(), args.max_delay_ms).await?;
            database = Some(db);
            let endpoint = served.endpoint.clone();
            in_process = Some(served);
            (endpoint, backend)
        }
    };

    let requests: Vec<load::Request> = bodies.into_iter().map(load::Request::json).collect();
    let target = load::Target::parse(&endpoint).map_err(anyhow::Error::msg)?;
    let report = load::run(
        &target,
        Arc::new(requests),
        args.concurrency,
        Duration::from_secs(args.seconds),
        |status, body| status == 201 && has_proof(body),
        args.record.is_some(),
        database.as_ref(),
    )
    .await;
    let per_second = report.per_second();
    println!(
        "rekor v1 hashedrekord ({backend}, {} keys): {} entries in {:.1}s = {per_second:.0} entries/s, p50 {:.1} ms, p99 {:.1} ms, concurrency {}, failures {} (every success carried SET + inclusion proof + checkpoint)",
        sigstack_bench_support::bench_keys_label(),
        report.latencies.len(),
        report.elapsed.as_secs_f64(),
        report.p(0.50),
        report.p(0.99),
        args.concurrency,
        report.failures,
    );
    for line in report.cost_lines("entry", args.crypto_bound.then_some((1, 1))) {
        println!("{line}");
    }
    if let Some((gap, after)) = report.longest_gap() {
        println!(
            "longest gap between acknowledgements: {:.2}s (from {:.2}s into the run)",
            gap.as_secs_f64(),
            after.as_secs_f64()
        );
    }
    if let Some(path) = &args.record {
        write_record(path, &report.acks)?;
    }
    if let Some(why) = &report.first_failure {
        if args.allow_failures {
            println!("{} requests failed; the first: {why}", report.failures);
        } else {
            anyhow::bail!("{} requests failed; the first: {why}", report.failures);
        }
    }
    drop(in_process);
    Ok(())
}

/// The in-process Rekor's signing keys: the same for every instance of a run.
struct ServiceKeys {
    v1: Arc<dyn sigstack_keys::Signer>,
    v2: Arc<dyn sigstack_keys::Signer>,
}

impl ServiceKeys {
    fn new() -> Self {
        Self {
            v1: sigstack_bench_support::bench_signer(
                "rekor-v1",
                sigstack_keys::Algorithm::EcdsaP256Sha256,
            ),
            v2: sigstack_bench_support::bench_signer("rekor-v2", sigstack_keys::Algorithm::Ed25519),
        }
    }
}

/// Rekor serving in this process on loopback, until dropped.
struct InProcess {
    rekor: Arc<rekor::Rekor>,
    /// Where entries are posted.
    endpoint: String,
    server: tokio::task::JoinHandle<()>,
}

impl InProcess {
    /// Opens Rekor on `database` (a new shard when it has none) and serves it.
    async fn start(
        database: &BenchDatabase,
        keys: &ServiceKeys,
        max_delay_ms: Option<u64>,
    ) -> anyhow::Result<Self> {
        let store: Arc<dyn tlog_store::LogStore> =
            Arc::new(tlog_store::SqlStore::connect(&database.url).await?);
        let mut config = rekor::RekorConfig::new(
            keys.v1.clone(),
            keys.v2.clone(),
            "rekor.bench.example",
            "rekor.bench.example",
            rekor::ShardLayout::new_random(),
        );
        if let Some(ms) = max_delay_ms {
            config.log_options.sequencer.max_delay = Duration::from_millis(ms);
        }
        let rekor = rekor::Rekor::open(store, config).await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let endpoint = format!("http://{}/api/v1/log/entries", listener.local_addr()?);
        let router = rekor::router(rekor.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(Self {
            rekor,
            endpoint,
            server,
        })
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// `count` pre-signed hashedrekord request bodies, spread over the keys.
fn sign_entries(count: usize, keys: &[EntryKey]) -> Vec<Vec<u8>> {
    load::make_on_every_core(count, |i| sign_entry(i, &keys[i % keys.len()]))
}

/// One line per acknowledged entry (see `--record`), in the order they were acknowledged.
fn write_record(path: &std::path::Path, acks: &[load::Acknowledged]) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
    );
    for load::Acknowledged { at, body } in acks {
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

/// One pre-signed `hashedrekord` request body.
fn sign_entry(i: usize, (key, pem_b64): &EntryKey) -> Vec<u8> {
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
