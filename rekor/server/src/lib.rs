//! A Rekor-compatible signature transparency log on [`tlog_store`].
//!
//! One service, one store, two APIs, each on its own log with its own key:
//!
//! - **Rekor v1** (`/api/v1/…`, ECDSA P-256): `hashedrekord` 0.0.1, `dsse` 0.0.1 and `intoto`
//!   0.0.2 entries, answered with a SignedEntryTimestamp and an inclusion proof against a
//!   freshly signed checkpoint; search by artifact hash, key and identity; sharded by tree ID
//!   (frozen shards stay readable, the log index is global across shards).
//! - **Rekor v2** (`/api/v2/…`, Ed25519, C2SP tlog-tiles): `hashedrekord` and `dsse` 0.0.2,
//!   answered with a protobuf-JSON `TransparencyLogEntry`; reads through tiles. Sharded one log
//!   per URL: a key rotation freezes the active v2 log (read-only, still serving its tiles and
//!   checkpoint under its own key) and starts the next generation at `/v2-shards/<N>`.
//!
//! Entries are parsed, verified and canonicalised by the pure `rekor-types` crate; every answer
//! is given only after the entry is committed (see `docs/design/life-of-a-leaf.md`).

mod error;
mod metrics;
mod shards;
mod v1;
mod v2;

pub use error::ApiError;
pub use shards::{
    v2_shard_origin, v2_shard_path, ImportError, SettledName, ShardLayout, ShardLayoutError,
    UpstreamShard, UpstreamSigningConfig,
};

use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::{Json, Router};
use sigstack_http::ErrorShape;
use sigstack_keys::{Algorithm, Signer};
use std::sync::Arc;
use tlog::note::{ed25519_key_id, NoteSigner};
use tlog_store::{Log, LogOptions, LogStore, NoteCheckpointSigner, PlainEntries, StoreError};

/// Limits on request bodies, per API and entry kind. An entry over its kind's limit gets a
/// 413 naming the limit.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Any request body (the transport limit).
    pub max_body_bytes: usize,
    /// `hashedrekord` entries (v1 and v2): a signature, a digest and a certificate.
    pub hashedrekord_bytes: usize,
    /// `dsse` entries (v1 and v2): the whole envelope travels with the entry.
    pub dsse_bytes: usize,
    /// `intoto` entries (v1).
    pub intoto_bytes: usize,
}

/// Default per-kind limits: a hashedrekord entry is a few KiB; attestations are bounded like
/// upstream's DSSE/in-toto payload limits, well under the transport limit.
impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 4 * 1024 * 1024,
            hashedrekord_bytes: 64 * 1024,
            dsse_bytes: 2 * 1024 * 1024,
            intoto_bytes: 2 * 1024 * 1024,
        }
    }
}

impl Limits {
    fn for_kind(&self, kind: &str) -> usize {
        match kind {
            "dsse" => self.dsse_bytes,
            "intoto" => self.intoto_bytes,
            _ => self.hashedrekord_bytes,
        }
    }
}

/// Default batching window: clients of a signature log wait on every entry.
pub const DEFAULT_MAX_DELAY: std::time::Duration = std::time::Duration::from_millis(10);

