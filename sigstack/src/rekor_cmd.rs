//! `sigstack rekor`: the signature transparency log, standalone or inside `up`.

use anyhow::Context;
use sigstack_keys::Algorithm;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tlog_store::{LogStore, SqlStore};

use crate::public_url::PublicUrl;

/// Flags of `sigstack rekor`.
#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct RekorArgs {
    #[command(subcommand)]
    command: Option<RekorCommand>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(clap::Subcommand)]
enum RekorCommand {
    /// Freeze the active v1 shard (read-only, still serving entries and proofs) and start a
    /// new one; restart the service to pick the change up.
    NewShard {
        /// The shard layout file of the service.
        #[arg(long, env = "SIGSTACK_REKOR_SHARDS")]
        shards: PathBuf,
    },
    /// Write the v1 shard layout of an upstream Rekor's sharding configuration (the YAML or
    /// JSON file of its `--trillian_log_server.sharding_config`): its tree IDs in order, each
    /// shard's key file, and the active tree. KMS, Tink and in-memory signers and per-shard
    /// passwords are refused, naming the shard (docs/deploy.md).
    ImportShardingConfig {
        /// Upstream's sharding configuration.
        config: PathBuf,
        /// Upstream's active tree (its `--trillian_log_server.tlog_id`).
        #[arg(long)]
        active_tree_id: i64,
        /// The shard layout to write (refused if it exists: a layout names the logs).
        #[arg(long, env = "SIGSTACK_REKOR_SHARDS")]
        shards: PathBuf,
    },
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to serve on.
    #[arg(long, env = "SIGSTACK_REKOR_LISTEN", default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// Database URL: postgres://USER@HOST/DB or sqlite://FILE.
    #[arg(long, env = "SIGSTACK_DATABASE_URL")]
    database_url: Option<String>,
    /// A PostgreSQL read replica to serve reads from (repeatable, or a comma list): entries,
    /// tiles, proofs and lookups go to a replica that holds what they ask for, else to the
    /// primary (`--database-url`). Multi-host URLs with `target_session_attrs` are accepted.
    #[arg(long = "read-database-url", env = "SIGSTACK_READ_DATABASE_URL")]
    read_database_urls: Vec<String>,
    /// The v1 log key (ECDSA P-256, PKCS#8 PEM); created owner-only if missing.
    #[arg(long, env = "SIGSTACK_REKOR_V1_KEY")]
    v1_key: Option<PathBuf>,
    /// The v2 log key (Ed25519, PKCS#8 PEM); created owner-only if missing.
    #[arg(long, env = "SIGSTACK_REKOR_V2_KEY")]
    v2_key: Option<PathBuf>,
    /// The shard layout (JSON: {"inactive": [tree IDs], "active": tree ID}); created with one
    /// new shard if missing.
    #[arg(long, env = "SIGSTACK_REKOR_SHARDS")]
    shards: Option<PathBuf>,
    /// The URL clients use (env SIGSTACK_REKOR_PUBLIC_URL; `--url` is its old name): a new
    /// entry's `Location` is under it, and at the first start its host names both logs (v1
    /// checkpoints `<host> - <tree ID>`, the v2 checkpoint origin and log ID). That name is
    /// recorded in the shard layout and kept when the URL changes later (docs/deploy.md).
    #[arg(
        long = "public-url",
        visible_alias = "url",
        env = "SIGSTACK_REKOR_PUBLIC_URL",
        default_value = "http://rekor.sigstack.local"
    )]
    public_url: PublicUrl,
    #[command(flatten)]
    limits: LimitArgs,
    #[command(flatten)]
    witnesses: WitnessArgs,
    #[command(flatten)]
    metrics: crate::metrics_args::MetricsArgs,
    #[command(flatten)]
    tls: crate::tls::TlsArgs,
}

