//! Where the upstream test vectors are, for every crate's tests.
//!
//! The vectors live in `shared/vectors` beside the repository (CI clones the repository next to
//! `shared/`); `SIGSTACK_VECTORS` points elsewhere. See `shared/vectors/README.md` for where each
//! file comes from.

use std::path::{Path, PathBuf};

/// The vectors directory: `$SIGSTACK_VECTORS`, or the first `shared/vectors` found walking up
/// from this crate.
pub fn dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SIGSTACK_VECTORS") {
        return PathBuf::from(dir);
    }
    let mut dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    loop {
        let candidate = dir.join("shared").join("vectors");
        if candidate.is_dir() {
            return candidate;
        }
        dir = dir.parent().unwrap_or_else(|| {
            panic!(
                "upstream vectors not found above {}: set SIGSTACK_VECTORS or place shared/vectors beside the repository",
                env!("CARGO_MANIFEST_DIR")
            )
        });
    }
}

/// The bytes of a vector file, by path relative to the vectors directory.
pub fn read(rel: &str) -> Vec<u8> {
    let path = dir().join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A JSON vector file.
pub fn read_json(rel: &str) -> serde_json::Value {
    let path = dir().join(rel);
    serde_json::from_slice(&read(rel)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
