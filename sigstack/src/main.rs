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
    /// them. Only one `up` may run per data directory. Services so far: the CT log, and the CA
    /// when `<data-dir>/fulcio-config.yaml` names its OIDC issuers.
    Up(UpArgs),
    /// Run the RFC 6962 Certificate Transparency log (and its static-ct-api read path).
    Ctlog(services::CtlogArgs),
    /// Run the Fulcio-style CA: OIDC identity token in, 10-minute code-signing certificate out,
    /// logged in the CT log first.
    Fulcio(services::FulcioArgs),
    /// Run the RFC 3161 timestamp authority.
    Tsa(tsa_server::cli::Args),
    /// The TUF repository: offline root ceremony, online signing, serving and static export.
    Tuf(tuf_repo::cli::Args),
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
    /// Address of the CA.
    #[arg(long, env = "SIGSTACK_FULCIO_LISTEN", default_value = "127.0.0.1:5555")]
    fulcio_listen: SocketAddr,
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
        Command::Fulcio(args) => services::run_fulcio(args).await,
        Command::Tsa(args) => tsa_server::cli::run(args).await,
        Command::Tuf(args) => tuf_repo::cli::run(args).await,
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
    // The CA comes first: the CT log must accept its root.
    let ca = services::dev_ca(dir.path())?;
    let roots_dir = dir.path().join("ct-roots");
    std::fs::create_dir_all(&roots_dir)?;
    let mut roots = vec![ca.chain().last().expect("a CA has a root").clone()];
    roots.extend(services::load_certificates_in(&roots_dir)?);
    let ctlog = services::open_ctlog(
        store.clone(),
        &dir.path().join("keys").join("ctlog.pem"),
        "sigstack.local/ctlog",
        roots,
    )
    .await?;
    let ct_listener = tokio::net::TcpListener::bind(args.ctlog_listen)
        .await
        .with_context(|| format!("listening on {}", args.ctlog_listen))?;
    println!("sigstack is up (data directory {})", dir.path().display());
    println!(
        "  CT log (RFC 6962 + static-ct-api): http://{}/ct/v1/get-sth",
        args.ctlog_listen
    );
    println!("    log ID (base64): {}", services::b64(&ctlog.log_id()));
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let ct_server = axum::serve(ct_listener, ctlog::router(ctlog));
    let config_path = dir.path().join("fulcio-config.yaml");
    if config_path.exists() {
        let config = services::load_fulcio_config(&config_path)?;
        let ca_server =
            fulcio_server::FulcioServer::new(config, ca, &format!("http://{}", args.ctlog_listen));
        let ca_listener = tokio::net::TcpListener::bind(args.fulcio_listen)
            .await
            .with_context(|| format!("listening on {}", args.fulcio_listen))?;
        println!(
            "  Fulcio CA: http://{}/api/v2/signingCert (root: {})",
            args.fulcio_listen,
            dir.path().join("fulcio-root.pem").display()
        );
        println!("press Ctrl-C to stop");
        let ca_server = axum::serve(ca_listener, fulcio_server::router(ca_server));
        tokio::select! {
            r = ct_server => r?,
            r = ca_server => r?,
            _ = shutdown => {}
        }
    } else {
        println!(
            "  Fulcio CA: not started; write its OIDC issuers to {} (upstream Fulcio's format)",
            config_path.display()
        );
        println!("press Ctrl-C to stop");
        ct_server.with_graceful_shutdown(shutdown).await?;
    }
    println!("stopped");
    Ok(())
}