/// The v2 log's witnesses (C2SP tlog-witness; docs/witness.md).
#[derive(clap::Args)]
struct WitnessArgs {
    /// A witness of the v2 log (repeatable): its URL (the prefix of `/add-checkpoint`) and its
    /// verifier key, separated by a space: `"https://witness.example/ witness.example/w1+…"`.
    /// Each new v2 checkpoint is submitted to every witness in the background.
    #[arg(
        long = "v2-witness",
        env = "SIGSTACK_REKOR_V2_WITNESSES",
        value_delimiter = ','
    )]
    v2_witnesses: Vec<String>,
    /// How many of the witnesses must cosign a checkpoint before
    /// `/api/v2/checkpoint/witnessed` serves it (default: all of them).
    #[arg(long, env = "SIGSTACK_REKOR_V2_WITNESS_THRESHOLD")]
    v2_witness_threshold: Option<usize>,
    /// How often the v2 log's latest checkpoint is submitted to its witnesses.
    #[arg(long, env = "SIGSTACK_REKOR_V2_WITNESS_INTERVAL", default_value = "1s", value_parser = humantime::parse_duration)]
    v2_witness_interval: std::time::Duration,
    /// fail-closed: a v2 entry is answered (201) only once a checkpoint containing it has
    /// met the witness policy, its inclusion proof against that checkpoint with the
    /// cosignatures; else 503 with Retry-After after --v2-witness-timeout (the entry is logged;
    /// a retry finds it). fail-open: entries are answered whatever the witnesses do.
    #[arg(
        long,
        env = "SIGSTACK_REKOR_V2_WITNESS_MODE",
        value_enum,
        default_value_t
    )]
    v2_witness_mode: crate::witness_cmd::WitnessModeArg,
    /// How long a fail-closed v2 write waits for the witnesses.
    #[arg(long, env = "SIGSTACK_REKOR_V2_WITNESS_TIMEOUT", default_value = crate::witness_cmd::DEFAULT_WITNESS_TIMEOUT, value_parser = humantime::parse_duration)]
    v2_witness_timeout: std::time::Duration,
    /// A witness of the active v1 shard (repeatable), as --v2-witness; the witnessed checkpoint
    /// is served at `/api/v1/log/checkpoint/witnessed`.
    #[arg(
        long = "v1-witness",
        env = "SIGSTACK_REKOR_V1_WITNESSES",
        value_delimiter = ','
    )]
    v1_witnesses: Vec<String>,
    /// How many of the v1 witnesses must cosign (default: all of them).
    #[arg(long, env = "SIGSTACK_REKOR_V1_WITNESS_THRESHOLD")]
    v1_witness_threshold: Option<usize>,
    /// How often the active v1 shard's latest checkpoint is submitted to its witnesses.
    #[arg(long, env = "SIGSTACK_REKOR_V1_WITNESS_INTERVAL", default_value = "1s", value_parser = humantime::parse_duration)]
    v1_witness_interval: std::time::Duration,
}

impl WitnessArgs {
    /// The witnessing configuration, checked; `None` without witnesses.
    fn witnessing(&self) -> anyhow::Result<Option<witness_client::Witnessing>> {
        crate::witness_cmd::witnessing(
            &self.v2_witnesses,
            self.v2_witness_threshold,
            self.v2_witness_interval,
            (self.v2_witness_mode, self.v2_witness_timeout),
            "--v2-witness",
        )
    }

    fn v1_witnessing(&self) -> anyhow::Result<Option<witness_client::Witnessing>> {
        crate::witness_cmd::witnessing(
            &self.v1_witnesses,
            self.v1_witness_threshold,
            self.v1_witness_interval,
            // The v1 API's entries carry no checkpoint to cosign: v1 stays fail-open.
            (
                crate::witness_cmd::WitnessModeArg::FailOpen,
                std::time::Duration::MAX,
            ),
            "--v1-witness",
        )
    }
}

/// Request limits, in bytes.
#[derive(clap::Args, Clone)]
pub(crate) struct LimitArgs {
    /// Any request body.
    #[arg(long, env = "SIGSTACK_REKOR_MAX_BODY_BYTES", default_value_t = rekor::Limits::default().max_body_bytes)]
    max_body_bytes: usize,
    /// A hashedrekord entry (v1 or v2).
    #[arg(long, env = "SIGSTACK_REKOR_MAX_HASHEDREKORD_BYTES", default_value_t = rekor::Limits::default().hashedrekord_bytes)]
    max_hashedrekord_bytes: usize,
    /// A dsse entry (v1 or v2).
    #[arg(long, env = "SIGSTACK_REKOR_MAX_DSSE_BYTES", default_value_t = rekor::Limits::default().dsse_bytes)]
    max_dsse_bytes: usize,
    /// An intoto entry (v1).
    #[arg(long, env = "SIGSTACK_REKOR_MAX_INTOTO_BYTES", default_value_t = rekor::Limits::default().intoto_bytes)]
    max_intoto_bytes: usize,
}

