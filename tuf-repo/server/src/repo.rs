//! The repository on disk and its online signing.

use crate::layout::{self, DEFAULT_ONLINE_KEY, LOCK_FILE, ROOT_JSON, TARGETS_DIR, TIMESTAMP_JSON};
use crate::store::{self, io_err, DirLock};
use crate::RepoError;
use serde_json::Value;
use sigstack_keys::Signer;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tuf::{
    Key, Metadata, NextMetadata, NextMetadataRequest, PublishedVersions, RepositoryView, RoleName,
    Root, Snapshot, TargetFile, Targets, Time, Timestamp, TufError, SNAPSHOT_META, SPEC_VERSION,
    TARGETS_META,
};

/// Default lifetime of a new root: 180 days.
pub const DEFAULT_ROOT_EXPIRY: Duration = Duration::from_secs(180 * 86_400);
/// Default lifetime of targets metadata (online-signed here): 90 days.
pub const DEFAULT_TARGETS_EXPIRY: Duration = Duration::from_secs(90 * 86_400);
/// Default lifetime of snapshot metadata: 7 days.
pub const DEFAULT_SNAPSHOT_EXPIRY: Duration = Duration::from_secs(7 * 86_400);
/// Default lifetime of timestamp metadata: 1 day.
pub const DEFAULT_TIMESTAMP_EXPIRY: Duration = Duration::from_secs(86_400);

/// How long each role's metadata lives. Online roles are re-signed at half-life by
/// [`Repository::refresh`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RepoOptions {
    /// Lifetime of a new root (offline: a ceremony must publish the next one before it ends).
    pub root_expiry: Duration,
    /// Lifetime of targets metadata.
    pub targets_expiry: Duration,
    /// Lifetime of snapshot metadata.
    pub snapshot_expiry: Duration,
    /// Lifetime of timestamp metadata; clients fail once it passes without a refresh.
    pub timestamp_expiry: Duration,
}

impl Default for RepoOptions {
    fn default() -> Self {
        RepoOptions {
            root_expiry: DEFAULT_ROOT_EXPIRY,
            targets_expiry: DEFAULT_TARGETS_EXPIRY,
            snapshot_expiry: DEFAULT_SNAPSHOT_EXPIRY,
            timestamp_expiry: DEFAULT_TIMESTAMP_EXPIRY,
        }
    }
}

impl RepoOptions {
    /// Every lifetime must be at least one minute (the refresher works at half-life).
    pub fn validate(&self) -> Result<(), RepoError> {
        for (what, d) in [
            ("root", self.root_expiry),
            ("targets", self.targets_expiry),
            ("snapshot", self.snapshot_expiry),
            ("timestamp", self.timestamp_expiry),
        ] {
            if d < Duration::from_secs(60) {
                return Err(RepoError::Config(format!(
                    "{what} expiry {d:?} is shorter than one minute"
                )));
            }
        }
        Ok(())
    }
}

/// The current time as a TUF [`Time`].
pub fn now() -> Time {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Time::from_unix(i64::try_from(secs).unwrap_or(i64::MAX))
}

pub(crate) fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// A target to publish: its name, content and custom metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTarget {
    /// Target name, `[A-Za-z0-9._-]+` (e.g. `trusted_root.json`).
    pub name: String,
    /// The file content.
    pub bytes: Vec<u8>,
    /// `custom` metadata, e.g. [`tuf::sigstore_custom`].
    pub custom: Option<Value>,
}

impl NewTarget {
    /// A target with Sigstore custom metadata `{"sigstore": {"usage": usage, "status": "Active"}}`.
    pub fn sigstore(name: &str, bytes: Vec<u8>, usage: &str) -> Self {
        NewTarget {
            name: name.to_owned(),
            bytes,
            custom: Some(tuf::sigstore_custom(usage, "Active")),
        }
    }
}

