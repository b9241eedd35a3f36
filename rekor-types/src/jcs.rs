//! RFC 8785 (JSON Canonicalization Scheme) output for the values this crate builds.
//!
//! Why not a crate: every document we canonicalise is built by this crate from strings, integers
//! and nested objects/arrays (entry bodies, the SET payload). For those, RFC 8785 reduces to:
//! object members sorted by the UTF-16 code units of their names (§3.2.3), no insignificant
//! whitespace, strings escaped as ECMAScript `JSON.stringify` does (§3.2.2.2) and integers in
//! their shortest decimal form (§3.2.2.3; our integers are far below 2^53). Floating-point
//! numbers never occur; if one did, it is written with Rust's shortest round-trip formatting,
//! which agrees with ECMAScript for integral values below 2^53.

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

fn write_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\u{08}' => out.extend_from_slice(b"\\b"),
            '\u{0c}' => out.extend_from_slice(b"\\f"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes());
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
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
    fn sorts_by_utf16_code_units() {
        // U+FB01 sorts after U+1F600 in UTF-8/UTF-32 order but before it in UTF-16 order
        // (the emoji is a surrogate pair starting 0xD83D).
        let v = json!({"\u{fb01}": 1, "\u{1f600}": 2});
        let s = String::from_utf8(canonical_json(&v)).unwrap();
        assert!(s.find('\u{1f600}').unwrap() < s.find('\u{fb01}').unwrap());
    }
}
