//! `sigstack explorer`: the log explorer (crate `sigstack-explorer`), a read-only web interface
//! over the public APIs of the stack's logs.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use explorer::{Explorer, Upstreams};
use url::Url;

/// Default listen address of `sigstack explorer` (and of `up`'s explorer).
pub(crate) const DEFAULT_LISTEN: &str = "127.0.0.1:8090";

/// Flags of `sigstack explorer`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Address to listen on.
    #[arg(long, env = "SIGSTACK_EXPLORER_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Base URL of Rekor (its v1 API: search, entries with their proofs).
    #[arg(long, env = "SIGSTACK_EXPLORER_REKOR_URL")]
    pub rekor_url: Option<Url>,
    /// Base URL of Rekor's v2 API (checkpoint and tiles), if not the same server as --rekor-url.
    #[arg(long, env = "SIGSTACK_EXPLORER_REKOR_V2_URL")]
    pub rekor_v2_url: Option<Url>,
    /// Base URL of the CT log.
    #[arg(long, env = "SIGSTACK_EXPLORER_CTLOG_URL")]
    pub ctlog_url: Option<Url>,
    /// Base URL of the TUF repository, where the page takes trusted_root.json (the log keys it
    /// verifies with) unless --trusted-root pins one.
    #[arg(long, env = "SIGSTACK_EXPLORER_TUF_URL")]
    pub tuf_url: Option<Url>,
    /// Base URL of a monitor serving `GET /findings`: the page lists its findings.
    #[arg(long, env = "SIGSTACK_EXPLORER_MONITOR_URL")]
    pub monitor_url: Option<Url>,
    /// A trusted_root.json file to verify with instead of the TUF repository's.
    #[arg(long, env = "SIGSTACK_EXPLORER_TRUSTED_ROOT")]
    pub trusted_root: Option<PathBuf>,
    /// How long the explorer waits for a service before the page says it is down.
    #[arg(long, env = "SIGSTACK_EXPLORER_UPSTREAM_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub upstream_timeout: std::time::Duration,
    #[command(flatten)]
    pub metrics: crate::metrics_args::MetricsArgs,
    #[command(flatten)]
    pub tls: crate::tls::TlsArgs,
}

impl Args {
    /// The services the explorer reads (Rekor v2 defaults to Rekor's own server).
    fn upstreams(&self) -> anyhow::Result<Upstreams> {
        let upstreams = Upstreams {
            rekor: self.rekor_url.clone(),
            rekor_v2: self.rekor_v2_url.clone().or_else(|| self.rekor_url.clone()),
            ctlog: self.ctlog_url.clone(),
            tuf: self.tuf_url.clone(),
            monitor: self.monitor_url.clone(),
        };
        for (flag, url) in [
            ("--rekor-url", &upstreams.rekor),
            ("--rekor-v2-url", &upstreams.rekor_v2),
            ("--ctlog-url", &upstreams.ctlog),
            ("--tuf-url", &upstreams.tuf),
            ("--monitor-url", &upstreams.monitor),
        ] {
            if let Some(url) = url {
                anyhow::ensure!(
                    matches!(url.scheme(), "http" | "https") && !url.cannot_be_a_base(),
                    "{flag} {url}: an http:// or https:// URL"
                );
            }
        }
        anyhow::ensure!(
            upstreams.rekor.is_some() || upstreams.rekor_v2.is_some() || upstreams.ctlog.is_some(),
            "give at least one log: --rekor-url, --rekor-v2-url or --ctlog-url"
        );
        anyhow::ensure!(
            upstreams.tuf.is_some() || self.trusted_root.is_some(),
            "give --tuf-url or --trusted-root: the page verifies with the log keys of trusted_root.json"
        );
        Ok(upstreams)
    }
}

