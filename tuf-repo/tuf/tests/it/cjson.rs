//! Our OLPC canonical JSON writer ([`tuf::canonical_json`]) against the `olpc-cjson` crate
//! (`CanonicalFormatter` with `serde_json::Serializer::with_formatter`), and both against
//! securesystemslib's `encode_canonical`, which python-tuf signs and verifies with.
//!
//! The two writers agree byte for byte on every metadata sigstack produces and on the real
//! public-good Sigstore metadata, and on any JSON whose strings are in Unicode normalisation
//! form C and whose object keys hold no character up to `!` (U+0021), no `"` and no `\`. Outside
//! that, the crate differs from securesystemslib (and from us), which is why `canonical_json`
//! stays ours: see `tuf/src/canonical.rs`. The last tests pin those differences, with
//! securesystemslib 1.6.0's bytes (the version python-tuf 7.0.1 uses in the interop suite).

use proptest::prelude::*;
use serde::Serialize;
use serde_json::{json, Map, Value};
use sigstack_keys::{Algorithm, SoftwareKey};
use std::collections::BTreeMap;
use tuf::{
    canonical_json, next_metadata, sigstore_custom, DelegatedRole, Delegations, Key, MetaFile,
    Metadata, NextMetadataRequest, Role, RoleName, Root, Snapshot, TargetFile, Targets, Time,
    Timestamp, SPEC_VERSION,
};
use unicode_normalization::{is_nfc, UnicodeNormalization};

const NOW: Time = Time::from_unix(1_800_000_000);
const DAY: i64 = 86_400;

/// The `olpc-cjson` crate's canonical JSON of `value`, serialised directly.
fn crate_cjson<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::new();
    let mut ser =
        serde_json::Serializer::with_formatter(&mut out, olpc_cjson::CanonicalFormatter::new());
    value.serialize(&mut ser)?;
    Ok(out)
}

/// A typed `signed` object with the `_type` member [`Metadata::new`] adds, to serialise directly.
#[derive(Serialize)]
struct Typed<'a, T> {
    #[serde(rename = "_type")]
    kind: &'static str,
    #[serde(flatten)]
    signed: &'a T,
}

