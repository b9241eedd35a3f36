//! Durable, atomic file writes: how every key, chain, trust root and layout file of the stack
//! reaches the disk. Here because keys are the first such files and every crate that writes one
//! already depends on this crate.

use std::io::Write as _;
use std::path::Path;

/// Who may read a file written by [`write_atomically`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileAccess {
    /// The process's umask decides (public material: certificates, trust roots, layouts).
    Default,
    /// The owner only (mode 0600 on Unix): private keys.
    OwnerOnly,
}

/// Writes `contents` at `path` so that a reader, or the file system after a crash, sees either
/// the old file or the whole new one: a temporary file beside it (`.<name>.tmp`, so two files of
/// one directory never share it), `fsync`, `rename`, `fsync` of the directory. Creates the
/// directory if needed. The error is the I/O error; callers add the path to their own errors.
pub fn write_atomically(path: &Path, contents: &[u8], access: FileAccess) -> std::io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir)?;
    }
    let name = path.file_name().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the path has no file name",
        )
    })?;
    let tmp = path.with_file_name(format!(".{}.tmp", name.to_string_lossy()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if access == FileAccess::OwnerOnly {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    file.write_all(contents)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)?;
    // The rename is durable once the directory is synced; a platform that cannot open a
    // directory for that has no such step to take.
    if let Ok(dir) = std::fs::File::open(dir.unwrap_or(Path::new("."))) {
        dir.sync_all()?;
    }
    Ok(())
}

/// A key reference recorded in a layout file (a shard's retired key): a `pkcs11:` URI or an
/// absolute path as it is, a relative path against the directory of `layout`, the file that
/// records it (so a moved data directory still finds its keys).
pub fn resolve_key_reference(key: &Path, layout: &Path) -> std::path::PathBuf {
    let is_uri = key.to_str().is_some_and(crate::pkcs11::Pkcs11Uri::is_uri);
    if key.is_absolute() || is_uri {
        key.to_path_buf()
    } else {
        layout.parent().unwrap_or_else(|| Path::new(".")).join(key)
    }
}

/// How a layout file records `key`: relative to the layout's directory when the key lies below
/// it (see [`resolve_key_reference`]), else as given.
pub fn key_reference(key: &Path, layout: &Path) -> std::path::PathBuf {
    let base = layout.parent().unwrap_or_else(|| Path::new("."));
    match (key.canonicalize(), base.canonicalize()) {
        (Ok(key), Ok(base)) => key
            .strip_prefix(&base)
            .map(Path::to_path_buf)
            .unwrap_or(key),
        _ => key.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_references_are_relative_to_their_layout() {
        let dir = tempfile::tempdir().unwrap();
        let layout = dir.path().join("shards.json");
        let key = dir.path().join("keys/retired/k.pem");
        write_atomically(&key, b"k", FileAccess::OwnerOnly).unwrap();
        let recorded = key_reference(&key, &layout);
        assert_eq!(recorded, Path::new("keys/retired/k.pem"));
        assert_eq!(
            resolve_key_reference(&recorded, &layout),
            dir.path().join("keys/retired/k.pem")
        );
        let uri = Path::new("pkcs11:object=retired-ctlog?module-path=/m.so");
        assert_eq!(key_reference(uri, &layout), uri);
        assert_eq!(resolve_key_reference(uri, &layout), uri);
    }

    #[test]
    fn writes_replace_whole_files_and_leave_no_temporary_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/trust.json");
        write_atomically(&path, b"one", FileAccess::Default).unwrap();
        write_atomically(&path, b"two", FileAccess::Default).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("trust.json")]);
    }

    #[cfg(unix)]
    #[test]
    fn private_files_are_owner_only() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.pem");
        write_atomically(&path, b"secret", FileAccess::OwnerOnly).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
