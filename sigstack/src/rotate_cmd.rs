//! `sigstack rotate`: retire the CA's or the TSA's key so that the next start makes a new one
//! and publishes it through TUF, the old one kept in `trusted_root.json` with its `validFor`
//! window closed.
//!
//! Nothing is deleted: a retired key file (and the certificate chain made for it) moves to
//! `<keys>/retired/`, where it stays for audits.
//!
//! A log's key is not rotated in place: it signs the log's stored checkpoints, so it is the
//! log's identity (the CT log ID, the Rekor log IDs). A new log key means a new log (a new
//! shard) while the old one stays readable under its own key; `rotate` refuses the log keys
//! and says so.

use std::path::PathBuf;

use anyhow::Context as _;

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
    /// Rekor v1's key: refused (a new key is a new log).
    RekorV1,
    /// Rekor v2's key: refused (a new key is a new log).
    RekorV2,
    /// The timestamp authority's key and chain.
    Tsa,
    /// Every key that rotates in place: the CA's and the TSA's.
    All,
}

const EVERY_KEY: [RotatedKey; 2] = [RotatedKey::FulcioCa, RotatedKey::Tsa];

/// Where one layout keeps the files a rotation moves.
struct Layout {
    keys: PathBuf,
    ca_chain: PathBuf,
    tsa_chain: PathBuf,
}

impl Layout {
    /// The files of `key`: the private key first, then what was made for it.
    fn files(&self, key: RotatedKey) -> Vec<PathBuf> {
        let file = |stem: &str| self.keys.join(format!("{stem}.pem"));
        match key {
            RotatedKey::FulcioCa => vec![file("fulcio-ca"), self.ca_chain.clone()],
            RotatedKey::Tsa => vec![file("tsa-key"), self.tsa_chain.clone()],
            RotatedKey::Ctlog | RotatedKey::RekorV1 | RotatedKey::RekorV2 | RotatedKey::All => {
                Vec::new()
            }
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
    keys.dedup();
    // Everything is checked before anything moves.
    if let Some(log) = keys.iter().find(|k| {
        matches!(
            k,
            RotatedKey::Ctlog | RotatedKey::RekorV1 | RotatedKey::RekorV2
        )
    }) {
        anyhow::bail!(
            "{log:?}: a log's key signs its stored checkpoints and is its identity (its log ID), so it is not rotated in place; a new log key means a new log shard while the old one stays readable under its own key (not supported yet; the CA and the TSA rotate)"
        );
    }
    for key in &keys {
        let private = &layout.files(*key)[0];
        anyhow::ensure!(
            private.exists(),
            "{} does not exist: nothing to rotate (a key in a PKCS#11 token is rotated in the token: generate a new object and point the service at it)",
            private.display()
        );
    }
    let retired = layout.keys.join("retired");
    std::fs::create_dir_all(&retired).with_context(|| format!("creating {}", retired.display()))?;
    let stamp = chrono_like_stamp();
    for key in &keys {
        for file in layout.files(*key).iter().filter(|f| f.exists()) {
            let name = file.file_name().expect("a file").to_string_lossy();
            let to = retired.join(format!("{stamp}-{name}"));
            std::fs::rename(file, &to)
                .with_context(|| format!("moving {} to {}", file.display(), to.display()))?;
            println!("retired {} -> {}", file.display(), to.display());
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
