//! The repository on disk: init, targets, refresher logic, ceremony, serving, export.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use sigstack_keys::{Algorithm, Signer, SoftwareKey};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;
use tuf::{verify_root_rotation, Metadata, Root, Targets, TufError};
use tuf_repo::{
    now, publish_staged_root, sign_staged_root, stage_root, staged_root_status, verify_dir,
    NewTarget, RepoError, RepoOptions, Repository, RootChange,
};

fn key() -> SoftwareKey {
    SoftwareKey::generate(Algorithm::EcdsaP256Sha256)
}

fn init(dir: &Path, root_keys: &[SoftwareKey], threshold: u32) -> (Repository, Arc<SoftwareKey>) {
    let online = Arc::new(key());
    let refs: Vec<&dyn Signer> = root_keys.iter().map(|k| k as &dyn Signer).collect();
    let repo = Repository::init(
        dir,
        &refs,
        threshold,
        online.clone(),
        RepoOptions::default(),
    )
    .unwrap();
    (repo, online)
}

fn exists(dir: &Path, name: &str) -> bool {
    dir.join(name).is_file()
}

#[test]
fn init_lays_out_a_consistent_snapshot_repository() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("repo");
    let rk = [key(), key()];
    let (repo, _) = init(&dir, &rk, 2);
    for f in [
        "1.root.json",
        "root.json",
        "timestamp.json",
        "1.snapshot.json",
        "1.targets.json",
    ] {
        assert!(exists(&dir, f), "{f}");
    }
    repo.verify(now()).unwrap();
    let v = repo.versions().unwrap();
    assert_eq!((v.root, v.targets, v.snapshot, v.timestamp), (1, 1, 1, 1));
    let root = Metadata::<Root>::from_slice(&repo.root_bytes().unwrap()).unwrap();
    assert!(root.signed().consistent_snapshot);
    assert_eq!(root.signed().role_keys("root").unwrap().threshold, 2);
    assert_eq!(root.signatures().len(), 2);
    // Expiries: root 180 days, timestamp 1 day.
    let ts = tuf::Metadata::<tuf::Timestamp>::from_slice(
        &std::fs::read(dir.join("timestamp.json")).unwrap(),
    )
    .unwrap();
    let ts_life = ts.signed().expires.unix() - now().unix();
    assert!((86_000..=86_400).contains(&ts_life), "{ts_life}");
    let root_life = root.signed().expires.unix() - now().unix();
    assert!((180 * 86_400 - 400..=180 * 86_400).contains(&root_life));

    // Again: refused; open_or_init opens.
    let refs: Vec<&dyn Signer> = rk.iter().map(|k| k as &dyn Signer).collect();
    assert!(matches!(
        Repository::init(&dir, &refs, 2, Arc::new(key()), RepoOptions::default()),
        Err(RepoError::AlreadyInitialized(_))
    ));
    // A stranger's online key is not accepted.
    let err = Repository::open(&dir, Arc::new(key()), RepoOptions::default()).unwrap_err();
    assert!(matches!(err, RepoError::OnlineKeyNotInRoot { .. }), "{err}");
}

#[test]
fn init_refuses_a_threshold_above_the_key_count() {
    let tmp = tempfile::tempdir().unwrap();
    let rk = [key()];
    let refs: Vec<&dyn Signer> = rk.iter().map(|k| k as &dyn Signer).collect();
    let err = Repository::init(
        tmp.path(),
        &refs,
        2,
        Arc::new(key()),
        RepoOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(err, RepoError::Tuf(TufError::BadThreshold { .. })),
        "{err}"
    );
    assert!(!exists(tmp.path(), "1.root.json"));
}

