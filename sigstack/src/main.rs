//! `sigstack`: one binary for the whole stack. Each service is a subcommand; `sigstack up` runs
//! them all on one machine with zero configuration.

mod datadir;
mod rekor_cmd;
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
    /// Run the Rekor-compatible signature transparency log (v1 and v2 APIs).
    Rekor(rekor_cmd::RekorArgs),
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
    /// Address of Rekor (v1 and v2 APIs).
    #[arg(long, env = "SIGSTACK_REKOR_LISTEN", default_value = "127.0.0.1:3000")]
    rekor_listen: SocketAddr,
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
        Command::Rekor(args) => rekor_cmd::run(args).await,
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
    let mut servers = Servers::default();
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
    println!("sigstack is up (data directory {})", dir.path().display());
    println!(
        "  CT log (RFC 6962 + static-ct-api): http://{}/ct/v1/get-sth",
        args.ctlog_listen
    );
    println!("    log ID (base64): {}", services::b64(&ctlog.log_id()));
    servers
        .add("ctlog", args.ctlog_listen, ctlog::router(ctlog))
        .await?;

    let rekor_url = format!("http://{}", args.rekor_listen);
    let rekor = rekor_cmd::open_in(store.clone(), dir.path(), &rekor_url).await?;
    println!(
        "  Rekor v1: {rekor_url}/api/v1/log  (log ID {})",
        hex_string(&rekor.v1_log_id())
    );
    println!(
        "  Rekor v2: {rekor_url}/api/v2/checkpoint  (origin {}, log ID {})",
        rekor.v2_origin(),
        hex_string(&rekor.v2_log_id())
    );
    servers
        .add("rekor", args.rekor_listen, rekor::router(rekor))
        .await?;

    let config_path = dir.path().join("fulcio-config.yaml");
    if config_path.exists() {
        let config = services::load_fulcio_config(&config_path)?;
        let ca_server =
            fulcio_server::FulcioServer::new(config, ca, &format!("http://{}", args.ctlog_listen));
        println!(
            "  Fulcio CA: http://{}/api/v2/signingCert (root: {})",
            args.fulcio_listen,
            dir.path().join("fulcio-root.pem").display()
        );
        servers
            .add(
                "fulcio",
                args.fulcio_listen,
                fulcio_server::router(ca_server),
            )
            .await?;
    } else {
        println!(
            "  Fulcio CA: not started; write its OIDC issuers to {} (upstream Fulcio's format)",
            config_path.display()
        );
    }
    println!("press Ctrl-C to stop");
    servers
        .run_until(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    println!("stopped");
    Ok(())
}

fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The listeners of `up`: bound before anything is announced, stopped together. On shutdown
/// each stops accepting and finishes the requests in flight (an acknowledged entry is always
/// committed first, so nothing acknowledged is lost either way).
#[derive(Default)]
struct Servers {
    bound: Vec<(&'static str, tokio::net::TcpListener, axum::Router)>,
}

impl Servers {
    async fn add(
        &mut self,
        name: &'static str,
        addr: SocketAddr,
        router: axum::Router,
    ) -> anyhow::Result<()> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("{name}: listening on {addr}"))?;
        self.bound.push((name, listener, router));
        Ok(())
    }

    async fn run_until(self, signal: impl std::future::Future<Output = ()>) -> anyhow::Result<()> {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mut tasks = tokio::task::JoinSet::new();
        for (name, listener, router) in self.bound {
            let mut stopped = stopped.clone();
            tasks.spawn(async move {
                axum::serve(listener, router)
                    .with_graceful_shutdown(async move {
                        let _ = stopped.wait_for(|s| *s).await;
                    })
                    .await
                    .with_context(|| format!("{name} stopped"))
            });
        }
        tokio::select! {
            _ = signal => {}
            Some(done) = tasks.join_next() => {
                // A server that stops on its own is a failure: bring the others down too.
                let _ = stop.send(true);
                done??;
                anyhow::bail!("a service stopped unexpectedly");
            }
        }
        println!("stopping: finishing requests in flight");
        let _ = stop.send(true);
        while let Some(done) = tasks.join_next().await {
            done??;
        }
        Ok(())
    }
}
