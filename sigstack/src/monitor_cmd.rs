//! `sigstack monitor`: follows the logs a configuration file names (see docs/monitor.md).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use monitor::watch::{LogApi, MonitorConfig};
use monitor::WatchList;
use monitor_follow::{
    FindingSink, FollowedLog, LogSource, Metrics, Monitor, MonitorOptions, MonitorStore,
    SqlMonitorStore, WitnessSource,
};

/// Flags of `sigstack monitor`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The configuration: rekor-monitor's YAML (`monitoredValues`, `startIndex`) with the logs
    /// (`logs`: url, api `rekor-v1`, `rekor-v2`, `tiles` or `ct`, keys) and witnesses
    /// (`witnesses`: url, key).
    #[arg(long, env = "SIGSTACK_MONITOR_CONFIG")]
    pub config: PathBuf,
    /// Database URL: postgres://USER@HOST/DB or sqlite://FILE. Holds each log's last verified
    /// checkpoint and every finding.
    #[arg(long, env = "SIGSTACK_DATABASE_URL")]
    pub database_url: String,
    /// One round of every log, then exit: status 0 without findings, 1 with any (for CI).
    #[arg(long)]
    pub once: bool,
    /// Time between rounds of a log (failed rounds back off up to 16 times this).
    #[arg(long, env = "SIGSTACK_MONITOR_INTERVAL", default_value = "30s", value_parser = humantime::parse_duration)]
    pub interval: Duration,
    /// How long a log may stay unreachable or answer garbage before that is a finding.
    #[arg(long, env = "SIGSTACK_MONITOR_UNREACHABLE_AFTER", default_value = "5m", value_parser = humantime::parse_duration)]
    pub unreachable_after: Duration,
    /// Append findings as JSON lines to this file (default: standard output; logs go to
    /// standard error).
    #[arg(long, env = "SIGSTACK_MONITOR_FINDINGS")]
    pub findings: Option<PathBuf>,
    /// POST each finding's JSON to this URL too.
    #[arg(long, env = "SIGSTACK_MONITOR_WEBHOOK")]
    pub webhook: Option<String>,
    /// Serve the read-only API here: `GET /findings`, `/healthz` and `/metrics` (not with
    /// --once).
    #[arg(long, env = "SIGSTACK_MONITOR_LISTEN")]
    pub listen: Option<SocketAddr>,
    #[command(flatten)]
    pub metrics: crate::metrics_args::MetricsArgs,
}

/// The logs, witnesses and watch list of the configuration file.
pub(crate) fn load_config(
    path: &Path,
) -> anyhow::Result<(Vec<FollowedLog>, Vec<WitnessSource>, WatchList)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let config =
        MonitorConfig::parse(&text).with_context(|| format!("parsing {}", path.display()))?;
    anyhow::ensure!(
        !config.logs.is_empty(),
        "{}: no logs to follow (`logs:`)",
        path.display()
    );
    let mut logs = Vec::new();
    for (i, log) in config.logs.iter().enumerate() {
        anyhow::ensure!(
            log.url.starts_with("http://") || log.url.starts_with("https://"),
            "logs[{i}].url {:?} must be http:// or https://",
            log.url
        );
        let keys = log
            .keys
            .iter()
            .map(|k| witness::LogKey::from_vkey(k))
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("logs[{i}].keys"))?;
        let key_name = keys
            .first()
            .map(|k| k.name().to_string())
            .with_context(|| format!("logs[{i}].keys: at least one key"))?;
        let origin = log.origin.clone().unwrap_or(key_name);
        let start_index = log.start_index.or(config.start_index);
        anyhow::ensure!(
            log.api != LogApi::RekorV1 || log.origin.is_some(),
            "logs[{i}]: a Rekor v1 log needs its `origin`, the first line of its checkpoint \
             (`<name> - <tree ID>`)"
        );
        anyhow::ensure!(
            log.api != LogApi::RekorV1 || start_index.unwrap_or(0) == 0,
            "logs[{i}]: a Rekor v1 log has no tiles to start from index {} (startIndex 0, or \
             none to start from its latest checkpoint)",
            start_index.unwrap_or(0)
        );
        logs.push(FollowedLog {
            source: LogSource::new(&log.url, log.api)?,
            log: witness::Log::new(origin, keys).with_context(|| format!("logs[{i}]"))?,
            start_index,
            max_merge_delay: log
                .max_merge_delay()
                .with_context(|| format!("logs[{i}].maxMergeDelay"))?,
        });
    }
    let mut witnesses = Vec::new();
    for (i, w) in config.witnesses.iter().enumerate() {
        anyhow::ensure!(
            w.url.starts_with("http://") || w.url.starts_with("https://"),
            "witnesses[{i}].url {:?} must be http:// or https://",
            w.url
        );
        witnesses.push(WitnessSource {
            url: w.url.clone(),
            verifier: witness::CosignatureVerifier::from_vkey(&w.key)
                .with_context(|| format!("witnesses[{i}].key"))?,
        });
    }
    let watch = WatchList::new(config.monitored_values)
        .with_context(|| format!("{}: monitoredValues", path.display()))?;
    Ok((logs, witnesses, watch))
}

/// Runs `sigstack monitor` until interrupted (or one round, with `--once`).
pub(crate) async fn run(args: Args, grace: Duration) -> anyhow::Result<()> {
    anyhow::ensure!(!args.interval.is_zero(), "--interval must be positive");
    anyhow::ensure!(
        !(args.once && args.listen.is_some()),
        "--listen serves a running monitor; --once exits after one round"
    );
    if let Some(url) = &args.webhook {
        anyhow::ensure!(
            url.starts_with("http://") || url.starts_with("https://"),
            "--webhook must be an http:// or https:// URL"
        );
    }
    let (logs, witnesses, watch) = load_config(&args.config)?;
    let store: Arc<dyn MonitorStore> =
        Arc::new(SqlMonitorStore::connect(&args.database_url).await?);
    let metrics = Metrics::new();
    let sink = FindingSink::new(
        store.clone(),
        metrics.clone(),
        args.findings.clone(),
        args.webhook.clone(),
    )
    .context("--findings")?;
    tracing::info!(
        logs = ?logs.iter().map(|l| l.source.url()).collect::<Vec<_>>(),
        witnesses = witnesses.len(),
        watch_list = !watch.is_empty(),
        interval = ?args.interval,
        unreachable_after = ?args.unreachable_after,
        once = args.once,
        "starting the monitor"
    );
    let monitor = Arc::new(Monitor::new(
        logs,
        witnesses,
        watch,
        store.clone(),
        sink,
        metrics.clone(),
        MonitorOptions {
            interval: args.interval,
            unreachable_after: args.unreachable_after,
        },
    )?);
    if args.once {
        let found = monitor.once().await;
        anyhow::ensure!(found == 0, "--once: {found} finding(s)");
        return Ok(());
    }
    match args.listen {
        Some(addr) => {
            let rounds = tokio::spawn(monitor.run(std::future::pending()));
            let served = crate::serve::serve_service(
                "monitor",
                addr,
                None,
                monitor_follow::router(store),
                metrics.registry.clone(),
                &args.metrics,
                grace,
                |_| eprintln!("Monitor: http://{addr}/findings"),
            )
            .await;
            rounds.abort();
            served
        }
        None => {
            monitor.run(crate::serve::shutdown_signal()).await;
            Ok(())
        }
    }
}