/// The explorer of these flags, checked before anything is served.
pub(crate) fn build(args: &Args) -> anyhow::Result<Arc<Explorer>> {
    anyhow::ensure!(
        !args.upstream_timeout.is_zero(),
        "--upstream-timeout must be positive"
    );
    let mut explorer = Explorer::new(args.upstreams()?, args.upstream_timeout)
        .context("the explorer's HTTP client")?;
    if let Some(path) = &args.trusted_root {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        check_trusted_root(&bytes).with_context(|| format!("{}", path.display()))?;
        explorer = explorer.with_trusted_root(bytes);
    }
    Ok(Arc::new(explorer))
}

/// A trusted root must at least be a JSON object naming transparency logs.
fn check_trusted_root(bytes: &[u8]) -> anyhow::Result<()> {
    let value: serde_json::Value = serde_json::from_slice(bytes).context("not JSON")?;
    anyhow::ensure!(
        value.get("tlogs").is_some_and(|t| t.is_array()),
        "not a trusted_root.json (no \"tlogs\" list)"
    );
    Ok(())
}

/// Runs `sigstack explorer` until interrupted.
pub(crate) async fn run(args: Args, grace: std::time::Duration) -> anyhow::Result<()> {
    let tls = args.tls.load()?;
    let explorer = build(&args)?;
    tracing::info!(
        listen = %args.listen,
        rekor = ?args.rekor_url.as_ref().map(Url::as_str),
        ctlog = ?args.ctlog_url.as_ref().map(Url::as_str),
        tuf = ?args.tuf_url.as_ref().map(Url::as_str),
        monitor = ?args.monitor_url.as_ref().map(Url::as_str),
        "starting the explorer"
    );
    crate::serve::serve_service(
        "explorer",
        args.listen,
        tls,
        explorer::router(explorer.clone()),
        explorer.metrics().clone(),
        &args.metrics,
        grace,
        |tls_on| {
            println!(
                "Explorer: {}://{}/",
                if tls_on { "https" } else { "http" },
                args.listen
            )
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    fn parse(flags: &[&str]) -> Args {
        Cli::try_parse_from(std::iter::once("explorer").chain(flags.iter().copied()))
            .unwrap()
            .args
    }

    #[test]
    fn rekor_v2_defaults_to_rekor() {
        let args = parse(&["--rekor-url", "http://r:3000", "--tuf-url", "http://t"]);
        assert_eq!(args.listen.to_string(), DEFAULT_LISTEN);
        let up = args.upstreams().unwrap();
        assert_eq!(up.rekor_v2, up.rekor);
        assert!(up.ctlog.is_none() && up.monitor.is_none());
    }

    #[test]
    fn refuses_what_it_cannot_use() {
        for flags in [
            &["--tuf-url", "http://t"][..],
            &["--rekor-url", "http://r"][..],
            &["--rekor-url", "ftp://r", "--tuf-url", "http://t"][..],
            &["--ctlog-url", "http://c", "--tuf-url", "mailto:x@y"][..],
        ] {
            assert!(build(&parse(flags)).is_err(), "{flags:?}");
        }
        let mut zero = parse(&["--rekor-url", "http://r", "--tuf-url", "http://t"]);
        zero.upstream_timeout = std::time::Duration::ZERO;
        assert!(build(&zero).is_err());
    }

    #[test]
    fn a_pinned_trusted_root_must_be_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trusted_root.json");
        let flags = |p: &std::path::Path| {
            parse(&[
                "--rekor-url",
                "http://r",
                "--trusted-root",
                p.to_str().unwrap(),
            ])
        };
        std::fs::write(&path, "{\"tlogs\": []}").unwrap();
        assert!(build(&flags(&path)).is_ok());
        for bad in ["", "[]", "{\"ctlogs\": []}"] {
            std::fs::write(&path, bad).unwrap();
            assert!(build(&flags(&path)).is_err(), "{bad}");
        }
        assert!(build(&flags(&dir.path().join("missing"))).is_err());
    }
}
