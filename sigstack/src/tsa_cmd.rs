//! `sigstack tsa …`: the command line of the timestamp authority.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use tsa_server::{load_authority, router, TsaServer, DEFAULT_MAX_BODY_BYTES, DEV_CHAIN_FILE};

/// Default listen address of `sigstack tsa`.
pub(crate) const DEFAULT_LISTEN: &str = "127.0.0.1:3003";

/// Flags of `sigstack tsa`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Address to listen on.
    #[arg(long, env = "SIGSTACK_TSA_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// The URL clients use for this service (what `trust publish` writes into the trust files
    /// from the same variable); logged at start. Its responses carry no URL of their own.
    #[arg(long, env = "SIGSTACK_TSA_PUBLIC_URL")]
    pub public_url: Option<crate::public_url::PublicUrl>,
    /// The TSA signing key, PKCS#8 PEM (ECDSA P-256 or P-384). Created (P-256, mode 0600) if
    /// missing.
    #[arg(long, env = "SIGSTACK_TSA_KEY", default_value = "tsa-key.pem")]
    pub key: PathBuf,
    /// The certificate chain, PEM, TSA certificate first (its EKU must be exactly a critical
    /// timeStamping). Default: `tsa-chain.pem` next to the key.
    #[arg(long, env = "SIGSTACK_TSA_CERT_CHAIN")]
    pub cert_chain: Option<PathBuf>,
    /// Development mode: if the chain file is missing, generate a development root and TSA
    /// certificate for the key and write them there. Never use such a chain in production.
    #[arg(long)]
    pub dev: bool,
    /// The TSA policy OID put in every token; requests asking for another are rejected.
    #[arg(
        long,
        env = "SIGSTACK_TSA_POLICY_OID",
        default_value = "1.3.6.1.4.1.57264.2"
    )]
    pub policy_oid: String,
    /// Largest accepted request body, in bytes (larger ones get 413).
    #[arg(long, env = "SIGSTACK_TSA_MAX_BODY_BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,
    #[command(flatten)]
    pub metrics: crate::metrics_args::MetricsArgs,
    #[command(flatten)]
    pub tls: crate::tls::TlsArgs,
}

/// Runs `sigstack tsa` until interrupted.
pub(crate) async fn run(args: Args, grace: std::time::Duration) -> anyhow::Result<()> {
    let policy: tsa::ObjectIdentifier = args
        .policy_oid
        .parse()
        .map_err(|e| anyhow::anyhow!("--policy-oid {:?}: {e}", args.policy_oid))?;
    anyhow::ensure!(args.max_body_bytes > 0, "--max-body-bytes must be positive");
    let tls = args.tls.load()?;
    let chain_path = args.cert_chain.clone().unwrap_or_else(|| {
        args.key
            .parent()
            .unwrap_or_else(|| Path::new(""))
            .join(DEV_CHAIN_FILE)
    });
    let config = tsa::AuthorityConfig {
        policy,
        ..tsa::AuthorityConfig::default()
    };
    let authority = load_authority(
        &crate::keys_cmd::loader(),
        &args.key,
        &chain_path,
        args.dev,
        config,
    )?;
    tracing::info!(
        listen = %args.listen,
        public_url = args.public_url.as_ref().map(tracing::field::display),
        key = %args.key.display(),
        cert_chain = %chain_path.display(),
        policy = %policy,
        max_body_bytes = args.max_body_bytes,
        dev = args.dev,
        tls = tls.is_some(),
        "starting the timestamp authority"
    );
    let server = TsaServer::with_max_body_bytes(authority, args.max_body_bytes)?;
    crate::serve::serve_service(
        "tsa",
        args.listen,
        tls,
        router(server.clone()),
        server.metrics().clone(),
        &args.metrics,
        grace,
        |tls_on| {
            println!(
                "TSA: {}://{}/api/v1/timestamp (chain: {})",
                if tls_on { "https" } else { "http" },
                args.listen,
                chain_path.display()
            )
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRACE: std::time::Duration = std::time::Duration::from_secs(1);
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    #[test]
    fn defaults_and_flags() {
        let cli = Cli::try_parse_from(["tsa"]).unwrap();
        assert_eq!(cli.args.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(cli.args.policy_oid, tsa::SIGSTORE_TSA_POLICY.to_string());
        assert_eq!(cli.args.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
        assert!(!cli.args.dev);
        assert!(cli.args.cert_chain.is_none());
        let cli = Cli::try_parse_from([
            "tsa",
            "--listen",
            "0.0.0.0:9000",
            "--key",
            "/k.pem",
            "--cert-chain",
            "/c.pem",
            "--dev",
            "--policy-oid",
            "1.2.3.4",
        ])
        .unwrap();
        assert_eq!(cli.args.listen.port(), 9000);
        assert_eq!(cli.args.cert_chain.as_deref(), Some(Path::new("/c.pem")));
        assert!(cli.args.dev);
    }

    #[tokio::test]
    async fn bad_settings_are_refused_before_starting() {
        let dir = tempfile::tempdir().unwrap();
        let args = |policy: &str, dev: bool| Args {
            listen: "127.0.0.1:0".parse().unwrap(),
            public_url: None,
            key: dir.path().join("tsa-key.pem"),
            cert_chain: None,
            dev,
            policy_oid: policy.into(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            metrics: crate::metrics_args::MetricsArgs::default(),
            tls: Default::default(),
        };
        let err = run(args("not an oid", true), GRACE).await.unwrap_err();
        assert!(err.to_string().contains("--policy-oid"), "{err}");
        let err = run(args("1.2.3.4", false), GRACE).await.unwrap_err();
        assert!(format!("{err:#}").contains("--dev"), "{err:#}");
        // Refused before anything was written: no key was generated for the missing chain.
        assert!(!dir.path().join("tsa-key.pem").exists());
    }
}