/// Everything a Rekor service needs.
pub struct RekorConfig {
    /// The v1 log key (ECDSA P-256); its SPKI hash is the v1 log ID.
    pub v1_key: Arc<dyn Signer>,
    /// The active v2 log's key (Ed25519).
    pub v2_key: Arc<dyn Signer>,
    /// The keys of the frozen v2 logs, generation 1 first (loaded from
    /// [`ShardLayout::v2_frozen_keys`]): each keeps serving its tiles and checkpoint,
    /// read-only, under its own origin ([`v2_shard_origin`]) and path ([`v2_shard_path`]).
    pub v2_frozen_keys: Vec<Arc<dyn Signer>>,
    /// The v1 log's name: signer name of its checkpoints, whose origin line is
    /// `<hostname> - <tree ID>` (as upstream Rekor writes them).
    pub hostname: String,
    /// The v2 logs' name: the host of Rekor's URL, the origin (C2SP checkpoint origin and note
    /// name) of v2 generation 1; later generations add their path ([`v2_shard_origin`]).
    pub v2_origin: String,
    /// The v1 shards (tree IDs), oldest first; the last is active.
    pub shards: ShardLayout,
    /// The keys of frozen v1 shards signed by an earlier v1 key, by tree ID (loaded from
    /// [`ShardLayout::keys`]); every other shard signs with `v1_key`.
    pub v1_shard_keys: std::collections::BTreeMap<i64, Arc<dyn Signer>>,
    /// The URL clients use (`https://rekor.example.com`, no trailing slash): a new entry's
    /// `Location` is absolute under it. `None`: the path alone, as upstream answers.
    pub public_url: Option<String>,
    /// Request limits.
    pub limits: Limits,
    /// Sequencing and caching of the logs (their `metrics` are the service's own, whatever
    /// is set here).
    pub log_options: LogOptions,
    /// How many parsed client verifiers (public keys, certificates) to remember, keyed by the
    /// exact text of the entry's `publicKey.content`: entries signed with a key seen recently
    /// skip parsing it again (default [`rekor_types::DEFAULT_VERIFIER_CACHE`]).
    pub verifier_cache: usize,
    /// Witnesses of the v2 log: each new checkpoint is submitted to them in the background,
    /// and the latest one that meets their policy is served, with their cosignatures, at
    /// `/api/v2/checkpoint/witnessed`. `None`: no witnessing.
    pub v2_witnessing: Option<witness_client::Witnessing>,
    /// Witnesses of the active v1 shard, as for v2; its latest witnessed checkpoint is served
    /// at `/api/v1/log/checkpoint/witnessed`. A frozen shard does not grow, so it is not
    /// submitted.
    pub v1_witnessing: Option<witness_client::Witnessing>,
}

impl RekorConfig {
    /// A configuration with the defaults for everything but keys, names and shards.
    pub fn new(
        v1_key: Arc<dyn Signer>,
        v2_key: Arc<dyn Signer>,
        hostname: impl Into<String>,
        v2_origin: impl Into<String>,
        shards: ShardLayout,
    ) -> Self {
        let mut log_options = LogOptions::default();
        log_options.sequencer.max_delay = DEFAULT_MAX_DELAY;
        Self {
            v1_key,
            v2_key,
            v2_frozen_keys: Vec::new(),
            hostname: hostname.into(),
            v2_origin: v2_origin.into(),
            shards,
            v1_shard_keys: Default::default(),
            public_url: None,
            limits: Limits::default(),
            log_options,
            verifier_cache: rekor_types::DEFAULT_VERIFIER_CACHE,
            v2_witnessing: None,
            v1_witnessing: None,
        }
    }
}

