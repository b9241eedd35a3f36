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

/// Every PEM block's DER in a vector file, in order (headers and labels ignored).
pub fn pem_blocks(rel: &str) -> Vec<Vec<u8>> {
    use base64::Engine as _;
    let text = String::from_utf8(read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    let mut blocks = Vec::new();
    let mut body = None::<String>;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("-----BEGIN") {
            body = Some(String::new());
        } else if line.starts_with("-----END") {
            let body = body
                .take()
                .unwrap_or_else(|| panic!("{rel}: END without BEGIN"));
            blocks.push(
                base64::engine::general_purpose::STANDARD
                    .decode(body)
                    .unwrap_or_else(|e| panic!("{rel}: {e}")),
            );
        } else if let Some(b) = body.as_mut() {
            b.push_str(line);
        }
    }
    assert!(!blocks.is_empty(), "{rel} has no PEM block");
    blocks
}
