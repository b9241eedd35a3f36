//! Load generator for the tlog sequencer, and the child process of the crash and two-process
//! tests.
//!
//! `tlog-loadgen --url URL --key FILE append --count N --concurrency C` appends N distinct
//! entries from C concurrent tasks and prints one JSON line per acknowledged append (index,
//! payload, and the head it was acknowledged under), flushing each line, so that a test that
//! kills the process knows exactly what was acknowledged.
//!
//! `tlog-loadgen --url URL --key FILE bench --seconds S --concurrency C` appends for S seconds
//! and prints throughput and latency percentiles (the figures in docs/performance.md).
//!
//! `tlog-loadgen --url URL --key FILE grow --at 1000000,5000000,20000000` grows the log to each
//! size and reports throughput, proof and search latency and the database's bytes per entry
//! and per index at each, extrapolated to a billion entries (see `grow.rs`).

mod grow;

use anyhow::Context;
use base64::Engine;
use clap::{Parser, Subcommand};
use sigstack_keys::{Algorithm, SoftwareKey};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tlog::note::NoteSigner;
use tlog_store::{
    Log, LogOptions, LogStore, NoteCheckpointSigner, PlainEntries, SequencerConfig, SqlStore,
    Submission,
};

#[derive(Parser)]
#[command(about = "Append load generator for tlog-store (benchmarks and crash tests)")]
struct Cli {
    /// Database URL: postgres://… or sqlite://FILE.
    #[arg(long)]
    url: String,
    /// Ed25519 checkpoint key (PKCS#8 PEM), created if missing.
    #[arg(long)]
    key: PathBuf,
    /// Log origin.
    #[arg(long, default_value = "loadgen.example/log")]
    origin: String,
    /// Most entries per integration round.
    #[arg(long, default_value_t = tlog_store::DEFAULT_MAX_BATCH)]
    max_batch: usize,
    /// Batching window in milliseconds.
    #[arg(long, default_value_t = tlog_store::DEFAULT_MAX_DELAY.as_millis() as u64)]
    max_delay_ms: u64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Append entries and print every acknowledgement as a JSON line.
    Append {
        /// How many entries (0 = until killed).
        #[arg(long, default_value_t = 0)]
        count: u64,
        /// Concurrent appending tasks.
        #[arg(long, default_value_t = 64)]
        concurrency: u64,
        /// Prefix making this process's payloads distinct from another's.
        #[arg(long, default_value = "p")]
        tag: String,
    },
    /// Append for a while and report throughput and latency.
    Bench {
        /// Duration of the measurement.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Concurrent appending tasks.
        #[arg(long, default_value_t = 2048)]
        concurrency: u64,
        /// Payload size in bytes.
        #[arg(long, default_value_t = 128)]
        payload_bytes: usize,
    },
    /// Grow the log to each of the given sizes, measuring at each (start on a fresh database).
    Grow {
        /// Tree sizes at which to measure, comma-separated.
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "1000000,5000000,20000000"
        )]
        at: Vec<u64>,
        /// Concurrent appending tasks.
        #[arg(long, default_value_t = 4096)]
        concurrency: u64,
        /// Payload size in bytes.
        #[arg(long, default_value_t = 128)]
        payload_bytes: usize,
        /// Proofs and lookups timed at each size.
        #[arg(long, default_value_t = 2000)]
        samples: usize,
        /// Length of the append-throughput window at each size (and on the empty log).
        #[arg(long, default_value_t = 10)]
        window_seconds: u64,
        /// Pairs of append windows at each size after the first window: one on a fresh empty
        /// log (a new database on the same server, removed afterwards), then one on the grown
        /// log. The median of the pairs' ratios is the growth's cost, free of the machine's
        /// drift between the run's start and each size.
        #[arg(long, default_value_t = 3)]
        pairs: usize,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let store: Arc<dyn LogStore> = Arc::new(
        SqlStore::connect(&cli.url)
            .await
            .context("connecting to the store")?,
    );
    let key = SoftwareKey::load_or_generate(&cli.key, Algorithm::Ed25519)?;
    let note_signer =
        NoteSigner::ed25519(&cli.origin, Arc::new(key)).map_err(|e| anyhow::anyhow!("{e}"))?;
    let signer = Arc::new(NoteCheckpointSigner::new(vec![note_signer]));
    let options = LogOptions {
        sequencer: SequencerConfig {
            max_batch: cli.max_batch,
            max_delay: Duration::from_millis(cli.max_delay_ms),
            ..SequencerConfig::default()
        },
        ..LogOptions::default()
    };
    let log = Log::open_or_create(
        store,
        &cli.origin,
        Arc::new(PlainEntries),
        signer.clone(),
        options.clone(),
    )
    .await?;
    match cli.command {
        Command::Append {
            count,
            concurrency,
            tag,
        } => append(log, count, concurrency, tag).await,
        Command::Bench {
            seconds,
            concurrency,
            payload_bytes,
        } => bench(log, seconds, concurrency, payload_bytes).await,
        Command::Grow {
            at,
            concurrency,
            payload_bytes,
            samples,
            window_seconds,
            pairs,
        } => {
            let args = grow::GrowArgs {
                url: cli.url.clone(),
                milestones: at,
                concurrency,
                payload_bytes,
                samples,
                window: Duration::from_secs(window_seconds),
                pairs,
                opener: grow::LogOpener {
                    origin: cli.origin.clone(),
                    signer,
                    options,
                },
            };
            grow::grow(log, args).await
        }
    }
}

