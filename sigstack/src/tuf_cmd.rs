//! `sigstack tuf …`: the root ceremony, online signing, serving and export.
//!
//! ```text
//! sigstack tuf keygen FILE [--algorithm ecdsa-p256|ecdsa-p384|ed25519]
//! sigstack tuf init --repo DIR --root-key FILE… --threshold M [--online-key FILE] [expiries]
//! sigstack tuf root add-key    --repo DIR KEYFILE [--threshold M] [--sign-key FILE…]
//! sigstack tuf root revoke-key --repo DIR KEYID|KEYFILE [--threshold M] [--sign-key FILE…]
//! sigstack tuf root rotate     --repo DIR [--add-key F…] [--revoke-key K…] [--threshold M]
//!                              [--expires DUR] [--sign-key FILE…]
//! sigstack tuf root status     --repo DIR
//! sigstack tuf sign-root --repo DIR --key FILE…
//! sigstack tuf publish   --repo DIR [--online-key FILE] [--timestamp-expires=DUR]
//! sigstack tuf add-target --repo DIR NAME FILE [--usage U] [--status S] [--online-key FILE]
//! sigstack tuf serve  --repo DIR --listen ADDR [--online-key FILE] [expiries]
//! sigstack tuf status --repo DIR
//! sigstack tuf export --repo DIR OUT
//! ```
//!
//! Durations are a number and a unit: `90s`, `30m`, `12h`, `7d`, `2w`.

use anyhow::{bail, Context};
use base64::Engine as _;
use clap::Subcommand;
use sigstack_keys::Algorithm;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tuf::Key;
use tuf_repo::{
    default_online_key_path, now, router, spawn_refresher, NewTarget, RepoOptions, Repository,
    RootChange,
};