#[test]
fn set_targets_publishes_only_changes_and_keeps_history() {
    let tmp = tempfile::tempdir().unwrap();
    let rk = [key()];
    let online = Arc::new(key());
    let refs: Vec<&dyn Signer> = rk.iter().map(|k| k as &dyn Signer).collect();
    let repo =
        Repository::open_or_init(tmp.path(), &refs, 1, online.clone(), RepoOptions::default())
            .unwrap();
    let t1 = vec![
        NewTarget::sigstore("trusted_root.json", b"{\"v\":1}".to_vec(), "Unknown"),
        NewTarget::sigstore("signing_config.v0.2.json", b"{\"s\":1}".to_vec(), "Unknown"),
    ];
    assert!(repo.set_targets(&t1).unwrap());
    assert!(!repo.set_targets(&t1).unwrap(), "unchanged targets");
    let v = repo.versions().unwrap();
    assert_eq!((v.targets, v.snapshot, v.timestamp), (2, 2, 2));
    let old = repo.targets().unwrap()["trusted_root.json"].clone();

    // Replace one: new version, old content still on disk, the other untouched.
    let again =
        Repository::open_or_init(tmp.path(), &refs, 1, online, RepoOptions::default()).unwrap();
    assert!(again
        .set_targets(&[NewTarget::sigstore(
            "trusted_root.json",
            b"{\"v\":2}".to_vec(),
            "Unknown"
        )])
        .unwrap());
    let targets = again.targets().unwrap();
    assert_eq!(targets.len(), 2);
    assert_ne!(targets["trusted_root.json"], old);
    assert_eq!(
        targets["trusted_root.json"].custom.as_ref().unwrap()["sigstore"]["usage"],
        "Unknown"
    );
    for info in [&old, &targets["trusted_root.json"]] {
        let f = format!("targets/{}.trusted_root.json", info.sha256().unwrap());
        assert!(exists(tmp.path(), &f), "{f}");
    }
    assert!(exists(tmp.path(), "2.targets.json") && exists(tmp.path(), "3.targets.json"));
    again.verify(now()).unwrap();
    assert_eq!(again.versions().unwrap().targets, 3);

    // Names that would escape the targets directory are refused.
    assert!(matches!(
        again.set_targets(&[NewTarget::sigstore("../x", vec![], "Unknown")]),
        Err(RepoError::BadTargetName(_))
    ));
}

#[test]
fn refresh_resigns_each_role_at_half_life() {
    let tmp = tempfile::tempdir().unwrap();
    let (repo, _) = init(tmp.path(), &[key()], 1);
    let t0 = now();
    let r = repo.refresh(t0).unwrap();
    assert!(!r.timestamp && !r.snapshot && !r.targets);
    assert_eq!(repo.versions().unwrap().timestamp, 1);
    // Timestamp half-life is 12 hours.
    assert!((r.next_due.unix() - t0.unix() - 12 * 3600).abs() <= 5);

    let r = repo.refresh(t0.add_secs(12 * 3600 + 10)).unwrap();
    assert!(r.timestamp && !r.snapshot && !r.targets);
    let v = repo.versions().unwrap();
    assert_eq!((v.targets, v.snapshot, v.timestamp), (1, 1, 2));

    // Snapshot half-life: 3.5 days.
    let r = repo.refresh(t0.add_secs(4 * 86_400)).unwrap();
    assert!(r.timestamp && r.snapshot && !r.targets);
    let v = repo.versions().unwrap();
    assert_eq!((v.targets, v.snapshot, v.timestamp), (1, 2, 3));

    // Targets half-life: 45 days.
    let r = repo.refresh(t0.add_secs(46 * 86_400)).unwrap();
    assert!(r.timestamp && r.snapshot && r.targets);
    let v = repo.versions().unwrap();
    assert_eq!((v.targets, v.snapshot, v.timestamp), (2, 3, 4));
    repo.verify(t0.add_secs(46 * 86_400)).unwrap();
}

#[test]
fn publish_refuses_an_expired_timestamp_unless_forced() {
    let tmp = tempfile::tempdir().unwrap();
    let (repo, _) = init(tmp.path(), &[key()], 1);
    let err = repo.publish_timestamp(Some(-3600), false).unwrap_err();
    match &err {
        RepoError::Refused(TufError::Expired { role, .. }) => assert_eq!(role, "timestamp"),
        other => panic!("{other:?}"),
    }
    assert_eq!(repo.versions().unwrap().timestamp, 1, "nothing written");
    repo.publish_timestamp(Some(-3600), true).unwrap();
    assert!(matches!(
        repo.verify(now()),
        Err(RepoError::Refused(TufError::Expired { .. }))
    ));
    // The refresher repairs it.
    assert!(repo.refresh(now()).unwrap().timestamp);
    repo.verify(now()).unwrap();
}

