//! The real public-good Sigstore TUF repository (sigstore/root-signing), parsed and verified.

use sigstack_test_vectors::read;
use tuf::{
    canonical_json, check_not_expired, verify_root_rotation, Metadata, RepositoryView, Root,
    Snapshot, Targets, Time, Timestamp, TufError,
};

const DIR: &str = "tuf/public-good";

fn root(n: u64) -> Metadata<Root> {
    Metadata::from_slice(&read(&format!("{DIR}/metadata/{n}.root.json")))
        .unwrap_or_else(|e| panic!("root {n}: {e}"))
}

/// Before the timestamp's expiry (2026-08-28T19:25:56Z), as expected.json asks.
fn pinned_now() -> Time {
    let expected = sigstack_test_vectors::read_json(&format!("{DIR}/expected.json"));
    Time::parse(expected["pin_clock_before"].as_str().unwrap())
        .unwrap()
        .add_secs(-86_400)
}

#[test]
fn every_root_parses_and_verifies_under_itself() {
    for n in 1..=15 {
        let r = root(n);
        assert_eq!(r.signed().version, n);
        r.signed().validate().unwrap();
        r.signed()
            .verify_role(&r)
            .unwrap_or_else(|e| panic!("root {n} under itself: {e}"));
    }
}

#[test]
fn root_chain_1_to_15_rotates_with_old_and_new_thresholds() {
    for n in 1..15 {
        verify_root_rotation(&root(n), &root(n + 1))
            .unwrap_or_else(|e| panic!("root {n} -> {}: {e}", n + 1));
    }
}

#[test]
fn expiry_strings_are_read_as_published() {
    let expected = sigstack_test_vectors::read_json(&format!("{DIR}/expected.json"));
    for n in 1..=15u64 {
        let want = Time::parse(expected["root_expires"][n.to_string()].as_str().unwrap()).unwrap();
        assert_eq!(root(n).signed().expires, want, "root {n}");
    }
    // Root 1's -06:00 offset.
    assert_eq!(root(1).signed().expires.to_string(), "2021-12-18T19:28:12Z");
}

