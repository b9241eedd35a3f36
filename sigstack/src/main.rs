//! `sigstack`: one binary for the whole stack. Each service is a subcommand; `sigstack up` runs
//! them all on one machine with zero configuration.

mod ca_cmd;
mod datadir;
mod rekor_cmd;
mod services;
mod trust_cmd;
mod tsa_cmd;
mod tuf_cmd;
mod up;

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
    /// The TUF repository: offline root ceremony, online signing, serving and static export.
    Tuf(tuf_cmd::Args),
    /// Create the Fulcio CA and the TSA chain before the services start (idempotent).
    Ca(ca_cmd::CaArgs),
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Up(args) => up::run(args).await,
        Command::Ctlog(args) => services::run_ctlog(args).await,
        Command::Fulcio(args) => services::run_fulcio(args).await,
        Command::Rekor(args) => rekor_cmd::run(args).await,
        Command::DevIssuer(args) => trust_cmd::dev_issuer(args).await,
        Command::Token(args) => trust_cmd::token(args).await,
        Command::Trust(args) => trust_cmd::run(args),
        Command::Tsa(args) => tsa_cmd::run(args).await,
        Command::Tuf(args) => tuf_cmd::run(args).await,
        Command::Ca(args) => ca_cmd::run(args),
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
