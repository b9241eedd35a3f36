//! `next_metadata`: the next online metadata of a repository, built, signed and checked without
//! I/O.

use crate::support::Published;
use sigstack_keys::{Algorithm, KeyError, Signer, SoftwareKey};
use std::collections::BTreeMap;
use tuf::{
    next_metadata, sigstore_custom, Key, MetaFile, Metadata, NextMetadata, NextMetadataError,
    NextMetadataRequest, PublishedVersions, RepositoryView, RoleName, Root, TargetFile, Targets,
    Time, Timestamp, TufError, SNAPSHOT_META, SPEC_VERSION, TARGETS_META,
};

const NOW: Time = Time::from_unix(1_800_000_000);
const DAY: i64 = 86_400;

/// A root whose online roles (targets, snapshot, timestamp) use `online`, expiring at `expires`.
fn root(root_key: &SoftwareKey, online: &SoftwareKey, expires: Time) -> Metadata<Root> {
    let rk = [Key::from_signer(root_key).unwrap()];
    let ok = [Key::from_signer(online).unwrap()];
    let root = Root::new(
        expires,
        &[
            (RoleName::Root, &rk, 1),
            (RoleName::Targets, &ok, 1),
            (RoleName::Snapshot, &ok, 1),
            (RoleName::Timestamp, &ok, 1),
        ],
    )
    .unwrap();
    let mut md = Metadata::new(root).unwrap();
    md.sign(root_key).unwrap();
    md
}

fn targets(version: u64, names: &[&str]) -> Targets {
    Targets {
        spec_version: SPEC_VERSION.to_owned(),
        version,
        expires: NOW.add_secs(90 * DAY),
        targets: names
            .iter()
            .map(|n| {
                let info =
                    TargetFile::describing(n.as_bytes(), Some(sigstore_custom("TSA", "Active")));
                ((*n).to_owned(), info)
            })
            .collect(),
        delegations: None,
        unrecognized: BTreeMap::new(),
    }
}

/// A request with nothing new but a timestamp: snapshot 7 days, timestamp 1 day from `NOW`.
fn request<'a>(
    root: &'a Metadata<Root>,
    published: Option<RepositoryView<'a>>,
    signer: &'a dyn Signer,
) -> NextMetadataRequest<'a> {
    NextMetadataRequest {
        root,
        published,
        new_targets: None,
        resign_snapshot: false,
        snapshot_expires: NOW.add_secs(7 * DAY),
        timestamp_expires: NOW.add_secs(DAY),
        now: NOW,
        unsafe_allow_expired: false,
        signer,
    }
}

impl Published {
    /// The repository after writing `next` (files it does not replace stay).
    fn apply(&self, next: &NextMetadata) -> Published {
        let targets = match &next.targets_file {
            Some(f) => (Metadata::from_slice(&f.bytes).unwrap(), f.bytes.clone()),
            None => self.targets.clone(),
        };
        let snapshot = match &next.snapshot_file {
            Some(f) => (Metadata::from_slice(&f.bytes).unwrap(), f.bytes.clone()),
            None => self.snapshot.clone(),
        };
        Published {
            root: self.root.clone(),
            targets,
            snapshot,
            timestamp: Metadata::from_slice(&next.timestamp_file).unwrap(),
        }
    }
}

/// A new repository: targets, snapshot and timestamp version 1 under `root`.
fn genesis(root: &Metadata<Root>, online: &SoftwareKey) -> Published {
    let next = next_metadata(NextMetadataRequest {
        new_targets: Some(targets(1, &[])),
        resign_snapshot: true,
        ..request(root, None, online)
    })
    .unwrap();
    let t = next.targets_file.unwrap();
    let s = next.snapshot_file.unwrap();
    assert_eq!((t.version, s.version), (1, 1));
    Published {
        root: root.clone(),
        targets: (Metadata::from_slice(&t.bytes).unwrap(), t.bytes),
        snapshot: (Metadata::from_slice(&s.bytes).unwrap(), s.bytes),
        timestamp: Metadata::from_slice(&next.timestamp_file).unwrap(),
    }
}