/// Flags of `sigstack tuf`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Generate a private key (PKCS#8 PEM, mode 0600) for a root keyholder or the online roles,
    /// and its public key (SPKI PEM) in FILE.pub.
    Keygen {
        /// Where to write the key; must not exist.
        file: PathBuf,
        /// ecdsa-p256 (default), ecdsa-p384 or ed25519.
        #[arg(long, default_value = "ecdsa-p256")]
        algorithm: String,
    },
    /// Create a repository: root v1 signed by every --root-key, empty targets, snapshot and
    /// timestamp signed by the online key.
    Init(InitArgs),
    /// Stage, sign and publish a new root version.
    #[command(subcommand)]
    Root(RootCommand),
    /// Add signatures to the staged root with keys held here (collect the threshold across
    /// invocations, then `publish`).
    SignRoot {
        #[command(flatten)]
        repo: RepoArg,
        /// A root private key (PKCS#8 PEM); repeat for several.
        #[arg(long = "key", required = true)]
        keys: Vec<PathBuf>,
    },
    /// Publish: the staged root if it carries both thresholds, then a fresh timestamp. Refuses
    /// expired, under-signed or rolled-back metadata.
    Publish {
        #[command(flatten)]
        repo: RepoArg,
        #[command(flatten)]
        online: OnlineArg,
        /// Lifetime of the new timestamp (default 1d). Write `--timestamp-expires=-1h` for a
        /// negative one (refused unless --unsafe-allow-expired).
        #[arg(long)]
        timestamp_expires: Option<String>,
        /// TESTING ONLY: publish even if the timestamp is already expired.
        #[arg(long)]
        unsafe_allow_expired: bool,
    },
    /// Add or replace a target file (new targets, snapshot and timestamp versions). Old
    /// contents stay on disk.
    AddTarget {
        #[command(flatten)]
        repo: RepoArg,
        /// Target name, e.g. trusted_root.json.
        name: String,
        /// The file to publish under that name.
        file: PathBuf,
        /// custom.sigstore.usage: Fulcio, Rekor, CTFE, TSA or Unknown.
        #[arg(long, default_value = "Unknown")]
        usage: String,
        /// custom.sigstore.status: Active or Expired.
        #[arg(long, default_value = "Active")]
        status: String,
        #[command(flatten)]
        online: OnlineArg,
        #[command(flatten)]
        expiry: ExpiryArgs,
    },
    /// Serve the repository over HTTP and keep timestamp/snapshot/targets signed.
    Serve {
        #[command(flatten)]
        repo: RepoArg,
        /// Address to listen on.
        #[arg(long, env = "SIGSTACK_TUF_LISTEN", default_value = "127.0.0.1:8081")]
        listen: std::net::SocketAddr,
        /// The URL clients use for the repository (their `--tuf-mirror-url`); logged at start.
        /// Its metadata carries no URL of its own.
        #[arg(long, env = "SIGSTACK_TUF_PUBLIC_URL")]
        public_url: Option<crate::public_url::PublicUrl>,
        /// Serve only: do not re-sign expiring metadata.
        #[arg(long)]
        no_refresh: bool,
        #[command(flatten)]
        online: OnlineArg,
        #[command(flatten)]
        expiry: ExpiryArgs,
        #[command(flatten)]
        metrics: crate::metrics_args::MetricsArgs,
        #[command(flatten)]
        tls: crate::tls::TlsArgs,
    },
    /// Show the published versions and expiries, the staged root, and whether the repository
    /// verifies now (exit status 1 if not).
    Status {
        #[command(flatten)]
        repo: RepoArg,
    },
    /// Copy the published repository into OUT, for any static web server.
    Export {
        #[command(flatten)]
        repo: RepoArg,
        /// Output directory.
        out: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum RootCommand {
    /// Stage a new root with one more root key.
    AddKey {
        #[command(flatten)]
        repo: RepoArg,
        /// The new key: public (SPKI PEM) or private (PKCS#8 PEM) key file.
        key: PathBuf,
        /// New root threshold.
        #[arg(long)]
        threshold: Option<u32>,
        /// Sign the staged root with these root keys.
        #[arg(long = "sign-key")]
        sign_keys: Vec<PathBuf>,
    },
    /// Stage a new root without a root key.
    RevokeKey {
        #[command(flatten)]
        repo: RepoArg,
        /// Key id (64 hex) or key file of the key to remove.
        key: String,
        /// New root threshold.
        #[arg(long)]
        threshold: Option<u32>,
        /// Sign the staged root with these root keys.
        #[arg(long = "sign-key")]
        sign_keys: Vec<PathBuf>,
    },
    /// Stage a new root with all these changes (or just a renewed expiry), sign it, and
    /// publish it if both thresholds are met.
    Rotate {
        #[command(flatten)]
        repo: RepoArg,
        /// Keys to add (public or private key files).
        #[arg(long = "add-key")]
        add: Vec<PathBuf>,
        /// Keys to remove (key id or key file).
        #[arg(long = "revoke-key")]
        revoke: Vec<String>,
        /// New root threshold.
        #[arg(long)]
        threshold: Option<u32>,
        /// Lifetime of the new root (default 180d).
        #[arg(long)]
        expires: Option<String>,
        /// Sign with these root keys (old and new).
        #[arg(long = "sign-key")]
        sign_keys: Vec<PathBuf>,
    },
    /// Show the staged root's signatures.
    Status {
        #[command(flatten)]
        repo: RepoArg,
    },
}

#[derive(clap::Args, Debug)]
struct RepoArg {
    /// The repository directory.
    #[arg(long = "repo", env = "SIGSTACK_TUF_REPO")]
    dir: PathBuf,
}

#[derive(clap::Args, Debug)]
struct OnlineArg {
    /// The online key (timestamp, snapshot, targets). Default: REPO/private/online.pem.
    #[arg(long = "online-key", env = "SIGSTACK_TUF_ONLINE_KEY")]
    online_key: Option<PathBuf>,
}

impl OnlineArg {
    fn path(&self, repo: &Path) -> PathBuf {
        self.online_key
            .clone()
            .unwrap_or_else(|| default_online_key_path(repo))
    }

    fn load(&self, repo: &Path) -> anyhow::Result<Arc<dyn sigstack_keys::Signer>> {
        let path = self.path(repo);
        crate::keys_cmd::loader()
            .load(&path)
            .with_context(|| format!("loading the online key {}", path.display()))
    }
}

#[derive(clap::Args, Debug)]
struct ExpiryArgs {
    /// Lifetime of a new root (alias --expires).
    #[arg(long, alias = "expires", default_value = "180d")]
    root_expires: String,
    /// Lifetime of targets metadata.
    #[arg(long, default_value = "90d")]
    targets_expires: String,
    /// Lifetime of snapshot metadata.
    #[arg(long, default_value = "7d")]
    snapshot_expires: String,
    /// Lifetime of timestamp metadata.
    #[arg(long, default_value = "1d")]
    timestamp_expires: String,
}

impl ExpiryArgs {
    fn options(&self) -> anyhow::Result<RepoOptions> {
        let d = |s: &str| -> anyhow::Result<Duration> {
            let secs = parse_duration(s)?;
            if secs < 0 {
                bail!("duration {s:?} must not be negative here");
            }
            Ok(Duration::from_secs(secs as u64))
        };
        let opts = RepoOptions {
            root_expiry: d(&self.root_expires)?,
            targets_expiry: d(&self.targets_expires)?,
            snapshot_expiry: d(&self.snapshot_expires)?,
            timestamp_expiry: d(&self.timestamp_expires)?,
        };
        opts.validate()?;
        Ok(opts)
    }
}

#[derive(clap::Args, Debug)]
struct InitArgs {
    #[command(flatten)]
    repo: RepoArg,
    /// A root key; repeat for each keyholder. A private key (PKCS#8 PEM) signs root v1 now; a
    /// public key (`keygen`'s FILE.pub) belongs to a keyholder elsewhere, who signs with
    /// `sign-root` before `publish`.
    #[arg(long = "root-key", required = true)]
    root_keys: Vec<PathBuf>,
    /// How many root keys must sign each root.
    #[arg(long)]
    threshold: u32,
    /// The online key; generated there if missing. Default: REPO/private/online.pem.
    #[arg(long = "online-key")]
    online_key: Option<PathBuf>,
    #[command(flatten)]
    expiry: ExpiryArgs,
}

/// Parses a duration as humantime reads it (`90s`, `30m`, `12h`, `7d`, `2w`, `1d 12h`),
/// optionally negative (`-1h`), into seconds.
pub(crate) fn parse_duration(s: &str) -> anyhow::Result<i64> {
    let t = s.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let d = humantime::parse_duration(t)
        .with_context(|| format!("duration {s:?}: a number and a unit (s, m, h, d, w), e.g. 7d"))?;
    let v = i64::try_from(d.as_secs()).with_context(|| format!("duration {s:?} too large"))?;
    Ok(if neg { -v } else { v })
}

fn public_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

fn spki_pem(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN PUBLIC KEY-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str("-----END PUBLIC KEY-----\n");
    out
}

fn is_private_key_file(path: &Path) -> anyhow::Result<bool> {
    if path.to_str().is_some_and(sigstack_keys::Pkcs11Uri::is_uri) {
        return Ok(true);
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the key {}", path.display()))?;
    Ok(text.contains("PRIVATE KEY"))
}

fn init(a: InitArgs) -> anyhow::Result<()> {
    let opts = a.expiry.options()?;
    let dir = &a.repo.dir;
    let mut signers = Vec::new();
    let mut keys = Vec::new();
    for path in &a.root_keys {
        if is_private_key_file(path)? {
            let signer = load_signer(path)?;
            keys.push(Key::from_signer(signer.as_ref())?);
            signers.push(signer);
        } else {
            keys.push(load_key(path)?);
        }
    }
    let online_path = a
        .online_key
        .clone()
        .unwrap_or_else(|| default_online_key_path(dir));
    let online = crate::keys_cmd::loader()
        .load_or_generate(&online_path, Algorithm::EcdsaP256Sha256)
        .with_context(|| format!("online key {}", online_path.display()))?;
    if signers.len() == keys.len() {
        let refs: Vec<&dyn sigstack_keys::Signer> = signers.iter().map(|s| s.as_ref()).collect();
        let repo = Repository::init(dir, &refs, a.threshold, online, opts)?;
        println!(
            "initialised {}: root v1 with {} root key(s), threshold {}; online key {}",
            repo.dir().display(),
            refs.len(),
            a.threshold,
            online_path.display()
        );
        return Ok(());
    }
    let status = tuf_repo::stage_initial_root(
        dir,
        &keys,
        a.threshold,
        &Key::from_signer(online.as_ref())?,
        opts.root_expiry,
    )?;
    println!("{status}");
    for signer in &signers {
        let status = tuf_repo::sign_staged_root(dir, signer.as_ref())?;
        println!("signed: {status}");
    }
    if tuf_repo::staged_root_status(dir)?.is_some_and(|s| s.ready()) {
        tuf_repo::publish_staged_root(dir, now())?;
        let repo = Repository::open(dir, online, opts)?;
        println!("initialised {}", repo.dir().display());
    } else {
        println!("root v1 staged: collect signatures with `sigstack tuf sign-root`, then `sigstack tuf publish`");
    }
    Ok(())
}

/// A private key: a file (encrypted, or plaintext where allowed) or a key in a token, as
/// each keyholder of a root ceremony has it.
fn load_signer(path: &Path) -> anyhow::Result<Arc<dyn sigstack_keys::Signer>> {
    crate::keys_cmd::loader()
        .load(path)
        .with_context(|| format!("loading the key {}", path.display()))
}

/// The TUF key of a public (SPKI PEM) or private (PKCS#8 PEM) key file.
fn load_key(path: &Path) -> anyhow::Result<Key> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the key {}", path.display()))?;
    if text.contains("PRIVATE KEY") {
        return Ok(Key::from_signer(load_signer(path)?.as_ref())?);
    }
    let body: String = text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .concat();
    if !text.contains("-----BEGIN PUBLIC KEY-----") {
        bail!(
            "{}: expected a PUBLIC KEY or PRIVATE KEY PEM file",
            path.display()
        );
    }
    let der = base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .with_context(|| format!("{}: bad PEM", path.display()))?;
    Ok(Key::from_spki_der(&der)?)
}

/// A key id given as 64 hex characters, or the key id of a key file.
fn key_id_of(arg: &str) -> anyhow::Result<String> {
    if arg.len() == 64 && arg.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(arg.to_ascii_lowercase());
    }
    Ok(load_key(Path::new(arg))?.key_id()?)
}

