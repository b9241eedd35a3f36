//! Metadata we sign ourselves: thresholds, expiry, rollback, rotation, consistency.

use crate::support::Published;
use proptest::prelude::*;
use serde_json::{Map, Value};
use sigstack_keys::{Algorithm, SoftwareKey};
use tuf::{
    canonical_json, check_advances, sigstore_custom, verify_root_rotation, Key, MetaFile, Metadata,
    PublishedVersions, RoleName, Root, Snapshot, TargetFile, Targets, Time, Timestamp, TufError,
    SNAPSHOT_META, SPEC_VERSION, TARGETS_META,
};

const NOW: Time = Time::from_unix(1_800_000_000);
const DAY: i64 = 86_400;

fn keys(n: usize, alg: Algorithm) -> Vec<SoftwareKey> {
    (0..n).map(|_| SoftwareKey::generate(alg)).collect()
}

fn tuf_keys(keys: &[SoftwareKey]) -> Vec<Key> {
    keys.iter().map(|k| Key::from_signer(k).unwrap()).collect()
}

fn root(root_keys: &[SoftwareKey], threshold: u32, online: &SoftwareKey) -> Root {
    let rk = tuf_keys(root_keys);
    let ok = tuf_keys(std::slice::from_ref(online));
    Root::new(
        NOW.add_secs(180 * DAY),
        &[
            (RoleName::Root, &rk, threshold),
            (RoleName::Targets, &ok, 1),
            (RoleName::Snapshot, &ok, 1),
            (RoleName::Timestamp, &ok, 1),
        ],
    )
    .unwrap()
}

fn signed<T: tuf::Role>(t: T, by: &[&SoftwareKey]) -> Metadata<T> {
    let mut m = Metadata::new(t).unwrap();
    for k in by {
        m.sign(*k).unwrap();
    }
    m
}

#[test]
fn threshold_counts_distinct_valid_role_keys_only() {
    let rk = keys(3, Algorithm::EcdsaP256Sha256);
    let online = SoftwareKey::generate(Algorithm::Ed25519);
    let r = root(&rk, 2, &online);
    let one = signed(r.clone(), &[&rk[0]]);
    let err = r.verify_role(&one).unwrap_err();
    assert_eq!(
        err.to_string(),
        "root metadata has 1 valid signature(s) from the root v1's keys, threshold is 2"
    );
    // Signing twice with one key, or with a key of another role, does not help.
    let mut twice = signed(r.clone(), &[&rk[0], &online]);
    let dup = twice.signatures()[0].clone();
    twice.add_signature(dup);
    assert!(matches!(
        r.verify_role(&twice),
        Err(TufError::ThresholdNotMet { valid: 1, .. })
    ));
    let two = signed(r.clone(), &[&rk[0], &rk[2]]);
    r.verify_role(&two).unwrap();
    // A re-parsed file verifies the same.
    let again = Metadata::<Root>::from_slice(&two.to_bytes()).unwrap();
    r.verify_role(&again).unwrap();
    assert_eq!(again.canonical_bytes(), two.canonical_bytes());
}

#[test]
fn keys_are_encoded_as_python_tuf_expects() {
    let ec = Key::from_signer(&SoftwareKey::generate(Algorithm::EcdsaP256Sha256)).unwrap();
    assert_eq!(
        (ec.keytype.as_str(), ec.scheme.as_str()),
        ("ecdsa", "ecdsa-sha2-nistp256")
    );
    assert!(ec.keyval.public.starts_with("-----BEGIN PUBLIC KEY-----\n"));
    assert!(ec.keyval.public.ends_with("\n-----END PUBLIC KEY-----\n"));
    let ed = Key::from_signer(&SoftwareKey::ed25519_from_seed(&[7; 32])).unwrap();
    assert_eq!(
        (ed.keytype.as_str(), ed.scheme.as_str()),
        ("ed25519", "ed25519")
    );
    assert_eq!(ed.keyval.public.len(), 64);
    // Key id = sha256(canonical JSON of the key object).
    let canon = format!(
        r#"{{"keytype":"ed25519","keyval":{{"public":"{}"}},"scheme":"ed25519"}}"#,
        ed.keyval.public
    );
    use sha2::Digest;
    assert_eq!(
        ed.key_id().unwrap(),
        hex::encode(sha2::Sha256::digest(canon.as_bytes()))
    );
}

#[test]
fn bad_thresholds_are_refused_when_building_root() {
    let rk = tuf_keys(&keys(2, Algorithm::Ed25519));
    for t in [0, 3] {
        let err = Root::new(
            NOW,
            &[
                (RoleName::Root, &rk, t),
                (RoleName::Targets, &rk, 1),
                (RoleName::Snapshot, &rk, 1),
                (RoleName::Timestamp, &rk, 1),
            ],
        )
        .unwrap_err();
        assert!(matches!(err, TufError::BadThreshold { .. }), "{err}");
    }
}