impl From<LimitArgs> for rekor::Limits {
    fn from(a: LimitArgs) -> Self {
        rekor::Limits {
            max_body_bytes: a.max_body_bytes,
            hashedrekord_bytes: a.max_hashedrekord_bytes,
            dsse_bytes: a.max_dsse_bytes,
            intoto_bytes: a.max_intoto_bytes,
        }
    }
}

/// Keys, shards and names of a Rekor whose files live under `dir` (as `sigstack up` keeps them),
/// with its v1 and v2 witnessing.
pub(crate) async fn open_in(
    store: Arc<dyn LogStore>,
    dir: &Path,
    keys: &crate::up::StackKeys,
    url: &PublicUrl,
    witnessing: (
        Option<witness_client::Witnessing>,
        Option<witness_client::Witnessing>,
    ),
) -> anyhow::Result<Arc<rekor::Rekor>> {
    open(
        store,
        &keys.loader,
        log_keys(&keys.loader, &keys.spec("rekor-v1"), &keys.spec("rekor-v2"))?,
        &dir.join("rekor-shards.json"),
        url,
        rekor::Limits::default(),
        witnessing,
    )
    .await
}

/// The two log keys (made, as files, if missing), each checked to be of its type before
/// anything else is made: before the caller opens the database, and before the second key.
fn log_keys(
    loader: &sigstack_keys::KeyLoader,
    v1_key: &Path,
    v2_key: &Path,
) -> anyhow::Result<(
    Arc<dyn sigstack_keys::Signer>,
    Arc<dyn sigstack_keys::Signer>,
)> {
    let load = |api: &str, path: &Path, want: Algorithm| {
        let key = loader
            .load_or_generate(path, want)
            .with_context(|| format!("Rekor {api} key {}", path.display()))?;
        anyhow::ensure!(
            key.algorithm() == want,
            "the Rekor {api} key {} must be {}, not {}",
            path.display(),
            want.name(),
            key.algorithm().name()
        );
        Ok(key)
    };
    let v1 = load("v1", v1_key, Algorithm::EcdsaP256Sha256)?;
    let v2 = load("v2", v2_key, Algorithm::Ed25519)?;
    Ok((v1, v2))
}

async fn open(
    store: Arc<dyn LogStore>,
    loader: &sigstack_keys::KeyLoader,
    (v1, v2): (
        Arc<dyn sigstack_keys::Signer>,
        Arc<dyn sigstack_keys::Signer>,
    ),
    shards: &Path,
    url: &PublicUrl,
    limits: rekor::Limits,
    (v1_witnessing, v2_witnessing): (
        Option<witness_client::Witnessing>,
        Option<witness_client::Witnessing>,
    ),
) -> anyhow::Result<Arc<rekor::Rekor>> {
    let (layout, name) = settled_layout(shards, url)?;
    // Frozen shards signed by an earlier v1 key keep it (`sigstack rotate rekor-v1`).
    let mut shard_keys = std::collections::BTreeMap::new();
    for tree_id in layout.keys.keys() {
        let path = layout.key_of(*tree_id, shards).expect("listed");
        let key = loader
            .load(&path)
            .with_context(|| format!("the v1 key of frozen shard {tree_id}: {}", path.display()))?;
        shard_keys.insert(*tree_id, key);
    }
    // Frozen v2 logs keep the key they were signed with (`sigstack rotate rekor-v2`).
    let mut v2_frozen_keys = Vec::new();
    for (generation, path) in layout.v2_frozen(shards) {
        let key = loader.load(&path).with_context(|| {
            format!("the key of frozen v2 log {generation}: {}", path.display())
        })?;
        v2_frozen_keys.push(key);
    }
    let mut config = rekor::RekorConfig::new(v1, v2, &name, &name, layout);
    config.v1_shard_keys = shard_keys;
    config.v2_frozen_keys = v2_frozen_keys;
    config.public_url = Some(url.to_string());
    config.limits = limits;
    config.v1_witnessing = v1_witnessing;
    config.v2_witnessing = v2_witnessing;
    Ok(rekor::Rekor::open(store, config).await?)
}