fn sign_staged(dir: &Path, keys: &[PathBuf]) -> anyhow::Result<()> {
    for path in keys {
        let status = tuf_repo::sign_staged_root(dir, load_signer(path)?.as_ref())?;
        println!("signed with {}: {status}", path.display());
    }
    Ok(())
}

fn stage(
    dir: &Path,
    changes: &[RootChange],
    root_expiry: Duration,
    sign_keys: &[PathBuf],
) -> anyhow::Result<tuf_repo::StagedStatus> {
    let status = tuf_repo::stage_root(dir, changes, root_expiry)?;
    println!("{status}");
    sign_staged(dir, sign_keys)?;
    Ok(tuf_repo::staged_root_status(dir)?.expect("just staged"))
}

/// Runs one `sigstack tuf` command.
pub(crate) async fn run(args: Args, grace: std::time::Duration) -> anyhow::Result<()> {
    match args.command {
        Command::Keygen { file, algorithm } => {
            if file.exists() {
                bail!("{} already exists; not overwriting a key", file.display());
            }
            let alg: Algorithm = algorithm.parse()?;
            let key = crate::keys_cmd::loader().generate_file(&file, alg)?;
            let public = public_path(&file);
            std::fs::write(
                &public,
                spki_pem(sigstack_keys::Signer::public_key_der(&key)),
            )
            .with_context(|| format!("writing {}", public.display()))?;
            println!(
                "wrote {} ({}) and its public key {}, TUF key id {}",
                file.display(),
                alg.name(),
                public.display(),
                Key::from_signer(&key)?.key_id()?
            );
        }
        Command::Init(a) => init(a)?,
        Command::Root(cmd) => root_command(cmd)?,
        Command::SignRoot { repo, keys } => sign_staged(&repo.dir, &keys)?,
        Command::Publish {
            repo,
            online,
            timestamp_expires,
            unsafe_allow_expired,
        } => {
            let dir = &repo.dir;
            let mut did = false;
            if tuf_repo::staged_root_status(dir)?.is_some() {
                let v = tuf_repo::publish_staged_root(dir, now())?;
                println!("published root v{v}");
                did = true;
            }
            let online_path = online.path(dir);
            if online_path.exists() {
                let repo = Repository::open(dir, online.load(dir)?, RepoOptions::default())?;
                let expires_in = timestamp_expires
                    .as_deref()
                    .map(parse_duration)
                    .transpose()?;
                let v = repo.publish_timestamp(expires_in, unsafe_allow_expired)?;
                println!(
                    "published timestamp v{} (snapshot v{}, targets v{}, root v{})",
                    v.timestamp, v.snapshot, v.targets, v.root
                );
                did = true;
            } else {
                println!(
                    "no online key at {}: timestamp not re-signed",
                    online_path.display()
                );
            }
            if !did {
                bail!("nothing to publish: no staged root and no online key");
            }
        }
        Command::AddTarget {
            repo,
            name,
            file,
            usage,
            status,
            online,
            expiry,
        } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let r = Repository::open(&repo.dir, online.load(&repo.dir)?, expiry.options()?)?;
            let changed = r.set_targets(&[NewTarget {
                name: name.clone(),
                bytes,
                custom: Some(tuf::sigstore_custom(&usage, &status)),
            }])?;
            let v = r.versions()?;
            if changed {
                println!("published {name} in targets v{}", v.targets);
            } else {
                println!("{name} unchanged (targets v{})", v.targets);
            }
        }
        Command::Serve {
            repo,
            listen,
            public_url,
            no_refresh,
            online,
            expiry,
            metrics,
            tls,
        } => {
            let tls = tls.load()?;
            let r = Arc::new(Repository::open(
                &repo.dir,
                online.load(&repo.dir)?,
                expiry.options()?,
            )?);
            let refresher = (!no_refresh).then(|| spawn_refresher(r.clone()));
            let registry = sigstack_http::MetricsRegistry::for_service("tuf");
            let router = router(repo.dir.clone(), &registry);
            let served = crate::serve::serve_service(
                "tuf",
                listen,
                tls,
                router,
                registry,
                &metrics,
                grace,
                |tls_on| tracing::info!(%listen, public_url = public_url.as_ref().map(tracing::field::display), tls = tls_on, dir = %repo.dir.display(), refresh = !no_refresh, "serving TUF repository"),
            )
            .await;
            if let Some(h) = refresher {
                h.abort();
            }
            served?;
        }
        Command::Status { repo } => {
            let dir = &repo.dir;
            for line in tuf_repo::describe(dir)? {
                println!("{line}");
            }
            match tuf_repo::staged_root_status(dir)? {
                Some(s) => println!("{s}"),
                None => println!("no staged root"),
            }
            let v = tuf_repo::verify_dir(dir, now())?;
            println!("verifies now (timestamp v{})", v.timestamp);
        }
        Command::Export { repo, out } => {
            let (r, n) = tuf_repo::export(&repo.dir, &out)?;
            println!(
                "exported {n} files (timestamp v{}) to {}",
                r.timestamp,
                out.display()
            );
        }
    }
    Ok(())
}