/// Why a Rekor service could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RekorError {
    /// A key of the wrong type.
    #[error("the Rekor {api} key must be {want}, not {got}")]
    WrongKeyType {
        /// `v1` or `v2`.
        api: &'static str,
        /// What it must be.
        want: &'static str,
        /// What it is.
        got: &'static str,
    },
    /// A name that cannot be a note signer name or checkpoint origin.
    #[error("invalid log name {name:?}: {reason}")]
    BadName {
        /// The name.
        name: String,
        /// Why.
        reason: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One v1 shard: a log of its own, whose entries have global indexes from `offset` on.
pub(crate) struct Shard {
    pub(crate) tree_id: i64,
    pub(crate) log: Log,
    /// Global index of the shard's first entry (the sizes of all earlier shards).
    pub(crate) offset: u64,
    /// The shard's key: it signs the shard's checkpoints and its entries' SETs.
    pub(crate) key: Arc<dyn Signer>,
    /// SHA-256 of the key's SPKI: the `logID` of the shard's entries.
    pub(crate) log_id: [u8; 32],
}

/// One v2 log: a generation of the v2 API, served at its own path with its own key.
pub(crate) struct V2Log {
    /// 1 for the first v2 log; each v2 key rotation adds one.
    pub(crate) generation: u32,
    pub(crate) log: Log,
    pub(crate) key: Arc<dyn Signer>,
    /// SHA-256(origin ‖ 0x0A ‖ 0x01 ‖ raw key): the `logId.keyId` of its entries.
    pub(crate) log_id: [u8; 32],
    pub(crate) origin: String,
}

/// A running Rekor: its v1 shards, its v2 logs, keys and limits.
pub struct Rekor {
    /// Oldest first; the last one is active, the others are frozen.
    pub(crate) shards: Vec<Shard>,
    /// Oldest generation first; the last one is active (takes entries), the others frozen.
    pub(crate) v2_logs: Vec<V2Log>,
    pub(crate) v1_key: Arc<dyn Signer>,
    pub(crate) v1_log_id: [u8; 32],
    /// What a new entry's `Location` starts with: the public URL, or empty (path only).
    pub(crate) entry_location_base: String,
    pub(crate) limits: Limits,
    pub(crate) metrics: metrics::Metrics,
    /// Parsed verifiers of recent v1 entries (see [`RekorConfig::verifier_cache`]).
    pub(crate) verifiers: rekor_types::VerifierCache,
    /// The active v1 shard's latest witnessed checkpoint, if it has witnesses.
    pub(crate) v1_witnessed: Option<Arc<witness_client::WitnessedCheckpoint>>,
    /// The v2 log's latest witnessed checkpoint, if it has witnesses.
    pub(crate) v2_witnessed: Option<Arc<witness_client::WitnessedCheckpoint>>,
    /// The v2 log's witness policy as a C2SP tlog-policy file, if it has witnesses.
    pub(crate) v2_witness_policy: Option<String>,
    /// The active v1 shard's witness policy, likewise.
    pub(crate) v1_witness_policy: Option<String>,
    /// The name v1 checkpoints are signed under (the host of the public URL at the first start).
    pub(crate) hostname: String,
}

impl Rekor {
    /// Parses a write request once with `parse` and refuses it (413) if it is larger than its
    /// kind's limit: the kind that one parse finds sets the limit, and the same parse is then
    /// verified. `noun` is what the 413 calls it (`entry` for v1, `request` for v2).
    pub(crate) fn parse_within_limit<'a>(
        &self,
        bytes: &'a [u8],
        parse: fn(&'a [u8]) -> Result<rekor_types::ProposedEntry<'a>, rekor_types::EntryError>,
        noun: &str,
    ) -> Result<rekor_types::ProposedEntry<'a>, ApiError> {
        let proposed = parse(bytes).map_err(error::refused)?;
        let limit = self.limits.for_kind(proposed.kind());
        if bytes.len() > limit {
            return Err(ApiError::payload_too_large(
                format_args!("a {} {noun}", proposed.kind()),
                limit,
            ));
        }
        Ok(proposed)
    }

    /// Opens (creating where needed) every v1 shard and the v2 log in `store` and starts the
    /// sequencers of the active v1 shard and of the v2 log.
    pub async fn open(
        store: Arc<dyn LogStore>,
        config: RekorConfig,
    ) -> Result<Arc<Self>, RekorError> {
        for key in std::iter::once(&config.v1_key).chain(config.v1_shard_keys.values()) {
            if key.algorithm() != Algorithm::EcdsaP256Sha256 {
                return Err(RekorError::WrongKeyType {
                    api: "v1",
                    want: "ECDSA P-256",
                    got: key.algorithm().name(),
                });
            }
        }
        for key in std::iter::once(&config.v2_key).chain(&config.v2_frozen_keys) {
            if key.algorithm() != Algorithm::Ed25519 {
                return Err(RekorError::WrongKeyType {
                    api: "v2",
                    want: "Ed25519",
                    got: key.algorithm().name(),
                });
            }
        }
        let bad_name = |name: &str, e: &dyn std::fmt::Display| RekorError::BadName {
            name: name.to_string(),
            reason: e.to_string(),
        };
        let v1_signer = |key: &Arc<dyn Signer>| -> Result<Arc<NoteCheckpointSigner>, RekorError> {
            Ok(Arc::new(NoteCheckpointSigner::new(vec![
                NoteSigner::ecdsa_rekor(&config.hostname, key.clone())
                    .map_err(|e| bad_name(&config.hostname, &e))?,
            ])))
        };

        let metrics = metrics::Metrics::new();
        let mut log_options = config.log_options;
        log_options.metrics = metrics.logs.clone();
        let mut shards = Vec::new();
        let mut offset = 0;
        for tree_id in config.shards.tree_ids() {
            let origin = format!("{} - {tree_id}", config.hostname);
            let key = config
                .v1_shard_keys
                .get(&tree_id)
                .unwrap_or(&config.v1_key)
                .clone();
            let log = Log::open_or_create(
                store.clone(),
                &origin,
                Arc::new(PlainEntries),
                v1_signer(&key)?,
                log_options.clone(),
            )
            .await?;
            let size = log.head().await?.size;
            shards.push(Shard {
                tree_id,
                log,
                offset,
                log_id: sigstack_keys::key_id(key.public_key_der()),
                key,
            });
            offset += size;
        }
        let mut v2_logs = Vec::new();
        let v2_keys = config
            .v2_frozen_keys
            .iter()
            .chain(std::iter::once(&config.v2_key));
        for (generation, key) in (1..).zip(v2_keys) {
            let origin = v2_shard_origin(&config.v2_origin, generation);
            let signer =
                NoteSigner::ed25519(&origin, key.clone()).map_err(|e| bad_name(&origin, &e))?;
            let log = Log::open_or_create(
                store.clone(),
                &origin,
                Arc::new(PlainEntries),
                Arc::new(NoteCheckpointSigner::new(vec![signer])),
                log_options.clone(),
            )
            .await?;
            v2_logs.push(V2Log {
                generation,
                log,
                key: key.clone(),
                log_id: ed25519_key_id(&origin, &ed25519_raw(key.as_ref())),
                origin,
            });
        }
        let active_v2 = v2_logs.last().expect("the active v2 log is listed");
        let v2_witness_policy = match &config.v2_witnessing {
            Some(w) => {
                let raw = ed25519_raw(active_v2.key.as_ref());
                let log_vkey = tlog::note::NoteVerifier::ed25519(&active_v2.origin, &raw)
                    .map_err(|e| bad_name(&active_v2.origin, &e))?
                    .to_vkey();
                // The active v2 log's own URL: the public URL, then its shard's path.
                let log_url = config.public_url.as_deref().map(|u| {
                    format!(
                        "{}{}",
                        u.trim_end_matches('/'),
                        v2_shard_path(active_v2.generation)
                    )
                });
                Some(w.tlog_policy(&log_vkey, log_url.as_deref()))
            }
            None => None,
        };
        // The v1 API is at the root of the public URL. Its checkpoints are signed under the
        // host name, not their origin `<host> - <tree ID>` (a key name cannot hold spaces), so
        // the `log` line names the key as the signatures do.
        let v1_witness_policy = match (&config.v1_witnessing, shards.last()) {
            (Some(w), Some(active)) => {
                let log_vkey = tlog::note::NoteVerifier::from_spki(
                    &config.hostname,
                    active.key.public_key_der(),
                )
                .map_err(|e| bad_name(&config.hostname, &e))?
                .to_vkey();
                let log_url = config
                    .public_url
                    .as_deref()
                    .map(|u| u.trim_end_matches('/'));
                Some(w.tlog_policy(&log_vkey, log_url))
            }
            _ => None,
        };
        let v1_witnessed = match (config.v1_witnessing, shards.last()) {
            (Some(w), Some(active)) => Some(witness_client::WitnessedCheckpoint::spawn(
                active.log.clone(),
                w,
            )),
            _ => None,
        };
        let v2_witnessed = config
            .v2_witnessing
            .map(|w| witness_client::WitnessedCheckpoint::spawn(active_v2.log.clone(), w));
        Ok(Arc::new(Self {
            shards,
            v2_logs,
            v1_log_id: sigstack_keys::key_id(config.v1_key.public_key_der()),
            v1_key: config.v1_key,
            entry_location_base: config
                .public_url
                .map(|u| u.trim_end_matches('/').to_owned())
                .unwrap_or_default(),
            limits: config.limits,
            metrics,
            verifiers: rekor_types::VerifierCache::new(config.verifier_cache),
            v1_witnessed,
            v2_witnessed,
            v2_witness_policy,
            v1_witness_policy,
            hostname: config.hostname,
        }))
    }

    /// The service's metrics: upstream's (`rekor_new_entries`, `rekor_qps_by_api`, …), ours and
    /// the logs' (`tlog_*`), for whoever serves `/metrics` ([`sigstack_http::metrics_router`]).
    pub fn metrics(&self) -> &sigstack_http::MetricsRegistry {
        &self.metrics.registry
    }

    /// The v1 log ID: SHA-256 of the v1 key's DER SPKI (what `trusted_root.json` lists).
    pub fn v1_log_id(&self) -> [u8; 32] {
        self.v1_log_id
    }

    /// The active v2 log's ID: SHA-256(origin ‖ 0x0A ‖ 0x01 ‖ raw Ed25519 key).
    pub fn v2_log_id(&self) -> [u8; 32] {
        self.active_v2().log_id
    }

    /// The DER SPKI of the v1 log key.
    pub fn v1_public_key_der(&self) -> &[u8] {
        self.v1_key.public_key_der()
    }

    /// The active v2 log's witness policy as a C2SP tlog-policy file (what
    /// `/api/v2/witness-policy` serves), if it has witnesses.
    pub fn v2_witness_policy(&self) -> Option<&str> {
        self.v2_witness_policy.as_deref()
    }

    /// The active v1 shard's witness policy (what `/api/v1/log/witness-policy` serves), if it
    /// has witnesses.
    pub fn v1_witness_policy(&self) -> Option<&str> {
        self.v1_witness_policy.as_deref()
    }

    /// What a witness of the active v1 shard is configured with: its checkpoints' origin
    /// (`<name> - <tree ID>`), the name they are signed under, and the DER SPKI of its key.
    pub fn v1_active_checkpoints(&self) -> (&str, &str, &[u8]) {
        let active = self.active();
        (
            active.log.origin(),
            &self.hostname,
            active.key.public_key_der(),
        )
    }

    /// The DER SPKI of the active v2 log's key.
    pub fn v2_public_key_der(&self) -> &[u8] {
        self.active_v2().key.public_key_der()
    }

    /// The active v2 log's origin.
    pub fn v2_origin(&self) -> &str {
        &self.active_v2().origin
    }

    /// The active v2 log's path below the public URL ([`v2_shard_path`]): where writers send
    /// v2 entries, and what `signing_config` names.
    pub fn v2_path(&self) -> String {
        v2_shard_path(self.active_v2().generation)
    }

    pub(crate) fn active_v2(&self) -> &V2Log {
        self.v2_logs.last().expect("a Rekor has an active v2 log")
    }

    /// The active v1 shard's log, sequencer and store: for the load generator, which grows it
    /// with synthetic entries before measuring appends on a large log (`--grown`).
    #[cfg(feature = "loadgen")]
    pub fn active_v1_log(&self) -> &Log {
        &self.active().log
    }

    pub(crate) fn active(&self) -> &Shard {
        self.shards
            .last()
            .expect("a shard layout has an active shard")
    }

    pub(crate) fn shard_by_tree_id(&self, tree_id: i64) -> Option<&Shard> {
        self.shards.iter().find(|s| s.tree_id == tree_id)
    }

    /// The shard holding global index `index`, and the index within it.
    pub(crate) fn shard_for_index(&self, index: u64) -> Option<(&Shard, u64)> {
        self.shards
            .iter()
            .rev()
            .find(|s| s.offset <= index)
            .map(|s| (s, index - s.offset))
    }
}

