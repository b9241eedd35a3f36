//! A CA kept in two PEM files, reloaded when they change.
//!
//! The key file holds the issuing CA's private key (PKCS#8 PEM, as [`sigstack_keys::SoftwareKey`]
//! reads it: ECDSA P-256/P-384 or Ed25519); the chain file holds the issuing CA's certificate
//! first, then any intermediates, the root last (a root alone is a chain of one).
//!
//! [`CaWatcher`] re-reads both files every poll and compares them with what it saw last, so a
//! change is noticed whatever the file system's timestamp resolution, and a rename over the
//! file (how a careful operator replaces it) is seen as well as an in-place write. A change that
//! loads is swapped into the server whole ([`FulcioServer::replace_ca`]); a change that does
//! not (unreadable, not PEM, a chain whose first certificate is not the key's, e.g. while the
//! operator has replaced one file but not yet the other) is logged once and the CA in force
//! is kept, until the files change again.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use fulcio::{CertError, CertificateAuthority};
use sigstack_keys::{KeyError, KeyLoader, Signer};
use x509_cert::der::Encode;

use crate::FulcioServer;

/// How often [`spawn_reloader`] looks at the files by default.
pub const DEFAULT_RELOAD_INTERVAL: Duration = Duration::from_secs(10);

/// Why the CA files could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaFilesError {
    /// A file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The key file is not a PKCS#8 PEM private key of a supported algorithm.
    #[error("{path} is not a usable PKCS#8 PEM private key")]
    Key {
        /// The key file.
        path: PathBuf,
        /// The key parser's error.
        source: KeyError,
    },
    /// The chain file is not a sequence of PEM certificates.
    #[error("{path} is not a PEM certificate chain: {reason}")]
    Chain {
        /// The chain file.
        path: PathBuf,
        /// The parser's message.
        reason: String,
    },
    /// The key and the chain do not form a CA (e.g. the first certificate is for another key).
    #[error("{key} and {chain} do not form a CA")]
    Ca {
        /// The key file.
        key: PathBuf,
        /// The chain file.
        chain: PathBuf,
        /// Why.
        source: CertError,
    },
}

/// The two files a CA is loaded from (the key may instead be a `pkcs11:` URI).
#[derive(Debug, Clone)]
pub struct CaFiles {
    key: PathBuf,
    chain: PathBuf,
    loader: Arc<KeyLoader>,
}

/// The bytes of both files, as last read.
#[derive(PartialEq, Eq)]
struct Contents {
    key: Vec<u8>,
    chain: Vec<u8>,
}

impl CaFiles {
    /// The CA whose private key is in `key` and whose chain (issuing certificate first, root
    /// last) is in `chain`.
    /// The key loads as [`KeyLoader::development`] loads it (plaintext allowed); see
    /// [`CaFiles::with_loader`].
    pub fn new(key: impl Into<PathBuf>, chain: impl Into<PathBuf>) -> Self {
        Self {
            key: key.into(),
            chain: chain.into(),
            loader: Arc::new(KeyLoader::development()),
        }
    }

    /// Loads the key with `loader`: its password for an encrypted file, its plaintext policy,
    /// and a token for a `pkcs11:` URI.
    pub fn with_loader(mut self, loader: Arc<KeyLoader>) -> Self {
        self.loader = loader;
        self
    }

    fn key_is_uri(&self) -> bool {
        self.key
            .to_str()
            .is_some_and(sigstack_keys::Pkcs11Uri::is_uri)
    }

    /// Reads and loads the CA once.
    pub fn load(&self) -> Result<CertificateAuthority, CaFilesError> {
        self.parse(&self.read()?)
    }