/// The shard layout in `path` (created if missing) and the logs' name: the one it records, or
/// else the host of `url`, which it then records. Shared by the service and `trust publish`, so
/// that the v2 origin in `trusted_root.json` is the one the log signs with.
pub(crate) fn settled_layout(
    path: &Path,
    url: &PublicUrl,
) -> anyhow::Result<(rekor::ShardLayout, String)> {
    let mut layout = rekor::ShardLayout::load_or_create(path)?;
    let settled = layout.settle_name(url.host());
    match &settled {
        rekor::SettledName::Recorded(name) => {
            layout.save(path)?;
            tracing::info!(name, layout = %path.display(), "the Rekor logs are named for the public URL's host");
        }
        rekor::SettledName::Same(_) => {}
        rekor::SettledName::Kept { name, host } => tracing::warn!(
            name,
            public_host = host,
            layout = %path.display(),
            "the public URL's host differs from the logs' recorded name, which stays: it is part of the logs' identity (docs/deploy.md, changing a public URL)"
        ),
    }
    Ok((layout, settled.name().to_owned()))
}

/// `sigstack rekor import-sharding-config`.
fn import_sharding_config(config: &Path, active: i64, shards: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(
        !shards.exists(),
        "{} exists: a shard layout names its logs, so it is never overwritten by an import",
        shards.display()
    );
    let text = std::fs::read(config).with_context(|| format!("reading {}", config.display()))?;
    // YAML, or JSON (which YAML reads too), as upstream accepts either.
    let inactive: Vec<rekor::UpstreamShard> =
        serde_yaml_ng::from_slice(&text).with_context(|| {
            format!(
                "{} is not an upstream Rekor sharding configuration",
                config.display()
            )
        })?;
    let layout = rekor::ShardLayout::from_upstream(&inactive, active)
        .with_context(|| format!("importing {}", config.display()))?;
    layout.save(shards)?;
    println!(
        "wrote {}: {} frozen shard(s), active tree {active}; start Rekor with --shards {} (its first start records the logs' name)",
        shards.display(),
        layout.inactive.len(),
        shards.display()
    );
    Ok(())
}

