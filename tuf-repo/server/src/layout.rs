//! The repository's file names (consistent snapshots), and which names may be served.
//!
//! ```text
//! DIR/1.root.json … N.root.json   every root ever published (clients walk them)
//! DIR/root.json                   copy of the latest root (for bootstrapping clients)
//! DIR/timestamp.json              the only unversioned role file; rewritten last (commit point)
//! DIR/N.snapshot.json             every snapshot version
//! DIR/N.targets.json              every targets version
//! DIR/targets/<sha256>.<name>     every target file version, never deleted
//! DIR/staged/root.json            the next root while it collects signatures (never served)
//! DIR/private/online.pem          default place of the online key (never served)
//! DIR/.lock                       advisory lock held by every writer
//! ```

/// The latest-root convenience copy.
pub const ROOT_JSON: &str = "root.json";
/// The timestamp file.
pub const TIMESTAMP_JSON: &str = "timestamp.json";
/// The target files' directory.
pub const TARGETS_DIR: &str = "targets";
/// Where a root under signature waits.
pub const STAGED_DIR: &str = "staged";
/// The default online key location, relative to the repository.
pub const DEFAULT_ONLINE_KEY: &str = "private/online.pem";
/// The advisory lock file.
pub const LOCK_FILE: &str = ".lock";

/// `N.root.json`.
pub fn root_file(version: u64) -> String {
    format!("{version}.root.json")
}

/// `N.snapshot.json`.
pub fn snapshot_file(version: u64) -> String {
    format!("{version}.snapshot.json")
}

/// `N.targets.json`.
pub fn targets_file(version: u64) -> String {
    format!("{version}.targets.json")
}

/// `<sha256>.<name>`, the name of a target file under `targets/`.
pub fn target_file(sha256: &str, name: &str) -> String {
    format!("{sha256}.{name}")
}

/// The version and role of a versioned metadata file name (`7.snapshot.json` → (7, "snapshot")).
pub fn parse_versioned(name: &str) -> Option<(u64, &str)> {
    let (version, rest) = name.split_once('.')?;
    if version.is_empty()
        || !version.bytes().all(|b| b.is_ascii_digit())
        || version.starts_with('0')
    {
        return None;
    }
    let role = rest.strip_suffix(".json")?;
    matches!(role, "root" | "snapshot" | "targets").then_some(())?;
    Some((version.parse().ok()?, role))
}

/// Whether `name` is a metadata file this repository serves.
pub fn is_metadata_name(name: &str) -> bool {
    name == ROOT_JSON || name == TIMESTAMP_JSON || parse_versioned(name).is_some()
}

/// Whether `name` is acceptable as a target name: `[A-Za-z0-9._-]`, 1-200 bytes, not starting
/// with a dot. (TUF allows paths; sigstack's targets are flat files, which keeps serving safe.)
pub fn is_target_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Whether `file` is a served target file name, `<64 hex>.<target name>`.
pub fn is_target_file_name(file: &str) -> bool {
    match file.split_once('.') {
        Some((hash, name)) => {
            hash.len() == 64
                && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
                && is_target_name(name)
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(parse_versioned("12.root.json"), Some((12, "root")));
        assert_eq!(parse_versioned("3.targets.json"), Some((3, "targets")));
        assert_eq!(parse_versioned("03.targets.json"), None);
        assert_eq!(parse_versioned("x.root.json"), None);
        assert_eq!(parse_versioned("1.timestamp.json"), None);
        assert!(is_metadata_name("timestamp.json"));
        assert!(!is_metadata_name("staged"));
        assert!(!is_metadata_name("../1.root.json"));
        let h = "a".repeat(64);
        assert!(is_target_file_name(&format!("{h}.trusted_root.json")));
        assert!(!is_target_file_name(&format!("{h}..secret")));
        assert!(!is_target_file_name(&format!("{h}.a/b")));
        assert!(!is_target_file_name("abc.trusted_root.json"));
        assert!(!is_target_name("../x"));
    }
}
