//! `sigstack rotate`: retire the CA's, the TSA's or Rekor v1's key so that the next start makes
//! a new one and publishes it through TUF, the old one kept in `trusted_root.json` with its
//! `validFor` window closed.
//!
//! Nothing is deleted: a retired key file (and the certificate chain made for it) moves to
//! `<keys>/retired/`, where it stays for audits and, for a log key, to keep signing its frozen
//! shard.
//!
//! A log's key signs the log's stored checkpoints and is its identity (its log ID), so it is
//! never changed under a log: rotating Rekor v1's key freezes the active shard with the old key
//! (recorded in the shard layout) and starts a new shard for the new key, as upstream rotates
//! v1 keys. The CT log and Rekor v2, which serve one log each, are refused with the reason.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use sigstack_keys::Pkcs11Uri;

/// Flags of `sigstack rotate`.
#[derive(clap::Args)]
pub(crate) struct RotateArgs {
    /// The data directory of a `sigstack up`, which must be stopped (its lock is taken). Start
    /// it again afterwards: it makes the new keys and publishes them.
    #[arg(long, env = "SIGSTACK_DATA_DIR", required_unless_present = "keys_dir")]
    data_dir: Option<PathBuf>,
    /// Instead: the keys directory of separately deployed services (compose's `/keys`, with
    /// `fulcio-chain.pem` and `tsa-chain.pem`). Run compose's `init` and restart the services
    /// afterwards (`docker compose up -d --force-recreate`).
    #[arg(long, conflicts_with = "data_dir")]
    keys_dir: Option<PathBuf>,
    /// With --data-dir: the token of `up --keys-pkcs11` (the same URI, without an object).
    /// The key is retired in the token by renaming its objects `retired-<time>-<name>`;
    /// nothing is destroyed, and `up` makes a new key under the name at its next start.
    #[arg(long, env = "SIGSTACK_KEYS_PKCS11", requires = "data_dir")]
    keys_pkcs11: Option<String>,
    /// With --keys-dir: Rekor's shard layout, where a Rekor v1 rotation freezes the active
    /// shard with its key (compose's `/data/rekor/shards.json`).
    #[arg(long, env = "SIGSTACK_REKOR_SHARDS", requires = "keys_dir")]
    rekor_shards: Option<PathBuf>,
    /// The keys to retire.
    #[arg(required = true, value_enum)]
    keys: Vec<RotatedKey>,
}

/// A key `rotate` retires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum RotatedKey {
    /// The CA's key and its certificate chain.
    FulcioCa,
    /// The CT log's key: refused (a new key is a new log).
    Ctlog,
    /// Rekor v1's key: the active shard freezes with it, a new shard takes the new key.
    RekorV1,
    /// Rekor v2's key: refused (a new key is a new log).
    RekorV2,
    /// The timestamp authority's key and chain.
    Tsa,
    /// Every key that rotates: the CA's, the TSA's and Rekor v1's.
    All,
}

const EVERY_KEY: [RotatedKey; 3] = [RotatedKey::FulcioCa, RotatedKey::Tsa, RotatedKey::RekorV1];

/// Where one layout keeps the files a rotation moves.
struct Layout {
    keys: PathBuf,
    ca_chain: PathBuf,
    tsa_chain: PathBuf,
    rekor_shards: Option<PathBuf>,
}

impl RotatedKey {
    /// The key's name: its file stem in a keys directory, its object label in a token.
    fn stem(self) -> &'static str {
        match self {
            RotatedKey::FulcioCa => "fulcio-ca",
            RotatedKey::Ctlog => "ctlog",
            RotatedKey::RekorV1 => "rekor-v1",
            RotatedKey::RekorV2 => "rekor-v2",
            RotatedKey::Tsa => "tsa-key",
            RotatedKey::All => "all",
        }
    }
}

impl Layout {
    /// The files of `key`: the private key first, then what was made for it.
    fn files(&self, key: RotatedKey) -> Vec<PathBuf> {
        let file = self.keys.join(format!("{}.pem", key.stem()));
        match key {
            RotatedKey::FulcioCa => vec![file, self.ca_chain.clone()],
            RotatedKey::Tsa => vec![file, self.tsa_chain.clone()],
            RotatedKey::RekorV1 => vec![file],
            RotatedKey::Ctlog | RotatedKey::RekorV2 | RotatedKey::All => Vec::new(),
        }
    }
}