fn keys() -> (SoftwareKey, SoftwareKey) {
    (
        SoftwareKey::generate(Algorithm::EcdsaP256Sha256),
        SoftwareKey::generate(Algorithm::Ed25519),
    )
}

fn versions(next: &NextMetadata) -> (u64, u64, u64, u64) {
    let v = next.versions;
    (v.root, v.targets, v.snapshot, v.timestamp)
}

#[test]
fn first_publication_makes_version_1_of_each_online_role() {
    let (rk, online) = keys();
    let root = root(&rk, &online, NOW.add_secs(180 * DAY));
    let repo = genesis(&root, &online);
    repo.view().verify(NOW).unwrap();
    assert_eq!(
        repo.view().versions(),
        PublishedVersions {
            root: 1,
            targets: 1,
            snapshot: 1,
            timestamp: 1
        }
    );
    // The snapshot describes the targets file, the timestamp the snapshot file, by hash.
    assert_eq!(
        repo.snapshot.0.signed().meta[TARGETS_META],
        MetaFile::describing(1, &repo.targets.1)
    );
    assert_eq!(
        repo.timestamp.signed().meta[SNAPSHOT_META],
        MetaFile::describing(1, &repo.snapshot.1)
    );
    // Expiries as requested.
    assert_eq!(repo.snapshot.0.signed().expires, NOW.add_secs(7 * DAY));
    assert_eq!(repo.timestamp.signed().expires, NOW.add_secs(DAY));
    // Signed by the online key only.
    let online_id = Key::from_signer(&online).unwrap().key_id().unwrap();
    for sigs in [
        repo.targets.0.signatures(),
        repo.snapshot.0.signatures(),
        repo.timestamp.signatures(),
    ] {
        assert_eq!(sigs.len(), 1);
        assert_eq!(sigs[0].keyid, online_id);
    }
}

#[test]
fn nothing_published_and_no_new_targets_is_refused() {
    let (rk, online) = keys();
    let root = root(&rk, &online, NOW.add_secs(180 * DAY));
    let err = next_metadata(NextMetadataRequest {
        resign_snapshot: true,
        ..request(&root, None, &online)
    })
    .unwrap_err();
    assert!(
        matches!(
            &err,
            NextMetadataError::Refused(TufError::NotListed { file, referrer: "snapshot" })
                if file == TARGETS_META
        ),
        "{err:?}"
    );
}

#[test]
fn new_targets_bump_targets_snapshot_and_timestamp() {
    let (rk, online) = keys();
    let root = root(&rk, &online, NOW.add_secs(180 * DAY));
    let repo = genesis(&root, &online);
    // resign_snapshot is not needed: new targets always make a new snapshot.
    let next = next_metadata(NextMetadataRequest {
        new_targets: Some(targets(2, &["trusted_root.json"])),
        ..request(&root, Some(repo.view()), &online)
    })
    .unwrap();
    assert_eq!(versions(&next), (1, 2, 2, 2));
    assert_eq!(next.targets_file.as_ref().unwrap().version, 2);
    assert_eq!(next.snapshot_file.as_ref().unwrap().version, 2);
    assert_eq!(next.expired_role, None);
    let after = repo.apply(&next);
    after.view().verify(NOW).unwrap();
    after
        .view()
        .check_no_rollback(&repo.view().versions())
        .unwrap();
    assert!(after
        .targets
        .0
        .signed()
        .targets
        .contains_key("trusted_root.json"));
    assert_eq!(
        after.snapshot.0.signed().meta[TARGETS_META],
        MetaFile::describing(2, &after.targets.1)
    );
}