/// What [`Repository::refresh`] re-signed, and when it next needs to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refreshed {
    /// Targets metadata was re-signed (new version, same targets).
    pub targets: bool,
    /// Snapshot metadata was re-signed.
    pub snapshot: bool,
    /// Timestamp metadata was re-signed.
    pub timestamp: bool,
    /// The earliest half-life among the online roles after this refresh.
    pub next_due: Time,
}

/// The published top-level metadata, as read from disk.
pub(crate) struct State {
    pub(crate) root: Metadata<Root>,
    pub(crate) targets: Metadata<Targets>,
    pub(crate) targets_bytes: Vec<u8>,
    pub(crate) snapshot: Metadata<Snapshot>,
    pub(crate) snapshot_bytes: Vec<u8>,
    pub(crate) timestamp: Metadata<Timestamp>,
}

impl State {
    pub(crate) fn view(&self) -> RepositoryView<'_> {
        RepositoryView {
            root: &self.root,
            targets: (&self.targets, &self.targets_bytes),
            snapshot: (&self.snapshot, &self.snapshot_bytes),
            timestamp: &self.timestamp,
        }
    }
}

/// The highest `N` with an `N.root.json` in `dir`.
pub(crate) fn latest_root_version(dir: &Path) -> Result<Option<u64>, RepoError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(dir)(e)),
    };
    let mut latest = None;
    for entry in entries {
        let entry = entry.map_err(io_err(dir))?;
        if let Some((v, "root")) = entry.file_name().to_str().and_then(layout::parse_versioned) {
            latest = latest.max(Some(v));
        }
    }
    Ok(latest)
}

fn parse<T: tuf::Role>(path: &Path, bytes: &[u8]) -> Result<Metadata<T>, RepoError> {
    Metadata::from_slice(bytes).map_err(|source| RepoError::Corrupt {
        path: path.to_owned(),
        source: Box::new(source),
    })
}

/// The latest published root of `dir`, with its file bytes.
pub(crate) fn load_latest_root(dir: &Path) -> Result<(Metadata<Root>, Vec<u8>), RepoError> {
    let v = latest_root_version(dir)?.ok_or_else(|| RepoError::NotInitialized(dir.to_owned()))?;
    let path = dir.join(layout::root_file(v));
    let bytes = store::read(&path)?;
    Ok((parse(&path, &bytes)?, bytes))
}

pub(crate) fn load_state(dir: &Path) -> Result<State, RepoError> {
    let (root, _) = load_latest_root(dir)?;
    let ts_path = dir.join(TIMESTAMP_JSON);
    let timestamp: Metadata<Timestamp> = parse(&ts_path, &store::read(&ts_path)?)?;
    let snap_ref =
        timestamp
            .signed()
            .meta
            .get(SNAPSHOT_META)
            .ok_or_else(|| RepoError::Corrupt {
                path: ts_path.clone(),
                source: Box::new(TufError::NotListed {
                    file: SNAPSHOT_META.into(),
                    referrer: "timestamp",
                }),
            })?;
    let snap_path = dir.join(layout::snapshot_file(snap_ref.version));
    let snapshot_bytes = store::read(&snap_path)?;
    let snapshot: Metadata<Snapshot> = parse(&snap_path, &snapshot_bytes)?;
    let targets_ref =
        snapshot
            .signed()
            .meta
            .get(TARGETS_META)
            .ok_or_else(|| RepoError::Corrupt {
                path: snap_path.clone(),
                source: Box::new(TufError::NotListed {
                    file: TARGETS_META.into(),
                    referrer: "snapshot",
                }),
            })?;
    let targets_path = dir.join(layout::targets_file(targets_ref.version));
    let targets_bytes = store::read(&targets_path)?;
    let targets = parse(&targets_path, &targets_bytes)?;
    Ok(State {
        root,
        targets,
        targets_bytes,
        snapshot,
        snapshot_bytes,
        timestamp,
    })
}

/// Whether metadata expiring at `expires`, signed for `lifetime`, has reached half-life.
pub fn is_due(expires: Time, lifetime: Duration, now: Time) -> bool {
    now >= half_life(expires, lifetime)
}

