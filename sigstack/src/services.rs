//! Wiring of each service: keys, roots and listeners from flags and the data directory.

use anyhow::{bail, Context};
use base64::Engine;
use sigstack_keys::Algorithm;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tlog_store::{LogStore, SqlStore};

/// Flags of `sigstack ctlog`.
#[derive(clap::Args)]
pub(crate) struct CtlogArgs {
    /// Address to serve on.
    #[arg(long, env = "SIGSTACK_CTLOG_LISTEN", default_value = "127.0.0.1:6962")]
    listen: SocketAddr,
    /// The URL clients use for the CT log (what `trust publish` writes into the trust files
    /// from the same variable); logged at start. The log's name is `--origin`, not this: the
    /// origin names the log in the database, so it must not follow a URL change.
    #[arg(long, env = "SIGSTACK_CTLOG_PUBLIC_URL")]
    public_url: Option<crate::public_url::PublicUrl>,
    /// Database URL: postgres://USER@HOST/DB or sqlite://FILE.
    #[arg(long, env = "SIGSTACK_DATABASE_URL")]
    database_url: String,
    /// A PostgreSQL read replica to serve reads from (repeatable, or a comma list): entries,
    /// tiles, proofs and lookups go to a replica that holds what they ask for, else to the
    /// primary (`--database-url`). Multi-host URLs with `target_session_attrs` are accepted.
    #[arg(long = "read-database-url", env = "SIGSTACK_READ_DATABASE_URL")]
    read_database_urls: Vec<String>,
    /// The log's ECDSA P-256 key (PKCS#8 PEM); created with owner-only permissions if missing.
    #[arg(long, env = "SIGSTACK_CTLOG_KEY")]
    key: PathBuf,
    /// The log's origin (first line of its checkpoints), conventionally its URL without scheme.
    #[arg(
        long,
        env = "SIGSTACK_CTLOG_ORIGIN",
        default_value = "sigstack.local/ctlog"
    )]
    origin: String,
    /// The CT log's shard layout (JSON, created if missing): the keys of the older shards
    /// (frozen, or kept accepting their certificate expiry window) that `sigstack rotate
    /// ctlog` left, and the newest shard's window. Without it,
    /// the log is one shard. Shard N > 1 is served at `/shards/N` with origin
    /// `<origin>/shards/N` (docs/deploy.md, rotating keys).
    #[arg(long, env = "SIGSTACK_CTLOG_SHARDS")]
    shards: Option<PathBuf>,
    /// PEM file(s) of the root certificates chains must end in (repeatable).
    #[arg(
        long = "root-cert",
        env = "SIGSTACK_CTLOG_ROOT_CERTS",
        value_delimiter = ','
    )]
    root_certs: Vec<PathBuf>,
    /// A witness of the log (repeatable): its URL (the prefix of `/add-checkpoint`) and its
    /// verifier key, separated by a space: `"https://witness.example/ witness.example/w1+…"`.
    /// Each new checkpoint is submitted to every witness in the background.
    #[arg(
        long = "witness",
        env = "SIGSTACK_CTLOG_WITNESSES",
        value_delimiter = ','
    )]
    witnesses: Vec<String>,
    /// How many of the witnesses must cosign a checkpoint before `/checkpoint/witnessed`
    /// serves it (default: all of them).
    #[arg(long, env = "SIGSTACK_CTLOG_WITNESS_THRESHOLD")]
    witness_threshold: Option<usize>,
    /// How often the log's latest checkpoint is submitted to its witnesses.
    #[arg(long, env = "SIGSTACK_CTLOG_WITNESS_INTERVAL", default_value = "1s", value_parser = humantime::parse_duration)]
    witness_interval: std::time::Duration,
    /// fail-closed: `add-chain`/`add-pre-chain` answer the SCT only once a checkpoint
    /// containing the entry has met the witness policy, else 503 with Retry-After after
    /// --witness-timeout (the entry is logged; a resubmission gets its SCT). fail-open: SCTs
    /// are answered whatever the witnesses do.
    #[arg(long, env = "SIGSTACK_CTLOG_WITNESS_MODE", value_enum, default_value_t)]
    witness_mode: crate::witness_cmd::WitnessModeArg,
    /// How long a fail-closed write waits for the witnesses.
    #[arg(long, env = "SIGSTACK_CTLOG_WITNESS_TIMEOUT", default_value = crate::witness_cmd::DEFAULT_WITNESS_TIMEOUT, value_parser = humantime::parse_duration)]
    witness_timeout: std::time::Duration,
    #[command(flatten)]
    metrics: crate::metrics_args::MetricsArgs,
    #[command(flatten)]
    tls: crate::tls::TlsArgs,
}