fn shown(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The bytes `md`'s signatures cover equal the crate's canonical JSON of its `signed` object as
/// parsed from the file, and (`typed`) of the typed content serialised directly.
fn assert_same<T: Role>(what: &str, md: &Metadata<T>, typed: bool) {
    let file: Value = serde_json::from_slice(&md.to_bytes()).unwrap();
    let ours = md.canonical_bytes();
    let from_value = crate_cjson(&file["signed"]).unwrap();
    assert_eq!(
        shown(ours),
        shown(&from_value),
        "{what}: from the parsed value"
    );
    assert_eq!(ours, from_value.as_slice(), "{what}");
    if typed {
        let direct = crate_cjson(&Typed {
            kind: T::NAME.as_str(),
            signed: md.signed(),
        })
        .unwrap();
        assert_eq!(
            ours,
            direct.as_slice(),
            "{what}: typed, serialised directly"
        );
    }
}

/// Our canonical JSON of `value` equals the crate's.
fn assert_value_same(value: &Value) {
    let ours = canonical_json(value).unwrap();
    let theirs = crate_cjson(value).unwrap();
    assert_eq!(shown(&ours), shown(&theirs), "{value:?}");
    assert_eq!(ours, theirs);
}

fn signing_keys() -> Vec<SoftwareKey> {
    [
        Algorithm::EcdsaP256Sha256,
        Algorithm::EcdsaP384Sha384,
        Algorithm::Ed25519,
    ]
    .into_iter()
    .map(SoftwareKey::generate)
    .collect()
}

/// Strings with what OLPC canonical JSON treats specially: raw control characters, the two
/// escapes, `/`, DEL, and non-ASCII in 2, 3 and 4 UTF-8 bytes (all NFC).
fn awkward_strings() -> Vec<String> {
    let mut all = vec![
        String::new(),
        "plain".into(),
        "quote \" backslash \\ solidus / \\\" \\\\".into(),
        "caf\u{e9} \u{4e2d}\u{6587} \u{1f600} \u{e000} \u{10000} \u{ffff} \u{10ffff}".into(),
        "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n".into(),
        "tab\there\r\nform\u{c}feed\u{8}back\u{7f}del".into(),
        "\u{2028}\u{2029}\u{feff}\u{a0}".into(),
    ];
    all.push((0u8..0x20).map(char::from).collect());
    all
}

/// Custom and unrecognised members of every JSON kind, nested, with keys whose order tests the
/// sort (case, prefixes, digits, `_`, `-`, `.`, non-ASCII by code point).
fn awkward_value() -> Value {
    let strings: Vec<Value> = awkward_strings().into_iter().map(Value::from).collect();
    json!({
        "sigstore": {"usage": "Fulcio", "status": "Active"},
        "b": 1, "a": [true, false, null], "A": -3, "Z": {}, "z": [],
        "a.b": 0, "a-b": i64::MIN, "a_b": i64::MAX, "ab": u64::MAX, "a0": -1, "a9": 1_u64 << 53,
        "\u{e9}": "\u{e9}", "\u{10000}": 1, "\u{e000}": 2, "\u{ff}": 3, "\u{7f}x": 4,
        "strings": strings,
        "nested": {"deeper": {"deepest": [{"y": 1, "x": [[], {}, [{"k": "v"}]]}]}},
    })
}

/// Every kind of metadata the repository signs: root (every key type), targets with Sigstore
/// custom metadata and delegations, snapshot and timestamp as `next_metadata` makes them.
#[test]
fn the_metadata_sigstack_produces_is_identical() {
    let keys = signing_keys();
    let tuf_keys: Vec<Key> = keys.iter().map(|k| Key::from_signer(k).unwrap()).collect();
    for k in &tuf_keys {
        // The key object whose canonical JSON is the key id.
        assert_value_same(&serde_json::to_value(k).unwrap());
    }
    let root = Root::new(
        NOW.add_secs(180 * DAY),
        &[
            (RoleName::Root, &tuf_keys, 2),
            (RoleName::Targets, &tuf_keys[2..], 1),
            (RoleName::Snapshot, &tuf_keys[2..], 1),
            (RoleName::Timestamp, &tuf_keys[2..], 1),
        ],
    )
    .unwrap();
    let mut root = Metadata::new(root).unwrap();
    for k in &keys {
        root.sign(k).unwrap();
    }
    assert_same("root", &root, true);
    let online = &keys[2];

    let mut targets = Targets {
        spec_version: SPEC_VERSION.to_owned(),
        version: 1,
        expires: NOW.add_secs(90 * DAY),
        targets: BTreeMap::new(),
        delegations: None,
        unrecognized: BTreeMap::new(),
    };
    let first = next_metadata(NextMetadataRequest {
        new_targets: Some(targets.clone()),
        resign_snapshot: true,
        ..base_request(&root, online)
    })
    .unwrap();
    let files = |next: &tuf::NextMetadata| {
        let t: Metadata<Targets> =
            Metadata::from_slice(&next.targets_file.as_ref().unwrap().bytes).unwrap();
        let s: Metadata<Snapshot> =
            Metadata::from_slice(&next.snapshot_file.as_ref().unwrap().bytes).unwrap();
        let ts: Metadata<Timestamp> = Metadata::from_slice(&next.timestamp_file).unwrap();
        (t, s, ts)
    };
    let (t1, s1, ts1) = files(&first);
    assert_same("targets v1 (empty)", &t1, true);
    assert_same("snapshot v1", &s1, true);
    assert_same("timestamp v1", &ts1, true);

    // The targets `sigstack tuf add-target` publishes.
    for (name, usage) in [
        ("trusted_root.json", "Unknown"),
        ("signing_config.v0.2.json", "Unknown"),
        ("fulcio.crt.pem", "Fulcio"),
        ("rekor.pub", "Rekor"),
        ("ctfe.pub", "CTFE"),
        ("tsa.crt.pem", "TSA"),
    ] {
        targets.targets.insert(
            name.into(),
            TargetFile::describing(name.as_bytes(), Some(sigstore_custom(usage, "Active"))),
        );
    }
    targets.version = 2;
    let t1_bytes = t1.to_bytes();
    let s1_bytes = s1.to_bytes();
    let view = tuf::RepositoryView {
        root: &root,
        targets: (&t1, &t1_bytes),
        snapshot: (&s1, &s1_bytes),
        timestamp: &ts1,
    };
    let second = next_metadata(NextMetadataRequest {
        published: Some(view),
        new_targets: Some(targets.clone()),
        ..base_request(&root, online)
    })
    .unwrap();
    let (t2, s2, ts2) = files(&second);
    assert_same("targets v2 (sigstore targets)", &t2, true);
    assert_same("snapshot v2", &s2, true);
    assert_same("timestamp v2", &ts2, true);

    // Custom metadata, delegations and unrecognised members of every kind.
    let awkward = awkward_value();
    let Value::Object(members) = awkward.clone() else {
        unreachable!()
    };
    let unrecognized: BTreeMap<String, Value> = members.clone().into_iter().collect();
    for s in awkward_strings() {
        targets.targets.insert(
            format!("t{}", targets.targets.len()),
            TargetFile::describing(s.as_bytes(), Some(json!({"s": s, "v": awkward.clone()}))),
        );
    }
    targets.targets.insert(
        "caf\u{e9}-\u{1f600}.json".into(),
        TargetFile {
            unrecognized: unrecognized.clone(),
            ..TargetFile::describing(b"x", None)
        },
    );
    targets.delegations = Some(Delegations {
        keys: tuf_keys
            .iter()
            .map(|k| (k.key_id().unwrap(), k.clone()))
            .collect(),
        roles: vec![DelegatedRole {
            name: "registry.npmjs.org".into(),
            keyids: vec![tuf_keys[0].key_id().unwrap()],
            threshold: 1,
            terminating: true,
            paths: Some(vec![
                "registry.npmjs.org/*".into(),
                "\u{e9}/\"q\"/\\".into(),
            ]),
            unrecognized: unrecognized.clone(),
        }],
        unrecognized: unrecognized.clone(),
    });
    targets.unrecognized = unrecognized.clone();
    let mut t = Metadata::new(targets).unwrap();
    t.sign(online).unwrap();
    assert_same("targets with awkward members", &t, true);

    let mut snapshot = s2.signed().clone();
    snapshot.meta.insert(
        "registry.npmjs.org.json".into(),
        MetaFile::describing(8, b"x"),
    );
    snapshot.unrecognized = unrecognized.clone();
    let snapshot = Metadata::new(snapshot).unwrap();
    assert_same("snapshot with awkward members", &snapshot, true);
    let mut timestamp = ts2.signed().clone();
    timestamp.unrecognized = unrecognized.clone();
    assert_same(
        "timestamp with awkward members",
        &Metadata::new(timestamp).unwrap(),
        true,
    );
    let mut r = root.signed().clone();
    r.unrecognized = unrecognized;
    assert_same(
        "root with awkward members",
        &Metadata::new(r).unwrap(),
        true,
    );
}

fn base_request<'a>(root: &'a Metadata<Root>, signer: &'a SoftwareKey) -> NextMetadataRequest<'a> {
    NextMetadataRequest {
        root,
        published: None,
        new_targets: None,
        resign_snapshot: false,
        snapshot_expires: NOW.add_secs(7 * DAY),
        timestamp_expires: NOW.add_secs(DAY),
        now: NOW,
        unsafe_allow_expired: false,
        signer,
    }
}

/// sigstore/root-signing's metadata, as published (pretty-printed, time offsets and fractions in
/// root 1, PEM and hex keys, delegations, `x-tuf-on-ci-*` members).
#[test]
fn the_public_good_metadata_is_identical() {
    const DIR: &str = "tuf/public-good/metadata";
    let read = |name: &str| sigstack_test_vectors::read(&format!("{DIR}/{name}"));
    for n in 1..=15 {
        let md = Metadata::<Root>::from_slice(&read(&format!("{n}.root.json"))).unwrap();
        assert_same(&format!("root {n}"), &md, false);
        for key in md.signed().keys.values() {
            assert_value_same(&serde_json::to_value(key).unwrap());
        }
    }
    for name in ["14.targets.json", "8.registry.npmjs.org.json"] {
        let md = Metadata::<Targets>::from_slice(&read(name)).unwrap();
        assert_same(name, &md, false);
    }
    let md = Metadata::<Snapshot>::from_slice(&read("165.snapshot.json")).unwrap();
    assert_same("165.snapshot.json", &md, false);
    let md = Metadata::<Timestamp>::from_slice(&read("timestamp.json")).unwrap();
    assert_same("timestamp.json", &md, false);
}

#[test]
fn scalars_escapes_and_ordering_are_identical() {
    for s in awkward_strings() {
        assert_value_same(&Value::String(s));
    }
    for n in [
        json!(0),
        json!(-1),
        json!(i64::MIN),
        json!(i64::MAX),
        json!(u64::MAX),
    ] {
        assert_value_same(&n);
    }
    assert_value_same(&json!([null, true, false, [], {}, [[{}]]]));
    assert_value_same(&awkward_value());
    // Both refuse floating-point numbers, anywhere.
    for v in [json!(1.5), json!({"a": [0.0]}), json!(-1e300)] {
        assert!(canonical_json(&v).is_err(), "{v}");
        assert!(crate_cjson(&v).is_err(), "{v}");
    }
}

/// An NFC string (any character, control characters, `"` and `\` included).
fn nfc_string() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,12}",
        "[\\x00-\\x22\\\\/a-z\u{e9}\u{301}\u{4e2d}\u{1f600}\u{10000}]{0,8}",
    ]
    .prop_map(|s| s.nfc().collect())
}

