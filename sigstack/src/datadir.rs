//! The data directory of `sigstack up`: keys, the embedded database, trust files. Exclusively
//! locked while a stack runs from it, so two stacks never share (and fork) one set of logs.

use anyhow::{bail, Context};
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

/// An opened, locked data directory. The lock is released when this is dropped.
pub(crate) struct DataDir {
    path: PathBuf,
    _lock: File,
}

impl DataDir {
    /// Creates the directory (owner-only) if needed and takes its lock.
    pub(crate) fn open(path: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(path)
            .with_context(|| format!("creating data directory {}", path.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
                .with_context(|| format!("restricting {}", path.display()))?;
        }
        let path = path.canonicalize()?;
        let lock_path = path.join("sigstack.lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .with_context(|| format!("opening {}", lock_path.display()))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => bail!(
                "another sigstack is already running from {} (its lock {} is held); stop it first or use another --data-dir",
                path.display(),
                lock_path.display()
            ),
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("locking {}", lock_path.display()))
            }
        }
        Ok(Self { path, _lock: lock })
    }

    /// The directory.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The URL of the embedded SQLite database.
    pub(crate) fn sqlite_url(&self) -> String {
        format!("sqlite://{}", self.path.join("sigstack.sqlite").display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_opener_is_refused_until_the_first_lets_go() {
        let tmp = tempfile::tempdir().unwrap();
        let first = DataDir::open(tmp.path()).unwrap();
        let err = DataDir::open(tmp.path()).err().unwrap().to_string();
        assert!(err.contains("already running"), "{err}");
        drop(first);
        DataDir::open(tmp.path()).unwrap();
    }
}
