//! `sigstack`: one binary for the whole stack. Each service is a subcommand; `sigstack up` runs
//! them all on one machine with zero configuration.

mod ca_cmd;
mod datadir;
mod explorer_cmd;
mod keys_cmd;
mod lab_cmd;
mod metrics_args;
mod monitor_cmd;
mod public_url;
mod rekor_cmd;
mod rotate_cmd;
mod serve;
mod services;
mod tls;
mod trust_cmd;
mod tsa_cmd;
mod tuf_cmd;
mod up;
mod up_witness;
mod witness_cmd;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tlog_store::SqlStore;

/// A self-hostable Sigstore: your own CA, transparency logs, timestamp authority and TUF root.
#[derive(Parser)]
#[command(
    name = "sigstack",
    version = concat!(env!("CARGO_PKG_VERSION"), " (git ", env!("SIGSTACK_GIT_REVISION"), ")"),
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log lines as text (coloured only on a terminal) or as JSON, one object per line.
    #[arg(long, global = true, env = "SIGSTACK_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// How long a service may take, after SIGTERM or SIGINT, to finish the requests in flight.
    #[arg(long, global = true, env = "SIGSTACK_SHUTDOWN_GRACE", default_value = "30s", value_parser = humantime::parse_duration)]
    shutdown_grace: std::time::Duration,
    #[command(flatten)]
    keys: keys_cmd::KeyPolicyArgs,
}

/// The format of log lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    /// Human-readable lines, with ANSI colours only when standard output is a terminal.
    Text,
    /// One JSON object per line: timestamp, level, target, message, fields, and the request span.
    Json,
}