#[test]
fn top_level_roles_verify_under_root_15() {
    let root = root(15);
    let ts_bytes = read(&format!("{DIR}/metadata/timestamp.json"));
    let snap_bytes = read(&format!("{DIR}/metadata/165.snapshot.json"));
    let targets_bytes = read(&format!("{DIR}/metadata/14.targets.json"));
    let timestamp = Metadata::<Timestamp>::from_slice(&ts_bytes).unwrap();
    let snapshot = Metadata::<Snapshot>::from_slice(&snap_bytes).unwrap();
    let targets = Metadata::<Targets>::from_slice(&targets_bytes).unwrap();
    assert_eq!(timestamp.signed().version, 762);
    assert_eq!(snapshot.signed().version, 165);
    assert_eq!(targets.signed().version, 14);
    let view = RepositoryView {
        root: &root,
        targets: (&targets, &targets_bytes),
        snapshot: (&snapshot, &snap_bytes),
        timestamp: &timestamp,
    };
    view.verify(pinned_now()).unwrap();

    // After the timestamp's expiry the same repository is refused, naming the timestamp.
    let late = Time::parse("2026-08-28T19:25:56Z").unwrap();
    match view.verify(late) {
        Err(TufError::Expired { role, version, .. }) => {
            assert_eq!((role.as_str(), version), ("timestamp", 762))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn target_files_match_targets_14_and_carry_sigstore_custom() {
    let targets =
        Metadata::<Targets>::from_slice(&read(&format!("{DIR}/metadata/14.targets.json"))).unwrap();
    let dir = sigstack_test_vectors::dir().join(DIR).join("targets");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let file = entry.unwrap().file_name().into_string().unwrap();
        let (hash, name) = file.split_once('.').unwrap();
        let info = &targets.signed().targets[name];
        assert_eq!(info.sha256(), Some(hash));
        let bytes = read(&format!("{DIR}/targets/{file}"));
        info.check(name, &bytes).unwrap();
        let mut tampered = bytes.clone();
        tampered[0] ^= 1;
        assert!(matches!(
            info.check(name, &tampered),
            Err(TufError::Mismatch {
                field: "sha256",
                ..
            })
        ));
        checked += 1;
    }
    assert_eq!(checked, 11);
    let ctfe = &targets.signed().targets["ctfe.pub"];
    assert_eq!(
        ctfe.custom.as_ref().unwrap()["sigstore"]["usage"],
        serde_json::json!("CTFE")
    );
    assert_eq!(
        targets.signed().targets["fulcio.crt.pem"]
            .custom
            .as_ref()
            .unwrap()["sigstore"]["status"],
        serde_json::json!("Expired")
    );
}

#[test]
fn canonical_bytes_of_the_timestamp_are_exact() {
    let ts = Metadata::<Timestamp>::from_slice(&read(&format!("{DIR}/metadata/timestamp.json")))
        .unwrap();
    assert_eq!(
        ts.canonical_bytes(),
        br#"{"_type":"timestamp","expires":"2026-08-28T19:25:56Z","meta":{"snapshot.json":{"version":165}},"spec_version":"1.0","version":762}"#
    );
}

#[test]
fn canonical_json_of_pretty_root_is_compact_sorted_and_raw_newlines() {
    let file: serde_json::Value =
        serde_json::from_slice(&read(&format!("{DIR}/metadata/15.root.json"))).unwrap();
    let bytes = canonical_json(&file["signed"]).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.starts_with(r#"{"_type":"root","consistent_snapshot":true,"expires":"2026-11-20T13:58:18Z","keys":{"0c87432c"#));
    // PEM newlines stay raw bytes, not "\n" escapes.
    assert!(text.contains("-----BEGIN PUBLIC KEY-----\nMFkw"));
    assert!(!text.contains("\\n"));
    assert!(!text.contains(": "));
}

#[test]
fn tampered_metadata_fails_the_threshold() {
    let mut text = String::from_utf8(read(&format!("{DIR}/metadata/timestamp.json"))).unwrap();
    text = text.replace("\"version\": 762", "\"version\": 763");
    let ts = Metadata::<Timestamp>::from_slice(text.as_bytes()).unwrap();
    match root(15).signed().verify_role(&ts) {
        Err(TufError::ThresholdNotMet {
            role,
            valid,
            threshold,
            ..
        }) => assert_eq!((role.as_str(), valid, threshold), ("timestamp", 0, 1)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn root_rotation_refuses_skips_and_reversals() {
    assert!(matches!(
        verify_root_rotation(&root(13), &root(15)),
        Err(TufError::RootNotSuccessor {
            trusted: 13,
            proposed: 15
        })
    ));
    assert!(matches!(
        verify_root_rotation(&root(15), &root(14)),
        Err(TufError::RootNotSuccessor { .. })
    ));
}

#[test]
fn expired_root_is_reported_with_its_version() {
    let err = check_not_expired(&root(14), pinned_now()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "root metadata version 14 expired at 2026-06-22T13:27:01Z (now {})",
            pinned_now()
        )
    );
}

#[test]
fn wrong_type_is_refused() {
    let err = Metadata::<Snapshot>::from_slice(&read(&format!("{DIR}/metadata/timestamp.json")))
        .unwrap_err();
    assert!(matches!(
        err,
        TufError::WrongType {
            expected: "snapshot",
            ..
        }
    ));
}

#[test]
fn delegated_npm_role_verifies_under_targets_14() {
    let targets =
        Metadata::<Targets>::from_slice(&read(&format!("{DIR}/metadata/14.targets.json"))).unwrap();
    let npm = Metadata::<Targets>::from_slice(&read(&format!(
        "{DIR}/metadata/8.registry.npmjs.org.json"
    )))
    .unwrap();
    let delegations = targets.signed().delegations.as_ref().unwrap();
    assert_eq!(delegations.roles[0].name, "registry.npmjs.org");
    assert!(delegations.roles[0].terminating);
    targets
        .signed()
        .verify_delegated("registry.npmjs.org", &npm)
        .unwrap();
    assert!(matches!(
        targets.signed().verify_delegated("nobody", &npm),
        Err(TufError::UnknownRole(_))
    ));
    // The delegate's key does not make it a top-level targets signer.
    assert!(matches!(
        root(15).signed().verify_role(&npm),
        Err(TufError::ThresholdNotMet { valid: 0, .. })
    ));
}

#[test]
fn key_ids_are_sha256_of_the_canonical_key_object() {
    // Including keyid_hash_algorithms and tuf-on-ci's x- members, as published. Clients do not
    // recompute key ids, and upstream did not always either: count the exceptions.
    let mut matching = 0;
    let mut other = Vec::new();
    for n in 1..=15 {
        for (id, key) in &root(n).signed().keys {
            if &key.key_id().unwrap() == id {
                matching += 1;
            } else {
                other.push((n, id[..8].to_owned()));
            }
        }
    }
    assert!(matching > 70, "{matching}");
    println!("key ids not recomputable: {other:?}");
    assert!(other.iter().all(|(_, id)| id == "7247f0db"), "{other:?}");
}
