//! The trust documents of an instance: built from the keys and URLs the services actually use,
//! kept as a history (a rotated key stays listed with its window closed), exported for clients
//! and published through TUF. Also `sigstack trust export` and `sigstack token`.

use anyhow::Context;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::public_url::PublicUrl;

/// Where the history of an instance's keys is kept, in its data directory.
pub(crate) const HISTORY_FILE: &str = "trust-history.json";

/// The URLs clients use for each service.
pub(crate) struct Urls {
    pub(crate) fulcio: String,
    pub(crate) ctlog: String,
    pub(crate) rekor: String,
    pub(crate) tsa: String,
    pub(crate) oidc: String,
}

/// The public keys and certificate chains the services run with.
pub(crate) struct Material {
    /// Issuing certificate first, root last.
    pub(crate) fulcio_chain: Vec<Vec<u8>>,
    /// The CT log shards that take certificates, oldest first, the newest (the current CT
    /// log key's) last: each listed in `trusted_root.json` with an open window.
    pub(crate) ctlog_shards: Vec<CtShardKey>,
    /// DER SPKIs.
    pub(crate) rekor_v1_key: Vec<u8>,
    pub(crate) rekor_v2_key: Vec<u8>,
    pub(crate) rekor_v2_origin: String,
    /// The active v2 log's path below Rekor's URL (`rekor::v2_shard_path`): its base URL in
    /// `trusted_root.json` and `signing_config`.
    pub(crate) rekor_v2_path: String,
    /// TSA certificate first.
    pub(crate) tsa_chain: Vec<Vec<u8>>,
    /// The logs' witness policies (C2SP tlog-policy files), each under the log's short name
    /// (`rekor-v2`, `ctlog`): published as the TUF targets [`witness_policy_target`].
    pub(crate) witness_policies: Vec<(String, String)>,
}

/// A CT log shard that takes certificates, as `trusted_root.json` lists it.
pub(crate) struct CtShardKey {
    /// Its path below the CT log's URL (`ctlog::shard_path`): its base URL there.
    pub(crate) path: String,
    /// Its key (DER SPKI), whose hash is the log ID in its SCTs.
    pub(crate) key: Vec<u8>,
}

/// The TUF target name of a log's witness policy: `trusted_root.json` has no field for
/// witnesses, so clients that require cosignatures get the log's tlog-policy file (its key,
/// the witnesses' verifier keys and the quorum) beside it, from the same signed targets. Flat
/// (`witness-policy-<log>.txt`), as every target name of the repository is.
pub(crate) fn witness_policy_target(log: &str) -> String {
    format!("witness-policy-{log}.txt")
}

fn instance(urls: &Urls, m: &Material) -> anyhow::Result<trust::Instance> {
    use trust as t;
    Ok(t::Instance {
        operator: t::DEFAULT_OPERATOR.to_string(),
        certificate_authorities: vec![t::CertificateAuthority::new(
            &urls.fulcio,
            m.fulcio_chain.clone(),
        )?],
        ctlogs: m
            .ctlog_shards
            .iter()
            .map(|shard| {
                t::CtLog::new(
                    format!("{}{}", urls.ctlog.trim_end_matches('/'), shard.path),
                    &shard.key,
                )
            })
            .collect::<Result<_, _>>()?,
        tlogs: vec![
            t::TransparencyLog::rekor_v1(&urls.rekor, &m.rekor_v1_key)?,
            t::TransparencyLog::rekor_v2_spki(
                format!("{}{}", urls.rekor.trim_end_matches('/'), m.rekor_v2_path),
                &m.rekor_v2_origin,
                &m.rekor_v2_key,
            )?,
        ],
        timestamp_authorities: vec![t::TimestampAuthority::new(&urls.tsa, m.tsa_chain.clone())?],
        oidc_providers: vec![t::OidcProvider::new(&urls.oidc)?],
    })
}

/// The newest CT shard, whose key is the legacy `ctfe.pub` target.
fn newest_ct_shard(material: &Material) -> anyhow::Result<&CtShardKey> {
    material
        .ctlog_shards
        .last()
        .context("no CT log shard takes certificates")
}

fn pem(label: &str, der: &[u8]) -> anyhow::Result<String> {
    der::pem::encode_string(label, der::pem::LineEnding::LF, der)
        .map_err(|e| anyhow::anyhow!("PEM encoding: {e}"))
}