pub(crate) async fn run(args: RekorArgs, grace: std::time::Duration) -> anyhow::Result<()> {
    match args.command {
        Some(RekorCommand::NewShard { shards }) => {
            let mut layout = rekor::ShardLayout::load_or_create(&shards)?;
            let frozen = layout.active;
            let new = layout.rotate();
            layout.save(&shards)?;
            println!("froze shard {frozen}; new entries go to shard {new} once Rekor restarts");
            return Ok(());
        }
        Some(RekorCommand::ImportShardingConfig {
            config,
            active_tree_id,
            shards,
        }) => return import_sharding_config(&config, active_tree_id, &shards),
        None => {}
    }
    // The variable's old name: a deployment that still sets it must not silently publish the
    // default URL instead, which would name new, empty logs.
    if std::env::var_os("SIGSTACK_REKOR_URL").is_some()
        && std::env::var_os("SIGSTACK_REKOR_PUBLIC_URL").is_none()
    {
        anyhow::bail!(
            "SIGSTACK_REKOR_URL is now SIGSTACK_REKOR_PUBLIC_URL: rename it (the value stays)"
        );
    }
    let a = args.serve;
    let tls = a.tls.load()?;
    let witnessing = (a.witnesses.v1_witnessing()?, a.witnesses.witnessing()?);
    let need = |v: Option<PathBuf>, flag: &str| {
        v.with_context(|| format!("--{flag} is required to serve Rekor"))
    };
    let database_url = a
        .database_url
        .context("--database-url is required to serve Rekor")?;
    // The keys before the database: a key that does not load must not leave a new database.
    let keys = log_keys(
        &crate::keys_cmd::loader(),
        &need(a.v1_key, "v1-key")?,
        &need(a.v2_key, "v2-key")?,
    )?;
    let shards = need(a.shards, "shards")?;
    let store: Arc<dyn LogStore> = Arc::new(
        SqlStore::connect_with_replicas(
            &database_url,
            &crate::services::read_urls(&a.read_database_urls),
        )
        .await?,
    );
    let rekor = open(
        store,
        &crate::keys_cmd::loader(),
        keys,
        &shards,
        &a.public_url,
        a.limits.into(),
        witnessing,
    )
    .await?;
    crate::serve::serve_service(
        "rekor",
        a.listen,
        tls,
        rekor::router(rekor.clone()),
        rekor.metrics().clone(),
        &a.metrics,
        grace,
        |tls_on| tracing::info!(listen = %a.listen, public_url = %a.public_url, tls = tls_on, v1_log_id = %hex(&rekor.v1_log_id()), v2_log_id = %hex(&rekor.v2_log_id()), "Rekor serving"),
    )
    .await
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: WitnessArgs,
    }

    fn witnessing(args: &[&str]) -> anyhow::Result<Option<witness_client::Witnessing>> {
        Cli::try_parse_from(std::iter::once("rekor").chain(args.iter().copied()))?
            .args
            .witnessing()
    }

    #[test]
    fn an_upstream_sharding_configuration_imports_once() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("sharding-config.yaml");
        // Upstream's YAML shape: inactive shards oldest first, each with its signing config.
        std::fs::write(
            &config,
            "- treeID: 11\n  treeLength: 4\n- treeID: 22\n  signingConfig:\n    signingSchemeOrKeyPath: /keys/old-rekor.pem\n",
        )
        .unwrap();
        let shards = dir.path().join("shards.json");
        import_sharding_config(&config, 33, &shards).unwrap();
        let layout = rekor::ShardLayout::load_or_create(&shards).unwrap();
        assert_eq!(layout.tree_ids().collect::<Vec<_>>(), vec![11, 22, 33]);
        assert_eq!(
            layout.key_of(22, &shards).unwrap(),
            Path::new("/keys/old-rekor.pem")
        );
        // An existing layout names its logs: never overwritten.
        assert!(import_sharding_config(&config, 33, &shards).is_err());
        // Refused signers name the shard; nothing is written.
        std::fs::write(
            &config,
            "- treeID: 11\n  signingConfig:\n    signingSchemeOrKeyPath: awskms://k\n",
        )
        .unwrap();
        let other = dir.path().join("other.json");
        let e = format!(
            "{:#}",
            import_sharding_config(&config, 33, &other).unwrap_err()
        );
        assert!(e.contains("shard 11") && e.contains("KMS"), "{e}");
        assert!(!other.exists());
    }

    #[test]
    fn witness_flags() {
        let cosigner = witness::Cosigner::new(
            "w.example",
            Arc::new(sigstack_keys::SoftwareKey::ed25519_from_seed(&[1; 32])),
        )
        .unwrap();
        let vkey = cosigner.verifier().to_vkey();
        let other = witness::Cosigner::new(
            "v.example",
            Arc::new(sigstack_keys::SoftwareKey::ed25519_from_seed(&[2; 32])),
        )
        .unwrap()
        .verifier()
        .to_vkey();
        assert!(witnessing(&[]).unwrap().is_none());
        let v1 = Cli::try_parse_from([
            "rekor",
            "--v1-witness",
            &format!("https://w.example {vkey}"),
        ])
        .unwrap()
        .args;
        assert!(v1.witnessing().unwrap().is_none());
        assert_eq!(v1.v1_witnessing().unwrap().unwrap().witnesses.len(), 1);
        let one = format!("https://w.example {vkey}");
        let two = format!("http://127.0.0.1:3004/ {other}");
        let w = witnessing(&["--v2-witness", &one, "--v2-witness", &two])
            .unwrap()
            .unwrap();
        assert_eq!(w.witnesses.len(), 2);
        assert_eq!(w.policy.threshold(), 2);
        assert_eq!(w.interval, std::time::Duration::from_secs(1));
        let w = witnessing(&[
            "--v2-witness",
            &one,
            "--v2-witness",
            &two,
            "--v2-witness-threshold",
            "1",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(w.policy.threshold(), 1);
        assert_eq!(w.mode, witness_client::WitnessMode::FailOpen);
        let w = witnessing(&[
            "--v2-witness",
            &one,
            "--v2-witness-mode",
            "fail-closed",
            "--v2-witness-timeout",
            "250ms",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(
            w.mode,
            witness_client::WitnessMode::FailClosed {
                timeout: std::time::Duration::from_millis(250)
            }
        );
        for bad in [
            vec!["--v2-witness-mode", "fail-closed"],
            vec!["--v2-witness", &one, "--v2-witness-mode", "sometimes"],
            vec![
                "--v2-witness",
                &one,
                "--v2-witness-mode",
                "fail-closed",
                "--v2-witness-timeout",
                "0s",
            ],
            vec!["--v2-witness-threshold", "1"],
            vec!["--v2-witness", &vkey],
            vec!["--v2-witness", "ftp://w.example x"],
            vec!["--v2-witness", "https://w.example not+a+key"],
            vec!["--v2-witness", &one, "--v2-witness-threshold", "2"],
            vec!["--v2-witness", &one, "--v2-witness", &one],
        ] {
            assert!(witnessing(&bad).is_err(), "{bad:?}");
        }
    }
}