fn half_life(expires: Time, lifetime: Duration) -> Time {
    expires.add_secs(-secs(lifetime) / 2)
}

/// A TUF repository directory with consistent snapshots, and the online key that signs its
/// targets, snapshot and timestamp metadata.
///
/// All methods are synchronous (file I/O and signing); async callers run them on a blocking
/// thread ([`crate::spawn_refresher`] does). Every method that writes takes the repository's
/// advisory lock (`DIR/.lock`, `flock`) plus an in-process mutex, so CLI commands, a running
/// server and the launcher may share a directory. Readers (the HTTP server) take no lock: files
/// are replaced atomically and `timestamp.json` is written last, so a reader sees the old
/// repository or the new one.
pub struct Repository {
    dir: PathBuf,
    online: Arc<dyn Signer>,
    online_keyid: String,
    opts: RepoOptions,
    /// Serialises writers inside this process (the `flock` serialises processes).
    write: Mutex<()>,
}

impl std::fmt::Debug for Repository {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repository")
            .field("dir", &self.dir)
            .field("online_keyid", &self.online_keyid)
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

/// Where the online key of `dir` lives unless told otherwise: `DIR/private/online.pem`.
pub fn default_online_key_path(dir: &Path) -> PathBuf {
    dir.join(DEFAULT_ONLINE_KEY)
}

impl Repository {
    /// Creates a repository in `dir` (created if missing; must hold no root yet): root version 1
    /// with `root_signers` as root keys and `threshold`, signed by all of them; the online key
    /// for targets, snapshot and timestamp; empty targets version 1, snapshot 1, timestamp 1.
    pub fn init(
        dir: &Path,
        root_signers: &[&dyn Signer],
        threshold: u32,
        online: Arc<dyn Signer>,
        opts: RepoOptions,
    ) -> Result<Self, RepoError> {
        opts.validate()?;
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let repo = Self::new(dir, online, opts)?;
        let _guard = repo.lock()?;
        if latest_root_version(dir)?.is_some() {
            return Err(RepoError::AlreadyInitialized(dir.to_owned()));
        }
        let now = now();
        let root_keys = root_signers
            .iter()
            .map(|s| Key::from_signer(*s))
            .collect::<Result<Vec<_>, _>>()?;
        let online_key = [Key::from_signer(repo.online.as_ref())?];
        let root = Root::new(
            now.add_secs(secs(opts.root_expiry)),
            &[
                (RoleName::Root, &root_keys, threshold),
                (RoleName::Targets, &online_key, 1),
                (RoleName::Snapshot, &online_key, 1),
                (RoleName::Timestamp, &online_key, 1),
            ],
        )?;
        let mut root = Metadata::new(root)?;
        for s in root_signers {
            root.sign(*s)?;
        }
        root.signed()
            .verify_role(&root)
            .map_err(RepoError::Refused)?;
        let bytes = root.to_bytes();
        let empty = empty_targets(now, &opts);
        // Check the online metadata before anything is written.
        let plan = repo.plan(NextMetadataRequest {
            new_targets: Some(empty),
            resign_snapshot: true,
            ..repo.next_request(&root, None, now)
        })?;
        store::write_durable(&dir.join(layout::root_file(1)), &bytes)?;
        store::write_durable(&dir.join(ROOT_JSON), &bytes)?;
        repo.commit(plan)?;
        tracing::info!(dir = %dir.display(), threshold, root_keys = root_signers.len(), "initialised TUF repository");
        drop(_guard);
        Ok(repo)
    }

    /// Opens an initialised repository, checking that `online` is the key root assigns to
    /// timestamp, snapshot and targets. If only a root is published (a root v1 collected with
    /// [`crate::stage_initial_root`]), creates empty targets, snapshot and timestamp version 1.
    pub fn open(dir: &Path, online: Arc<dyn Signer>, opts: RepoOptions) -> Result<Self, RepoError> {
        opts.validate()?;
        let repo = Self::new(dir, online, opts)?;
        let (root, _) = load_latest_root(dir)?;
        repo.check_online_key(root.signed())?;
        if !dir.join(TIMESTAMP_JSON).exists() {
            repo.genesis()?;
        }
        Ok(repo)
    }

