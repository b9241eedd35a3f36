//! `sigstack lab`: a Rekor v2 or CT log that misbehaves on purpose (see docs/lab.md).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use lab::{FaultPlan, Lab, LabApi};
use sigstack_keys::{Algorithm, SoftwareKey};

/// Flags of `sigstack lab`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Address to listen on: the misbehaving log at `/`, its second view at `/b/`.
    #[arg(long, env = "SIGSTACK_LAB_LISTEN")]
    pub listen: SocketAddr,
    /// The real log the lab stands in front of (`sigstack rekor`, or `sigstack ctlog` with
    /// `--api ct`).
    #[arg(long, env = "SIGSTACK_LAB_UPSTREAM")]
    pub upstream: String,
    /// The upstream log's API: `rekor-v2` or `ct` (static-ct-api).
    #[arg(long, env = "SIGSTACK_LAB_API", value_enum, default_value = "rekor-v2")]
    pub api: Api,
    /// The fault plan: a YAML file of `faults` (docs/lab.md).
    #[arg(long, env = "SIGSTACK_LAB_PLAN")]
    pub plan: PathBuf,
    /// The real log's key (Rekor v2: Ed25519; CT: its ECDSA key), to sign what the lab forges
    /// as the log would.
    #[arg(long, env = "SIGSTACK_LAB_KEY")]
    pub key: PathBuf,
    #[command(flatten)]
    pub metrics: crate::metrics_args::MetricsArgs,
}

/// `--api`.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub(crate) enum Api {
    /// Rekor v2.
    RekorV2,
    /// A static-ct-api CT log.
    Ct,
}

/// Runs `sigstack lab` until interrupted.
pub(crate) async fn run(args: Args, grace: std::time::Duration) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.upstream.starts_with("http://") || args.upstream.starts_with("https://"),
        "--upstream must be an http:// or https:// URL"
    );
    let text = std::fs::read_to_string(&args.plan)
        .with_context(|| format!("reading {}", args.plan.display()))?;
    let plan =
        FaultPlan::parse(&text).with_context(|| format!("parsing {}", args.plan.display()))?;
    let key = crate::keys_cmd::loader()
        .load(&args.key)
        .with_context(|| format!("--key {}", args.key.display()))?;
    let api = match args.api {
        Api::RekorV2 => {
            anyhow::ensure!(
                key.algorithm() == Algorithm::Ed25519,
                "--key must be the Rekor v2 log's Ed25519 key"
            );
            LabApi::RekorV2
        }
        Api::Ct => {
            anyhow::ensure!(
                key.algorithm() != Algorithm::Ed25519,
                "--key must be the CT log's ECDSA key"
            );
            LabApi::Ct
        }
    };
    let stranger = Arc::new(SoftwareKey::generate(key.algorithm()));
    tracing::info!(listen = %args.listen, upstream = %args.upstream, faults = ?plan.faults, "starting the lab");
    let lab = Arc::new(Lab::new(api, &args.upstream, plan, key, stranger)?);
    crate::serve::serve_service(
        "lab",
        args.listen,
        None,
        lab::router(lab),
        sigstack_http::MetricsRegistry::for_service("lab"),
        &args.metrics,
        grace,
        |_| {
            println!(
                "Lab: http://{} (view b: http://{}/b)",
                args.listen, args.listen
            )
        },
    )
    .await
}
