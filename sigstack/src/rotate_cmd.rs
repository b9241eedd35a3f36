//! `sigstack rotate`: retire the CA's, the TSA's, the CT log's or a Rekor API's key so that the
//! next start makes a new one and publishes it through TUF, the old one kept in
//! `trusted_root.json` with its `validFor` window closed.
//!
//! Nothing is deleted: a retired key file (and the certificate chain made for it) moves to
//! `<keys>/retired/`, where it stays for audits and, for a log key, to keep signing its frozen
//! shard.
//!
//! A log's key signs the log's stored checkpoints and is its identity (its log ID), so it is
//! never changed under a log: rotating a log's key freezes the active shard with the old key
//! (recorded in the shard layout) and starts a new shard for the new key. For Rekor v1, as
//! upstream rotates v1 keys, the new shard is a new tree ID behind the same URL; for Rekor v2
//! and the CT log, as upstream runs them (one log per URL), the new shard is served at its own
//! path (`/v2-shards/N`, `/shards/N`), where `trusted_root.json` and `signing_config` point.

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
    /// With --keys-dir: Rekor's shard layout, where a Rekor v1 or v2 rotation freezes the
    /// active shard with its key (compose's `/data/rekor/shards.json`).
    #[arg(long, env = "SIGSTACK_REKOR_SHARDS", requires = "keys_dir")]
    rekor_shards: Option<PathBuf>,
    /// With --keys-dir: the CT log's shard layout (`sigstack ctlog --shards`), where a CT log
    /// rotation freezes the active shard with its key.
    #[arg(long, env = "SIGSTACK_CTLOG_SHARDS", requires = "keys_dir")]
    ctlog_shards: Option<PathBuf>,
    /// With `ctlog`: the new CT shard is a temporal shard that accepts only certificates
    /// whose notAfter falls in START/END (two RFC 3339 times), as public CT logs shard by
    /// expiry.
    #[arg(long, value_parser = ctlog::ExpiryWindow::parse)]
    ctlog_window: Option<ctlog::ExpiryWindow>,
    /// With `ctlog --ctlog-window`: the shard whose key is retired is not frozen but keeps
    /// accepting the certificates of its own window, until it ends, beside the new shard (as
    /// public CT logs open next year's shard ahead of time). The windows must not overlap.
    #[arg(long, requires = "ctlog_window")]
    ctlog_keep_accepting: bool,
    /// The keys to retire.
    #[arg(required = true, value_enum)]
    keys: Vec<RotatedKey>,
}

/// A key `rotate` retires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum RotatedKey {
    /// The CA's key and its certificate chain.
    FulcioCa,
    /// The CT log's key: the active shard freezes with it, a new shard (at `/shards/N`)
    /// takes the new key.
    Ctlog,
    /// Rekor v1's key: the active shard freezes with it, a new shard takes the new key.
    RekorV1,
    /// Rekor v2's key: the active v2 log freezes with it, a new one (at `/v2-shards/N`)
    /// takes the new key.
    RekorV2,
    /// The timestamp authority's key and chain.
    Tsa,
    /// Every key above.
    All,
}

const EVERY_KEY: [RotatedKey; 5] = [
    RotatedKey::FulcioCa,
    RotatedKey::Ctlog,
    RotatedKey::RekorV1,
    RotatedKey::RekorV2,
    RotatedKey::Tsa,
];