    /// Creates the first online metadata under the published root.
    fn genesis(&self) -> Result<(), RepoError> {
        let _guard = self.lock()?;
        if self.dir.join(TIMESTAMP_JSON).exists() {
            return Ok(());
        }
        let (root, _) = load_latest_root(&self.dir)?;
        let now = now();
        let plan = self.plan(NextMetadataRequest {
            new_targets: Some(empty_targets(now, &self.opts)),
            resign_snapshot: true,
            ..self.next_request(&root, None, now)
        })?;
        self.commit(plan)?;
        tracing::info!(dir = %self.dir.display(), "created the first targets, snapshot and timestamp");
        Ok(())
    }

    /// [`Repository::open`] if `dir` holds a root, else [`Repository::init`]. What the launcher
    /// calls at every start.
    pub fn open_or_init(
        dir: &Path,
        root_signers: &[&dyn Signer],
        threshold: u32,
        online: Arc<dyn Signer>,
        opts: RepoOptions,
    ) -> Result<Self, RepoError> {
        if latest_root_version(dir)?.is_some() {
            Self::open(dir, online, opts)
        } else {
            Self::init(dir, root_signers, threshold, online, opts)
        }
    }

    fn new(dir: &Path, online: Arc<dyn Signer>, opts: RepoOptions) -> Result<Self, RepoError> {
        let online_keyid = Key::from_signer(online.as_ref())?.key_id()?;
        Ok(Repository {
            dir: dir.to_owned(),
            online,
            online_keyid,
            opts,
            write: Mutex::new(()),
        })
    }

    fn check_online_key(&self, root: &Root) -> Result<(), RepoError> {
        for role in [RoleName::Targets, RoleName::Snapshot, RoleName::Timestamp] {
            if !root
                .role_keys(role.as_str())?
                .keyids
                .contains(&self.online_keyid)
            {
                return Err(RepoError::OnlineKeyNotInRoot {
                    keyid: self.online_keyid.clone(),
                    role: role.as_str(),
                    root_version: root.version,
                });
            }
        }
        Ok(())
    }

    fn lock(&self) -> Result<(std::sync::MutexGuard<'_, ()>, DirLock), RepoError> {
        let guard = self.write.lock().unwrap_or_else(|p| p.into_inner());
        let lock = DirLock::acquire(&self.dir.join(LOCK_FILE))?;
        Ok((guard, lock))
    }

    /// The repository directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The options in force.
    pub fn options(&self) -> &RepoOptions {
        &self.opts
    }

    /// The bytes of the latest root: what clients are bootstrapped with (sigstore-python's
    /// `--trust-config`/`ClientTrustConfig`, python-tuf's `bootstrap=`, cosign `initialize`).
    pub fn root_bytes(&self) -> Result<Vec<u8>, RepoError> {
        Ok(load_latest_root(&self.dir)?.1)
    }

    /// The bytes of the root version 1 (the root clients may equally start from).
    pub fn first_root_bytes(&self) -> Result<Vec<u8>, RepoError> {
        store::read(&self.dir.join(layout::root_file(1)))
    }

    /// The published versions.
    pub fn versions(&self) -> Result<PublishedVersions, RepoError> {
        Ok(load_state(&self.dir)?.view().versions())
    }

    /// Checks the published repository as a client would at `now` (signatures, thresholds,
    /// expiry, hashes and lengths, and every listed target file).
    pub fn verify(&self, now: Time) -> Result<(), RepoError> {
        verify_dir(&self.dir, now).map(|_| ())
    }

    fn target_path(&self, name: &str, info: &TargetFile) -> Result<PathBuf, RepoError> {
        target_path(&self.dir, name, info)
    }

