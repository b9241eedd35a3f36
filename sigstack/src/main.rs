//! `sigstack`: one binary for the whole stack. Each service is a subcommand; `sigstack up` runs
//! them all on one machine with zero configuration.

mod datadir;
mod services;

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tlog_store::{LogStore, SqlStore};

/// A self-hostable Sigstore: your own CA, transparency logs, timestamp authority and TUF root.
#[derive(Parser)]
#[command(name = "sigstack", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole stack on this machine (embedded SQLite unless --database-url is given).
    ///
    /// The first start creates the data directory, its keys and its logs; later starts reuse
    /// them. Only one `up` may run per data directory. Services so far: the CT log.
    Up(UpArgs),
    /// Run the RFC 6962 Certificate Transparency log (and its static-ct-api read path).
    Ctlog(services::CtlogArgs),
    /// Apply the database schema and exit (services also do this at start-up).
    Migrate {
        /// Database URL: postgres://USER@HOST/DB or sqlite://FILE.
        #[arg(long, env = "SIGSTACK_DATABASE_URL")]
        database_url: String,
    },
}

#[derive(clap::Args)]
struct UpArgs {
    /// Where keys, the embedded database and trust files live.
    #[arg(long, env = "SIGSTACK_DATA_DIR", default_value = "sigstack-data")]
    data_dir: PathBuf,
    /// Use this database instead of the embedded SQLite file (postgres://… for production).
    #[arg(long, env = "SIGSTACK_DATABASE_URL")]
    database_url: Option<String>,
    /// Address of the CT log.
    #[arg(long, env = "SIGSTACK_CTLOG_LISTEN", default_value = "127.0.0.1:6962")]
    ctlog_listen: SocketAddr,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Up(args) => up(args).await,
        Command::Ctlog(args) => services::run_ctlog(args).await,
        Command::Migrate { database_url } => {
            SqlStore::connect(&database_url)
                .await
                .context("applying the schema")?;
            println!("schema is up to date");
            Ok(())
        }
    }
}

async fn up(args: UpArgs) -> anyhow::Result<()> {
    let dir = datadir::DataDir::open(&args.data_dir)?;
    let url = args.database_url.unwrap_or_else(|| dir.sqlite_url());
    let store: Arc<dyn LogStore> = Arc::new(
        SqlStore::connect(&url)
            .await
            .with_context(|| format!("opening the store in {}", dir.path().display()))?,
    );
    let roots_dir = dir.path().join("ct-roots");
    std::fs::create_dir_all(&roots_dir)?;
    let roots = services::load_certificates_in(&roots_dir)?;
    if roots.is_empty() {
        tracing::warn!(dir = %roots_dir.display(), "the CT log accepts no roots yet: put PEM root certificates there");
    }
    let ctlog = services::open_ctlog(
        store.clone(),
        &dir.path().join("keys").join("ctlog.pem"),
        "sigstack.local/ctlog",
        roots,
    )
    .await?;
    let listener = tokio::net::TcpListener::bind(args.ctlog_listen)
        .await
        .with_context(|| format!("listening on {}", args.ctlog_listen))?;
    println!("sigstack is up (data directory {})", dir.path().display());
    println!(
        "  CT log (RFC 6962 + static-ct-api): http://{}/ct/v1/get-sth",
        args.ctlog_listen
    );
    println!("    log ID (base64): {}", services::b64(&ctlog.log_id()));
    println!("press Ctrl-C to stop");
    axum::serve(listener, ctlog::router(ctlog))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    println!("stopped");
    Ok(())
}
