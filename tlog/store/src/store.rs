use crate::error::StoreError;
use crate::plan::{EntryEncoder, Outcome, StoredEntry, Submission};
use crate::signer::CheckpointSigner;
use async_trait::async_trait;
use tlog::merkle::Hash;
use tlog::tile::{TileId, TreeEdge};

/// A log's key inside a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LogId(pub i64);

/// The committed head of a log: size, root, and the signed checkpoint for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogHead {
    /// Tree size.
    pub size: u64,
    /// RFC 6962 root hash at `size`.
    pub root: Hash,
    /// The signed checkpoint for (`size`, `root`), exactly as served.
    pub checkpoint: Vec<u8>,
}

/// Everything one integration round needs.
pub struct IntegrateRequest<'a> {
    /// The log.
    pub log: LogId,
    /// The log's origin, for the checkpoint.
    pub origin: &'a str,
    /// The caller's view of the tree edge. The store MUST check it against the committed size
    /// under the lock and rebuild it from the tiles when they differ (another process wrote).
    pub edge: &'a TreeEdge,
    /// The submissions, in arrival order.
    pub batch: &'a [Submission],
    /// Encodes new entries.
    pub encoder: &'a dyn EntryEncoder,
    /// Signs the new checkpoint.
    pub signer: &'a dyn CheckpointSigner,
    /// The time of the round, in milliseconds since the Unix epoch.
    pub now_ms: u64,
}

/// What a committed round produced.
#[derive(Debug, Clone)]
pub struct Integrated {
    /// One outcome per submission, in order.
    pub outcomes: Vec<Outcome>,
    /// The committed head after the round.
    pub head: LogHead,
    /// The tree edge after the round.
    pub edge: TreeEdge,
    /// The tiles the round wrote, at their new widths.
    pub tiles: Vec<(TileId, Vec<Hash>)>,
}

/// Where logs live. One store holds many logs, each keyed by [`LogId`].
///
/// Contract for every implementation:
/// - Durability: a call that returns `Ok` MUST have made its writes durable (a crash, power
///   loss included, right after the return loses nothing).
/// - Atomicity: [`LogStore::integrate`] MUST apply all of a round (entries, tiles, index keys,
///   head) or none of it.
/// - Exclusion: at most one round per log MUST be running at any moment, across processes
///   sharing the store (PostgreSQL: an advisory lock held for the transaction; SQLite: the
///   database write lock). The head MUST only ever move from size `n` to a size `>= n` whose
///   tree extends the one at `n`: logs never fork.
/// - Deduplication: an identity MUST appear at most once per log, enforced by the database.
/// - Reads never block on a round and see only committed data.
#[async_trait]
pub trait LogStore: Send + Sync + 'static {
    /// Takes the service's metrics, for what the store measures itself (reads routed to read
    /// replicas). [`crate::Log::open`] calls it; by default the store measures nothing.
    fn export_metrics(&self, _metrics: &crate::LogMetrics) {}

    /// Creates a log with an empty tree and the given signed checkpoint of size 0. MUST fail
    /// with [`StoreError::LogExists`] when the origin is taken.
    async fn create_log(&self, origin: &str, empty_checkpoint: &[u8]) -> Result<LogId, StoreError>;

    /// Finds a log by origin.
    async fn find_log(&self, origin: &str) -> Result<Option<LogId>, StoreError>;

    /// The committed head of a log.
    async fn head(&self, log: LogId) -> Result<LogHead, StoreError>;

    /// Reads hash tiles at their stored (latest) width. Tiles not present are left out.
    async fn read_tiles(
        &self,
        log: LogId,
        tiles: &[TileId],
    ) -> Result<Vec<(TileId, Vec<Hash>)>, StoreError>;

    /// Entries with `start <= index < end`, in index order.
    async fn read_entries(
        &self,
        log: LogId,
        start: u64,
        end: u64,
    ) -> Result<Vec<StoredEntry>, StoreError>;

    /// The entry with the given identity.
    async fn entry_by_identity(
        &self,
        log: LogId,
        identity: &Hash,
    ) -> Result<Option<StoredEntry>, StoreError>;

    /// The lowest-indexed entry with the given leaf hash.
    async fn entry_by_leaf_hash(
        &self,
        log: LogId,
        leaf_hash: &Hash,
    ) -> Result<Option<StoredEntry>, StoreError>;

    /// Indexes of the entries filed under `kind`/`key`, ascending, at most `limit`.
    async fn lookup_index(
        &self,
        log: LogId,
        kind: &str,
        key: &str,
        limit: u32,
    ) -> Result<Vec<u64>, StoreError>;

    /// Stores content-addressed blobs (`key` = the SHA-256 of `value`, by convention).
    /// Idempotent; durable when it returns.
    async fn put_blobs(&self, log: LogId, blobs: &[(Hash, Vec<u8>)]) -> Result<(), StoreError>;

    /// A blob stored with [`LogStore::put_blobs`].
    async fn get_blob(&self, log: LogId, key: &Hash) -> Result<Option<Vec<u8>>, StoreError>;

    /// Runs one integration round: under the log's lock, deduplicates, assigns indexes, writes
    /// entries, index keys and tiles, signs and stores the new checkpoint, and commits.
    async fn integrate(&self, request: IntegrateRequest<'_>) -> Result<Integrated, StoreError>;
}