async fn append(log: Log, count: u64, concurrency: u64, tag: String) -> anyhow::Result<()> {
    let next = Arc::new(AtomicU64::new(0));
    let stdout = Arc::new(std::sync::Mutex::new(std::io::stdout()));
    let pid = std::process::id();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (log, next, stdout, tag) = (log.clone(), next.clone(), stdout.clone(), tag.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if count != 0 && n >= count {
                    return Ok::<(), anyhow::Error>(());
                }
                let payload = format!("{tag}-{pid}-{n}").into_bytes();
                let ack = match log.append(Submission::by_leaf_hash(payload.clone())).await {
                    Ok(ack) => ack,
                    Err(tlog_store::AppendError::Pushback) => {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        continue;
                    }
                    Err(e) => return Err(e.into()),
                };
                let line = serde_json::json!({
                    "index": ack.entry.index,
                    "payload": hex::encode(&payload),
                    "duplicate": ack.duplicate,
                    "size": ack.head.size,
                    "root": hex::encode(ack.head.root),
                    "checkpoint": base64::engine::general_purpose::STANDARD.encode(&ack.head.checkpoint),
                    "proof": ack.inclusion_proof.iter().map(hex::encode).collect::<Vec<_>>(),
                });
                let mut out = stdout.lock().expect("stdout lock");
                writeln!(out, "{line}")?;
                out.flush()?;
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}

async fn bench(
    log: Log,
    seconds: u64,
    concurrency: u64,
    payload_bytes: usize,
) -> anyhow::Result<()> {
    let start_size = log.head().await?.size;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let counter = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..concurrency {
        let (log, counter) = (log.clone(), counter.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut payload = vec![0u8; payload_bytes.max(16)];
            let mut rng_state = rand::random::<u64>() ^ t;
            while Instant::now() < deadline {
                rng_state = rng_state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                payload[..8].copy_from_slice(&rng_state.to_le_bytes());
                payload[8..16]
                    .copy_from_slice(&counter.fetch_add(1, Ordering::Relaxed).to_le_bytes());
                let t0 = Instant::now();
                match log.append(Submission::by_leaf_hash(payload.clone())).await {
                    Ok(_) => latencies.push(t0.elapsed()),
                    Err(tlog_store::AppendError::Pushback) => {
                        tokio::time::sleep(Duration::from_millis(2)).await
                    }
                    Err(e) => return Err(anyhow::Error::from(e)),
                }
            }
            Ok(latencies)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    let end_size = log.head().await?.size;
    println!(
        "{{\"appends\": {}, \"seconds\": {:.2}, \"appends_per_sec\": {:.0}, \"p50_ms\": {:.1}, \"p99_ms\": {:.1}, \"max_ms\": {:.1}, \"tree_size_before\": {}, \"tree_size_after\": {}}}",
        all.len(),
        elapsed,
        all.len() as f64 / elapsed,
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        all.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        start_size,
        end_size
    );
    Ok(())
}
