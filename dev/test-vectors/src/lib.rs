//! Where the upstream test vectors are, for every crate's tests.
//!
//! The vectors are in this crate's `data/` directory, inside the repository: only the files
//! some test reads, copied byte for byte (or derived, as said there) from public upstream
//! repositories. `data/README.md` gives each file's source repository, commit, path and
//! licence. `SIGSTACK_VECTORS` points the tests at another copy instead.

use std::path::PathBuf;

/// The vectors directory: `$SIGSTACK_VECTORS` if set, else this crate's `data/`.
pub fn dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SIGSTACK_VECTORS") {
        return PathBuf::from(dir);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data")
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
