//! Small helpers shared by the entry kinds: presence checks of parsed members with errors that
//! name the field, and the base64 dialects of the two APIs.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

use crate::de::{List, Text};
use crate::EntryError;

/// Most signatures (DSSE / in-toto) or verifiers one entry may carry; bounds verification work.
pub(crate) const MAX_SIGNATURES: usize = 10;

pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> EntryError {
    EntryError::Invalid {
        field,
        reason: reason.into(),
    }
}

/// A required member (absent or `null` is refused).
pub(crate) fn required<'s, T>(
    member: &'s Option<T>,
    field: &'static str,
) -> Result<&'s T, EntryError> {
    member.as_ref().ok_or_else(|| invalid(field, "is required"))
}

/// A required, non-empty string member.
pub(crate) fn required_text<'s, W>(
    member: &'s Option<Text<'_, W>>,
    field: &'static str,
) -> Result<&'s str, EntryError> {
    let text: &str = required(member, field)?;
    if text.is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    Ok(text)
}

/// A required, non-empty array member of at most `max` items.
pub(crate) fn bounded<'s, T, W>(
    member: &'s Option<List<T, W>>,
    field: &'static str,
    max: usize,
) -> Result<&'s [T], EntryError> {
    match &**required(member, field)? {
        [] => Err(invalid(field, "must not be empty")),
        items if items.len() > max => Err(invalid(
            field,
            format!("has {} items, at most {max} are accepted", items.len()),
        )),
        items => Ok(items),
    }
}

pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parses a request body as a JSON object.
pub(crate) fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, EntryError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(other) => Err(EntryError::Malformed(format!(
            "expected a JSON object, found {}",
            type_name(&other)
        ))),
        Err(e) => Err(EntryError::Malformed(format!("invalid JSON: {e}"))),
    }
}

/// Rekor v1 (`strfmt.Base64`, Go `base64.StdEncoding`): standard alphabet with padding; CR and LF
/// are ignored, as Go's decoder does.
pub(crate) fn b64_std_decode(field: &'static str, s: &str) -> Result<Vec<u8>, EntryError> {
    let cleaned: Vec<u8> = s.bytes().filter(|b| *b != b'\r' && *b != b'\n').collect();
    STANDARD
        .decode(cleaned)
        .map_err(|e| invalid(field, format!("invalid base64: {e}")))
}

/// DSSE envelopes (go-securesystemslib): standard alphabet, else URL-safe, both padded.
pub(crate) fn b64_dsse_decode(field: &'static str, s: &str) -> Result<Vec<u8>, EntryError> {
    STANDARD
        .decode(s)
        .or_else(|_| URL_SAFE.decode(s))
        .map_err(|e| invalid(field, format!("invalid base64: {e}")))
}

/// Protobuf JSON `bytes`: standard or URL-safe alphabet, padded or not.
pub(crate) fn b64_proto_decode(field: &'static str, s: &str) -> Result<Vec<u8>, EntryError> {
    STANDARD
        .decode(s)
        .or_else(|_| STANDARD_NO_PAD.decode(s))
        .or_else(|_| URL_SAFE.decode(s))
        .or_else(|_| URL_SAFE_NO_PAD.decode(s))
        .map_err(|e| invalid(field, format!("invalid base64: {e}")))
}

/// Standard padded base64, as Go's `encoding/json` writes `[]byte` and protojson writes `bytes`.
pub(crate) fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