fn root_command(cmd: RootCommand) -> anyhow::Result<()> {
    let expiry = tuf_repo::DEFAULT_ROOT_EXPIRY;
    match cmd {
        RootCommand::AddKey {
            repo,
            key,
            threshold,
            sign_keys,
        } => {
            let mut changes = vec![RootChange::AddKey(load_key(&key)?)];
            changes.extend(threshold.map(RootChange::Threshold));
            stage(&repo.dir, &changes, expiry, &sign_keys)?;
            println!(
                "collect signatures with `sigstack tuf sign-root`, then `sigstack tuf publish`"
            );
        }
        RootCommand::RevokeKey {
            repo,
            key,
            threshold,
            sign_keys,
        } => {
            let mut changes = vec![RootChange::RevokeKey(key_id_of(&key)?)];
            changes.extend(threshold.map(RootChange::Threshold));
            stage(&repo.dir, &changes, expiry, &sign_keys)?;
            println!(
                "collect signatures with `sigstack tuf sign-root`, then `sigstack tuf publish`"
            );
        }
        RootCommand::Rotate {
            repo,
            add,
            revoke,
            threshold,
            expires,
            sign_keys,
        } => {
            let mut changes = Vec::new();
            for k in &add {
                changes.push(RootChange::AddKey(load_key(k)?));
            }
            for k in &revoke {
                changes.push(RootChange::RevokeKey(key_id_of(k)?));
            }
            changes.extend(threshold.map(RootChange::Threshold));
            let lifetime = match expires {
                Some(e) => {
                    let s = parse_duration(&e)?;
                    if s <= 0 {
                        bail!("--expires must be positive");
                    }
                    Duration::from_secs(s as u64)
                }
                None => expiry,
            };
            changes.push(RootChange::Expires(lifetime));
            let status = stage(&repo.dir, &changes, lifetime, &sign_keys)?;
            if status.ready() {
                let v = tuf_repo::publish_staged_root(&repo.dir, now())?;
                println!("published root v{v}");
            } else {
                println!("not yet publishable: collect signatures with `sigstack tuf sign-root`, then `sigstack tuf publish`");
            }
        }
        RootCommand::Status { repo } => match tuf_repo::staged_root_status(&repo.dir)? {
            Some(s) => println!("{s}"),
            None => println!("no staged root"),
        },
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s").unwrap(), 90);
        assert_eq!(parse_duration("7d").unwrap(), 7 * 86_400);
        assert_eq!(parse_duration("-1h").unwrap(), -3600);
        assert_eq!(parse_duration("2w").unwrap(), 14 * 86_400);
        assert!(parse_duration("7").is_err());
        assert!(parse_duration("d").is_err());
        assert_eq!(parse_duration("1d 12h").unwrap(), 36 * 3600);
        assert!(parse_duration("7q").is_err());
    }
}
