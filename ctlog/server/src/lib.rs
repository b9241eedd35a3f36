//! An RFC 6962 Certificate Transparency log on [`tlog_store`].
//!
//! Serves the RFC 6962 API under `/ct/v1/` (`add-chain`, `add-pre-chain`, `get-sth`,
//! `get-sth-consistency`, `get-proof-by-hash`, `get-entries`, `get-roots`,
//! `get-entry-and-proof`) and the static-ct-api read path (`checkpoint`, `tile/…`,
//! `tile/data/…`, `issuer/<sha256>`) from the same store. SCTs are issued only after the entry
//! is committed (no merge delay), and carry the static-ct-api `leaf_index` extension.

mod api;
pub mod chain;
mod encoder;
mod error;
mod shards;

pub use api::{router, shards_router};
pub use ct::{ExpiryWindow, ShardWindowError, TemporalShards};
pub use error::ApiError;
pub use shards::{
    shard_origin, shard_path, CtShardLayout, CtShardLayoutError, CtShardRotationError, OlderShard,
    RetiredShard, Rotation,
};

use sigstack_keys::{Algorithm, Signer};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tlog_store::{Log, LogOptions, LogStore, StoreError};

/// Default page limit of `get-entries` (RFC 6962 lets logs return fewer than asked).
pub const DEFAULT_MAX_GET_ENTRIES: u64 = 256;
/// Default batching window of the CT log's sequencer: short, because a CA waits on every SCT
/// and rounds at thousands of submissions per second are full long before 20 ms.
pub const DEFAULT_MAX_DELAY: std::time::Duration = std::time::Duration::from_millis(5);
/// Default limit on request bodies: a chain of ten large certificates fits comfortably.
pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024;

/// Everything a CT log needs.
pub struct CtLogConfig {
    /// The log's origin: the first line of its checkpoints, conventionally the submission URL
    /// without scheme (e.g. `ct.example.com/2026`).
    pub origin: String,
    /// The log's ECDSA P-256 key; its SPKI hash is the log ID.
    pub key: Arc<dyn Signer>,
    /// DER certificates of the roots chains must end in (the Fulcio CA, by default).
    pub roots: Vec<Vec<u8>>,
    /// Page limit of `get-entries`.
    pub max_get_entries: u64,
    /// Limit on request bodies, in bytes.
    pub max_body_bytes: usize,
    /// Sequencing and caching of the underlying log.
    pub log_options: LogOptions,
    /// Witnesses: each new checkpoint is submitted to them in the background, and the latest
    /// one that meets their policy is served, with their cosignatures, at
    /// `/checkpoint/witnessed`. `None`: no witnessing.
    pub witnessing: Option<witness_client::Witnessing>,
    /// A temporal shard's window: only certificates whose notAfter falls in it are accepted.
    /// `None`: any.
    pub not_after: Option<ExpiryWindow>,
    /// `Some(paths)`: the log is a frozen shard; it serves reads and refuses submissions,
    /// naming `paths`, the accepting shards' paths below the public URL.
    pub frozen_for: Option<Vec<String>>,
}

impl CtLogConfig {
    /// A configuration with the defaults for everything but the identity, key and roots.
    pub fn new(origin: impl Into<String>, key: Arc<dyn Signer>, roots: Vec<Vec<u8>>) -> Self {
        Self {
            origin: origin.into(),
            key,
            roots,
            max_get_entries: DEFAULT_MAX_GET_ENTRIES,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            log_options: LogOptions {
                sequencer: tlog_store::SequencerConfig {
                    max_delay: DEFAULT_MAX_DELAY,
                    ..tlog_store::SequencerConfig::default()
                },
                ..LogOptions::default()
            },
            witnessing: None,
            not_after: None,
            frozen_for: None,
        }
    }
}

