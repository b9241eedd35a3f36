//! The next online metadata of a repository: a new targets version, a re-signed snapshot, a new
//! timestamp — built, signed with the online key and checked as a client would check them, before
//! the caller writes anything.

use crate::{
    MetaFile, Metadata, PublishedVersions, RepositoryView, Role, Root, Snapshot, Targets, Time,
    Timestamp, TufError, SNAPSHOT_META, SPEC_VERSION, TARGETS_META,
};
use sigstack_keys::Signer;
use std::collections::BTreeMap;

/// What to publish next, and with which key. Taken by [`next_metadata`].
///
/// A new timestamp is always made. A new snapshot is made when `resign_snapshot` is set, when
/// there are `new_targets`, or when nothing is published yet. Targets metadata is made only from
/// `new_targets`.
pub struct NextMetadataRequest<'a> {
    /// The root the new metadata must verify under: the latest published root.
    pub root: &'a Metadata<Root>,
    /// The repository as published now, with the file bytes of its targets and snapshot
    /// metadata; `None` when no targets, snapshot or timestamp is published yet (then
    /// `new_targets` is needed). Its versions are the ones no version may roll back from.
    pub published: Option<RepositoryView<'a>>,
    /// New targets metadata to sign and publish, with its version and expiry already set;
    /// `None` keeps the published targets.
    pub new_targets: Option<Targets>,
    /// Make a new snapshot even though targets do not change (new targets always make one).
    pub resign_snapshot: bool,
    /// The expiry of the new snapshot, if one is made.
    pub snapshot_expires: Time,
    /// The expiry of the new timestamp.
    pub timestamp_expires: Time,
    /// The time the new repository is checked at (expiry).
    pub now: Time,
    /// Let metadata that is expired at `now` through (reported in
    /// [`NextMetadata::expired_role`]). Exists only to test that clients refuse expired
    /// metadata; MUST NOT be set for a real repository.
    pub unsafe_allow_expired: bool,
    /// The online key: signs the new targets, snapshot and timestamp.
    pub signer: &'a dyn Signer,
}

/// A metadata file published under a versioned name (`N.targets.json`, `N.snapshot.json`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionedFile {
    /// The metadata version, the `N` of the file name.
    pub version: u64,
    /// The file bytes.
    pub bytes: Vec<u8>,
}

/// The checked result of [`next_metadata`]: the files to write, in this order — targets, then
/// snapshot, then `timestamp.json`, whose replacement publishes the rest.
#[derive(Debug, Clone)]
pub struct NextMetadata {
    /// The versions the repository has once the files are written.
    pub versions: PublishedVersions,
    /// The new targets metadata, if any.
    pub targets_file: Option<VersionedFile>,
    /// The new snapshot metadata, if any.
    pub snapshot_file: Option<VersionedFile>,
    /// The new timestamp metadata.
    pub timestamp_file: Vec<u8>,
    /// The role found expired at `now` and let through because the request set
    /// `unsafe_allow_expired`; always `None` otherwise.
    pub expired_role: Option<String>,
}