#[test]
fn root_rotation_needs_both_thresholds() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let old = [key(), key()];
    let (repo, _) = init(dir, &old, 2);
    let new = key();
    let expiry = Duration::from_secs(180 * 86_400);

    let status = stage_root(
        dir,
        &[
            RootChange::AddKey(tuf::Key::from_signer(&new).unwrap()),
            RootChange::Threshold(2),
        ],
        expiry,
    )
    .unwrap();
    assert_eq!((status.version, status.root_keyids.len()), (2, 3));
    assert!(!status.ready());
    // Not publishable yet, with a clear reason.
    let err = publish_staged_root(dir, now()).unwrap_err();
    let RepoError::Refused(TufError::ThresholdNotMet { signer_set, .. }) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(signer_set, "root v1");

    // A stranger cannot sign.
    assert!(matches!(
        sign_staged_root(dir, &key()),
        Err(RepoError::Ceremony(_))
    ));
    // One old key: old threshold (2) not met yet.
    let s = sign_staged_root(dir, &old[0]).unwrap();
    assert_eq!((s.old_valid, s.new_valid), (1, 1));
    assert!(publish_staged_root(dir, now()).is_err());
    let s = sign_staged_root(dir, &new).unwrap();
    assert_eq!((s.old_valid, s.new_valid), (1, 2));
    assert!(publish_staged_root(dir, now()).is_err());
    let s = sign_staged_root(dir, &old[1]).unwrap();
    assert!(s.ready(), "{s}");
    assert_eq!(publish_staged_root(dir, now()).unwrap(), 2);
    assert!(staged_root_status(dir).unwrap().is_none());

    let r1 =
        Metadata::<Root>::from_slice(&std::fs::read(dir.join("1.root.json")).unwrap()).unwrap();
    let r2 =
        Metadata::<Root>::from_slice(&std::fs::read(dir.join("2.root.json")).unwrap()).unwrap();
    verify_root_rotation(&r1, &r2).unwrap();
    assert_eq!(std::fs::read(dir.join("root.json")).unwrap(), r2.to_bytes());
    // The online metadata still verifies under the new root.
    repo.verify(now()).unwrap();
    assert_eq!(repo.versions().unwrap().root, 2);

    // Revoking down to fewer keys than the threshold is refused.
    stage_root(
        dir,
        &[RootChange::RevokeKey(
            tuf::Key::from_signer(&old[0]).unwrap().key_id().unwrap(),
        )],
        expiry,
    )
    .unwrap();
    let err = stage_root(
        dir,
        &[RootChange::RevokeKey(
            tuf::Key::from_signer(&old[1]).unwrap().key_id().unwrap(),
        )],
        expiry,
    )
    .unwrap_err();
    assert!(
        matches!(err, RepoError::Tuf(TufError::BadThreshold { .. })),
        "{err}"
    );
}

#[test]
fn a_tampered_target_on_disk_fails_verification_and_export() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("repo");
    let (repo, _) = init(&dir, &[key()], 1);
    repo.set_targets(&[NewTarget::sigstore(
        "trusted_root.json",
        b"{}".to_vec(),
        "Unknown",
    )])
    .unwrap();
    let out = tmp.path().join("out");
    let (v, n) = tuf_repo::export(&dir, &out).unwrap();
    assert_eq!(v.targets, 2);
    // 1 target + 2 roots (1.root.json, root.json) + 2 targets + 2 snapshots + timestamp.
    assert_eq!(n, 8);
    assert!(!out.join("private").exists() && !out.join(".lock").exists());
    verify_dir(&out, now()).unwrap();

    let info = repo.targets().unwrap()["trusted_root.json"].clone();
    let path = dir
        .join("targets")
        .join(format!("{}.trusted_root.json", info.sha256().unwrap()));
    std::fs::write(&path, b"[]").unwrap(); // same length, other hash
    let err = repo.verify(now()).unwrap_err();
    assert!(
        matches!(
            err,
            RepoError::Refused(TufError::Mismatch {
                field: "sha256",
                ..
            })
        ),
        "{err}"
    );
    assert!(tuf_repo::export(&dir, &tmp.path().join("out2")).is_err());
}

async fn get(
    app: &axum::Router,
    uri: &str,
) -> (StatusCode, Option<String>, Option<String>, Vec<u8>) {
    let resp = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let h = |n: &str| {
        resp.headers()
            .get(n)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let (ct, cc) = (h("content-type"), h("cache-control"));
    let status = resp.status();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, ct, cc, body.to_vec())
}