#[test]
fn resigning_the_snapshot_keeps_targets_and_its_other_entries() {
    let (rk, online) = keys();
    let root = root(&rk, &online, NOW.add_secs(180 * DAY));
    let repo = genesis(&root, &online);
    // A published snapshot that also lists a delegated role: the new snapshot keeps the entry.
    let mut snap = repo.snapshot.0.signed().clone();
    snap.meta.insert(
        "delegated.json".into(),
        MetaFile::describing(3, b"delegated"),
    );
    snap.version = 2;
    let mut snap = Metadata::new(snap).unwrap();
    snap.sign(&online).unwrap();
    let snap_bytes = snap.to_bytes();
    let mut ts = repo.timestamp.signed().clone();
    ts.version = 2;
    ts.meta
        .insert(SNAPSHOT_META.into(), MetaFile::describing(2, &snap_bytes));
    let mut ts = Metadata::new(ts).unwrap();
    ts.sign(&online).unwrap();
    let repo = Published {
        snapshot: (snap, snap_bytes),
        timestamp: ts,
        ..repo
    };
    repo.view().verify(NOW).unwrap();

    let next = next_metadata(NextMetadataRequest {
        resign_snapshot: true,
        snapshot_expires: NOW.add_secs(3 * DAY),
        ..request(&root, Some(repo.view()), &online)
    })
    .unwrap();
    assert_eq!(versions(&next), (1, 1, 3, 3));
    assert!(next.targets_file.is_none());
    let after = repo.apply(&next);
    after.view().verify(NOW).unwrap();
    let meta = &after.snapshot.0.signed().meta;
    assert_eq!(
        meta["delegated.json"],
        MetaFile::describing(3, b"delegated")
    );
    assert_eq!(meta[TARGETS_META], MetaFile::describing(1, &repo.targets.1));
    assert_eq!(after.snapshot.0.signed().expires, NOW.add_secs(3 * DAY));
}

#[test]
fn a_timestamp_alone_points_at_the_published_snapshot() {
    let (rk, online) = keys();
    let root = root(&rk, &online, NOW.add_secs(180 * DAY));
    let repo = genesis(&root, &online);
    let next = next_metadata(NextMetadataRequest {
        timestamp_expires: NOW.add_secs(3_600),
        // Ignored: no snapshot is made.
        snapshot_expires: NOW.add_secs(1),
        ..request(&root, Some(repo.view()), &online)
    })
    .unwrap();
    assert_eq!(versions(&next), (1, 1, 1, 2));
    assert!(next.targets_file.is_none() && next.snapshot_file.is_none());
    let ts = Metadata::<Timestamp>::from_slice(&next.timestamp_file).unwrap();
    assert_eq!(ts.signed().expires, NOW.add_secs(3_600));
    assert_eq!(
        ts.signed().meta[SNAPSHOT_META],
        MetaFile::describing(1, &repo.snapshot.1)
    );
}

#[test]
fn expired_metadata_is_refused_unless_unsafe_allow_expired() {
    let (rk, online) = keys();
    let root = root(&rk, &online, NOW.add_secs(180 * DAY));
    let repo = genesis(&root, &online);
    let expired = NextMetadataRequest {
        timestamp_expires: NOW,
        ..request(&root, Some(repo.view()), &online)
    };
    match next_metadata(expired) {
        Err(NextMetadataError::Refused(TufError::Expired { role, version, .. })) => {
            assert_eq!((role.as_str(), version), ("timestamp", 2))
        }
        other => panic!("{other:?}"),
    }
    let next = next_metadata(NextMetadataRequest {
        timestamp_expires: NOW.add_secs(-60),
        unsafe_allow_expired: true,
        ..request(&root, Some(repo.view()), &online)
    })
    .unwrap();
    assert_eq!(next.expired_role.as_deref(), Some("timestamp"));
    assert_eq!(versions(&next), (1, 1, 1, 2));
}

#[test]
fn an_expired_root_is_refused_unless_unsafe_allow_expired() {
    let (rk, online) = keys();
    let live = root(&rk, &online, NOW.add_secs(DAY));
    let repo = genesis(&live, &online);
    let later = NOW.add_secs(2 * DAY);
    let at_later = |unsafe_allow_expired| NextMetadataRequest {
        now: later,
        timestamp_expires: later.add_secs(DAY),
        snapshot_expires: later.add_secs(DAY),
        resign_snapshot: true,
        unsafe_allow_expired,
        ..request(&live, Some(repo.view()), &online)
    };
    match next_metadata(at_later(false)) {
        Err(NextMetadataError::Refused(TufError::Expired { role, .. })) => {
            assert_eq!(role, "root")
        }
        other => panic!("{other:?}"),
    }
    let next = next_metadata(at_later(true)).unwrap();
    assert_eq!(next.expired_role.as_deref(), Some("root"));
    assert_eq!(versions(&next), (1, 1, 2, 2));
}