#[test]
fn rotation_needs_old_and_new_thresholds() {
    let old = keys(2, Algorithm::EcdsaP256Sha256);
    let new = keys(3, Algorithm::EcdsaP256Sha256);
    let online = SoftwareKey::generate(Algorithm::EcdsaP256Sha256);
    let r1 = signed(root(&old, 2, &online), &[&old[0], &old[1]]);
    let mut next = root(&new, 2, &online);
    next.version = 2;
    let only_old = signed(next.clone(), &[&old[0], &old[1]]);
    assert!(matches!(
        verify_root_rotation(&r1, &only_old),
        Err(TufError::ThresholdNotMet { ref signer_set, .. }) if signer_set == "root v2"
    ));
    let only_new = signed(next.clone(), &[&new[0], &new[1]]);
    assert!(matches!(
        verify_root_rotation(&r1, &only_new),
        Err(TufError::ThresholdNotMet { ref signer_set, .. }) if signer_set == "root v1"
    ));
    let both = signed(next, &[&old[0], &old[1], &new[1], &new[2]]);
    verify_root_rotation(&r1, &both).unwrap();
}

fn repo(ts_expires: Time) -> Published {
    let rk = keys(1, Algorithm::EcdsaP256Sha256);
    let online = SoftwareKey::generate(Algorithm::EcdsaP256Sha256);
    let root_md = signed(root(&rk, 1, &online), &[&rk[0]]);
    let body = b"{\"mediaType\":\"x\"}";
    let targets = signed(
        Targets {
            spec_version: SPEC_VERSION.into(),
            version: 3,
            expires: NOW.add_secs(90 * DAY),
            targets: [(
                "trusted_root.json".to_owned(),
                TargetFile::describing(body, Some(sigstore_custom("Unknown", "Active"))),
            )]
            .into(),
            delegations: None,
            unrecognized: Default::default(),
        },
        &[&online],
    );
    let tb = targets.to_bytes();
    let snapshot = signed(
        Snapshot {
            spec_version: SPEC_VERSION.into(),
            version: 5,
            expires: NOW.add_secs(7 * DAY),
            meta: [(TARGETS_META.to_owned(), MetaFile::describing(3, &tb))].into(),
            unrecognized: Default::default(),
        },
        &[&online],
    );
    let sb = snapshot.to_bytes();
    let timestamp = signed(
        Timestamp {
            spec_version: SPEC_VERSION.into(),
            version: 9,
            expires: ts_expires,
            meta: [(SNAPSHOT_META.to_owned(), MetaFile::describing(5, &sb))].into(),
            unrecognized: Default::default(),
        },
        &[&online],
    );
    Published {
        root: root_md,
        targets: (targets, tb),
        snapshot: (snapshot, sb),
        timestamp,
    }
}

#[test]
fn a_consistent_repository_verifies() {
    let r = repo(NOW.add_secs(DAY));
    r.view().verify(NOW).unwrap();
    assert_eq!(
        r.view().versions(),
        PublishedVersions {
            root: 1,
            targets: 3,
            snapshot: 5,
            timestamp: 9
        }
    );
}

#[test]
fn an_expired_timestamp_is_refused() {
    let r = repo(NOW.add_secs(-1));
    let err = r.view().verify(NOW).unwrap_err();
    assert!(
        matches!(err, TufError::Expired { ref role, .. } if role == "timestamp"),
        "{err}"
    );
}

#[test]
fn snapshot_bytes_must_match_the_timestamp() {
    let mut r = repo(NOW.add_secs(DAY));
    r.snapshot.1.push(b' ');
    let err = r.view().verify(NOW).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "snapshot.json: length is {} but timestamp says {}",
            r.snapshot.1.len(),
            r.snapshot.1.len() - 1
        )
    );
}

#[test]
fn targets_version_must_match_the_snapshot() {
    let mut r = repo(NOW.add_secs(DAY));
    let online_sig = r.targets.0.signatures().to_vec();
    let mut t = r.targets.0.clone().into_signed();
    t.version = 4;
    let mut m = Metadata::new(t).unwrap();
    for s in online_sig {
        m.add_signature(s);
    }
    r.targets.1 = m.to_bytes();
    r.targets.0 = m;
    assert!(matches!(
        r.view().verify(NOW),
        Err(TufError::Mismatch {
            field: "version",
            referrer: "snapshot",
            ..
        })
    ));
}

#[test]
fn rollback_is_refused() {
    let r = repo(NOW.add_secs(DAY));
    let published = PublishedVersions {
        root: 1,
        targets: 4,
        snapshot: 5,
        timestamp: 8,
    };
    let err = r.view().check_no_rollback(&published).unwrap_err();
    assert_eq!(
        err.to_string(),
        "targets version 3 would roll back or replay the published version 4"
    );
    let published = PublishedVersions {
        targets: 3,
        timestamp: 9,
        ..published
    };
    assert!(matches!(
        r.view().check_no_rollback(&published),
        Err(TufError::Rollback { ref role, .. }) if role == "timestamp"
    ));
    check_advances(RoleName::Root, 3, 4).unwrap();
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("\\PC{0,8}", inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn reversed(v: &Value) -> Value {
    match v {
        Value::Array(a) => Value::Array(a.iter().map(reversed).collect()),
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, x) in m.iter().rev() {
                out.insert(k.clone(), reversed(x));
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

proptest! {
    #[test]
    fn canonical_json_is_stable(v in json_value()) {
        let bytes = canonical_json(&v).unwrap();
        // Member insertion order does not matter.
        prop_assert_eq!(&canonical_json(&reversed(&v)).unwrap(), &bytes);
        // Printable strings round-trip through a JSON parser to the same bytes.
        let parsed: Value = serde_json::from_slice(&bytes).unwrap();
        prop_assert_eq!(&parsed, &v);
        prop_assert_eq!(canonical_json(&parsed).unwrap(), bytes);
    }
}