/// Installs the log subscriber: `RUST_LOG` filters (default `info`), `format` shapes. Commands
/// whose standard output is data (the monitor's findings) log to standard error.
fn init_logging(format: LogFormat, to_stderr: bool) {
    use std::io::IsTerminal as _;
    use tracing_subscriber::fmt::writer::BoxMakeWriter;
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let (writer, terminal) = if to_stderr {
        (
            BoxMakeWriter::new(std::io::stderr),
            std::io::stderr().is_terminal(),
        )
    } else {
        (
            BoxMakeWriter::new(std::io::stdout),
            std::io::stdout().is_terminal(),
        )
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    match format {
        LogFormat::Text => builder.with_ansi(terminal).init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole stack on this machine (embedded SQLite unless --database-url is given).
    ///
    /// The first start creates the data directory, its keys and its logs; later starts reuse
    /// them. Only one `up` may run per data directory. It runs the development OIDC issuer, the
    /// CT log, the CA, Rekor (v1 and v2), the timestamp authority and the TUF repository, and
    /// writes the trust files every client needs.
    Up(up::UpArgs),
    /// Run the RFC 6962 Certificate Transparency log (and its static-ct-api read path).
    Ctlog(services::CtlogArgs),
    /// Run the Fulcio-style CA: OIDC identity token in, 10-minute code-signing certificate out,
    /// logged in the CT log first.
    Fulcio(services::FulcioArgs),
    /// Run the Rekor-compatible signature transparency log (v1 and v2 APIs).
    Rekor(rekor_cmd::RekorArgs),
    /// Run the DEVELOPMENT OpenID issuer alone (tokens for any email; `up` runs it itself).
    DevIssuer(trust_cmd::DevIssuerArgs),
    /// Print an ID token for EMAIL from the DEVELOPMENT issuer of a running `sigstack up`.
    Token(trust_cmd::TokenArgs),
    /// Export what clients need to trust this instance (see `sigstack trust export --help`).
    Trust(trust_cmd::TrustArgs),
    /// Run the RFC 3161 timestamp authority.
    Tsa(tsa_cmd::Args),
    /// Run a C2SP tlog-witness: cosign the checkpoints of the logs a configuration file names,
    /// after checking each is signed by its log and consistent with the last one cosigned.
    Witness(witness_cmd::Args),
    /// Run the log explorer: a read-only web interface to search, read and verify (in the
    /// browser) the entries of the Rekor v1 and v2 logs and the CT log.
    Explorer(explorer_cmd::Args),
    /// Follow Rekor v2 and CT logs: verify every checkpoint and its consistency with the last,
    /// check every new entry against a watch list (rekor-monitor's YAML), compare with the
    /// witnesses' cosigned checkpoints; findings as JSON lines (see docs/monitor.md).
    Monitor(monitor_cmd::Args),
    /// Run a Rekor v2 log that misbehaves on purpose under a fault plan, in front of a real
    /// one: split view, dropped or rewritten entries, wrong proofs, roll-back, a key outside
    /// the trust root (see docs/lab.md).
    Lab(lab_cmd::Args),
    /// The TUF repository: offline root ceremony, online signing, serving and static export.
    Tuf(tuf_cmd::Args),
    /// Create the Fulcio CA and the TSA chain before the services start (idempotent).
    Ca(ca_cmd::CaArgs),
    /// Keys in a PKCS#11 token or an encrypted file: generate, encrypt, show the public key.
    Keys(keys_cmd::KeysArgs),
    /// Retire keys (the CA, the CT log, Rekor v1 or v2, the TSA) so that the next start makes
    /// new ones and publishes them through TUF, the old ones kept with their windows closed.
    Rotate(rotate_cmd::RotateArgs),
    /// Apply the database schema and exit (services also do this at start-up).
    Migrate {
        /// Database URL: postgres://USER@HOST/DB or sqlite://FILE.
        #[arg(long, env = "SIGSTACK_DATABASE_URL")]
        database_url: String,
    },
}

// mimalloc rather than the system allocator: every request allocates a few dozen small buffers
// (JSON, base64, hex, proofs), where glibc's malloc is slow (figures: docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How long the end of the process waits for the logs' sequencers to finish their last round.
const SEQUENCERS_STOP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let result = runtime.block_on(run());
    // Every task, and every key it held, dropped before the PKCS#11 modules are finalised: a
    // module left initialised tore itself down at exit after OpenSSL had, and crashed (see
    // `finalize_modules`).
    drop(runtime);
    if !sigstack_keys::pkcs11::modules_loaded() {
        return result;
    }
    // The logs' sequencers run on a runtime of their own (tlog_store), and drop their
    // checkpoint keys only once they have stopped, which dropping the runtime above set off.
    if tlog_store::wait_for_sequencers(SEQUENCERS_STOP_TIMEOUT) {
        sigstack_keys::pkcs11::finalize_modules();
    } else {
        // Finalising a module under a key still in use crashes it; left initialised, it tears
        // itself down at exit, which crashed only now and then.
        tracing::warn!("a log's sequencer did not stop in time; PKCS#11 modules left to exit");
    }
    result
}

async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // One TLS provider for the whole process, the one sqlx and the listeners name: reqwest
    // takes the process default, and falls back to ring without one.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    init_logging(cli.log_format, matches!(cli.command, Command::Monitor(_)));
    keys_cmd::init_policy(&cli.keys)?;
    let grace = cli.shutdown_grace;
    match cli.command {
        Command::Up(args) => up::run(args, grace).await,
        Command::Ctlog(args) => services::run_ctlog(args, grace).await,
        Command::Fulcio(args) => services::run_fulcio(args, grace).await,
        Command::Rekor(args) => rekor_cmd::run(args, grace).await,
        Command::DevIssuer(args) => trust_cmd::dev_issuer(args, grace).await,
        Command::Token(args) => trust_cmd::token(args).await,
        Command::Trust(args) => trust_cmd::run(args),
        Command::Tsa(args) => tsa_cmd::run(args, grace).await,
        Command::Witness(args) => witness_cmd::run(args, grace).await,
        Command::Explorer(args) => explorer_cmd::run(args, grace).await,
        Command::Monitor(args) => monitor_cmd::run(args, grace).await,
        Command::Lab(args) => lab_cmd::run(args, grace).await,
        Command::Tuf(args) => tuf_cmd::run(args, grace).await,
        Command::Ca(args) => ca_cmd::run(args),
        Command::Keys(args) => keys_cmd::run(args),
        Command::Rotate(args) => rotate_cmd::run(args),
        Command::Migrate { database_url } => {
            SqlStore::connect(&database_url)
                .await
                .context("applying the schema")?;
            println!("schema is up to date");
            Ok(())
        }
    }
}

/// Writes a public file (certificate, chain, trust root) atomically and durably, naming it in
/// the error.
fn write_public_file(path: &std::path::Path, contents: &[u8]) -> anyhow::Result<()> {
    sigstack_keys::files::write_atomically(
        path,
        contents,
        sigstack_keys::files::FileAccess::Default,
    )
    .with_context(|| format!("writing {}", path.display()))
}