/// Why [`next_metadata`] made nothing to publish.
#[derive(Debug, thiserror::Error)]
pub enum NextMetadataError {
    /// Building or signing the metadata failed: a value canonical JSON cannot encode, a key
    /// that cannot be encoded, a signer that failed.
    #[error(transparent)]
    Build(TufError),
    /// The metadata was made, but a client would refuse the repository it makes (a signature
    /// threshold not met, expired metadata, an inconsistent reference, nothing for the snapshot
    /// to list), or a version would go back.
    #[error("refusing to publish")]
    Refused(#[source] TufError),
}

/// Builds, signs and checks the next online metadata of a repository; reads and writes nothing.
///
/// New targets metadata (if given) is signed as is. A new snapshot (see
/// [`NextMetadataRequest`]) gets the published snapshot's version + 1 and its `meta`, with the
/// `targets.json` entry describing the targets file now current. The new timestamp gets the
/// published timestamp's version + 1 and describes the snapshot file now current. The result is
/// refused unless the whole repository it makes verifies at `now` under `root`
/// ([`RepositoryView::verify`]) and no version goes back from the published ones
/// ([`RepositoryView::check_no_rollback`]: the timestamp must move forward).
pub fn next_metadata(request: NextMetadataRequest<'_>) -> Result<NextMetadata, NextMetadataError> {
    let NextMetadataRequest {
        root,
        published,
        new_targets,
        resign_snapshot,
        snapshot_expires,
        timestamp_expires,
        now,
        unsafe_allow_expired,
        signer,
    } = request;
    let build = NextMetadataError::Build;
    let published_versions = published.map(|p| p.versions()).unwrap_or_default();
    let targets_change = new_targets.is_some();

    let mut signed_targets = None;
    let (targets, targets_bytes) = match (new_targets, published) {
        (Some(t), _) => {
            let (md, bytes) = signed_targets.insert(signed_file(t, signer).map_err(build)?);
            (&*md, bytes.as_slice())
        }
        (None, Some(p)) => p.targets,
        (None, None) => {
            return Err(NextMetadataError::Refused(TufError::NotListed {
                file: TARGETS_META.into(),
                referrer: "snapshot",
            }))
        }
    };

    let mut signed_snapshot = None;
    let (snapshot, snapshot_bytes) = match published {
        Some(p) if !resign_snapshot && !targets_change => p.snapshot,
        _ => {
            let mut meta = published
                .map(|p| p.snapshot.0.signed().meta.clone())
                .unwrap_or_default();
            meta.insert(
                TARGETS_META.to_owned(),
                MetaFile::describing(targets.signed().version, targets_bytes),
            );
            let snapshot = Snapshot {
                spec_version: SPEC_VERSION.to_owned(),
                version: published_versions.snapshot + 1,
                expires: snapshot_expires,
                meta,
                unrecognized: BTreeMap::new(),
            };
            let (md, bytes) = signed_snapshot.insert(signed_file(snapshot, signer).map_err(build)?);
            (&*md, bytes.as_slice())
        }
    };

    let timestamp = Timestamp {
        spec_version: SPEC_VERSION.to_owned(),
        version: published_versions.timestamp + 1,
        expires: timestamp_expires,
        meta: BTreeMap::from([(
            SNAPSHOT_META.to_owned(),
            MetaFile::describing(snapshot.signed().version, snapshot_bytes),
        )]),
        unrecognized: BTreeMap::new(),
    };
    let (timestamp, timestamp_file) = signed_file(timestamp, signer).map_err(build)?;

    let view = RepositoryView {
        root,
        targets: (targets, targets_bytes),
        snapshot: (snapshot, snapshot_bytes),
        timestamp: &timestamp,
    };
    let mut expired_role = None;
    match view.verify(now) {
        Ok(()) => {}
        Err(TufError::Expired { role, .. }) if unsafe_allow_expired => expired_role = Some(role),
        Err(e) => return Err(NextMetadataError::Refused(e)),
    }
    view.check_no_rollback(&published_versions)
        .map_err(NextMetadataError::Refused)?;
    let versions = view.versions();

    Ok(NextMetadata {
        versions,
        targets_file: signed_targets.map(|(md, bytes)| VersionedFile {
            version: md.signed().version,
            bytes,
        }),
        snapshot_file: signed_snapshot.map(|(md, bytes)| VersionedFile {
            version: md.signed().version,
            bytes,
        }),
        timestamp_file,
        expired_role,
    })
}

/// `signed` signed by `signer`, with its file bytes.
fn signed_file<T: Role>(
    signed: T,
    signer: &dyn Signer,
) -> Result<(Metadata<T>, Vec<u8>), TufError> {
    let mut md = Metadata::new(signed)?;
    md.sign(signer)?;
    let bytes = md.to_bytes();
    Ok((md, bytes))
}