impl sigstack_http::BodyPolicy for Rekor {
    fn max_body_bytes(&self) -> usize {
        self.limits.max_body_bytes
    }
}

/// How long a readiness probe waits for the database.
const READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// `/readyz`: the active v1 shard and the v2 log take writes (sequencer running and not
/// wedged, database answering: [`Log::check_ready`]), and both log keys sign.
async fn readyz(
    axum::extract::State(rekor): axum::extract::State<Arc<Rekor>>,
) -> sigstack_http::Readiness {
    let active = &rekor
        .shards
        .last()
        .expect("a Rekor has an active shard")
        .log;
    sigstack_http::Readiness::new()
        .check("v1 log", active.check_ready(READY_TIMEOUT).await)
        .check(
            "v2 log",
            rekor.active_v2().log.check_ready(READY_TIMEOUT).await,
        )
        .check("v1 key", sigstack_keys::check_signer(rekor.v1_key.as_ref()))
        .check(
            "v2 key",
            sigstack_keys::check_signer(rekor.active_v2().key.as_ref()),
        )
}

/// The raw 32-byte key of an Ed25519 signer (the end of its SPKI).
fn ed25519_raw(key: &dyn Signer) -> [u8; 32] {
    key.public_key_der()[12..]
        .try_into()
        .expect("an Ed25519 SPKI ends in the 32-byte key")
}

/// Errors in upstream's shapes: grpc-gateway's on the v2 routes (rekor-tiles), go-swagger's on
/// v1 and anything else.
fn error_shape(path: &str) -> ErrorShape {
    if v2::serves(path) {
        ErrorShape::GrpcGateway
    } else {
        ErrorShape::Swagger
    }
}

/// The Rekor routes (v1 and v2), served at the root of the listener.
pub fn router(rekor: Arc<Rekor>) -> Router {
    let limit = rekor.limits.max_body_bytes;
    let http = rekor.metrics.http.clone();
    let router = Router::new()
        .merge(v1::routes())
        .merge(v2::routes(&rekor))
        .route(
            "/healthz",
            get(|| async { Json(serde_json::json!({"status": "ok"})) }),
        )
        .route("/readyz", get(readyz))
        .fallback(sigstack_http::unknown_path);
    let router = sigstack_http::with_error_shape_by_path(router, error_shape)
        .layer(axum::middleware::from_fn_with_state(
            rekor.clone(),
            metrics::count_writes,
        ))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(rekor);
    sigstack_http::with_access_log(router, "rekor", Some(http))
}
