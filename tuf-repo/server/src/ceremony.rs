//! The offline root ceremony: stage the next root, collect signatures, publish it.
//!
//! A root change (add a key, revoke a key, change the threshold, renew the expiry) is made on a
//! *staged* root, `DIR/staged/root.json`: version N+1 of the latest published root. Signatures
//! are collected on it, across invocations and machines (copy the directory, sign, copy back),
//! and [`publish_staged_root`] publishes it as `N+1.root.json` only when it carries the
//! threshold of the root keys of version N AND the threshold of its own root keys (TUF §5.3.4:
//! a client trusting N must accept N+1, and N+1 must be self-consistent). Any change to a staged
//! root discards the signatures it had collected: they covered other bytes.
//!
//! The first root can be collected the same way when its keyholders are elsewhere
//! ([`stage_initial_root`]): version 1 then needs only its own threshold, and the online
//! metadata is created when the repository is next opened with the online key.
//!
//! Nothing here needs the online key; nothing here touches timestamp, snapshot or targets
//! (their keys do not change, so clients keep verifying them under the new root).

use crate::layout::{self, LOCK_FILE, ROOT_JSON, STAGED_DIR};
use crate::repo::{latest_root_version, load_latest_root, now, secs};
use crate::store::{self, DirLock};
use crate::RepoError;
use sigstack_keys::Signer;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tuf::{check_not_expired, verify_root_rotation, Key, KeyId, Metadata, RoleName, Root};

/// Where the next root waits for signatures.
pub fn staged_root_path(dir: &Path) -> PathBuf {
    dir.join(STAGED_DIR).join(ROOT_JSON)
}

/// The signatures a staged root has and needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedStatus {
    /// The staged root's version (published version + 1).
    pub version: u64,
    /// Valid signatures from the published root's root keys (for version 1, which has no
    /// predecessor: the same as `new_valid`).
    pub old_valid: usize,
    /// The published root's root threshold (version 1: its own).
    pub old_threshold: u32,
    /// Valid signatures from the staged root's own root keys.
    pub new_valid: usize,
    /// The staged root's root threshold.
    pub new_threshold: u32,
    /// The staged root's root key ids.
    pub root_keyids: Vec<KeyId>,
    /// When the staged root expires.
    pub expires: tuf::Time,
}

impl StagedStatus {
    /// Whether both thresholds are met.
    pub fn ready(&self) -> bool {
        self.old_valid >= self.old_threshold as usize
            && self.new_valid >= self.new_threshold as usize
    }
}

impl std::fmt::Display for StagedStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "staged root v{}: ", self.version)?;
        if self.version > 1 {
            write!(
                f,
                "{}/{} signatures of root v{} keys, ",
                self.old_valid,
                self.old_threshold,
                self.version - 1
            )?;
        }
        write!(
            f,
            "{}/{} of its own {} root keys, expires {}{}",
            self.new_valid,
            self.new_threshold,
            self.root_keyids.len(),
            self.expires,
            if self.ready() {
                " — ready to publish"
            } else {
                ""
            }
        )
    }
}

fn status(
    old: Option<&Metadata<Root>>,
    staged: &Metadata<Root>,
) -> Result<StagedStatus, RepoError> {
    let n = staged.signed();
    let new_valid = n.valid_signatures(RoleName::Root, staged);
    let new_threshold = n.role_keys("root")?.threshold;
    let (old_valid, old_threshold) = match old {
        Some(o) => (
            o.signed().valid_signatures(RoleName::Root, staged),
            o.signed().role_keys("root")?.threshold,
        ),
        None => (new_valid, new_threshold),
    };
    Ok(StagedStatus {
        version: n.version,
        old_valid,
        old_threshold,
        new_valid,
        new_threshold,
        root_keyids: n.role_keys("root")?.keyids.clone(),
        expires: n.expires,
    })
}

/// The latest published root, if any.
fn published_root(dir: &Path) -> Result<Option<Metadata<Root>>, RepoError> {
    Ok(match latest_root_version(dir)? {
        Some(_) => Some(load_latest_root(dir)?.0),
        None => None,
    })
}

fn load_staged(dir: &Path) -> Result<Option<Metadata<Root>>, RepoError> {
    let path = staged_root_path(dir);
    match store::read_optional(&path)? {
        None => Ok(None),
        Some(bytes) => {
            Metadata::from_slice(&bytes)
                .map(Some)
                .map_err(|source| RepoError::Corrupt {
                    path,
                    source: Box::new(source),
                })
        }
    }
}

/// The status of the staged root, if there is one.
pub fn staged_root_status(dir: &Path) -> Result<Option<StagedStatus>, RepoError> {
    let old = published_root(dir)?;
    load_staged(dir)?
        .map(|staged| status(old.as_ref(), &staged))
        .transpose()
}

/// Stages root version 1 of a new repository in `dir` (created if missing): `root_keys` with
/// `threshold` for root, `online` for targets, snapshot and timestamp. Nobody has signed it yet:
/// collect the threshold with [`sign_staged_root`], then [`publish_staged_root`]; the online
/// metadata is created by the next [`crate::Repository::open`] with the online key.
pub fn stage_initial_root(
    dir: &Path,
    root_keys: &[Key],
    threshold: u32,
    online: &Key,
    root_expiry: Duration,
) -> Result<StagedStatus, RepoError> {
    std::fs::create_dir_all(dir).map_err(store::io_err(dir))?;
    let _lock = DirLock::acquire(&dir.join(LOCK_FILE))?;
    if latest_root_version(dir)?.is_some() {
        return Err(RepoError::AlreadyInitialized(dir.to_owned()));
    }
    if load_staged(dir)?.is_some() {
        return Err(RepoError::Ceremony(format!(
            "a root is already staged in {}",
            dir.display()
        )));
    }
    let online = std::slice::from_ref(online);
    let root = Root::new(
        now().add_secs(secs(root_expiry)),
        &[
            (RoleName::Root, root_keys, threshold),
            (RoleName::Targets, online, 1),
            (RoleName::Snapshot, online, 1),
            (RoleName::Timestamp, online, 1),
        ],
    )?;
    let staged = Metadata::new(root)?;
    store::write_durable(&staged_root_path(dir), &staged.to_bytes())?;
    status(None, &staged)
}