/// Where one layout keeps the files a rotation moves.
struct Layout {
    keys: PathBuf,
    ca_chain: PathBuf,
    tsa_chain: PathBuf,
    rekor_shards: Option<PathBuf>,
    ctlog_shards: Option<PathBuf>,
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
            RotatedKey::Ctlog | RotatedKey::RekorV1 | RotatedKey::RekorV2 => vec![file],
            RotatedKey::All => Vec::new(),
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
                    ctlog_shards: Some(data.join("ctlog-shards.json")),
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
                ctlog_shards: args.ctlog_shards.clone(),
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
    anyhow::ensure!(
        args.ctlog_window.is_none() || keys.contains(&RotatedKey::Ctlog),
        "--ctlog-window is the window of the new CT shard: rotate ctlog with it"
    );
    if keys.contains(&RotatedKey::RekorV1) || keys.contains(&RotatedKey::RekorV2) {
        let shards = layout
            .rekor_shards
            .as_deref()
            .context("rotating a Rekor key freezes the active shard: give --rekor-shards")?;
        anyhow::ensure!(
            shards.exists(),
            "{} does not exist: no Rekor shard to freeze",
            shards.display()
        );
    }
    if keys.contains(&RotatedKey::Ctlog) {
        let shards = layout.ctlog_shards.as_deref().context(
            "rotating the CT log key freezes the active shard: give --ctlog-shards (the CT log's --shards)",
        )?;
        // Checked before anything moves, the rotation included (windows that would overlap);
        // an absent layout is a log of one shard.
        ctlog::CtShardLayout::load_or_create(shards)?
            .rotate(
                PathBuf::new(),
                args.ctlog_window,
                retired_ct_shard(&args),
                std::time::SystemTime::now(),
            )
            .with_context(|| format!("rotating the CT log's shards in {}", shards.display()))?;
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
    // Two rotations within one second would otherwise retire to the same names: a file moved
    // over the earlier retired key (lost), or two keys in the token under one label.
    let stamp = unused_stamp(&chrono_like_stamp(), |stamp| {
        for key in &keys {
            if let Some(base) = &args.keys_pkcs11 {
                let label = format!("retired-{stamp}-{}", key.stem());
                let spec = Pkcs11Uri::with_object(base, &label);
                if sigstack_keys::Pkcs11Key::exists(&spec.parse()?)? {
                    return Ok(true);
                }
            }
            for file in layout.files(*key) {
                let name = file.file_name().expect("a file").to_string_lossy();
                if retired.join(format!("{stamp}-{name}")).exists() {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    })?;
    for key in &keys {
        // Where the retired private key now is: renamed in the token, or moved to retired/.
        let mut retired_key = None;
        if let Some(base) = &args.keys_pkcs11 {
            let spec = Pkcs11Uri::with_object(base, key.stem());
            let label = format!("retired-{stamp}-{}", key.stem());
            sigstack_keys::Pkcs11Key::relabel(&spec.parse()?, &label)?;
            println!("retired the {} key in the token as {label}", key.stem());
            retired_key = Some(PathBuf::from(Pkcs11Uri::with_object(base, &label)));
        }
        let files = layout.files(*key);
        // In the token, the first "file" is the key, retired above.
        let skip = usize::from(args.keys_pkcs11.is_some());
        for (index, file) in files.iter().enumerate().skip(skip) {
            if !file.exists() {
                continue;
            }
            let name = file.file_name().expect("a file").to_string_lossy();
            let to = retired.join(format!("{stamp}-{name}"));
            std::fs::rename(file, &to)
                .with_context(|| format!("moving {} to {}", file.display(), to.display()))?;
            println!("retired {} -> {}", file.display(), to.display());
            if index == 0 {
                retired_key = Some(to);
            }
        }
        if let Some(retired_key) = retired_key {
            freeze_log(
                *key,
                &layout,
                &retired_key,
                (args.ctlog_window, retired_ct_shard(&args)),
            )?;
        }
    }
    println!("next: {next_step}");
    Ok(())
}

/// What becomes of the CT shard whose key is retired.
fn retired_ct_shard(args: &RotateArgs) -> ctlog::RetiredShard {
    if args.ctlog_keep_accepting {
        ctlog::RetiredShard::KeepAccepting
    } else {
        ctlog::RetiredShard::Freeze
    }
}

/// For a log's key: freezes the log's active shard with `retired_key` in its layout, so that
/// the next start serves it read-only under that key and starts a new shard for the new key
/// (a CT shard with `ctlog` = (the new shard's window, what becomes of the old one): it may
/// keep accepting its window instead).
fn freeze_log(
    key: RotatedKey,
    layout: &Layout,
    retired_key: &Path,
    ctlog: (Option<ctlog::ExpiryWindow>, ctlog::RetiredShard),
) -> anyhow::Result<()> {
    let rekor_shards = || layout.rekor_shards.as_deref().expect("checked");
    match key {
        RotatedKey::RekorV1 => {
            let path = rekor_shards();
            let mut shards = rekor::ShardLayout::load_or_create(path)?;
            let frozen = shards.active;
            let new = shards.rotate_key(sigstack_keys::files::key_reference(retired_key, path));
            shards.save(path)?;
            println!("froze Rekor v1 shard {frozen} with its key; new entries go to shard {new}, signed by the new key");
        }
        RotatedKey::RekorV2 => {
            let path = rekor_shards();
            let mut shards = rekor::ShardLayout::load_or_create(path)?;
            let frozen = shards.v2_generation();
            let new = shards.rotate_v2_key(sigstack_keys::files::key_reference(retired_key, path));
            shards.save(path)?;
            println!(
                "froze Rekor v2 log {frozen} with its key; new entries go to v2 log {new} at <Rekor URL>{}, signed by the new key",
                rekor::v2_shard_path(new)
            );
        }
        RotatedKey::Ctlog => {
            let path = layout.ctlog_shards.as_deref().expect("checked");
            let (ctlog_window, retired) = ctlog;
            let mut shards = ctlog::CtShardLayout::load_or_create(path)?;
            let kept_window = shards.not_after;
            let rotation = shards.rotate(
                sigstack_keys::files::key_reference(retired_key, path),
                ctlog_window,
                retired,
                std::time::SystemTime::now(),
            )?;
            shards.save(path)?;
            for ended in &rotation.ended {
                println!("froze CT log shard {ended}: its expiry window has ended");
            }
            let (old, new) = (rotation.retired, rotation.new);
            match (retired, kept_window) {
                (ctlog::RetiredShard::KeepAccepting, Some(kept)) => println!(
                    "CT log shard {old} keeps accepting certificates whose notAfter is in {kept}, with its key, until that window ends"
                ),
                _ => println!("froze CT log shard {old} with its key"),
            }
            println!(
                "new certificates{} go to shard {new} at <CT log URL>{}, signed by the new key",
                ctlog_window
                    .map(|w| format!(" whose notAfter is in {w}"))
                    .unwrap_or_default(),
                ctlog::shard_path(new),
            );
        }
        RotatedKey::FulcioCa | RotatedKey::Tsa | RotatedKey::All => {}
    }
    Ok(())
}

/// The first of `stamp`, `stamp-2`, `stamp-3`, … that `taken` says no earlier retirement used.
fn unused_stamp(
    stamp: &str,
    taken: impl Fn(&str) -> anyhow::Result<bool>,
) -> anyhow::Result<String> {
    for n in 1u32.. {
        let candidate = match n {
            1 => stamp.to_owned(),
            n => format!("{stamp}-{n}"),
        };
        if !taken(&candidate)? {
            return Ok(candidate);
        }
    }
    unreachable!("a free stamp among 2^32")
}

/// `20261206T021500Z`: sortable; [`unused_stamp`] makes it unique.
fn chrono_like_stamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let t = trust::Timestamp::from_unix_seconds(secs as i64).to_string();
    // RFC 3339 (`2026-12-06T02:15:00Z`) without separators, for a file name.
    t.replace(['-', ':'], "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_rotation_in_the_same_second_retires_under_a_new_stamp() {
        let used = std::cell::RefCell::new(std::collections::HashSet::new());
        let take = || {
            let stamp =
                unused_stamp("20261206T170826Z", |s| Ok(used.borrow().contains(s))).unwrap();
            used.borrow_mut().insert(stamp.clone());
            stamp
        };
        assert_eq!(take(), "20261206T170826Z");
        assert_eq!(take(), "20261206T170826Z-2");
        assert_eq!(take(), "20261206T170826Z-3");
        // What the check cannot answer stops the rotation.
        assert!(unused_stamp("x", |_| anyhow::bail!("token unreachable")).is_err());
    }
}
