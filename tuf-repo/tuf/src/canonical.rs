//! OLPC canonical JSON, the encoding TUF signatures are computed over.
//!
//! This is the dialect of securesystemslib's `encode_canonical` (and of the original OLPC
//! proposal), NOT RFC 8785 (JCS):
//! - no insignificant whitespace;
//! - object members sorted by key (Unicode code point order, which is UTF-8 byte order);
//! - strings written as raw UTF-8 with only `"` and `\` escaped (no `\n`, no `\uXXXX`);
//! - integers only: a floating-point number cannot be encoded and is an error;
//! - `true`, `false`, `null` as usual.

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
