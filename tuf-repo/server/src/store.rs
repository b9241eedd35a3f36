//! Durable file writes and the cross-process writer lock.

use crate::RepoError;
use std::fs::{File, OpenOptions};
use std::path::Path;

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> RepoError + '_ {
    move |source| RepoError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes `bytes` at `path` durably and atomically: readers see the old file or the new one,
/// never a partial one.
pub(crate) fn write_durable(path: &Path, bytes: &[u8]) -> Result<(), RepoError> {
    sigstack_keys::files::write_atomically(path, bytes, sigstack_keys::files::FileAccess::Default)
        .map_err(io_err(path))
}

/// Writes `bytes` at `path` unless a file is already there (content-addressed files).
pub(crate) fn write_once(path: &Path, bytes: &[u8]) -> Result<(), RepoError> {
    if path.exists() {
        return Ok(());
    }
    write_durable(path, bytes)
}

/// Reads a file; `Ok(None)` if it does not exist.
pub(crate) fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, RepoError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(path)(e)),
    }
}

/// Reads a file that must exist.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>, RepoError> {
    std::fs::read(path).map_err(io_err(path))
}

/// An exclusive `flock` on the repository's lock file, held until dropped. Every writer (CLI
/// commands, the server's refresher, the launcher) takes it, so two processes never publish at
/// once.
pub(crate) struct DirLock {
    _file: File,
}

impl DirLock {
    pub(crate) fn acquire(path: &Path) -> Result<Self, RepoError> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(io_err(path))?;
        rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)
            .map_err(|e| io_err(path)(e.into()))?;
        Ok(DirLock { _file: file })
    }
}
