use std::path::PathBuf;

/// Errors of the repository, its ceremony and its server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RepoError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A published or staged metadata file does not parse.
    #[error("{} is not valid TUF metadata", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<tuf::TufError>,
    },
    /// The directory holds no `N.root.json`.
    #[error("{} is not a TUF repository (no 1.root.json): run `sigstack tuf init` first", .0.display())]
    NotInitialized(PathBuf),
    /// `init` on a directory that already holds a root.
    #[error("{} already holds a TUF repository", .0.display())]
    AlreadyInitialized(PathBuf),
    /// No root is staged.
    #[error("no root is staged in {}: stage one with `sigstack tuf root add-key/revoke-key/rotate`", .0.display())]
    NoStagedRoot(PathBuf),
    /// The online key is not the one root assigns to an online role.
    #[error("the online key {keyid} is not a {role} key of root v{root_version}")]
    OnlineKeyNotInRoot {
        /// The online key's id.
        keyid: String,
        /// The role.
        role: &'static str,
        /// The root version.
        root_version: u64,
    },
    /// A target name sigstack does not serve.
    #[error("invalid target name {0:?}: use [A-Za-z0-9._-], not starting with a dot")]
    BadTargetName(String),
    /// A ceremony step that makes no sense (adding a key twice, signing with a stranger's key).
    #[error("{0}")]
    Ceremony(String),
    /// Invalid options.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The metadata to publish fails a check (expired, under-signed, rollback, inconsistent).
    #[error("refusing to publish")]
    Refused(#[source] tuf::TufError),
    /// Building or signing metadata failed.
    #[error(transparent)]
    Tuf(#[from] tuf::TufError),
    /// A key could not be loaded.
    #[error(transparent)]
    Key(#[from] sigstack_keys::KeyError),
}

impl From<tuf::NextMetadataError> for RepoError {
    fn from(e: tuf::NextMetadataError) -> Self {
        match e {
            tuf::NextMetadataError::Refused(e) => RepoError::Refused(e),
            tuf::NextMetadataError::Build(e) => RepoError::Tuf(e),
        }
    }
}