/// One change to make to the staged root.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum RootChange {
    /// Add a root key.
    AddKey(Key),
    /// Remove a root key (by key id).
    RevokeKey(KeyId),
    /// Set the root threshold.
    Threshold(u32),
    /// Set the expiry to this long from now.
    Expires(Duration),
}

/// Applies `changes` to the staged root (staging version N+1 of the published root first, with
/// a fresh `root_expiry`, if nothing is staged). The result must be a valid root (threshold
/// between 1 and the number of root keys). Discards the signatures the staged root had.
pub fn stage_root(
    dir: &Path,
    changes: &[RootChange],
    root_expiry: Duration,
) -> Result<StagedStatus, RepoError> {
    let _lock = DirLock::acquire(&dir.join(LOCK_FILE))?;
    let old = published_root(dir)?;
    let mut root = match load_staged(dir)? {
        Some(staged) => staged.into_signed(),
        None => {
            let old = old
                .as_ref()
                .ok_or_else(|| RepoError::NotInitialized(dir.to_owned()))?;
            let mut r = old.signed().clone();
            r.version += 1;
            r.expires = now().add_secs(secs(root_expiry));
            r
        }
    };
    for change in changes {
        apply(&mut root, change)?;
    }
    root.validate()?;
    let staged = Metadata::new(root)?;
    store::write_durable(&staged_root_path(dir), &staged.to_bytes())?;
    status(old.as_ref(), &staged)
}

fn apply(root: &mut Root, change: &RootChange) -> Result<(), RepoError> {
    let role = root
        .roles
        .get_mut("root")
        .ok_or_else(|| tuf::TufError::UnknownRole("root".into()))?;
    match change {
        RootChange::AddKey(key) => {
            let id = key.key_id()?;
            if role.keyids.contains(&id) {
                return Err(RepoError::Ceremony(format!(
                    "key {id} is already a root key"
                )));
            }
            role.keyids.push(id.clone());
            root.keys.insert(id, key.clone());
        }
        RootChange::RevokeKey(id) => {
            let before = role.keyids.len();
            role.keyids.retain(|k| k != id);
            if role.keyids.len() == before {
                return Err(RepoError::Ceremony(format!("key {id} is not a root key")));
            }
            if !root.roles.values().any(|r| r.keyids.contains(id)) {
                root.keys.remove(id);
            }
        }
        RootChange::Threshold(t) => role.threshold = *t,
        RootChange::Expires(d) => root.expires = now().add_secs(secs(*d)),
    }
    Ok(())
}

/// Adds `signer`'s signature to the staged root. The key must be a root key of the published
/// root or of the staged one.
pub fn sign_staged_root(dir: &Path, signer: &dyn Signer) -> Result<StagedStatus, RepoError> {
    let _lock = DirLock::acquire(&dir.join(LOCK_FILE))?;
    let old = published_root(dir)?;
    let mut staged = load_staged(dir)?.ok_or_else(|| RepoError::NoStagedRoot(dir.to_owned()))?;
    let id = Key::from_signer(signer)?.key_id()?;
    let is_root_key = |r: &Root| {
        r.role_keys("root")
            .map(|k| k.keyids.contains(&id))
            .unwrap_or(false)
    };
    if !old.as_ref().is_some_and(|o| is_root_key(o.signed())) && !is_root_key(staged.signed()) {
        return Err(RepoError::Ceremony(format!(
            "key {id} is not a root key of the staged root v{} nor of its predecessor",
            staged.signed().version
        )));
    }
    staged.sign(signer)?;
    store::write_durable(&staged_root_path(dir), &staged.to_bytes())?;
    status(old.as_ref(), &staged)
}

/// Publishes the staged root as `N+1.root.json` (and `root.json`) if it is signed by both
/// thresholds (version 1: its own) and not expired at `now`; then removes it from staging.
/// Returns its version.
pub fn publish_staged_root(dir: &Path, now: tuf::Time) -> Result<u64, RepoError> {
    let _lock = DirLock::acquire(&dir.join(LOCK_FILE))?;
    let old = published_root(dir)?;
    let staged = load_staged(dir)?.ok_or_else(|| RepoError::NoStagedRoot(dir.to_owned()))?;
    staged.signed().validate().map_err(RepoError::Refused)?;
    match &old {
        Some(old) => verify_root_rotation(old, &staged).map_err(RepoError::Refused)?,
        None => {
            if staged.signed().version != 1 {
                return Err(RepoError::Refused(tuf::TufError::RootNotSuccessor {
                    trusted: 0,
                    proposed: staged.signed().version,
                }));
            }
            staged
                .signed()
                .verify_role(&staged)
                .map_err(RepoError::Refused)?;
        }
    }
    check_not_expired(&staged, now).map_err(RepoError::Refused)?;
    let v = staged.signed().version;
    let bytes = staged.to_bytes();
    store::write_durable(&dir.join(layout::root_file(v)), &bytes)?;
    store::write_durable(&dir.join(ROOT_JSON), &bytes)?;
    let path = staged_root_path(dir);
    std::fs::remove_file(&path).map_err(store::io_err(&path))?;
    tracing::info!(version = v, "published new root");
    Ok(v)
}
