//! Load generator for RFC 6962 CT logs: `add-pre-chain` requests per second over real HTTP,
//! every answer checked to be an SCT.
//!
//! ```text
//! # ours, in-process on a fresh database (PostgreSQL when SIGSTACK_TEST_DATABASE_URL is set):
//! cargo run --release -p sigstack-ctlog --features loadgen --bin ct-loadgen -- run
//! # any RFC 6962 log: make a root and precertificate chains, add the root to the log's roots,
//! # then load it
//! ct-loadgen make --out /tmp/ct-load --count 60000
//! ct-loadgen run --url http://127.0.0.1:6962 --chains /tmp/ct-load
//! ```
//!
//! The precertificates are made before the clock starts (signing them is the CA's work, not
//! the log's); the log's chain verification, sequencing and SCT signature are measured.

use anyhow::Context;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use clap::{Parser, Subcommand};
use ctlog::{CtLog, CtLogConfig};
use rcgen::{BasicConstraints, CertificateParams, CustomExtension, DnType, IsCa, KeyPair};
use sigstack_bench_support::{load, BenchDatabase};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tlog_store::{LogStore, SqlStore};

// The allocator `sigstack` itself runs with, so the in-process log is measured as deployed.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ROOT_FILE: &str = "root.pem";
const CHAINS_FILE: &str = "chains.jsonl";

#[derive(Parser)]
#[command(about = "add-pre-chain load generator for RFC 6962 CT logs")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Make a root CA and precertificate chains for a log that is to accept that root.
    Make {
        /// Directory for `root.pem` (add it to the log's roots) and `chains.jsonl`.
        #[arg(long)]
        out: PathBuf,
        /// How many precertificates.
        #[arg(long, default_value_t = 60_000)]
        count: usize,
        /// How long the precertificates stay valid, in hours (a log with temporal shards
        /// accepts only those whose expiry falls in one of its windows).
        #[arg(long, default_value_t = 24)]
        valid_hours: i64,
    },
    /// Send `add-pre-chain` requests for a while and report.
    Run {
        /// A running CT log (its base URL, without `/ct/v1`); without it, ours is started
        /// in-process on a fresh database.
        #[arg(long)]
        url: Option<String>,
        /// A directory written by `make`; without it, chains are made now.
        #[arg(long)]
        chains: Option<PathBuf>,
        /// Precertificates to make when no `--chains` is given (the run stops early when they
        /// are used up).
        #[arg(long, default_value_t = 60_000)]
        count: usize,
        /// How long to send, in seconds.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Requests in flight.
        #[arg(long, default_value_t = 128)]
        concurrency: usize,
        /// Batching window of the in-process log's sequencer, in milliseconds.
        #[arg(long)]
        max_delay_ms: Option<u64>,
        /// Also print the run's share of the crypto bound: the cores divided by one P-256
        /// verification (the precertificate's) and one signature (the SCT) per request.
        #[arg(long)]
        crypto_bound: bool,
    },
}

/// A root and the request bodies of precertificates it issued.
struct Chains {
    root_der: Vec<u8>,
    bodies: Vec<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Make {
            out,
            count,
            valid_hours,
        } => {
            let chains = make_chains(count, valid_hours);
            write_chains(&out, &chains)?;
            eprintln!(
                "wrote {}/{ROOT_FILE} and {count} chains to {}/{CHAINS_FILE}",
                out.display(),
                out.display()
            );
            Ok(())
        }
        Command::Run {
            url,
            chains,
            count,
            seconds,
            concurrency,
            max_delay_ms,
            crypto_bound,
        } => {
            let chains = match chains {
                Some(dir) => read_chains(&dir)?,
                None => make_chains(count, 1),
            };
            // Keep the database alive for the run.
            let mut database = None;
            let (base, backend) = match url {
                Some(url) => (url.trim_end_matches('/').to_owned(), "external".to_owned()),
                None => {
                    let db = BenchDatabase::fresh("sigstack_bench_ct").await;
                    let backend = db.backend().to_string();
                    let base =
                        serve_in_process(&db.url, chains.root_der.clone(), max_delay_ms).await?;
                    database = Some(db);
                    (base, backend)
                }
            };
            let target = load::Target::parse(&format!("{base}/ct/v1/add-pre-chain"))
                .map_err(anyhow::Error::msg)?;
            let requests = chains.bodies.into_iter().map(load::Request::json).collect();
            let report = load::run(
                &target,
                Arc::new(requests),
                concurrency,
                Duration::from_secs(seconds),
                is_sct,
                false,
                database.as_ref(),
            )
            .await;
            let per_second = report.per_second();
            println!(
                "add-pre-chain ({backend}): {} SCTs in {:.1}s = {per_second:.0} req/s, p50 {:.1} ms, p99 {:.1} ms, concurrency {concurrency}, failures {}",
                report.latencies.len(),
                report.elapsed.as_secs_f64(),
                report.p(0.50),
                report.p(0.99),
                report.failures,
            );
            // Each request: the precertificate's signature verified, the SCT signed.
            for line in report.cost_lines("request", crypto_bound.then_some((1, 1))) {
                println!("{line}");
            }
            if let Some(why) = &report.first_failure {
                anyhow::bail!("{} requests failed; the first: {why}", report.failures);
            }
            Ok(())
        }
    }
}

