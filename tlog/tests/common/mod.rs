//! Helpers shared by the integration tests of this crate.
#![allow(dead_code)]

use std::path::PathBuf;

/// The upstream vectors directory: `$SIGSTACK_VECTORS`, or the first `shared/vectors` found walking
/// up from this crate (CI clones the repository next to `shared/`).
pub(crate) fn vectors_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SIGSTACK_VECTORS") {
        return PathBuf::from(dir);
    }
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    loop {
        let candidate = dir.join("shared").join("vectors");
        if candidate.is_dir() {
            return candidate;
        }
        if !dir.pop() {
            panic!(
                "upstream vectors not found: set SIGSTACK_VECTORS or place shared/vectors beside the repository"
            );
        }
    }
}

/// Reads a JSON vector file.
pub(crate) fn read_json(rel: &str) -> serde_json::Value {
    let path = vectors_dir().join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