pub(crate) fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Every certificate in a PEM file, as DER.
pub(crate) fn load_certificates(path: &Path) -> anyhow::Result<Vec<Vec<u8>>> {
    use x509_cert::der::Encode;
    let pem = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    // `load_pem_chain` panics (integer underflow) on input without any PEM block.
    if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
        bail!("{} holds no PEM certificate", path.display());
    }
    let certs = x509_cert::Certificate::load_pem_chain(&pem)
        .with_context(|| format!("{} is not a PEM certificate file", path.display()))?;
    if certs.is_empty() {
        bail!("{} holds no certificate", path.display());
    }
    certs
        .iter()
        .map(|c| c.to_der().context("re-encoding a certificate"))
        .collect()
}

/// Every certificate in the `*.pem` files of a directory.
pub(crate) fn load_certificates_in(dir: &Path) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pem"))
        .collect();
    paths.sort();
    for p in paths {
        out.extend(load_certificates(&p)?);
    }
    Ok(out)
}

/// Every shard of a CT log, generation 1 first, the newest last: each older one with the key
/// `layout` records for it (`loader` loads it), taking certificates for its window if it was
/// kept accepting and its window has not ended, read-only otherwise; the newest with `config`
/// (whose origin is generation 1's) at its generation's origin and with the layout's window.
pub(crate) async fn open_ctlog_shards(
    store: Arc<dyn LogStore>,
    loader: &sigstack_keys::KeyLoader,
    config: ctlog::CtLogConfig,
    layout: &ctlog::CtShardLayout,
    layout_path: &Path,
) -> anyhow::Result<Vec<Arc<ctlog::CtLog>>> {
    let accepting = layout.accepting(std::time::SystemTime::now())?;
    let accepting_paths: Vec<String> = accepting
        .iter()
        .map(|(_, generation)| ctlog::shard_path(*generation))
        .collect();
    let window_if_accepting = |generation: u32| {
        accepting
            .iter()
            .find(|(_, g)| **g == generation)
            .map(|(window, _)| window.copied())
    };
    let mut shards = Vec::new();
    for (older, path) in layout.older_keys(layout_path) {
        let key = loader
            .load(&path)
            .with_context(|| format!("the key of CT shard {older}: {}", path.display()))?;
        let mut shard = ctlog::CtLogConfig::new(
            ctlog::shard_origin(&config.origin, older),
            key,
            config.roots.clone(),
        );
        match window_if_accepting(older) {
            Some(window) => shard.not_after = window,
            None => shard.frozen_for = Some(accepting_paths.clone()),
        }
        shards.push(ctlog::CtLog::open(store.clone(), shard).await?);
    }
    let mut config = config;
    let generation = layout.generation();
    config.origin = ctlog::shard_origin(&config.origin, generation);
    config.not_after = layout.not_after;
    shards.push(ctlog::CtLog::open(store, config).await?);
    Ok(shards)
}

/// The CT log shards a CA submits to, by certificate expiry: the base URL `ct_url` followed by
/// each accepting shard's path in `layout`.
pub(crate) fn ct_submission_shards(
    ct_url: &str,
    layout: &ctlog::CtShardLayout,
) -> anyhow::Result<ctlog::TemporalShards<String>> {
    let base = ct_url.trim_end_matches('/');
    Ok(layout
        .accepting(std::time::SystemTime::now())?
        .map(|generation| format!("{base}{}", ctlog::shard_path(generation))))
}

/// The read replica URLs of `--read-database-url` values (each one URL or a comma list).
pub(crate) fn read_urls(values: &[String]) -> Vec<String> {
    values
        .iter()
        .flat_map(|v| tlog_store::split_url_list(v))
        .collect()
}