    fn read(&self) -> Result<Contents, CaFilesError> {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|source| CaFilesError::Read {
                path: path.to_owned(),
                source,
            })
        };
        Ok(Contents {
            // A key in a token does not change under us; the chain file still can.
            key: if self.key_is_uri() {
                Vec::new()
            } else {
                read(&self.key)?
            },
            chain: read(&self.chain)?,
        })
    }

    fn parse(&self, contents: &Contents) -> Result<CertificateAuthority, CaFilesError> {
        let key_error = |source| CaFilesError::Key {
            path: self.key.clone(),
            source,
        };
        let signer: Arc<dyn Signer> = if self.key_is_uri() {
            self.loader.load(&self.key).map_err(key_error)?
        } else {
            let pem = std::str::from_utf8(&contents.key)
                .map_err(|_| key_error(KeyError::Malformed("not UTF-8 text".into())))?;
            self.loader.from_pem(&self.key, pem).map_err(key_error)?
        };
        let chain_error = |reason: String| CaFilesError::Chain {
            path: self.chain.clone(),
            reason,
        };
        // x509-cert 0.2.5's `load_pem_chain` underflows (a panic in debug builds) on input
        // that is empty after trailing newlines are stripped: answer that case first.
        if contents.chain.iter().all(u8::is_ascii_whitespace) {
            return Err(chain_error("no certificate in it".into()));
        }
        let certs = x509_cert::Certificate::load_pem_chain(&contents.chain)
            .map_err(|e| chain_error(e.to_string()))?;
        if certs.is_empty() {
            return Err(chain_error("no certificate in it".into()));
        }
        let chain = certs
            .iter()
            .map(|c| c.to_der().map_err(|e| chain_error(e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        CertificateAuthority::new(signer, chain).map_err(|source| CaFilesError::Ca {
            key: self.key.clone(),
            chain: self.chain.clone(),
            source,
        })
    }
}

/// What one [`CaWatcher::poll`] did.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReloadOutcome {
    /// The files are as last seen: nothing to do.
    Unchanged,
    /// The files changed and the new CA is now in force.
    Reloaded,
    /// The files changed but do not load; the CA in force was kept.
    Refused(CaFilesError),
}

/// Watches the files of the CA a server uses.
pub struct CaWatcher {
    files: CaFiles,
    /// What the files held at the last poll (loaded or refused): a refused change is reported
    /// once, not at every poll.
    seen: Contents,
}

impl CaWatcher {
    /// Loads the CA from `files` (the server's first CA) and remembers what the files held.
    pub fn start(files: CaFiles) -> Result<(CertificateAuthority, Self), CaFilesError> {
        let seen = files.read()?;
        let ca = files.parse(&seen)?;
        Ok((ca, Self { files, seen }))
    }

    /// Looks at the files once; if they changed, loads them into `server` or, if they do not
    /// load, keeps the server's CA. Logs and counts what happened.
    pub fn poll(&mut self, server: &FulcioServer) -> ReloadOutcome {
        let contents = match self.files.read() {
            Ok(c) => c,
            Err(e) => {
                // A file missing or unreadable for a moment (being replaced): report it, keep
                // the CA, and look again next time (what was seen stays as it was).
                tracing::warn!(error = %e, "CA files unreadable; keeping the CA in force");
                server
                    .metrics
                    .ca_reloads
                    .with_label_values(&["refused"])
                    .inc();
                return ReloadOutcome::Refused(e);
            }
        };
        if contents == self.seen {
            return ReloadOutcome::Unchanged;
        }
        let result = self.files.parse(&contents);
        self.seen = contents;
        match result {
            Ok(ca) => {
                tracing::info!(
                    key = %self.files.key.display(),
                    chain = %self.files.chain.display(),
                    chain_len = ca.chain().len(),
                    "CA files changed: new CA in force"
                );
                server.replace_ca(ca);
                server
                    .metrics
                    .ca_reloads
                    .with_label_values(&["loaded"])
                    .inc();
                ReloadOutcome::Reloaded
            }
            Err(e) => {
                let cause = std::error::Error::source(&e).map(ToString::to_string);
                tracing::error!(
                    error = %e,
                    cause = cause.unwrap_or_default(),
                    "CA files changed but do not load; keeping the CA in force"
                );
                server
                    .metrics
                    .ca_reloads
                    .with_label_values(&["refused"])
                    .inc();
                ReloadOutcome::Refused(e)
            }
        }
    }
}

/// Polls the watcher's files every `interval` and reloads `server`'s CA on change, until the
/// returned task is aborted.
pub fn spawn_reloader(
    server: Arc<FulcioServer>,
    mut watcher: CaWatcher,
    interval: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await; // the first tick is immediate; the files were just loaded
        loop {
            ticker.tick().await;
            let _ = watcher.poll(&server);
        }
    })
}