pub(crate) fn run(args: RotateArgs) -> anyhow::Result<()> {
    // Held until the end: `up` cannot start from the directory half-rotated.
    let (layout, _lock, next_step) = match (&args.data_dir, &args.keys_dir) {
        (Some(dir), _) => {
            let locked = crate::datadir::DataDir::open(dir)?;
            let data = locked.path().to_path_buf();
            (
                Layout {
                    keys: data.join("keys"),
                    ca_chain: data.join("fulcio-root.pem"),
                    tsa_chain: data.join("keys").join(tsa_server::DEV_CHAIN_FILE),
                    rekor_shards: Some(data.join("rekor-shards.json")),
                },
                Some(locked),
                "start `sigstack up` again: it makes the new keys and publishes them through TUF",
            )
        }
        (None, Some(keys)) => (
            Layout {
                keys: keys.clone(),
                ca_chain: keys.join("fulcio-chain.pem"),
                tsa_chain: keys.join("tsa-chain.pem"),
                rekor_shards: args.rekor_shards.clone(),
            },
            None,
            "run the init (compose: `docker compose up -d --force-recreate`): it makes the new keys, publishes them through TUF, and the services restart with them",
        ),
        (None, None) => anyhow::bail!("give --data-dir or --keys-dir"),
    };
    let mut keys: Vec<RotatedKey> = if args.keys.contains(&RotatedKey::All) {
        EVERY_KEY.to_vec()
    } else {
        args.keys.clone()
    };
    keys.sort_by_key(|k| *k as u8);
    keys.dedup();
    // Everything is checked before anything moves.
    if let Some(log) = keys
        .iter()
        .find(|k| matches!(k, RotatedKey::Ctlog | RotatedKey::RekorV2))
    {
        anyhow::bail!(
            "{log:?}: a log's key signs its stored checkpoints and is its identity (its log ID), so it is never changed under a log; a new key needs a new log beside the old one, which this service does not serve yet (Rekor v1, the CA and the TSA rotate)"
        );
    }
    if keys.contains(&RotatedKey::RekorV1) {
        let shards = layout
            .rekor_shards
            .as_deref()
            .context("rotating the Rekor v1 key freezes the active shard: give --rekor-shards")?;
        anyhow::ensure!(
            shards.exists(),
            "{} does not exist: no Rekor shard to freeze",
            shards.display()
        );
    }
    for key in &keys {
        match &args.keys_pkcs11 {
            // In the token: the key must be there (opening it checks the PIN and the pair).
            Some(base) => {
                let spec = Pkcs11Uri::with_object(base, key.stem());
                sigstack_keys::Pkcs11Key::open(&spec.parse()?)
                    .with_context(|| format!("the {} key in the token", key.stem()))?;
            }
            None => {
                let private = &layout.files(*key)[0];
                anyhow::ensure!(
                    private.exists(),
                    "{} does not exist: nothing to rotate (for `up --keys-pkcs11`, give the same --keys-pkcs11)",
                    private.display()
                );
            }
        }
    }
    let retired = layout.keys.join("retired");
    std::fs::create_dir_all(&retired).with_context(|| format!("creating {}", retired.display()))?;
    let stamp = chrono_like_stamp();
    for key in &keys {
        if let Some(base) = &args.keys_pkcs11 {
            let spec = Pkcs11Uri::with_object(base, key.stem());
            let label = format!("retired-{stamp}-{}", key.stem());
            sigstack_keys::Pkcs11Key::relabel(&spec.parse()?, &label)?;
            println!("retired the {} key in the token as {label}", key.stem());
            if *key == RotatedKey::RekorV1 {
                let retired_uri = PathBuf::from(Pkcs11Uri::with_object(base, &label));
                freeze_with_key(
                    layout.rekor_shards.as_deref().expect("checked"),
                    &retired_uri,
                )?;
            }
        }
        let files = layout.files(*key);
        // In the token, the first "file" is the key, retired above.
        let skip = usize::from(args.keys_pkcs11.is_some());
        for file in files.iter().skip(skip).filter(|f| f.exists()) {
            let name = file.file_name().expect("a file").to_string_lossy();
            let to = retired.join(format!("{stamp}-{name}"));
            std::fs::rename(file, &to)
                .with_context(|| format!("moving {} to {}", file.display(), to.display()))?;
            println!("retired {} -> {}", file.display(), to.display());
            if *key == RotatedKey::RekorV1 {
                freeze_with_key(layout.rekor_shards.as_deref().expect("checked"), &to)?;
            }
        }
    }
    println!("next: {next_step}");
    Ok(())
}

/// `20261206T021500Z`: sortable, and unique enough for files retired by hand-run commands.
fn chrono_like_stamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let t = trust::Timestamp::from_unix_seconds(secs as i64).to_string();
    // RFC 3339 (`2026-12-06T02:15:00Z`) without separators, for a file name.
    t.replace(['-', ':'], "")
}

/// Freezes the active Rekor v1 shard with `retired_key` (recorded relative to the layout's
/// directory when it lies below it, so a moved data directory still finds it).
fn freeze_with_key(shards: &Path, retired_key: &Path) -> anyhow::Result<()> {
    let mut layout = rekor::ShardLayout::load_or_create(shards)?;
    let base = shards.parent().unwrap_or_else(|| Path::new("."));
    let recorded = match (retired_key.canonicalize(), base.canonicalize()) {
        (Ok(key), Ok(base)) => key
            .strip_prefix(&base)
            .map(Path::to_path_buf)
            .unwrap_or(key),
        _ => retired_key.to_path_buf(),
    };
    let frozen = layout.active;
    let new = layout.rotate_key(recorded);
    layout.save(shards)?;
    println!("froze Rekor v1 shard {frozen} with its key; new entries go to shard {new}, signed by the new key");
    Ok(())
}
