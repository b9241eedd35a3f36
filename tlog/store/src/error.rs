use std::time::Duration;
use tlog::merkle::ProofError;

/// A failure of the storage layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database failed or could not be reached. The operation did not take effect, or (for
    /// a commit whose answer was lost) took effect and is detected on the next round.
    #[error("database error: {0}")]
    Database(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Applying the schema migrations failed.
    #[error("database migration failed: {0}")]
    Migration(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// No log with that origin exists in the store.
    #[error("no log named {0:?} in this store")]
    LogNotFound(String),
    /// A log with that origin already exists.
    #[error("a log named {0:?} already exists in this store")]
    LogExists(String),
    /// The store holds data that contradicts itself (a missing or short tile, a head whose root
    /// does not match its tiles). Never expected; the log refuses to go on rather than fork.
    #[error("store is inconsistent: {0}")]
    Corrupt(String),
    /// The checkpoint could not be signed.
    #[error("signing the checkpoint failed: {0}")]
    Signing(String),
    /// The database URL names no supported backend.
    #[error("unsupported database URL {0:?}: use postgres://… or sqlite://…")]
    UnsupportedUrl(String),
    /// A database URL that cannot be parsed (a multi-host list, `target_session_attrs`).
    #[error("invalid database URL {0}")]
    InvalidUrl(String),
    /// None of the servers of a database URL answered as the kind of server it asks for
    /// (`target_session_attrs`), for instance while a standby is being promoted.
    #[error("no PostgreSQL server among {hosts} answers as {attrs}")]
    NoServer {
        /// `target_session_attrs`.
        attrs: &'static str,
        /// The servers tried, `host:port,…`.
        hosts: String,
    },
    /// A TLS file the PostgreSQL connection needs (`sslrootcert`, `sslcert`, `sslkey`, or
    /// their `PGSSL…` environment variables) cannot be read.
    #[error("{name}={path} cannot be read")]
    TlsFile {
        /// The URL parameter or environment variable naming the file.
        name: String,
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

impl StoreError {
    /// A database error, boxed as [`StoreError::Database`] holds it.
    pub fn db(e: sqlx::Error) -> Self {
        StoreError::Database(Box::new(e))
    }

    /// A short, fixed label for metrics.
    pub fn category(&self) -> &'static str {
        match self {
            StoreError::Database(_) => "database",
            StoreError::Migration(_) => "migration",
            StoreError::LogNotFound(_) => "log_not_found",
            StoreError::LogExists(_) => "log_exists",
            StoreError::Corrupt(_) => "corrupt",
            StoreError::Signing(_) => "signing",
            StoreError::UnsupportedUrl(_)
            | StoreError::InvalidUrl(_)
            | StoreError::TlsFile { .. } => "config",
            StoreError::NoServer { .. } => "database",
        }
    }
}

/// Why an append was not acknowledged. Nothing unacknowledged is promised to be in the log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppendError {
    /// Too many appends are waiting: try again later (HTTP 503 with Retry-After).
    #[error("the log is overloaded: too many entries waiting to be sequenced, retry later")]
    Pushback,
    /// The encoded entry does not fit a tlog-tiles entry bundle.
    #[error("entry of {size} bytes exceeds the {max}-byte limit")]
    EntryTooLarge {
        /// Encoded size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The log's entry encoder refused the payload.
    #[error("entry rejected: {0}")]
    Invalid(String),
    /// The sequencer has stopped (the service is shutting down).
    #[error("the log is shutting down")]
    ShuttingDown,
    /// The integration round holding this entry failed; the entry may be retried (if the
    /// commit did happen after all, the retry returns the entry as a duplicate).
    #[error("the entry could not be committed: {0}")]
    RoundFailed(std::sync::Arc<StoreError>),
    /// Computing the inclusion proof of the committed entry failed.
    #[error("the entry was committed but its proof could not be read: {0}")]
    Read(#[from] ReadError),
}

impl AppendError {
    /// A short, fixed label for metrics.
    pub fn category(&self) -> &'static str {
        match self {
            AppendError::Pushback => "pushback",
            AppendError::EntryTooLarge { .. } => "too_large",
            AppendError::Invalid(_) => "invalid",
            AppendError::ShuttingDown => "shutting_down",
            AppendError::RoundFailed(e) => e.category(),
            AppendError::Read(_) => "read",
        }
    }
}

/// Why [`Log::check_ready`](crate::Log::check_ready) finds a log unable to take writes. The
/// message names the reason; an unready instance is taken out of rotation, not restarted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NotReady {
    /// The sequencer task has ended (the service is shutting down, or the task died).
    #[error("the sequencer has stopped")]
    SequencerStopped,
    /// Submissions wait and the sequencer has finished no round for longer than
    /// [`SequencerConfig::wedged_after`](crate::SequencerConfig::wedged_after): a round is
    /// stuck (a lock that is never released, a database call that never returns).
    #[error(
        "the sequencer is wedged: {waiting} submissions waiting and no round finished for {} ms (bound {} ms)",
        stalled.as_millis(),
        bound.as_millis()
    )]
    SequencerWedged {
        /// Submissions queued or in the stuck round.
        waiting: u64,
        /// How long since the sequencer last made progress.
        stalled: Duration,
        /// The configured bound it exceeded.
        bound: Duration,
    },
    /// The database did not answer a read of the head within the probe's timeout.
    #[error("the database did not answer within {} ms", .0.as_millis())]
    DatabaseTimeout(Duration),
    /// The database answered a read of the head with an error.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a read (entries, tiles, proofs) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The request names something outside the current tree (an index or size past its end,
    /// or sizes in the wrong order).
    #[error("{0}")]
    OutOfRange(String),
    /// The proof could not be computed (a tile the store should hold is missing).
    #[error("proof could not be computed: {0}")]
    Proof(#[from] ProofError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