/// An NFC object key with no character up to `"` and no `\`: where the crate's key order is
/// code point order.
fn agreeing_key() -> impl Strategy<Value = String> {
    "\\PC{0,8}"
        .prop_map(|s| {
            s.chars()
                .filter(|&c| c > '"' && c != '\\')
                .collect::<String>()
                .nfc()
                .collect::<String>()
        })
        .prop_filter("NFC, no character up to '\"', no '\\'", |k| {
            is_nfc(k) && k.chars().all(|c| c > '"' && c != '\\')
        })
}

fn agreeing_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        nfc_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((agreeing_key(), inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

proptest! {
    #[test]
    fn identical_wherever_strings_are_nfc_and_keys_sort_plainly(v in agreeing_json()) {
        prop_assert_eq!(canonical_json(&v).unwrap(), crate_cjson(&v).unwrap());
    }
}

// --- Where the crate differs from securesystemslib (and so from python-tuf) -----------------
//
// The `python` bytes are securesystemslib 1.6.0's `encode_canonical(x).encode("utf-8")`, what
// python-tuf 7 computes before verifying a signature.

#[test]
fn the_crate_normalises_strings_to_nfc_and_python_does_not() {
    // "e" + COMBINING ACUTE ACCENT, and ANGSTROM SIGN (a singleton NFC maps to U+00C5).
    let decomposed = json!("e\u{301}");
    let python = b"\"e\xcc\x81\"";
    assert_eq!(canonical_json(&decomposed).unwrap(), python);
    assert_eq!(crate_cjson(&decomposed).unwrap(), "\"\u{e9}\"".as_bytes());

    let angstrom = json!({"\u{212b}": "\u{212b}"});
    let python = b"{\"\xe2\x84\xab\":\"\xe2\x84\xab\"}";
    assert_eq!(canonical_json(&angstrom).unwrap(), python);
    assert_eq!(
        crate_cjson(&angstrom).unwrap(),
        "{\"\u{c5}\":\"\u{c5}\"}".as_bytes()
    );
}

#[test]
fn the_crate_merges_keys_equal_after_nfc_and_python_keeps_both() {
    let v = json!({"\u{e9}": 1, "e\u{301}": 2});
    let python = b"{\"e\xcc\x81\":2,\"\xc3\xa9\":1}";
    assert_eq!(canonical_json(&v).unwrap(), python);
    let theirs: Value = serde_json::from_slice(&crate_cjson(&v).unwrap()).unwrap();
    assert_eq!(theirs.as_object().unwrap().len(), 1, "{theirs}");
}

#[test]
fn the_crate_sorts_keys_as_escaped_quoted_bytes_and_python_by_code_point() {
    // A key that is a prefix of another sorts first by code point; the crate compares the
    // closing quote (0x22) of the shorter key, which sorts after 0x00-0x21.
    let v = json!({"a": 1, "a b": 2, "a!": 3, "a\u{1}": 4, "a#": 5});
    let python = b"{\"a\":1,\"a\x01\":4,\"a b\":2,\"a!\":3,\"a#\":5}";
    assert_eq!(canonical_json(&v).unwrap(), python);
    assert_eq!(
        crate_cjson(&v).unwrap(),
        b"{\"a\x01\":4,\"a b\":2,\"a!\":3,\"a\":1,\"a#\":5}"
    );

    // `"` and `\` sort by their escaped form (`\"`, `\\`) in the crate.
    let v = json!({"a\"": 1, "a#": 2, "a\\": 3, "a]": 4, "a\\!": 5});
    let python = br#"{"a\"":1,"a#":2,"a\\":3,"a\\!":5,"a]":4}"#;
    assert_eq!(canonical_json(&v).unwrap(), python);
    assert_eq!(
        crate_cjson(&v).unwrap(),
        br#"{"a#":2,"a\"":1,"a\\!":5,"a\\":3,"a]":4}"#
    );
}

/// What the differences mean: a target whose custom metadata holds a decomposed string (free
/// text from `sigstack tuf add-target --usage`) signed over the crate's bytes would not verify
/// for python-tuf, which computes ours.
#[test]
fn metadata_signed_over_the_crates_bytes_would_not_verify_where_they_differ() {
    let key = SoftwareKey::generate(Algorithm::EcdsaP256Sha256);
    let mut targets = Targets {
        spec_version: SPEC_VERSION.to_owned(),
        version: 1,
        expires: NOW,
        targets: BTreeMap::new(),
        delegations: None,
        unrecognized: BTreeMap::new(),
    };
    targets.targets.insert(
        "trusted_root.json".into(),
        TargetFile::describing(b"{}", Some(sigstore_custom("Unknown\u{301}", "Active"))),
    );
    let md = Metadata::new(targets).unwrap();
    let theirs = crate_cjson(&Typed {
        kind: "targets",
        signed: md.signed(),
    })
    .unwrap();
    assert_ne!(md.canonical_bytes(), theirs.as_slice());
    let k = Key::from_signer(&key).unwrap();
    let sig = hex::encode(sigstack_keys::Signer::sign(&key, &theirs).unwrap());
    assert!(k.verify(md.canonical_bytes(), &sig).is_err());
}