/// An answer counts when it is 200 with an SCT's fields.
fn is_sct(status: u16, body: &[u8]) -> bool {
    status == 200 && serde_json::from_slice::<ct::SctJson>(body).is_ok()
}

/// A self-signed root and `count` precertificates (the CT poison extension, distinct serials
/// and subjects) it issued, valid for `valid_hours` from a minute ago; made on every core.
fn make_chains(count: usize, valid_hours: i64) -> Chains {
    let made = Instant::now();
    let root_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("P-256 key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params
        .distinguished_name
        .push(DnType::CommonName, "ct-loadgen root");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + time::Duration::days(365);
    let root = params.self_signed(&root_key).expect("root");
    let root_b64 = B64.encode(root.der());
    let leaf_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("P-256 key");
    // A random high half makes the serials of one `make` distinct from another's.
    let run: u64 = rand::random::<u32>().into();
    let bodies: Vec<String> = load::make_on_every_core(count, |i| {
        let serial = (run << 32) | (i as u64 + 1);
        let mut p =
            CertificateParams::new(vec![format!("user{serial}@example.com")]).expect("params");
        p.serial_number = Some(rcgen::SerialNumber::from(serial.to_be_bytes().to_vec()));
        p.not_before = now - time::Duration::minutes(1);
        p.not_after = now + time::Duration::hours(valid_hours);
        let mut poison =
            CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 11129, 2, 4, 3], vec![5, 0]);
        poison.set_criticality(true);
        p.custom_extensions = vec![poison];
        let der = p
            .signed_by(&leaf_key, &root, &root_key)
            .expect("precertificate")
            .der()
            .to_vec();
        format!(r#"{{"chain":["{}","{root_b64}"]}}"#, B64.encode(der))
    });
    eprintln!(
        "made {count} precertificates in {:.1}s",
        made.elapsed().as_secs_f64()
    );
    Chains {
        root_der: root.der().to_vec(),
        bodies,
    }
}

fn write_chains(dir: &Path, chains: &Chains) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let pem =
        pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, &chains.root_der)
            .map_err(|e| anyhow::anyhow!("PEM: {e}"))?;
    std::fs::write(dir.join(ROOT_FILE), pem)?;
    let mut out = std::io::BufWriter::new(std::fs::File::create(dir.join(CHAINS_FILE))?);
    for body in &chains.bodies {
        writeln!(out, "{body}")?;
    }
    out.flush()?;
    Ok(())
}

fn read_chains(dir: &Path) -> anyhow::Result<Chains> {
    let pem = std::fs::read_to_string(dir.join(ROOT_FILE))
        .with_context(|| format!("reading {}/{ROOT_FILE}", dir.display()))?;
    let (_, root_der) = pem_rfc7468::decode_vec(pem.as_bytes())
        .map_err(|e| anyhow::anyhow!("{}/{ROOT_FILE}: {e}", dir.display()))?;
    let file = std::fs::File::open(dir.join(CHAINS_FILE))
        .with_context(|| format!("reading {}/{CHAINS_FILE}", dir.display()))?;
    let bodies = std::io::BufReader::new(file)
        .lines()
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Chains { root_der, bodies })
}

/// Our CT log on `db_url`, accepting `root`, served on a loopback port: its base URL.
async fn serve_in_process(
    db_url: &str,
    root: Vec<u8>,
    max_delay_ms: Option<u64>,
) -> anyhow::Result<String> {
    let store: Arc<dyn LogStore> = Arc::new(SqlStore::connect(db_url).await?);
    let key =
        sigstack_bench_support::bench_signer("ctlog", sigstack_keys::Algorithm::EcdsaP256Sha256);
    let mut config = CtLogConfig::new("bench.example/ct", key, vec![root]);
    if let Some(ms) = max_delay_ms {
        config.log_options.sequencer.max_delay = Duration::from_millis(ms);
    }
    let log = CtLog::open(store, config).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, ctlog::router(log)).await });
    Ok(base)
}
