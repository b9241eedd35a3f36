//! OLPC canonical JSON, the encoding TUF signatures are computed over.
//!
//! This is the dialect of securesystemslib's `encode_canonical` (and of the original OLPC
//! proposal), NOT RFC 8785 (JCS):
//! - no insignificant whitespace;
//! - object members sorted by key (Unicode code point order, which is UTF-8 byte order);
//! - strings written as raw UTF-8 with only `"` and `\` escaped (no `\n`, no `\uXXXX`);
//! - integers only: a floating-point number cannot be encoded and is an error;
//! - `true`, `false`, `null` as usual.
//!
//! That is byte for byte what securesystemslib's `encode_canonical` writes: python-tuf encodes
//! `signed` with it before verifying a signature.
//!
//! # Why not the `olpc-cjson` crate
//!
//! `olpc_cjson::CanonicalFormatter` (0.1.4, from awslabs/tough) would let typed metadata be
//! serialised straight to canonical bytes, and it agrees with this writer on the metadata
//! sigstack produces (roots of every key type, Sigstore targets, snapshots, timestamps) and on
//! the public-good Sigstore metadata; `tests/it/cjson.rs` checks both, and any JSON whose strings
//! are NFC and whose keys hold no character up to `"` and no `\`. Elsewhere its bytes differ
//! from securesystemslib's, so metadata signed over them fails python-tuf's signature check, and
//! metadata signed by python-tuf's tooling would fail a check made with the crate:
//! - it normalises every string to Unicode NFC (`"e\u{301}"` becomes `"\u{e9}"`), where
//!   securesystemslib keeps strings as they are; two keys equal after NFC even collapse into one
//!   member;
//! - it sorts object members by their escaped, quoted bytes rather than by key: a key sorts
//!   after the longer keys it prefixes when they continue with U+0000–U+0021 (`"a"` after `"a b"`
//!   and `"a!"`), and keys holding `"` or `\` sort by `\"` and `\\`.
//!
//! Target names are restricted, but custom metadata is free text (`sigstack tuf add-target
//! --usage`) and parsed metadata may hold anything, so the crate is a dev-dependency only: the
//! differential test runs it against this writer.

use crate::TufError;
use serde_json::Value;

/// Encodes `value` as OLPC canonical JSON.
///
/// Fails with [`TufError::NotCanonical`] if the value holds a non-integer number.
pub fn canonical_json(value: &Value) -> Result<Vec<u8>, TufError> {
    let mut out = Vec::with_capacity(256);
    write_value(value, &mut out)?;
    Ok(out)
}

fn write_value(value: &Value, out: &mut Vec<u8>) -> Result<(), TufError> {
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
                return Err(TufError::NotCanonical(format!(
                    "the non-integer number {n}"
                )));
            }
        }
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(item, out)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            // Sort explicitly: serde_json's map order depends on a crate feature.
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (key, item)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(key, out);
                out.push(b':');
                write_value(item, out)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

fn write_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for b in s.bytes() {
        if b == b'"' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorts_keys_and_drops_whitespace() {
        let v = json!({"b": 1, "a": [true, false, null], "c": {"z": "y", "A": -3}});
        assert_eq!(
            canonical_json(&v).unwrap(),
            br#"{"a":[true,false,null],"b":1,"c":{"A":-3,"z":"y"}}"#
        );
    }

    #[test]
    fn escapes_only_quote_and_backslash() {
        let v = json!("a\"b\\c\nd\u{e9}\u{1}");
        assert_eq!(
            canonical_json(&v).unwrap(),
            "\"a\\\"b\\\\c\nd\u{e9}\u{1}\"".as_bytes()
        );
    }

    #[test]
    fn refuses_floats() {
        assert!(matches!(
            canonical_json(&json!({"x": 1.5})),
            Err(TufError::NotCanonical(_))
        ));
        assert_eq!(
            canonical_json(&json!(u64::MAX)).unwrap(),
            u64::MAX.to_string().as_bytes()
        );
    }

    #[test]
    fn sorts_by_code_point_not_utf16() {
        // U+E000 sorts before U+10000 by code point (and by UTF-8 bytes), after it in UTF-16.
        let v = json!({"\u{10000}": 1, "\u{e000}": 2});
        assert_eq!(
            canonical_json(&v).unwrap(),
            "{\"\u{e000}\":2,\"\u{10000}\":1}".as_bytes()
        );
    }
}