fn pem_chain(chain: &[Vec<u8>]) -> anyhow::Result<Vec<u8>> {
    let mut out = String::new();
    for cert in chain {
        out.push_str(&pem("CERTIFICATE", cert)?);
    }
    Ok(out.into_bytes())
}

/// Records the instance in its history (opening windows for new keys, closing them for keys
/// no longer used), exports the client files to `trust_dir`, and publishes `trusted_root.json`,
/// `signing_config.v0.2.json` and the legacy targets through the TUF repository (a new targets
/// version only when something changed).
pub(crate) fn publish(
    data: &Path,
    trust_dir: &Path,
    repo: &Arc<tuf_repo::Repository>,
    urls: &Urls,
    material: &Material,
) -> anyhow::Result<()> {
    let current = instance(urls, material)?;
    let path = data.join(HISTORY_FILE);
    let mut history = match std::fs::read(&path) {
        Ok(bytes) => trust::TrustHistory::from_json(&bytes)
            .with_context(|| format!("{} is not a trust history", path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => trust::TrustHistory::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    if history.observe(&current, std::time::SystemTime::now()) || !path.exists() {
        crate::write_public_file(&path, &history.to_json())?;
    }
    trust::export(trust_dir, &history, None)
        .with_context(|| format!("exporting the trust files to {}", trust_dir.display()))?;
    let config = history.client_trust_config()?;
    let document = |name: &str, bytes: Vec<u8>| tuf_repo::NewTarget {
        name: name.to_string(),
        bytes,
        custom: None,
    };
    repo.set_targets(
        &[
            document("trusted_root.json", config.trusted_root.to_json()),
            document("signing_config.v0.2.json", config.signing_config.to_json()),
            tuf_repo::NewTarget::sigstore(
                "fulcio.crt.pem",
                pem_chain(&material.fulcio_chain)?,
                "Fulcio",
            ),
            tuf_repo::NewTarget::sigstore(
                "ctfe.pub",
                pem("PUBLIC KEY", &newest_ct_shard(material)?.key)?.into_bytes(),
                "CTFE",
            ),
            tuf_repo::NewTarget::sigstore(
                "rekor.pub",
                pem("PUBLIC KEY", &material.rekor_v1_key)?.into_bytes(),
                "Rekor",
            ),
            tuf_repo::NewTarget::sigstore(
                "tsa.certchain.pem",
                pem_chain(&material.tsa_chain)?,
                "TSA",
            ),
        ]
        .into_iter()
        .chain(material.witness_policies.iter().map(|(log, policy)| {
            document(&witness_policy_target(log), policy.clone().into_bytes())
        }))
        .collect::<Vec<_>>(),
    )?;
    crate::write_public_file(&trust_dir.join(trust::files::TUF_ROOT), &repo.root_bytes()?)?;
    Ok(())
}

/// Flags of `sigstack trust`.
#[derive(clap::Args)]
pub(crate) struct TrustArgs {
    #[command(subcommand)]
    command: TrustCommand,
}

#[derive(clap::Subcommand)]
enum TrustCommand {
    /// Write what clients need to trust this instance into DIR:
    ///
    ///   trust_config.json   sigstore-python: `sigstore --trust-config DIR/trust_config.json sign|verify …`
    ///   trusted_root.json   cosign, sigstore-go, sigstore-python verify: `--trusted-root`
    ///   signing_config.json the signing config alone (what `--signing-config` options take)
    ///   root.json           TUF root: `sigstore --instance URL trust-instance DIR/root.json`,
    ///                       sigstore-js `--tuf-root-path`, python-tuf bootstrap
    ///   policy.json         (with --identity and --issuer) containers-policy.json for podman
    ///                       and CRI-O, with fulcio_ca.pem, rekor.pub and registries.d/
    ///   kubernetes/         (with --identity and --issuer) admission policies: the sigstore
    ///                       policy-controller's TrustRoot and ClusterImagePolicy, a Kyverno
    ///                       ClusterPolicy (docs/kubernetes.md)
    ///   README.txt          which client uses which file
    Export {
        /// The directory to write (created if missing).
        dir: PathBuf,
        /// The data directory of the instance (as given to `sigstack up`).
        #[arg(long, env = "SIGSTACK_DATA_DIR", default_value = "sigstack-data")]
        data_dir: PathBuf,
        /// For policy.json and the admission policies: the signer's identity images must be
        /// signed by (an email; for the admission policies also a URI such as
        /// https://kubernetes.io/namespaces/NS/serviceaccounts/NAME).
        #[arg(long, requires = "issuer")]
        identity: Option<String>,
        /// For policy.json and the admission policies: the OIDC issuer of that identity.
        #[arg(long, requires = "identity")]
        issuer: Option<String>,
        /// For policy.json: the docker transport scope (registry/namespace); empty for all.
        #[arg(long, default_value = "")]
        docker_scope: String,
    },
    /// For services deployed separately (docker-compose, Kubernetes): record the services'
    /// current keys in the key history and publish trusted_root.json and
    /// signing_config.v0.2.json (and the legacy targets) through the TUF repository. Run it
    /// again after any key rotation: the old key's validity window is closed, never deleted.
    Publish(Box<PublishArgs>),
}

/// Flags of `sigstack trust publish`: the public URL and key (or chain) of each service.
#[derive(clap::Args)]
struct PublishArgs {
    /// The TUF repository (made by `sigstack tuf init`).
    #[arg(long, env = "SIGSTACK_TUF_REPO")]
    repo: PathBuf,
    /// The repository's online key (signs targets, snapshot, timestamp).
    #[arg(long, env = "SIGSTACK_TUF_ONLINE_KEY")]
    online_key: PathBuf,
    /// Where the key history (`trust-history.json`) is kept; the trust files for clients are
    /// written to `<state-dir>/trust/`.
    #[arg(long, env = "SIGSTACK_TRUST_STATE_DIR")]
    state_dir: PathBuf,
    /// Fulcio's URL, as clients reach it (the variable `sigstack fulcio --public-url` reads).
    #[arg(long, env = "SIGSTACK_FULCIO_PUBLIC_URL")]
    fulcio_url: PublicUrl,
    /// Fulcio's certificate chain (PEM, issuing certificate first).
    #[arg(long, env = "SIGSTACK_FULCIO_CA_CHAIN")]
    fulcio_chain: PathBuf,
    /// The CT log's URL (the variable `sigstack ctlog --public-url` reads).
    #[arg(long, env = "SIGSTACK_CTLOG_PUBLIC_URL")]
    ctlog_url: PublicUrl,
    /// The CT log's key: its public key (SPKI PEM) or its private key file.
    #[arg(long)]
    ctlog_key: PathBuf,
    /// The CT log's shard layout (`sigstack ctlog --shards`): after `sigstack rotate ctlog`,
    /// the newest shard is published at its own path below --ctlog-url (its key is
    /// --ctlog-key), and beside it every older shard still accepting for its window (with the
    /// key the layout records).
    #[arg(long, env = "SIGSTACK_CTLOG_SHARDS")]
    ctlog_shards: Option<PathBuf>,
    /// Rekor's URL (the variable `sigstack rekor --public-url` reads).
    #[arg(long, env = "SIGSTACK_REKOR_PUBLIC_URL")]
    rekor_url: PublicUrl,
    /// Rekor's shard layout, which records the logs' name (the v2 origin): the first of Rekor
    /// and this command to run records the URL's host there. Without it, the v2 origin is the
    /// URL's host, which is wrong once the URL has changed.
    #[arg(long, env = "SIGSTACK_REKOR_SHARDS")]
    rekor_shards: Option<PathBuf>,
    /// Rekor's v1 key (public SPKI PEM or private key file).
    #[arg(long)]
    rekor_v1_key: PathBuf,
    /// Rekor's v2 key (public SPKI PEM or private key file).
    #[arg(long)]
    rekor_v2_key: PathBuf,
    /// The TSA's URL (the variable `sigstack tsa --public-url` reads).
    #[arg(long, env = "SIGSTACK_TSA_PUBLIC_URL")]
    tsa_url: PublicUrl,
    /// The TSA's certificate chain (PEM, TSA certificate first).
    #[arg(long)]
    tsa_chain: PathBuf,
    /// An OIDC issuer clients may get tokens from (signing_config `oidcUrls`).
    #[arg(long, env = "SIGSTACK_OIDC_ISSUER_URL")]
    oidc_url: String,
    /// A log's witness policy to publish as the TUF target `witness-policy-<LOG>.txt`:
    /// `LOG=FILE`, the file a C2SP tlog-policy (what `/api/v2/witness-policy` or the CT log's
    /// `/witness-policy` serves); repeatable.
    #[arg(long = "witness-policy", value_parser = parse_witness_policy)]
    witness_policies: Vec<(String, PathBuf)>,
}

/// `LOG=FILE` of `--witness-policy`; LOG becomes part of a TUF target name.
fn parse_witness_policy(value: &str) -> Result<(String, PathBuf), String> {
    let (log, file) = value
        .split_once('=')
        .ok_or_else(|| format!("{value:?}: expected LOG=FILE"))?;
    if log.is_empty()
        || !log
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
    {
        return Err(format!(
            "{log:?}: the log's name must be letters, digits, '-' or '_'"
        ));
    }
    Ok((log.to_owned(), PathBuf::from(file)))
}

/// A public key file (SPKI PEM) or a private key file, as DER SPKI.
fn public_key_der(path: &Path) -> anyhow::Result<Vec<u8>> {
    // Only the public half is used: a plaintext private key file is read whatever the policy.
    let any = crate::keys_cmd::loader().with_plaintext(sigstack_keys::PlaintextKeys::Allowed);
    if path.to_str().is_some_and(sigstack_keys::Pkcs11Uri::is_uri) {
        return Ok(any.load(path)?.public_key_der().to_vec());
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    if text.contains("-----BEGIN PUBLIC KEY-----") {
        let (label, der) = der::pem::decode_vec(text.trim().as_bytes())
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        anyhow::ensure!(
            label == "PUBLIC KEY",
            "{}: not a public key",
            path.display()
        );
        return Ok(der);
    }
    Ok(any
        .load(path)
        .with_context(|| format!("{} is neither a public nor a private key", path.display()))?
        .public_key_der()
        .to_vec())
}

/// The CT shards that take certificates now, from the layout at `layout_path` (without one, a
/// log of one shard): the newest with `newest_key`, older ones kept accepting with the keys the
/// layout records.
fn accepting_ct_shards(
    newest_key: &Path,
    layout_path: Option<&Path>,
) -> anyhow::Result<Vec<CtShardKey>> {
    let Some(layout_path) = layout_path else {
        return Ok(vec![CtShardKey {
            path: String::new(),
            key: public_key_der(newest_key)?,
        }]);
    };
    let layout = ctlog::CtShardLayout::load_or_create(layout_path)?;
    let older = layout.older_keys(layout_path);
    layout
        .accepting(std::time::SystemTime::now())?
        .iter()
        .map(|(_, &generation)| {
            let key = match older.iter().find(|(g, _)| *g == generation) {
                Some((_, key)) => public_key_der(key)
                    .with_context(|| format!("the key of CT log shard {generation}"))?,
                None => public_key_der(newest_key)?,
            };
            Ok(CtShardKey {
                path: ctlog::shard_path(generation),
                key,
            })
        })
        .collect()
}

fn publish_files(a: PublishArgs) -> anyhow::Result<()> {
    let online = crate::keys_cmd::loader()
        .load(&a.online_key)
        .with_context(|| format!("online key {}", a.online_key.display()))?;
    let repo = Arc::new(tuf_repo::Repository::open(
        &a.repo,
        online,
        tuf_repo::RepoOptions::default(),
    )?);
    // The active v2 log's generation, origin and path come from the layout (a v2 key rotation
    // moves them on); without one, generation 1.
    let (rekor_v2_origin, rekor_v2_path) = match &a.rekor_shards {
        Some(path) => {
            let (layout, name) = crate::rekor_cmd::settled_layout(path, &a.rekor_url)?;
            let generation = layout.v2_generation();
            (
                rekor::v2_shard_origin(&name, generation),
                rekor::v2_shard_path(generation),
            )
        }
        None => (a.rekor_url.host().to_owned(), String::new()),
    };
    let urls = Urls {
        fulcio: a.fulcio_url.to_string(),
        ctlog: a.ctlog_url.to_string(),
        rekor: a.rekor_url.to_string(),
        tsa: a.tsa_url.to_string(),
        oidc: a.oidc_url,
    };
    let material = Material {
        fulcio_chain: crate::services::load_certificates(&a.fulcio_chain)?,
        ctlog_shards: accepting_ct_shards(&a.ctlog_key, a.ctlog_shards.as_deref())?,
        rekor_v1_key: public_key_der(&a.rekor_v1_key)?,
        rekor_v2_key: public_key_der(&a.rekor_v2_key)?,
        rekor_v2_origin,
        rekor_v2_path,
        tsa_chain: crate::services::load_certificates(&a.tsa_chain)?,
        witness_policies: a
            .witness_policies
            .iter()
            .map(|(log, file)| {
                std::fs::read_to_string(file)
                    .map(|policy| (log.clone(), policy))
                    .with_context(|| format!("--witness-policy {log}={}", file.display()))
            })
            .collect::<anyhow::Result<_>>()?,
    };
    std::fs::create_dir_all(&a.state_dir)?;
    let trust_dir = a.state_dir.join("trust");
    publish(&a.state_dir, &trust_dir, &repo, &urls, &material)?;
    println!(
        "published trusted_root.json and signing_config.v0.2.json in {}; client files in {}",
        a.repo.display(),
        trust_dir.display()
    );
    Ok(())
}

pub(crate) fn run(args: TrustArgs) -> anyhow::Result<()> {
    let (dir, data_dir, identity, issuer, docker_scope) = match args.command {
        TrustCommand::Publish(a) => return publish_files(*a),
        TrustCommand::Export {
            dir,
            data_dir,
            identity,
            issuer,
            docker_scope,
        } => (dir, data_dir, identity, issuer, docker_scope),
    };
    let path = data_dir.join(HISTORY_FILE);
    let bytes = std::fs::read(&path).with_context(|| {
        format!(
            "reading {} (run `sigstack up --data-dir {}` once first)",
            path.display(),
            data_dir.display()
        )
    })?;
    let history = trust::TrustHistory::from_json(&bytes)?;
    let identity = identity
        .zip(issuer)
        .map(|(email, issuer)| trust::PolicyIdentity {
            email,
            issuer,
            docker_scope,
        });
    let written = trust::export(&dir, &history, identity.as_ref())?;
    let root = data_dir.join("tuf").join("root.json");
    let target = dir.join(trust::files::TUF_ROOT);
    std::fs::copy(&root, &target)
        .with_context(|| format!("copying the TUF root {}", root.display()))?;
    for p in written.iter().chain(Some(&target)) {
        println!("{}", p.display());
    }
    Ok(())
}

/// Where `sigstack up` runs the development issuer unless told otherwise.
pub(crate) const DEFAULT_DEV_ISSUER_URL: &str = "http://127.0.0.1:5556";

/// Flags of `sigstack token`.
#[derive(clap::Args)]
pub(crate) struct TokenArgs {
    /// The identity (email) to mint a token for.
    email: String,
    /// The DEVELOPMENT issuer of a running `sigstack up`.
    #[arg(
        long,
        env = "SIGSTACK_DEV_ISSUER_URL",
        default_value = DEFAULT_DEV_ISSUER_URL
    )]
    issuer_url: String,
    /// The audience (Fulcio's client id).
    #[arg(long, default_value = "sigstore")]
    audience: String,
}

/// Prints an ID token from the development issuer of a running `sigstack up`.
pub(crate) async fn token(args: TokenArgs) -> anyhow::Result<()> {
    let token = dev_oidc::fetch_token(&args.issuer_url, &args.email, &args.audience)
        .await
        .with_context(|| {
            format!(
                "getting a token from the development issuer at {} (is `sigstack up` running?)",
                args.issuer_url
            )
        })?;
    println!("{token}");
    Ok(())
}

/// Flags of `sigstack dev-issuer`.
#[derive(clap::Args)]
pub(crate) struct DevIssuerArgs {
    /// Address to serve on (loopback only, unless --allow-non-loopback-unsafe).
    #[arg(
        long,
        env = "SIGSTACK_DEV_ISSUER_LISTEN",
        default_value = "127.0.0.1:5556"
    )]
    listen: std::net::SocketAddr,
    /// The issuer's signing key (ECDSA P-256, PKCS#8 PEM); created owner-only if missing.
    #[arg(long, env = "SIGSTACK_DEV_ISSUER_KEY")]
    key: PathBuf,
    /// The issuer URL written into tokens (`iss`); Fulcio fetches the keys from it.
    #[arg(
        long,
        env = "SIGSTACK_DEV_ISSUER_URL",
        default_value = "http://127.0.0.1:5556"
    )]
    issuer_url: String,
    /// DANGEROUS: serve on a non-loopback address and to any peer. Anyone who can reach the
    /// issuer can then get a token, and so a certificate, for any identity. For a compose
    /// network of development containers only.
    #[arg(long)]
    allow_non_loopback_unsafe: bool,
    #[command(flatten)]
    tls: crate::tls::TlsArgs,
}