    /// The current targets: name → (length, hashes, custom).
    pub fn targets(&self) -> Result<BTreeMap<String, TargetFile>, RepoError> {
        Ok(load_state(&self.dir)?.targets.into_signed().targets)
    }

    /// Makes each of `targets` current: a new targets version (then snapshot, timestamp) is
    /// published only if some name is new or its content or custom metadata changed. Targets
    /// not named are left as they are; replaced content stays on disk under its old hash.
    /// Returns whether a new version was published.
    pub fn set_targets(&self, targets: &[NewTarget]) -> Result<bool, RepoError> {
        for t in targets {
            if !layout::is_target_name(&t.name) {
                return Err(RepoError::BadTargetName(t.name.clone()));
            }
        }
        let _guard = self.lock()?;
        let now = now();
        let state = load_state(&self.dir)?;
        self.check_online_key(state.root.signed())?;
        let mut next = state.targets.signed().clone();
        let mut changed = false;
        for t in targets {
            let info = TargetFile::describing(&t.bytes, t.custom.clone());
            if next.targets.get(&t.name) != Some(&info) {
                let path = self.target_path(&t.name, &info)?;
                store::write_once(&path, &t.bytes)?;
                next.targets.insert(t.name.clone(), info);
                changed = true;
            }
        }
        if !changed {
            return Ok(false);
        }
        next.version = state.targets.signed().version + 1;
        next.expires = now.add_secs(secs(self.opts.targets_expiry));
        let plan = self.plan(NextMetadataRequest {
            new_targets: Some(next),
            resign_snapshot: true,
            ..self.next_request(&state.root, Some(&state), now)
        })?;
        let v = plan.versions;
        self.commit(plan)?;
        tracing::info!(
            targets_version = v.targets,
            snapshot_version = v.snapshot,
            timestamp_version = v.timestamp,
            "published new targets"
        );
        Ok(true)
    }

    /// Re-signs whichever online roles have reached half-life at `now` (targets, then snapshot,
    /// then timestamp; a new targets version implies a new snapshot, a new snapshot a new
    /// timestamp). Nothing is written when nothing is due.
    pub fn refresh(&self, now: Time) -> Result<Refreshed, RepoError> {
        let _guard = self.lock()?;
        let state = load_state(&self.dir)?;
        self.check_online_key(state.root.signed())?;
        let o = &self.opts;
        let root = state.root.signed();
        if root.expires <= now.add_secs(secs(ROOT_EXPIRY_WARNING)) {
            tracing::warn!(
                root_version = root.version,
                expires = %root.expires,
                "the TUF root expires soon: run a root ceremony (sigstack tuf root rotate)"
            );
        }
        let targets_due = is_due(state.targets.signed().expires, o.targets_expiry, now);
        let snapshot_due =
            targets_due || is_due(state.snapshot.signed().expires, o.snapshot_expiry, now);
        let timestamp_due =
            snapshot_due || is_due(state.timestamp.signed().expires, o.timestamp_expiry, now);
        if !timestamp_due {
            return Ok(Refreshed {
                targets: false,
                snapshot: false,
                timestamp: false,
                next_due: next_due(&state, o),
            });
        }
        let new_targets = targets_due.then(|| {
            let mut t = state.targets.signed().clone();
            t.version += 1;
            t.expires = now.add_secs(secs(o.targets_expiry));
            t
        });
        let plan = self.plan(NextMetadataRequest {
            new_targets,
            resign_snapshot: snapshot_due,
            ..self.next_request(&state.root, Some(&state), now)
        })?;
        let v = plan.versions;
        self.commit(plan)?;
        let after = load_state(&self.dir)?;
        tracing::info!(
            targets = targets_due,
            snapshot = snapshot_due,
            timestamp_version = v.timestamp,
            "re-signed online TUF metadata"
        );
        Ok(Refreshed {
            targets: targets_due,
            snapshot: snapshot_due,
            timestamp: true,
            next_due: next_due(&after, o),
        })
    }

