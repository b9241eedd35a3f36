//! The whole-repository check run before anything is published.

use crate::{
    check_not_expired, Metadata, RoleName, Root, Snapshot, Targets, Time, Timestamp, TufError,
};

/// The file name snapshot uses for top-level targets metadata.
pub const TARGETS_META: &str = "targets.json";
/// The file name timestamp uses for snapshot metadata.
pub const SNAPSHOT_META: &str = "snapshot.json";

/// One consistent set of top-level metadata as it would be served, with the exact file bytes of
/// the files that are referenced by hash.
#[derive(Debug, Clone, Copy)]
pub struct RepositoryView<'a> {
    /// The latest root.
    pub root: &'a Metadata<Root>,
    /// Top-level targets and its file bytes.
    pub targets: (&'a Metadata<Targets>, &'a [u8]),
    /// Snapshot and its file bytes.
    pub snapshot: (&'a Metadata<Snapshot>, &'a [u8]),
    /// Timestamp.
    pub timestamp: &'a Metadata<Timestamp>,
}

/// The versions of a published repository, to refuse rolling any of them back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PublishedVersions {
    /// Latest root version.
    pub root: u64,
    /// Targets version.
    pub targets: u64,
    /// Snapshot version.
    pub snapshot: u64,
    /// Timestamp version.
    pub timestamp: u64,
}

impl RepositoryView<'_> {
    /// Checks what a client would check, in its order: root valid and self-signed; timestamp,
    /// snapshot, targets each signed by the threshold of their root keys and not expired at
    /// `now`; timestamp's `snapshot.json` entry and snapshot's `targets.json` entry match the
    /// files' versions, lengths and hashes.
    pub fn verify(&self, now: Time) -> Result<(), TufError> {
        let root = self.root.signed();
        root.validate()?;
        root.verify_role(self.root)?;
        check_not_expired(self.root, now)?;

        root.verify_role(self.timestamp)?;
        check_not_expired(self.timestamp, now)?;
        let snap_ref = self
            .timestamp
            .signed()
            .meta
            .get(SNAPSHOT_META)
            .ok_or_else(|| TufError::NotListed {
                file: SNAPSHOT_META.into(),
                referrer: "timestamp",
            })?;
        let (snapshot, snapshot_bytes) = self.snapshot;
        snap_ref.check(
            SNAPSHOT_META,
            "timestamp",
            snapshot.signed().version,
            snapshot_bytes,
        )?;

        root.verify_role(snapshot)?;
        check_not_expired(snapshot, now)?;
        let targets_ref =
            snapshot
                .signed()
                .meta
                .get(TARGETS_META)
                .ok_or_else(|| TufError::NotListed {
                    file: TARGETS_META.into(),
                    referrer: "snapshot",
                })?;
        let (targets, targets_bytes) = self.targets;
        targets_ref.check(
            TARGETS_META,
            "snapshot",
            targets.signed().version,
            targets_bytes,
        )?;

        root.verify_role(targets)?;
        check_not_expired(targets, now)?;
        Ok(())
    }

    /// The versions in this view.
    pub fn versions(&self) -> PublishedVersions {
        PublishedVersions {
            root: self.root.signed().version,
            targets: self.targets.0.signed().version,
            snapshot: self.snapshot.0.signed().version,
            timestamp: self.timestamp.signed().version,
        }
    }

    /// Checks no version goes backwards from `published`, and that timestamp moves forward
    /// (every publication is a new timestamp). Root, targets and snapshot may stay the same.
    pub fn check_no_rollback(&self, published: &PublishedVersions) -> Result<(), TufError> {
        let v = self.versions();
        for (role, cur, new) in [
            (RoleName::Root, published.root, v.root),
            (RoleName::Targets, published.targets, v.targets),
            (RoleName::Snapshot, published.snapshot, v.snapshot),
        ] {
            if new < cur {
                return Err(TufError::Rollback {
                    role: role.as_str().to_owned(),
                    current: cur,
                    proposed: new,
                });
            }
        }
        crate::check_advances(RoleName::Timestamp, published.timestamp, v.timestamp)
    }
}