#[tokio::test]
async fn router_serves_published_files_only() {
    let tmp = tempfile::tempdir().unwrap();
    let (repo, _) = init(tmp.path(), &[key()], 1);
    repo.set_targets(&[NewTarget::sigstore(
        "trusted_root.json",
        b"{}".to_vec(),
        "Unknown",
    )])
    .unwrap();
    stage_root(tmp.path(), &[], Duration::from_secs(86_400 * 180)).unwrap();
    let metrics = sigstack_http::MetricsRegistry::for_service("tuf");
    let app = tuf_repo::router(tmp.path().to_owned(), &metrics);

    let (s, ct, cc, body) = get(&app, "/1.root.json").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ct.as_deref(), Some("application/json"));
    assert_eq!(cc.as_deref(), Some(tuf_repo::CACHE_IMMUTABLE));
    assert_eq!(body, std::fs::read(tmp.path().join("1.root.json")).unwrap());
    let (s, _, cc, _) = get(&app, "/timestamp.json").await;
    assert_eq!(
        (s, cc.as_deref()),
        (StatusCode::OK, Some(tuf_repo::CACHE_TIMESTAMP))
    );
    assert_eq!(get(&app, "/2.targets.json").await.0, StatusCode::OK);
    assert_eq!(get(&app, "/2.root.json").await.0, StatusCode::NOT_FOUND);

    let targets =
        Metadata::<Targets>::from_slice(&std::fs::read(tmp.path().join("2.targets.json")).unwrap())
            .unwrap();
    let hash = targets.signed().targets["trusted_root.json"]
        .sha256()
        .unwrap()
        .to_owned();
    let (s, ct, cc, body) = get(&app, &format!("/targets/{hash}.trusted_root.json")).await;
    assert_eq!(
        (s, ct.as_deref(), body.as_slice()),
        (StatusCode::OK, Some("application/json"), &b"{}"[..])
    );
    assert_eq!(cc.as_deref(), Some(tuf_repo::CACHE_IMMUTABLE));

    for uri in [
        "/staged/root.json",
        "/private/online.pem",
        "/.lock",
        "/..%2Fetc%2Fpasswd",
        "/targets/..%2F1.root.json",
        "/targets/trusted_root.json",
    ] {
        assert_eq!(get(&app, uri).await.0, StatusCode::NOT_FOUND, "{uri}");
    }
    assert_eq!(get(&app, "/healthz").await.0, StatusCode::OK);
}

#[tokio::test]
async fn the_refresher_task_resigns_a_due_timestamp() {
    let tmp = tempfile::tempdir().unwrap();
    let (repo, _) = init(tmp.path(), &[key()], 1);
    // Expires in 10 s with a 1-day lifetime: past half-life, so due now.
    repo.publish_timestamp(Some(10), false).unwrap();
    assert_eq!(repo.versions().unwrap().timestamp, 2);
    let repo = Arc::new(repo);
    let task = tuf_repo::spawn_refresher(repo.clone());
    let mut v = 2;
    for _ in 0..100 {
        v = repo.versions().unwrap().timestamp;
        if v > 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    task.abort();
    assert_eq!(v, 3);
    repo.verify(now().add_secs(20 * 3600)).unwrap();
}

#[test]
fn root_v1_can_be_collected_from_keyholders_elsewhere() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("repo");
    let (here, elsewhere, online) = (key(), key(), Arc::new(key()));
    let status = tuf_repo::stage_initial_root(
        &dir,
        &[
            tuf::Key::from_signer(&here).unwrap(),
            tuf::Key::from_signer(&elsewhere).unwrap(),
        ],
        2,
        &tuf::Key::from_signer(online.as_ref()).unwrap(),
        Duration::from_secs(180 * 86_400),
    )
    .unwrap();
    assert_eq!(
        (status.version, status.new_valid, status.new_threshold),
        (1, 0, 2)
    );
    assert!(matches!(
        Repository::open(&dir, online.clone(), RepoOptions::default()),
        Err(RepoError::NotInitialized(_))
    ));
    sign_staged_root(&dir, &here).unwrap();
    let err = publish_staged_root(&dir, now()).unwrap_err();
    assert!(
        matches!(
            err,
            RepoError::Refused(TufError::ThresholdNotMet {
                valid: 1,
                threshold: 2,
                ..
            })
        ),
        "{err:?}"
    );
    let s = sign_staged_root(&dir, &elsewhere).unwrap();
    assert!(s.ready(), "{s}");
    assert_eq!(publish_staged_root(&dir, now()).unwrap(), 1);
    assert!(!exists(&dir, "timestamp.json"));
    // Opening with the online key creates the online metadata.
    let repo = Repository::open(&dir, online, RepoOptions::default()).unwrap();
    repo.verify(now()).unwrap();
    let v = repo.versions().unwrap();
    assert_eq!((v.root, v.targets, v.snapshot, v.timestamp), (1, 1, 1, 1));
    // A second initial root is refused.
    assert!(matches!(
        tuf_repo::stage_initial_root(
            &dir,
            &[tuf::Key::from_signer(&here).unwrap()],
            1,
            &tuf::Key::from_signer(&here).unwrap(),
            Duration::from_secs(86_400)
        ),
        Err(RepoError::AlreadyInitialized(_))
    ));
}

#[test]
fn a_corrupt_metadata_file_is_reported_with_its_path() {
    let tmp = tempfile::tempdir().unwrap();
    let (repo, _) = init(tmp.path(), &[key()], 1);
    std::fs::write(tmp.path().join("1.snapshot.json"), b"{not json").unwrap();
    let err = repo.versions().unwrap_err();
    assert!(matches!(err, RepoError::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains("1.snapshot.json"), "{err}");
}