pub(crate) async fn run_ctlog(args: CtlogArgs, grace: std::time::Duration) -> anyhow::Result<()> {
    // The configuration is checked before anything is written (the database, the key).
    let tls = args.tls.load()?;
    let witnessing = crate::witness_cmd::witnessing(
        &args.witnesses,
        args.witness_threshold,
        args.witness_interval,
        (args.witness_mode, args.witness_timeout),
        "--witness",
    )?;
    let mut roots = Vec::new();
    for path in &args.root_certs {
        roots.extend(load_certificates(path)?);
    }
    if roots.is_empty() {
        bail!("the CT log needs at least one --root-cert: chains must end in a root it accepts");
    }
    // The key before the database: a key that does not load must not leave a new database.
    // The key before the database: a key that does not load must not leave a new database.
    let key = crate::keys_cmd::loader()
        .load_or_generate(&args.key, Algorithm::EcdsaP256Sha256)
        .with_context(|| format!("CT log key {}", args.key.display()))?;
    anyhow::ensure!(
        key.algorithm() == Algorithm::EcdsaP256Sha256,
        "the CT log key {} must be ECDSA P-256 (RFC 6962), not {}",
        args.key.display(),
        key.algorithm().name()
    );
    let layout = match &args.shards {
        Some(path) => ctlog::CtShardLayout::load_or_create(path)?,
        None => ctlog::CtShardLayout::default(),
    };
    let store: Arc<dyn LogStore> = Arc::new(
        SqlStore::connect_with_replicas(&args.database_url, &read_urls(&args.read_database_urls))
            .await?,
    );
    let mut config = ctlog::CtLogConfig::new(&args.origin, key, roots);
    config.witnessing = witnessing;
    let shards = open_ctlog_shards(
        store,
        &crate::keys_cmd::loader(),
        config,
        &layout,
        args.shards.as_deref().unwrap_or(Path::new(".")),
    )
    .await?;
    let log = shards.last().expect("the active shard").clone();
    crate::serve::serve_service(
        "ctlog",
        args.listen,
        tls,
        ctlog::shards_router(&shards),
        log.metrics().clone(),
        &args.metrics,
        grace,
        |tls_on| tracing::info!(listen = %args.listen, public_url = args.public_url.as_ref().map(tracing::field::display), tls = tls_on, origin = %log.origin(), path = %ctlog::shard_path(layout.generation()), log_id = %b64(&log.log_id()), "CT log serving"),
    )
    .await
}

/// Flags of `sigstack fulcio`.
#[derive(clap::Args)]
pub(crate) struct FulcioArgs {
    /// Address to serve on.
    #[arg(long, env = "SIGSTACK_FULCIO_LISTEN", default_value = "127.0.0.1:5555")]
    listen: SocketAddr,
    /// The URL clients use for this service (what `trust publish` writes into the trust files
    /// from the same variable); logged at start. Its responses carry no URL of their own.
    #[arg(long, env = "SIGSTACK_FULCIO_PUBLIC_URL")]
    public_url: Option<crate::public_url::PublicUrl>,
    /// Issuer configuration: upstream Fulcio's YAML or JSON format (`oidc-issuers`,
    /// `meta-issuers`, `ci-issuer-metadata`).
    #[arg(long, env = "SIGSTACK_FULCIO_CONFIG")]
    config: PathBuf,
    /// The CA's private key (PKCS#8 PEM: ECDSA P-256/P-384 or Ed25519). Reloaded with the
    /// chain when either file changes; a change that does not load is logged and the CA in
    /// force kept.
    #[arg(long, env = "SIGSTACK_FULCIO_CA_KEY")]
    ca_key: PathBuf,
    /// The CA's certificate chain (PEM): the issuing certificate first (the key's), then any
    /// intermediate, the root last.
    #[arg(long, env = "SIGSTACK_FULCIO_CA_CHAIN")]
    ca_chain: PathBuf,
    /// How often to look for changes to the CA key and chain files, in seconds (0: never).
    #[arg(
        long,
        env = "SIGSTACK_FULCIO_CA_RELOAD_SECS",
        default_value_t = fulcio_server::ca_files::DEFAULT_RELOAD_INTERVAL.as_secs()
    )]
    ca_reload_secs: u64,
    /// Detached-SCT mode: log the final certificate (`add-chain`) and return the SCT beside
    /// it (`signedCertificateDetachedSct`) instead of embedding it. sigstore-python and
    /// sigstore-js need embedded SCTs: leave this off for them.
    #[arg(long, env = "SIGSTACK_FULCIO_DETACHED_SCT")]
    detached_sct: bool,
    /// Base URL of the RFC 6962 CT log that must log every certificate first.
    #[arg(
        long,
        env = "SIGSTACK_FULCIO_CT_URL",
        default_value = "http://127.0.0.1:6962"
    )]
    ct_url: String,
    /// The CT log's shard layout (`sigstack ctlog --shards`, read at start): each certificate
    /// goes to the accepting shard whose expiry window holds its notAfter, `--ct-url` followed
    /// by the shard's path (`/shards/N` after a `sigstack rotate ctlog`); none: no certificate.
    /// Without it, to `--ct-url` itself.
    #[arg(long, env = "SIGSTACK_CTLOG_SHARDS")]
    ct_shards: Option<PathBuf>,
    #[command(flatten)]
    metrics: crate::metrics_args::MetricsArgs,
    /// A PEM file of CA certificates to trust, beside the system's store, for Fulcio's outbound
    /// HTTPS: every OIDC issuer's discovery document and keys, and the CT log (repeatable).
    /// For an IdP or CT log behind a private CA; one issuer's CA can go in its `ca-cert`.
    #[arg(
        long = "https-ca-file",
        env = "SIGSTACK_FULCIO_HTTPS_CA_FILES",
        value_delimiter = ','
    )]
    https_ca_files: Vec<PathBuf>,
    #[command(flatten)]
    tls: crate::tls::TlsArgs,
}

