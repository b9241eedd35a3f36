//! `sigstack witness`: a C2SP tlog-witness for the logs a configuration file names.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use sigstack_keys::Algorithm;
use witness::{Cosigner, Witness, WitnessConfig};
use witness_server::{router, SqlWitnessStore, WitnessServer, DEFAULT_MAX_BODY_BYTES};

/// Default listen address of `sigstack witness`.
pub(crate) const DEFAULT_LISTEN: &str = "127.0.0.1:3004";

/// Flags of `sigstack witness`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Address to listen on.
    #[arg(long, env = "SIGSTACK_WITNESS_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Database URL: postgres://USER@HOST/DB or sqlite://FILE. Holds the latest checkpoint
    /// cosigned for each log.
    #[arg(long, env = "SIGSTACK_DATABASE_URL")]
    pub database_url: String,
    /// The logs to follow: a TOML file of `[[log]]` tables, each with `origin` and `keys` (the
    /// log's note verifier keys, `<name>+<key ID>+<base64>`; see docs/witness.md).
    #[arg(long, env = "SIGSTACK_WITNESS_CONFIG")]
    pub config: PathBuf,
    /// The witness's name: the key name of its cosignatures, conventionally a schema-less URL
    /// (`witness.example.com/w1`).
    #[arg(long, env = "SIGSTACK_WITNESS_NAME")]
    pub name: String,
    /// The witness's Ed25519 key: a PKCS#8 PEM file (created, owner-only, if missing) or a
    /// `pkcs11:` URI.
    #[arg(long, env = "SIGSTACK_WITNESS_KEY", default_value = "witness-key.pem")]
    pub key: PathBuf,
    /// Largest accepted request body, in bytes (larger ones get 413).
    #[arg(long, env = "SIGSTACK_WITNESS_MAX_BODY_BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,
    #[command(flatten)]
    pub metrics: crate::metrics_args::MetricsArgs,
    #[command(flatten)]
    pub tls: crate::tls::TlsArgs,
}

/// Whether a log's writes wait for its witnesses (`--witness-mode`, `--v2-witness-mode`).
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum WitnessModeArg {
    /// Writes are answered whatever the witnesses do.
    #[default]
    FailOpen,
    /// A write is answered once a checkpoint containing it meets the witness policy, else
    /// 503 after the witness timeout (the entry stays logged).
    FailClosed,
}

/// How long a fail-closed write waits for the witnesses, by default.
pub(crate) const DEFAULT_WITNESS_TIMEOUT: &str = "5s";

/// A log's witnessing from its flags (`flag` names them in errors): each witness is
/// `"<URL> <verifier key>"`; the threshold defaults to all of them; fail-closed writes wait at
/// most `timeout`. `None` without witnesses.
pub(crate) fn witnessing(
    witnesses: &[String],
    threshold: Option<usize>,
    interval: std::time::Duration,
    (mode, timeout): (WitnessModeArg, std::time::Duration),
    flag: &str,
) -> anyhow::Result<Option<witness_client::Witnessing>> {
    if witnesses.is_empty() {
        anyhow::ensure!(
            threshold.is_none(),
            "{flag}-threshold needs at least one {flag}"
        );
        anyhow::ensure!(
            mode == WitnessModeArg::FailOpen,
            "{flag}-mode fail-closed needs at least one {flag}"
        );
        return Ok(None);
    }
    anyhow::ensure!(!interval.is_zero(), "{flag}-interval must be positive");
    anyhow::ensure!(!timeout.is_zero(), "{flag}-timeout must be positive");
    let mode = match mode {
        WitnessModeArg::FailOpen => witness_client::WitnessMode::FailOpen,
        WitnessModeArg::FailClosed => witness_client::WitnessMode::FailClosed { timeout },
    };
    let mut clients = Vec::new();
    for w in witnesses {
        let (url, vkey) = w
            .trim()
            .rsplit_once(' ')
            .with_context(|| format!("{flag} {w:?}: expected \"<URL> <verifier key>\""))?;
        let url = url.trim();
        anyhow::ensure!(
            url.starts_with("http://") || url.starts_with("https://"),
            "{flag} {w:?}: the URL must be http:// or https://"
        );
        let verifier = witness::CosignatureVerifier::from_vkey(vkey)
            .with_context(|| format!("{flag} {w:?}: the verifier key"))?;
        clients.push(witness_client::WitnessClient::new(url, verifier)?);
    }
    let policy = witness::WitnessPolicy::new(
        clients.iter().map(|w| w.verifier().clone()).collect(),
        threshold.unwrap_or(clients.len()),
    )
    .with_context(|| format!("{flag}-threshold"))?;
    Ok(Some(witness_client::Witnessing {
        witnesses: clients,
        policy,
        interval,
        mode,
    }))
}