/// Why a CT log could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CtLogError {
    /// The key is not ECDSA P-256 (RFC 6962 logs sign with P-256 for Sigstore clients).
    #[error("the CT log key must be ECDSA P-256, not {0}")]
    WrongKeyType(&'static str),
    /// A configured root is not a DER certificate.
    #[error("accepted root #{index} is not a DER X.509 certificate")]
    BadRoot {
        /// Position in the configuration.
        index: usize,
    },
    /// The log's key cannot be written as a type 0x05 key for the witness policy.
    #[error("the CT log key as a witness policy key")]
    WitnessKey(#[source] witness::ConfigError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A running CT log: its store-backed log, key and accepted roots.
pub struct CtLog {
    log: Log,
    origin: String,
    key: Arc<dyn Signer>,
    log_id: [u8; 32],
    roots: Vec<Vec<u8>>,
    /// The roots, and intermediates seen in valid chains, parsed: what chains are checked with.
    issuers: chain::Issuers,
    max_get_entries: u64,
    max_body_bytes: usize,
    /// Issuer certificates by SHA-256, each known to be in the store: few, small, immutable.
    stored_issuers: Mutex<HashMap<[u8; 32], Arc<Vec<u8>>>>,
    /// The per-request metrics (`ctlog_http_requests_total`, …) and the log's (`tlog_*`).
    metrics: sigstack_http::MetricsRegistry,
    http_metrics: sigstack_http::HttpMetrics,
    /// The latest witnessed checkpoint, if the log has witnesses.
    witnessed: Option<Arc<witness_client::WitnessedCheckpoint>>,
    /// The witness policy as a C2SP tlog-policy file, if the log has witnesses.
    witness_policy: Option<String>,
    /// See [`CtLogConfig::not_after`].
    not_after: Option<ExpiryWindow>,
    /// See [`CtLogConfig::frozen_for`].
    frozen_for: Option<Vec<String>>,
}

impl CtLog {
    /// Opens the log named `config.origin` in `store` (creating it if needed) and starts its
    /// sequencer.
    pub async fn open(
        store: Arc<dyn LogStore>,
        config: CtLogConfig,
    ) -> Result<Arc<Self>, CtLogError> {
        if config.key.algorithm() != Algorithm::EcdsaP256Sha256 {
            return Err(CtLogError::WrongKeyType(config.key.algorithm().name()));
        }
        let issuers =
            chain::Issuers::new(&config.roots).map_err(|index| CtLogError::BadRoot { index })?;
        let signer = Arc::new(encoder::CtCheckpointSigner {
            key: config.key.clone(),
        });
        let metrics = sigstack_http::MetricsRegistry::for_service("ctlog");
        let mut log_options = config.log_options;
        log_options.metrics = tlog_store::LogMetrics::new();
        metrics.register_collector(Box::new(log_options.metrics.clone()));
        let log = Log::open_or_create(
            store,
            &config.origin,
            Arc::new(encoder::CtEntryEncoder),
            signer,
            log_options,
        )
        .await?;
        let witness_policy = match &config.witnessing {
            Some(w) => {
                let log_key = witness::LogKey::rfc6962(&config.origin, config.key.public_key_der())
                    .map_err(CtLogError::WitnessKey)?;
                Some(w.tlog_policy(&log_key.to_vkey(), None))
            }
            None => None,
        };
        let witnessed = config
            .witnessing
            .map(|w| witness_client::WitnessedCheckpoint::spawn(log.clone(), w));
        Ok(Arc::new(Self {
            not_after: config.not_after,
            frozen_for: config.frozen_for,
            witnessed,
            witness_policy,
            log,
            log_id: sigstack_keys::key_id(config.key.public_key_der()),
            origin: config.origin,
            key: config.key,
            roots: config.roots,
            issuers,
            max_get_entries: config.max_get_entries.max(1),
            max_body_bytes: config.max_body_bytes,
            stored_issuers: Mutex::new(HashMap::new()),
            http_metrics: metrics.http_metrics(sigstack_http::HttpMetricNames::Ours("ctlog")),
            metrics,
        }))
    }

    /// The log ID: SHA-256 of the log key's DER SPKI.
    pub fn log_id(&self) -> [u8; 32] {
        self.log_id
    }

    /// Whether the log is a frozen shard, refusing submissions.
    pub fn is_frozen(&self) -> bool {
        self.frozen_for.is_some()
    }

    /// The log's origin.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The DER SPKI of the log key.
    pub fn public_key_der(&self) -> &[u8] {
        self.key.public_key_der()
    }

    /// The service's metrics, for whoever serves `/metrics` ([`sigstack_http::metrics_router`]).
    pub fn metrics(&self) -> &sigstack_http::MetricsRegistry {
        &self.metrics
    }

    /// The underlying log.
    pub fn log(&self) -> &Log {
        &self.log
    }

    /// The latest checkpoint that met the witness policy, if the log has witnesses and one has.
    pub(crate) fn witnessed(&self) -> Option<&witness_client::WitnessedCheckpoint> {
        self.witnessed.as_deref()
    }

    /// The witness policy as a C2SP tlog-policy file (what `/witness-policy` serves), if the
    /// log has witnesses.
    pub fn witness_policy(&self) -> Option<&str> {
        self.witness_policy.as_deref()
    }
}

impl sigstack_http::BodyPolicy for CtLog {
    fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }

    /// ctfe decodes the body as JSON whatever its `Content-Type` says.
    fn requires_json_content_type(&self) -> bool {
        false
    }
}