/// The CT shards a CA submits to, for its start-up log line: each URL, with its window if it
/// has one.
pub(crate) fn describe_ct_shards(shards: &ctlog::TemporalShards<String>) -> String {
    shards
        .iter()
        .map(|(window, url)| match window {
            Some(w) => format!("{url} for notAfter in {w}"),
            None => url.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Loads an issuer configuration file.
pub(crate) fn load_fulcio_config(path: &Path) -> anyhow::Result<fulcio::FulcioConfig> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let config = fulcio::FulcioConfig::parse(&bytes)
        .with_context(|| format!("{} is not a valid issuer configuration", path.display()))?;
    config
        .validate()
        .with_context(|| format!("{} is not a valid issuer configuration", path.display()))?;
    Ok(config)
}

/// The development CA of a data directory: its key (`key_path`, made if a missing file) and
/// self-signed root, created once.
pub(crate) fn dev_ca(
    dir: &Path,
    loader: &sigstack_keys::KeyLoader,
    key_path: &Path,
) -> anyhow::Result<fulcio::CertificateAuthority> {
    let root_path = dir.join("fulcio-root.pem");
    let key = loader
        .load_or_generate(key_path, Algorithm::EcdsaP256Sha256)
        .with_context(|| format!("CA key {}", key_path.display()))?;
    if root_path.exists() {
        let chain = load_certificates(&root_path)?;
        return fulcio::CertificateAuthority::new(key, chain).with_context(|| {
            format!(
                "{} does not match {}",
                root_path.display(),
                key_path.display()
            )
        });
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let ca = fulcio::CertificateAuthority::self_signed(key, "sigstack development CA", now - 60)?;
    let pem = der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, &ca.chain()[0])
        .map_err(|e| anyhow::anyhow!("encoding the CA root: {e}"))?;
    std::fs::write(&root_path, pem).with_context(|| format!("writing {}", root_path.display()))?;
    Ok(ca)
}

pub(crate) async fn run_fulcio(args: FulcioArgs, grace: std::time::Duration) -> anyhow::Result<()> {
    use fulcio_server::ca_files::{spawn_reloader, CaFiles, CaWatcher};
    let tls = args.tls.load()?;
    let mut https_roots = fulcio_server::ExtraRoots::default();
    for path in &args.https_ca_files {
        let pem =
            std::fs::read(path).with_context(|| format!("--https-ca-file {}", path.display()))?;
        https_roots.extend(
            fulcio_server::ExtraRoots::from_pem(&pem)
                .with_context(|| format!("--https-ca-file {}", path.display()))?,
        );
    }
    let config = load_fulcio_config(&args.config)?;
    let files = CaFiles::new(&args.ca_key, &args.ca_chain).with_loader(crate::keys_cmd::loader());
    let (ca, watcher) = CaWatcher::start(files).context("loading the CA key and chain")?;
    let sct_mode = if args.detached_sct {
        fulcio_server::SctMode::Detached
    } else {
        fulcio_server::SctMode::Embedded
    };
    // Each certificate goes to the shard that accepts its notAfter.
    let ct_shards = match &args.ct_shards {
        Some(path) => {
            ct_submission_shards(&args.ct_url, &ctlog::CtShardLayout::load_if_present(path)?)?
        }
        None => ctlog::TemporalShards::single(args.ct_url.clone()),
    };
    let ct_description = describe_ct_shards(&ct_shards);
    let server = fulcio_server::FulcioServer::with_ct_shards(
        config,
        ca,
        ct_shards,
        fulcio_server::ServerOptions::default()
            .with_sct_mode(sct_mode)
            .with_https_roots(https_roots),
    );
    let _reloader = (args.ca_reload_secs > 0).then(|| {
        spawn_reloader(
            server.clone(),
            watcher,
            std::time::Duration::from_secs(args.ca_reload_secs),
        )
    });
    crate::serve::serve_service(
        "fulcio",
        args.listen,
        tls,
        fulcio_server::router(server.clone()),
        server.metrics().clone(),
        &args.metrics,
        grace,
        |tls_on| {
            tracing::info!(
                listen = %args.listen,
                public_url = args.public_url.as_ref().map(tracing::field::display),
                tls = tls_on,
                ct = %ct_description,
                ?sct_mode,
                ca_reload_secs = args.ca_reload_secs,
                https_ca_files = args.https_ca_files.len(),
                "Fulcio CA serving"
            )
        },
    )
    .await
}