/// Reads and checks the configuration file.
pub(crate) fn load_config(path: &Path) -> anyhow::Result<Witness> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let config: WitnessConfig =
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let logs = config
        .into_log_list()
        .with_context(|| format!("checking {}", path.display()))?;
    Ok(Witness::new(logs))
}

/// Runs `sigstack witness` until interrupted.
pub(crate) async fn run(args: Args, grace: std::time::Duration) -> anyhow::Result<()> {
    // Everything is checked before anything is written (the key, the database).
    anyhow::ensure!(args.max_body_bytes > 0, "--max-body-bytes must be positive");
    let tls = args.tls.load()?;
    let witness = load_config(&args.config)?;
    let key = crate::keys_cmd::loader()
        .load_or_generate(&args.key, Algorithm::Ed25519)
        .with_context(|| format!("witness key {}", args.key.display()))?;
    let cosigner = Cosigner::new(&args.name, key).context("--name and --key")?;
    let store = Arc::new(SqlWitnessStore::connect(&args.database_url).await?);
    let vkey = cosigner.verifier().to_vkey();
    let origins: Vec<&str> = witness.logs().iter().map(|l| l.origin()).collect();
    tracing::info!(
        listen = %args.listen,
        name = %args.name,
        vkey = %vkey,
        key = %args.key.display(),
        logs = ?origins,
        max_body_bytes = args.max_body_bytes,
        tls = tls.is_some(),
        "starting the witness"
    );
    let server = Arc::new(
        WitnessServer::new(witness, cosigner, store).with_max_body_bytes(args.max_body_bytes),
    );
    crate::serve::serve_service(
        "witness",
        args.listen,
        tls,
        router(server.clone()),
        server.metrics().clone(),
        &args.metrics,
        grace,
        |tls_on| {
            println!(
                "Witness: {}://{}/add-checkpoint (verifier key: {vkey})",
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

    #[test]
    fn defaults_and_flags() {
        let cli = Cli::try_parse_from([
            "witness",
            "--database-url",
            "sqlite://w.db",
            "--config",
            "w.toml",
            "--name",
            "w.example/1",
        ])
        .unwrap();
        assert_eq!(cli.args.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(cli.args.key, PathBuf::from("witness-key.pem"));
        assert_eq!(cli.args.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
    }

    #[test]
    fn verifier_keys_of_our_logs() {
        use sigstack_keys::{Signer as _, SoftwareKey};
        let ed = Arc::new(SoftwareKey::ed25519_from_seed(&[2; 32]));
        let v2 = tlog::note::NoteSigner::ed25519("rekor.example", ed.clone()).unwrap();
        assert_eq!(
            crate::keys_cmd::note_vkey(ed.public_key_der(), "rekor.example", false).unwrap(),
            v2.verifier().to_vkey()
        );
        let p256 = Arc::new(SoftwareKey::generate(Algorithm::EcdsaP256Sha256));
        let v1 = tlog::note::NoteSigner::ecdsa_rekor("rekor.example", p256.clone()).unwrap();
        assert_eq!(
            crate::keys_cmd::note_vkey(p256.public_key_der(), "rekor.example", false).unwrap(),
            v1.verifier().to_vkey()
        );
        let ct = crate::keys_cmd::note_vkey(p256.public_key_der(), "ct.example/log", true).unwrap();
        assert!(ct.starts_with("ct.example/log+"));
        witness::LogKey::from_vkey(&ct).unwrap();
        assert!(crate::keys_cmd::note_vkey(ed.public_key_der(), "ct.example/log", true).is_err());
    }

    #[test]
    fn configuration_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.toml");
        let signer = tlog::note::NoteSigner::ed25519(
            "log.example",
            Arc::new(sigstack_keys::SoftwareKey::ed25519_from_seed(&[1; 32])),
        )
        .unwrap();
        let vkey = signer.verifier().to_vkey();
        std::fs::write(
            &path,
            format!("[[log]]\norigin = \"log.example\"\nkeys = [\"{vkey}\"]\n"),
        )
        .unwrap();
        let witness = load_config(&path).unwrap();
        assert!(witness.logs().get("log.example").is_some());
        for bad in [
            String::new(),
            "[[log]]\norigin = \"log.example\"\nkeys = []\n".to_string(),
            "[[log]]\norigin = \"log.example\"\nkeys = [\"nope\"]\n".to_string(),
            format!("[[log]]\norigin = \"a\"\nkeys = [\"{vkey}\"]\nextra = 1\n"),
            format!("[[log]]\norigin = \"a\"\nkeys = [\"{vkey}\"]\n[[log]]\norigin = \"a\"\nkeys = [\"{vkey}\"]\n"),
        ] {
            std::fs::write(&path, &bad).unwrap();
            assert!(load_config(&path).is_err(), "{bad}");
        }
    }
}