#[test]
fn a_key_root_does_not_trust_is_refused() {
    let (rk, online) = keys();
    let root = root(&rk, &online, NOW.add_secs(180 * DAY));
    let repo = genesis(&root, &online);
    let stranger = SoftwareKey::generate(Algorithm::EcdsaP256Sha256);
    match next_metadata(request(&root, Some(repo.view()), &stranger)) {
        Err(NextMetadataError::Refused(TufError::ThresholdNotMet { role, valid, .. })) => {
            assert_eq!((role.as_str(), valid), ("timestamp", 0))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn targets_going_back_are_refused() {
    let (rk, online) = keys();
    let root = root(&rk, &online, NOW.add_secs(180 * DAY));
    let repo = genesis(&root, &online);
    let next = next_metadata(NextMetadataRequest {
        new_targets: Some(targets(5, &["a"])),
        ..request(&root, Some(repo.view()), &online)
    })
    .unwrap();
    let repo = repo.apply(&next);
    match next_metadata(NextMetadataRequest {
        new_targets: Some(targets(4, &["b"])),
        ..request(&root, Some(repo.view()), &online)
    }) {
        Err(NextMetadataError::Refused(TufError::Rollback {
            role,
            current,
            proposed,
        })) => assert_eq!((role.as_str(), current, proposed), ("targets", 5, 4)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_root_given_is_the_one_checked_and_counted() {
    // A rotated root (v2, same online key): the next metadata verifies under it and the
    // versions report it, while the rollback check runs against the published v1.
    let (rk, online) = keys();
    let v1 = root(&rk, &online, NOW.add_secs(180 * DAY));
    let repo = genesis(&v1, &online);
    let mut r2 = v1.signed().clone();
    r2.version = 2;
    let mut v2 = Metadata::new(r2).unwrap();
    v2.sign(&rk).unwrap();
    let next = next_metadata(request(&v2, Some(repo.view()), &online)).unwrap();
    assert_eq!(versions(&next), (2, 1, 1, 2));
}

/// A signer whose key is the online key but which cannot sign (an unreachable HSM).
struct Unreachable(SoftwareKey);

impl Signer for Unreachable {
    fn algorithm(&self) -> Algorithm {
        self.0.algorithm()
    }
    fn public_key_der(&self) -> &[u8] {
        self.0.public_key_der()
    }
    fn sign(&self, _message: &[u8]) -> Result<Vec<u8>, KeyError> {
        Err(KeyError::Signing("HSM unreachable".into()))
    }
}

#[test]
fn build_failures_are_not_refusals() {
    let (rk, online) = keys();
    let root = root(&rk, &online, NOW.add_secs(180 * DAY));
    let repo = genesis(&root, &online);
    let hsm = Unreachable(online);
    match next_metadata(request(&root, Some(repo.view()), &hsm)) {
        Err(NextMetadataError::Build(TufError::Signing { role, .. })) => {
            assert_eq!(role, "timestamp")
        }
        other => panic!("{other:?}"),
    }
    // A float canonical JSON cannot encode, in new targets' custom metadata.
    let mut t = targets(2, &["a"]);
    t.targets.get_mut("a").unwrap().custom = Some(serde_json::json!({"x": 1.5}));
    let err = next_metadata(NextMetadataRequest {
        new_targets: Some(t),
        ..request(&root, Some(repo.view()), &hsm.0)
    })
    .unwrap_err();
    assert!(
        matches!(err, NextMetadataError::Build(TufError::NotCanonical(_))),
        "{err:?}"
    );
}
