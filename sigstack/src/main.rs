//! `sigstack`: one binary for the whole stack. Each service is a subcommand; `sigstack up` runs
//! them all on one machine with zero configuration.

mod datadir;

use anyhow::Context;
use clap::{Parser, Subcommand};
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
    /// them. Only one `up` may run per data directory.
    Up(UpArgs),
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
    let _ = store;
    println!("sigstack is up: data directory {}", dir.path().display());
    println!("no services are enabled in this build yet; press Ctrl-C to stop");
    tokio::signal::ctrl_c().await?;
    println!("stopping");
    Ok(())
}