    /// Publishes a new timestamp (re-signing nothing else), expiring `expires_in` seconds from
    /// now (default: the configured timestamp lifetime). Refuses metadata that would be expired
    /// or invalid — unless `unsafe_allow_expired`, which exists only to test that clients
    /// refuse expired metadata and MUST NOT be used on a real repository.
    pub fn publish_timestamp(
        &self,
        expires_in: Option<i64>,
        unsafe_allow_expired: bool,
    ) -> Result<PublishedVersions, RepoError> {
        let _guard = self.lock()?;
        let now = now();
        let state = load_state(&self.dir)?;
        self.check_online_key(state.root.signed())?;
        let defaults = self.next_request(&state.root, Some(&state), now);
        let plan = self.plan(NextMetadataRequest {
            timestamp_expires: expires_in.map_or(defaults.timestamp_expires, |s| now.add_secs(s)),
            unsafe_allow_expired,
            ..defaults
        })?;
        let v = plan.versions;
        self.commit(plan)?;
        Ok(v)
    }

    /// A request for the next online metadata under `root` at `now`, from the published
    /// `current` state (`None`: nothing published yet), signed with the online key: nothing new
    /// but a timestamp, snapshot and timestamp expiring after their configured lifetimes.
    fn next_request<'a>(
        &'a self,
        root: &'a Metadata<Root>,
        current: Option<&'a State>,
        now: Time,
    ) -> NextMetadataRequest<'a> {
        NextMetadataRequest {
            root,
            published: current.map(State::view),
            new_targets: None,
            resign_snapshot: false,
            snapshot_expires: now.add_secs(secs(self.opts.snapshot_expiry)),
            timestamp_expires: now.add_secs(secs(self.opts.timestamp_expiry)),
            now,
            unsafe_allow_expired: false,
            signer: self.online.as_ref(),
        }
    }

    /// Builds and checks the next online metadata ([`tuf::next_metadata`]); writes nothing.
    fn plan(&self, request: NextMetadataRequest<'_>) -> Result<NextMetadata, RepoError> {
        let plan = tuf::next_metadata(request)?;
        if let Some(role) = &plan.expired_role {
            tracing::warn!(%role, "publishing EXPIRED metadata (unsafe_allow_expired)");
        }
        Ok(plan)
    }

    /// Writes a checked plan: targets, then snapshot, then `timestamp.json` (the commit point).
    fn commit(&self, plan: NextMetadata) -> Result<(), RepoError> {
        if let Some(f) = plan.targets_file {
            store::write_durable(&self.dir.join(layout::targets_file(f.version)), &f.bytes)?;
        }
        if let Some(f) = plan.snapshot_file {
            store::write_durable(&self.dir.join(layout::snapshot_file(f.version)), &f.bytes)?;
        }
        store::write_durable(&self.dir.join(TIMESTAMP_JSON), &plan.timestamp_file)
    }

    /// Copies every published file (all roots, metadata versions and target files; never the
    /// staging area, the lock or keys) into `out`, after checking the repository verifies now.
    /// Any static web server can serve `out` to TUF clients.
    pub fn export(&self, out: &Path) -> Result<usize, RepoError> {
        let _guard = self.lock()?;
        verify_dir(&self.dir, now())?;
        export_dir(&self.dir, out)
    }
}

fn target_path(dir: &Path, name: &str, info: &TargetFile) -> Result<PathBuf, RepoError> {
    let hash = info.sha256().ok_or_else(|| TufError::Malformed {
        what: "targets",
        detail: format!("target {name} has no sha256"),
    })?;
    Ok(dir.join(TARGETS_DIR).join(layout::target_file(hash, name)))
}