/// Runs the DEVELOPMENT OpenID issuer on its own (`sigstack up` runs it itself).
pub(crate) async fn dev_issuer(
    args: DevIssuerArgs,
    grace: std::time::Duration,
) -> anyhow::Result<()> {
    dev_oidc::check_listen_addr(args.listen, args.allow_non_loopback_unsafe)?;
    let tls = args.tls.load()?;
    let mut options = dev_oidc::DevIssuerOptions::default();
    if args.allow_non_loopback_unsafe {
        options = options.allow_non_loopback_unsafe();
    }
    let issuer = dev_oidc::DevIssuer::open_with(&args.key, &args.issuer_url, options)?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    tracing::warn!(listen = %args.listen, issuer = %args.issuer_url, "DEVELOPMENT OIDC issuer serving: tokens for any email; never use in production");
    crate::serve::serve("dev-issuer", listener, dev_oidc::router(issuer), tls, grace).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plaintext P-256 key file at `path`, returning its public key (DER SPKI).
    fn key_file(path: &Path) -> Vec<u8> {
        use sigstack_keys::Signer as _;
        sigstack_keys::SoftwareKey::load_or_generate(
            path,
            sigstack_keys::Algorithm::EcdsaP256Sha256,
        )
        .unwrap()
        .public_key_der()
        .to_vec()
    }

    #[test]
    fn trust_publish_lists_every_accepting_ct_shard_with_its_own_key() {
        let dir = tempfile::tempdir().unwrap();
        let layout_path = dir.path().join("ctlog-shards.json");
        let (frozen, kept, newest) = (
            key_file(&dir.path().join("retired-1.pem")),
            key_file(&dir.path().join("retired-2.pem")),
            key_file(&dir.path().join("ctlog.pem")),
        );
        let now = std::time::SystemTime::now();
        let year = std::time::Duration::from_secs(365 * 86_400);
        let this_year = ctlog::ExpiryWindow::new(now - year, now + year).unwrap();
        let next_year = ctlog::ExpiryWindow::new(now + year, now + 2 * year).unwrap();
        let mut layout = ctlog::CtShardLayout::default();
        layout
            .rotate(
                "retired-1.pem".into(),
                Some(this_year),
                ctlog::RetiredShard::Freeze,
                now,
            )
            .unwrap();
        layout
            .rotate(
                "retired-2.pem".into(),
                Some(next_year),
                ctlog::RetiredShard::KeepAccepting,
                now,
            )
            .unwrap();
        layout.save(&layout_path).unwrap();
        let shards =
            accepting_ct_shards(&dir.path().join("ctlog.pem"), Some(&layout_path)).unwrap();
        let listed: Vec<(&str, &[u8])> = shards
            .iter()
            .map(|s| (s.path.as_str(), s.key.as_slice()))
            .collect();
        assert_eq!(
            listed,
            vec![
                ("/shards/2", kept.as_slice()),
                ("/shards/3", newest.as_slice())
            ]
        );
        assert!(!listed.iter().any(|(_, key)| *key == frozen.as_slice()));
        // Without a layout: one shard, at the CT log's URL.
        let single = accepting_ct_shards(&dir.path().join("ctlog.pem"), None).unwrap();
        assert_eq!((single.len(), single[0].path.as_str()), (1, ""));
        // A separately deployed Fulcio submits to both, by window.
        let submit = crate::services::ct_submission_shards("http://ct.test/", &layout).unwrap();
        let in_a_day = now + std::time::Duration::from_secs(86_400);
        let secs =
            |t: std::time::SystemTime| t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        assert_eq!(
            submit.for_not_after(secs(in_a_day)).unwrap(),
            "http://ct.test/shards/2"
        );
        assert_eq!(
            submit.for_not_after(secs(now + year + year / 2)).unwrap(),
            "http://ct.test/shards/3"
        );
        assert!(submit.for_not_after(secs(now + 3 * year)).is_err());
    }

    #[test]
    fn witness_policy_flags_name_flat_targets() {
        let (log, file) = parse_witness_policy("rekor-v2=/tmp/p.txt").unwrap();
        assert_eq!(
            (log.as_str(), file),
            ("rekor-v2", PathBuf::from("/tmp/p.txt"))
        );
        assert_eq!(witness_policy_target(&log), "witness-policy-rekor-v2.txt");
        assert!(tuf_repo::layout::is_target_name(&witness_policy_target(
            "ctlog"
        )));
        for bad in ["rekor-v2", "=p.txt", "a/b=p.txt", "a.b=p.txt", "a b=p.txt"] {
            assert!(parse_witness_policy(bad).is_err(), "{bad}");
        }
    }
}
