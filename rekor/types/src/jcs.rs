//! RFC 8785 (JSON Canonicalization Scheme) output for the values this crate builds.
//!
//! Why not a crate: every document we canonicalise is built by this crate from strings, integers
//! and nested objects/arrays (entry bodies, the SET payload). For those, RFC 8785 reduces to:
//! object members sorted by the UTF-16 code units of their names (§3.2.3), no insignificant
//! whitespace, strings escaped as ECMAScript `JSON.stringify` does (§3.2.2.2) and integers in
//! their shortest decimal form (§3.2.2.3; our integers are far below 2^53). Floating-point
//! numbers never occur; if one did, it is written with Rust's shortest round-trip formatting,
//! which agrees with ECMAScript for integral values below 2^53. The tests below check this writer
//! against the `serde_json_canonicalizer` crate on arbitrary documents of that shape.

use serde_json::Value;

/// The RFC 8785 serialisation of `value`.
pub(crate) fn canonical_json(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write_value(value, &mut out);
    out
}

fn write_value(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                out.extend_from_slice(i.to_string().as_bytes());
            } else if let Some(u) = n.as_u64() {
                out.extend_from_slice(u.to_string().as_bytes());
            } else {
                let f = n.as_f64().unwrap_or(0.0);
                out.extend_from_slice(f.to_string().as_bytes());
            }
        }
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(item, out);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push(b'{');
            for (i, (k, v)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(k, out);
                out.push(b':');
                write_value(v, out);
            }
            out.push(b'}');
        }
    }
}

pub(crate) fn write_string(s: &str, out: &mut Vec<u8>) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    // Copies runs of bytes that need no escape in one go (base64, hex and PEM are nothing
    // else). Escapes are decided byte by byte: every byte of a multi-byte UTF-8 sequence is
    // >= 0x80, so only ASCII bytes are ever escaped and the rest pass through as UTF-8.
    let bytes = s.as_bytes();
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x0c => b"\\f",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            b if b < 0x20 => {
                out.extend_from_slice(&bytes[run..i]);
                out.extend_from_slice(format!("\\u{b:04x}").as_bytes());
                run = i + 1;
                continue;
            }
            _ => continue,
        };
        out.extend_from_slice(&bytes[run..i]);
        out.extend_from_slice(escape);
        run = i + 1;
    }
    out.extend_from_slice(&bytes[run..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorts_members_and_escapes_like_rfc8785() {
        let v = json!({"b": 1, "a": [true, null, "x\"\\\n\u{1f}<>&é"], "A": -5});
        assert_eq!(
            String::from_utf8(canonical_json(&v)).unwrap(),
            "{\"A\":-5,\"a\":[true,null,\"x\\\"\\\\\\n\\u001f<>&é\"],\"b\":1}"
        );
    }

    #[test]
    fn escapes_every_control_character_and_keeps_utf8() {
        for c in (0u32..0x80).chain([0xe9, 0x2028, 0x1f600]) {
            let c = char::from_u32(c).unwrap();
            let s = format!("a{c}b{c}");
            let mut out = Vec::new();
            write_string(&s, &mut out);
            // serde_json escapes the same set (it writes \u001f-style escapes in lowercase hex
            // too), so the two must agree byte for byte.
            assert_eq!(out, serde_json::to_vec(&s).unwrap(), "U+{:04X}", c as u32);
        }
    }

    /// The integers RFC 8785 writes exactly: it reads every number as an IEEE double, so above
    /// 2^53 it rounds (`48462540449625097` becomes `…096`) where we would not. No document we
    /// canonicalise holds such a number: log indices and times are far below.
    const EXACT: i64 = 1 << 53;

    /// JSON documents of the shape this crate canonicalises: any strings (control characters,
    /// astral planes), integers RFC 8785 writes exactly, nested arrays and objects with any
    /// member names.
    fn documents() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-EXACT..=EXACT).prop_map(|i| json!(i)),
            any::<String>().prop_map(Value::String),
            "[\\u{0}-\\u{7f}\\u{fb01}\\u{1f600}]{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::btree_map(any::<String>(), inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_the_serde_json_canonicalizer_crate(doc in documents()) {
            let crate_bytes = serde_json_canonicalizer::to_vec(&doc).unwrap();
            proptest::prop_assert_eq!(canonical_json(&doc), crate_bytes);
        }
    }

    #[test]
    fn sorts_by_utf16_code_units() {
        // U+FB01 sorts after U+1F600 in UTF-8/UTF-32 order but before it in UTF-16 order
        // (the emoji is a surrogate pair starting 0xD83D).
        let v = json!({"\u{fb01}": 1, "\u{1f600}": 2});
        let s = String::from_utf8(canonical_json(&v)).unwrap();
        assert!(s.find('\u{1f600}').unwrap() < s.find('\u{fb01}').unwrap());
    }
}