/// Checks the repository published in `dir` as a client would at `now`, including every listed
/// target file's length and hash. Needs no key.
pub fn verify_dir(dir: &Path, now: Time) -> Result<PublishedVersions, RepoError> {
    let state = load_state(dir)?;
    state.view().verify(now).map_err(RepoError::Refused)?;
    for (name, info) in &state.targets.signed().targets {
        let file = target_path(dir, name, info)?;
        info.check(name, &store::read(&file)?)
            .map_err(RepoError::Refused)?;
    }
    Ok(state.view().versions())
}

/// Checks the repository in `dir` (see [`verify_dir`]) and copies its published files into
/// `out`, under the repository lock. Returns the versions exported and the number of files.
pub fn export(dir: &Path, out: &Path) -> Result<(PublishedVersions, usize), RepoError> {
    let _lock = DirLock::acquire(&dir.join(LOCK_FILE))?;
    let v = verify_dir(dir, now())?;
    Ok((v, export_dir(dir, out)?))
}

/// One line per published role: version, expiry and (targets) the target names.
pub fn describe(dir: &Path) -> Result<Vec<String>, RepoError> {
    let s = load_state(dir)?;
    let line = |role: &str, version: u64, expires: Time| {
        format!("{role:<9} v{version:<5} expires {expires}")
    };
    let t = s.targets.signed();
    Ok(vec![
        line("root", s.root.signed().version, s.root.signed().expires),
        format!(
            "{} ({})",
            line("targets", t.version, t.expires),
            t.targets.keys().cloned().collect::<Vec<_>>().join(", ")
        ),
        line(
            "snapshot",
            s.snapshot.signed().version,
            s.snapshot.signed().expires,
        ),
        line(
            "timestamp",
            s.timestamp.signed().version,
            s.timestamp.signed().expires,
        ),
    ])
}

fn empty_targets(now: Time, opts: &RepoOptions) -> Targets {
    Targets {
        spec_version: SPEC_VERSION.to_owned(),
        version: 1,
        expires: now.add_secs(secs(opts.targets_expiry)),
        targets: BTreeMap::new(),
        delegations: None,
        unrecognized: BTreeMap::new(),
    }
}

/// Warn this long before the root expires: only a ceremony can renew it.
pub const ROOT_EXPIRY_WARNING: Duration = Duration::from_secs(30 * 86_400);

fn next_due(state: &State, o: &RepoOptions) -> Time {
    half_life(state.targets.signed().expires, o.targets_expiry)
        .min(half_life(
            state.snapshot.signed().expires,
            o.snapshot_expiry,
        ))
        .min(half_life(
            state.timestamp.signed().expires,
            o.timestamp_expiry,
        ))
}

/// Copies the servable files of `dir` into `out` (created if missing). Returns the file count.
pub(crate) fn export_dir(dir: &Path, out: &Path) -> Result<usize, RepoError> {
    let targets_out = out.join(TARGETS_DIR);
    std::fs::create_dir_all(&targets_out).map_err(io_err(&targets_out))?;
    let mut n = 0;
    // Target files first and timestamp.json last, so a server already serving `out` never
    // points at a file not yet copied.
    let targets_in = dir.join(TARGETS_DIR);
    if targets_in.is_dir() {
        for entry in std::fs::read_dir(&targets_in).map_err(io_err(&targets_in))? {
            let entry = entry.map_err(io_err(&targets_in))?;
            let name = entry.file_name();
            if name.to_str().is_some_and(layout::is_target_file_name) {
                let bytes = store::read(&entry.path())?;
                store::write_durable(&targets_out.join(&name), &bytes)?;
                n += 1;
            }
        }
    }
    let mut names: Vec<String> = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_err(dir))? {
        let entry = entry.map_err(io_err(dir))?;
        if let Some(name) = entry.file_name().to_str() {
            if layout::is_metadata_name(name) && name != TIMESTAMP_JSON {
                names.push(name.to_owned());
            }
        }
    }
    names.push(TIMESTAMP_JSON.to_owned());
    for name in names {
        let bytes = store::read(&dir.join(&name))?;
        store::write_durable(&out.join(&name), &bytes)?;
        n += 1;
    }
    Ok(n)
}
