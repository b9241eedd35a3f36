//! Property tests: canonicalisation never panics, on arbitrary bytes or on any single mutation
//! of a real request (a member replaced by an arbitrary JSON value, or removed).

use proptest::prelude::*;
use rekor_types::{canonicalize_v1, canonicalize_v2};
use serde_json::Value;
use sigstack_test_vectors::read;

const V1: &[&str] = &[
    "rekor/v1/hashedrekord-v0.0.1/proposed-entry.json",
    "rekor/v1/dsse-v0.0.1/proposed-entry.json",
    "rekor/v1/dsse-v0.0.1-keyid/proposed-entry.json",
    "rekor/v1/intoto-v0.0.2/proposed-entry.json",
    "rekor/v1/upstream-proposed/hashedrekord.json",
    "rekor/v1/upstream-proposed/dsse.json",
    "rekor/v1/upstream-proposed/intoto.json",
];
const V2: &[&str] = &[
    "rekor/v2/hashedrekord-v0.0.2/proposed-entry.json",
    "rekor/v2/dsse-as-hashedrekord-v0.0.2/proposed-entry.json",
];

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,40}".prop_map(Value::String),
        "[A-Za-z0-9+/=]{0,64}".prop_map(Value::String),
        Just(Value::String(
            "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==".into()
        )),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z]{1,12}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every JSON pointer in `v` (including the root's children, not the root).
fn pointers(v: &Value, prefix: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = format!("{prefix}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(p.clone());
                pointers(x, p, out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                let p = format!("{prefix}/{i}");
                out.push(p.clone());
                pointers(x, p, out);
            }
        }
        _ => {}
    }
}

fn mutate(doc: &Value, which: usize, replacement: Option<Value>) -> Value {
    let mut doc = doc.clone();
    let mut ps = Vec::new();
    pointers(&doc, String::new(), &mut ps);
    if ps.is_empty() {
        return doc;
    }
    let p = &ps[which % ps.len()];
    match replacement {
        Some(r) => {
            if let Some(slot) = doc.pointer_mut(p) {
                *slot = r;
            }
        }
        None => {
            let (parent, last) = p.rsplit_once('/').unwrap();
            match doc.pointer_mut(parent) {
                Some(Value::Object(m)) => {
                    m.remove(&last.replace("~1", "/").replace("~0", "~"));
                }
                Some(Value::Array(a)) => {
                    if let Ok(i) = last.parse::<usize>() {
                        if i < a.len() {
                            a.remove(i);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    doc
}

/// Also mutate inside the DSSE envelope string, which is JSON in a JSON string.
fn mutate_envelope(doc: &Value, which: usize, replacement: Option<Value>) -> Value {
    let mut doc = doc.clone();
    if let Some(Value::String(env)) = doc.pointer("/spec/proposedContent/envelope").cloned() {
        if let Ok(inner) = serde_json::from_str::<Value>(&env) {
            let m = mutate(&inner, which, replacement);
            if let Some(slot) = doc.pointer_mut("/spec/proposedContent/envelope") {
                *slot = Value::String(m.to_string());
            }
        }
    }
    doc
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = canonicalize_v1(&bytes);
        let _ = canonicalize_v2(&bytes);
    }

    #[test]
    fn arbitrary_json_never_panics(v in arb_json()) {
        let bytes = serde_json::to_vec(&v).unwrap();
        let _ = canonicalize_v1(&bytes);
        let _ = canonicalize_v2(&bytes);
    }

    #[test]
    fn mutated_v1_requests_never_panic(
        file in 0..V1.len(),
        which in any::<usize>(),
        replacement in prop::option::weighted(0.8, arb_json()),
        in_envelope in any::<bool>(),
    ) {
        let doc: Value = serde_json::from_slice(&read(V1[file])).unwrap();
        let m = if in_envelope {
            mutate_envelope(&doc, which, replacement)
        } else {
            mutate(&doc, which, replacement)
        };
        let _ = canonicalize_v1(&serde_json::to_vec(&m).unwrap());
    }

    #[test]
    fn mutated_v2_requests_never_panic(
        file in 0..V2.len(),
        which in any::<usize>(),
        replacement in prop::option::weighted(0.8, arb_json()),
    ) {
        let doc: Value = serde_json::from_slice(&read(V2[file])).unwrap();
        let m = mutate(&doc, which, replacement);
        let _ = canonicalize_v2(&serde_json::to_vec(&m).unwrap());
    }

    #[test]
    fn truncated_requests_never_panic(file in 0..V1.len(), cut in any::<usize>()) {
        let bytes = read(V1[file]);
        let _ = canonicalize_v1(&bytes[..cut % (bytes.len() + 1)]);
    }
}
