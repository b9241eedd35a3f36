use crate::error::{AppendError, NotReady, ReadError, StoreError};
use crate::metrics::{LogMetrics, OneLog};
use crate::plan::{EntryEncoder, StoredEntry, Submission};
use crate::sequencer::{
    Pending, Progress, Sequenced, Sequencer, SequencerConfig, SharedHead, Window,
};
use crate::signer::CheckpointSigner;
use crate::store::{LogHead, LogId, LogStore};
use lru::LruCache;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tlog::merkle::{self, Hash, NodeId};
use tlog::tile::{self, TileId, TileSet, TreeEdge, TILE_WIDTH};
use tokio::sync::{mpsc, oneshot};

/// How a [`Log`] sequences and caches.
#[derive(Debug, Clone)]
pub struct LogOptions {
    /// Batching of appends, and when a stalled sequencer reads as wedged
    /// ([`SequencerConfig::wedged_after`]).
    pub sequencer: SequencerConfig,
    /// How many full (immutable) hash tiles to keep in memory: 8 KiB each.
    pub tile_cache: usize,
    /// How old the in-memory head may get before a read checks the store for a newer one
    /// (written by another process sharing the database).
    pub head_max_age: Duration,
    /// Where the log's sequencer and proof reads are measured: the service's [`LogMetrics`],
    /// registered with its registry (the default is registered nowhere).
    pub metrics: LogMetrics,
}

/// Default number of cached full tiles (32 MiB).
pub const DEFAULT_TILE_CACHE: usize = 4096;
/// Default age after which the head is re-read from the store.
pub const DEFAULT_HEAD_MAX_AGE: Duration = Duration::from_millis(500);

impl Default for LogOptions {
    fn default() -> Self {
        Self {
            sequencer: SequencerConfig::default(),
            tile_cache: DEFAULT_TILE_CACHE,
            head_max_age: DEFAULT_HEAD_MAX_AGE,
            metrics: LogMetrics::default(),
        }
    }
}

/// An acknowledged append: the entry is committed and provable.
#[derive(Debug, Clone)]
pub struct AppendResult {
    /// The entry as stored (for a duplicate: the original entry, with its original index).
    pub entry: StoredEntry,
    /// True when the log already held an entry with the same identity.
    pub duplicate: bool,
    /// The committed head the proof is against.
    pub head: Arc<LogHead>,
    /// Inclusion proof of the entry in the tree of `head.size`.
    pub inclusion_proof: Vec<Hash>,
}

/// An acknowledged append without a proof (for logs that answer with something else, such as
/// a CT log's SCT).
#[derive(Debug, Clone)]
pub struct Appended {
    /// The entry as stored (for a duplicate: the original entry, with its original index).
    pub entry: StoredEntry,
    /// True when the log already held an entry with the same identity.
    pub duplicate: bool,
    /// The committed head the entry is in.
    pub head: Arc<LogHead>,
}

/// A handle on one log of a store: appends through the batching sequencer, reads from memory
/// and the store. Cheap to clone; the sequencer stops when the last clone is dropped.
#[derive(Clone)]
pub struct Log {
    inner: Arc<Inner>,
}

struct Inner {
    id: LogId,
    origin: String,
    store: Arc<dyn LogStore>,
    queue: mpsc::Sender<Pending>,
    head: SharedHead,
    head_max_age: Duration,
    /// Full hash tiles: immutable, so caching them can never serve stale data.
    tiles: Mutex<LruCache<TileId, Arc<Vec<Hash>>>>,
    metrics: OneLog,
    /// Shared with the sequencer: what waits and when it last moved.
    progress: Arc<Progress>,
    /// Shared with the sequencer: when a submission ends a round's batching window early.
    window: Arc<Window>,
    /// [`SequencerConfig::wedged_after`].
    wedged_after: Duration,
}

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Log")
            .field("origin", &self.inner.origin)
            .finish_non_exhaustive()
    }
}

impl Log {
    /// Creates a new, empty log named `origin`, with a signed checkpoint of size 0. Fails if it
    /// exists: creating a log is never implicit.
    pub async fn create(
        store: &dyn LogStore,
        origin: &str,
        signer: &dyn CheckpointSigner,
    ) -> Result<LogId, StoreError> {
        let empty = merkle::empty_root();
        let checkpoint = signer
            .sign(origin, 0, &empty, now_ms())
            .map_err(StoreError::Signing)?;
        store.create_log(origin, &checkpoint).await
    }

    /// Opens an existing log and starts its sequencer.
    pub async fn open(
        store: Arc<dyn LogStore>,
        origin: &str,
        encoder: Arc<dyn EntryEncoder>,
        signer: Arc<dyn CheckpointSigner>,
        options: LogOptions,
    ) -> Result<Self, StoreError> {
        let id = store
            .find_log(origin)
            .await?
            .ok_or_else(|| StoreError::LogNotFound(origin.to_string()))?;
        store.export_metrics(&options.metrics);
        let head = store.head(id).await?;
        // Recovery is just this: the committed head and its edge tiles are the whole state.
        let needed: Vec<TileId> = TreeEdge::required_tiles(head.size)
            .into_iter()
            .map(|(t, _)| t)
            .collect();
        let mut set = TileSet::new();
        for (tid, hashes) in store.read_tiles(id, &needed).await? {
            set.insert(tid, hashes);
        }
        let edge = TreeEdge::from_tiles(head.size, &set)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        if edge.root() != head.root {
            return Err(StoreError::Corrupt(format!(
                "log {origin:?}: root of the edge tiles at size {} differs from the stored head",
                head.size
            )));
        }
        let metrics = options.metrics.for_log(origin);
        metrics.tree_size(head.size);
        let shared: SharedHead = Arc::new(Mutex::new((Arc::new(head), Instant::now())));
        let (queue, rx) = mpsc::channel(options.sequencer.max_pending.max(1));
        let progress = Arc::new(Progress::new());
        let window = Arc::new(Window::new());
        let sequencer = Sequencer {
            store: store.clone(),
            log: id,
            origin: origin.to_string(),
            edge,
            encoder,
            signer,
            config: options.sequencer.clone(),
            head: shared.clone(),
            metrics: metrics.clone(),
            progress: progress.clone(),
            window: window.clone(),
        };
        // On its own runtime: see `runtime.rs`.
        crate::runtime::spawn_sequencer(sequencer.run(rx));
        let cache = NonZeroUsize::new(options.tile_cache.max(1)).expect("non-zero");
        Ok(Self {
            inner: Arc::new(Inner {
                id,
                origin: origin.to_string(),
                store,
                queue,
                head: shared,
                head_max_age: options.head_max_age,
                tiles: Mutex::new(LruCache::new(cache)),
                metrics,
                progress,
                window,
                wedged_after: options.sequencer.wedged_after,
            }),
        })
    }

    /// Opens the log, creating it first if the store has none by that origin.
    pub async fn open_or_create(
        store: Arc<dyn LogStore>,
        origin: &str,
        encoder: Arc<dyn EntryEncoder>,
        signer: Arc<dyn CheckpointSigner>,
        options: LogOptions,
    ) -> Result<Self, StoreError> {
        if store.find_log(origin).await?.is_none() {
            match Log::create(store.as_ref(), origin, signer.as_ref()).await {
                Ok(_) | Err(StoreError::LogExists(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Self::open(store, origin, encoder, signer, options).await
    }

    /// The log's origin.
    pub fn origin(&self) -> &str {
        &self.inner.origin
    }

    /// The log's key in its store.
    pub fn id(&self) -> LogId {
        self.inner.id
    }

    /// The store the log lives in.
    pub fn store(&self) -> &Arc<dyn LogStore> {
        &self.inner.store
    }

    /// Appends an entry and waits until it is committed. Returns the entry's index, the head it
    /// was committed under and its inclusion proof. A resubmission (same identity) returns the
    /// original entry with `duplicate` set.
    pub async fn append(&self, submission: Submission) -> Result<AppendResult, AppendError> {
        let sequenced = self.sequence(submission, true).await?;
        let head = sequenced.head;
        let inclusion_proof = match sequenced.inclusion_proof {
            Some(proof) => proof,
            None => {
                self.prove_inclusion(sequenced.entry.index, head.size, Some(&sequenced.overlay))
                    .await?
            }
        };
        Ok(AppendResult {
            entry: sequenced.entry,
            duplicate: sequenced.duplicate,
            head,
            inclusion_proof,
        })
    }

    /// Like [`Log::append`], without computing the inclusion proof.
    pub async fn append_entry(&self, submission: Submission) -> Result<Appended, AppendError> {
        let sequenced = self.sequence(submission, false).await?;
        Ok(Appended {
            entry: sequenced.entry,
            duplicate: sequenced.duplicate,
            head: sequenced.head,
        })
    }

    async fn sequence(
        &self,
        submission: Submission,
        want_proof: bool,
    ) -> Result<Sequenced, AppendError> {
        let (reply, answer) = oneshot::channel();
        // Counted before it is queued: once queued, the sequencer may finish its round (and
        // take it off the count) before this task runs again.
        self.inner.progress.submitted();
        self.inner
            .queue
            .try_send(Pending {
                submission,
                want_proof,
                reply,
                arrived: tokio::time::Instant::now(),
            })
            .map_err(|e| {
                self.inner.progress.done(1);
                match e {
                    mpsc::error::TrySendError::Full(_) => AppendError::Pushback,
                    mpsc::error::TrySendError::Closed(_) => AppendError::ShuttingDown,
                }
            })?;
        let queue = &self.inner.queue;
        self.inner
            .window
            .queued(queue.max_capacity() - queue.capacity());
        answer.await.map_err(|_| AppendError::ShuttingDown)?
    }

    /// Whether the log can take writes now, checked in this order:
    /// - its sequencer runs ([`NotReady::SequencerStopped`] when not);
    /// - it is not wedged: when submissions wait, a round has finished within the last
    ///   [`SequencerConfig::wedged_after`] ([`NotReady::SequencerWedged`] when not; an idle log
    ///   is never wedged, and a round that failed still counts as progress: the database check
    ///   reports that case);
    /// - the database answers one read of the head (not the cached one) within `timeout`
    ///   ([`NotReady::DatabaseTimeout`] or [`NotReady::Store`] when not).
    ///
    /// The sequencer part reads two atomics; only the database part does I/O.
    pub async fn check_ready(&self, timeout: Duration) -> Result<(), NotReady> {
        if self.inner.queue.is_closed() {
            return Err(NotReady::SequencerStopped);
        }
        if let Some((waiting, stalled)) = self.inner.progress.stall(self.inner.wedged_after) {
            return Err(NotReady::SequencerWedged {
                waiting,
                stalled,
                bound: self.inner.wedged_after,
            });
        }
        match tokio::time::timeout(timeout, self.inner.store.head(self.inner.id)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.into()),
            Err(_) => Err(NotReady::DatabaseTimeout(timeout)),
        }
    }

    /// The latest committed head, at most `head_max_age` older than the store's.
    pub async fn head(&self) -> Result<Arc<LogHead>, StoreError> {
        let (cached, at) = self.inner.head.lock().expect("head lock").clone();
        if at.elapsed() < self.inner.head_max_age {
            return Ok(cached);
        }
        self.reread_head().await
    }

    /// The latest committed head, of at least `size` entries if the store has one: the cached
    /// head when it is large enough, else the store's, read now. Another process sharing the
    /// database may have committed entries after this one's cached head, and handed out an
    /// entry, a proof or a checkpoint of that larger tree; a read asking for it here must find
    /// it, not a "not yet" until the cache expires. Smaller than `size` only when the log
    /// really is smaller.
    pub async fn head_covering(&self, size: u64) -> Result<Arc<LogHead>, StoreError> {
        self.head_where(|head| head.size >= size).await
    }

    /// [`Log::head`], re-read from the store at once when the cached head fails `fits`.
    async fn head_where(
        &self,
        fits: impl Fn(&LogHead) -> bool,
    ) -> Result<Arc<LogHead>, StoreError> {
        let head = self.head().await?;
        if fits(&head) {
            return Ok(head);
        }
        self.reread_head().await
    }

    /// Reads the head from the store, and keeps it unless a larger one is cached already.
    async fn reread_head(&self) -> Result<Arc<LogHead>, StoreError> {
        let fresh = Arc::new(self.inner.store.head(self.inner.id).await?);
        let mut shared = self.inner.head.lock().expect("head lock");
        if fresh.size >= shared.0.size {
            *shared = (fresh, Instant::now());
        }
        Ok(shared.0.clone())
    }

    /// Inclusion proof of the entry at `index` in the tree of `size`.
    pub async fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, ReadError> {
        self.ensure_within_log(size).await?;
        if index >= size {
            return Err(ReadError::OutOfRange(format!(
                "index {index} is not in a tree of size {size}"
            )));
        }
        let started = Instant::now();
        let proof = self.prove_inclusion(index, size, None).await?;
        self.inner.metrics.inclusion_proof(started.elapsed());
        Ok(proof)
    }

    /// Consistency proof from the tree of size `old` to the tree of size `new`.
    pub async fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, ReadError> {
        self.ensure_within_log(new).await?;
        if old == 0 || old > new {
            return Err(ReadError::OutOfRange(format!(
                "no consistency proof from size {old} to size {new}: need 0 < first <= second"
            )));
        }
        let started = Instant::now();
        let ranges = merkle::consistency_proof_ranges(old, new)?;
        let proof = self.hash_ranges(ranges, new, None).await?;
        self.inner.metrics.consistency_proof(started.elapsed());
        Ok(proof)
    }

    /// The root hash of the tree of `size` (at most the current size).
    pub async fn root_at(&self, size: u64) -> Result<Hash, ReadError> {
        self.ensure_within_log(size).await?;
        let range = merkle::LeafRange {
            start: 0,
            end: size,
        };
        let tiles = self.tiles_for_nodes(&range.nodes(), size, None).await?;
        Ok(range.hash(&tiles)?)
    }

    async fn prove_inclusion(
        &self,
        index: u64,
        size: u64,
        overlay: Option<&TileSet>,
    ) -> Result<Vec<Hash>, ReadError> {
        let ranges = merkle::inclusion_proof_ranges(index, size)?;
        self.hash_ranges(ranges, size, overlay).await
    }

    /// The hashes of proof ranges in the tree of `size`, read from tiles.
    async fn hash_ranges(
        &self,
        ranges: Vec<merkle::LeafRange>,
        size: u64,
        overlay: Option<&TileSet>,
    ) -> Result<Vec<Hash>, ReadError> {
        let tiles = self
            .tiles_for_nodes(&merkle::nodes_of(&ranges), size, overlay)
            .await?;
        Ok(ranges
            .into_iter()
            .map(|r| r.hash(&tiles))
            .collect::<Result<_, _>>()?)
    }

    /// Refuses tree sizes the log has not reached.
    async fn ensure_within_log(&self, size: u64) -> Result<(), ReadError> {
        let head = self.head_covering(size).await?;
        if size > head.size {
            return Err(ReadError::OutOfRange(format!(
                "tree size {size} is larger than the log ({})",
                head.size
            )));
        }
        Ok(())
    }

    /// Gathers the tiles holding `nodes` in the tree of `size`: from the overlay, then the cache
    /// of full tiles, then (in one query) the store.
    async fn tiles_for_nodes(
        &self,
        nodes: &[NodeId],
        size: u64,
        overlay: Option<&TileSet>,
    ) -> Result<TileSet, ReadError> {
        let mut set = TileSet::new();
        let mut missing = Vec::new();
        for (id, width) in tile::tiles_for(nodes, size) {
            if let Some(hashes) = overlay
                .and_then(|o| o.get(id))
                .filter(|h| h.len() as u64 >= width)
            {
                set.insert(id, hashes.to_vec());
            } else if let Some(hashes) = self.cached_tile(id) {
                set.insert(id, hashes.as_ref().clone());
            } else {
                missing.push((id, width));
            }
        }
        if !missing.is_empty() {
            let ids: Vec<TileId> = missing.iter().map(|(id, _)| *id).collect();
            for (id, hashes) in self.inner.store.read_tiles(self.inner.id, &ids).await? {
                self.cache_if_full(id, &hashes);
                set.insert(id, hashes);
            }
            for (id, width) in missing {
                if !set.has(id, width) {
                    return Err(StoreError::Corrupt(format!(
                        "tile level {} index {} is missing or narrower than {width} hashes",
                        id.level, id.index
                    ))
                    .into());
                }
            }
        }
        Ok(set)
    }

    fn cached_tile(&self, id: TileId) -> Option<Arc<Vec<Hash>>> {
        self.inner
            .tiles
            .lock()
            .expect("tile cache lock")
            .get(&id)
            .cloned()
    }

    fn cache_if_full(&self, id: TileId, hashes: &[Hash]) {
        if hashes.len() as u64 == TILE_WIDTH {
            self.inner
                .tiles
                .lock()
                .expect("tile cache lock")
                .put(id, Arc::new(hashes.to_vec()));
        }
    }

    /// A hash tile as served by tlog-tiles (`width` = `None` for a full tile): the concatenated
    /// hashes, or `None` when the log has no such tile at that width yet.
    pub async fn tile(&self, id: TileId, width: Option<u8>) -> Result<Option<Vec<u8>>, ReadError> {
        let want = width.map_or(TILE_WIDTH, u64::from);
        let head = self
            .head_where(|head| id.width_at(head.size) >= want)
            .await?;
        if id.width_at(head.size) < want {
            return Ok(None);
        }
        let hashes = match self.cached_tile(id) {
            Some(h) => h.as_ref().clone(),
            None => {
                let mut tiles = self.inner.store.read_tiles(self.inner.id, &[id]).await?;
                match tiles.pop() {
                    Some((_, h)) => {
                        self.cache_if_full(id, &h);
                        h
                    }
                    None => return Ok(None),
                }
            }
        };
        Ok(hashes.get(..want as usize).map(|h| h.concat()))
    }

    /// An entry bundle as served by tlog-tiles: the entries of bundle `index`, `width` of them
    /// (`None` = a full bundle of 256), or `None` when the log does not have them yet.
    pub async fn entry_bundle(
        &self,
        index: u64,
        width: Option<u8>,
    ) -> Result<Option<Vec<u8>>, ReadError> {
        let Some(entries) = self.bundle_entries(index, width).await? else {
            return Ok(None);
        };
        let bundle = tile::encode_bundle(entries.iter().map(|e| e.data.as_slice()))
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(Some(bundle))
    }

    /// What a C2SP tlog-tiles read of `path` serves: a hash tile, or an entry bundle as the
    /// concatenation of the stored entries (a log that frames its bundles otherwise, such as a
    /// static-ct-api data tile, reads them with [`Log::bundle_entries`]). `None` when the log
    /// has no such tile (yet).
    pub async fn read_tile(
        &self,
        path: &tlog::tile::TilePath,
    ) -> Result<Option<Vec<u8>>, ReadError> {
        use tlog::tile::TilePath;
        Ok(match *path {
            TilePath::Hashes { tile, width } => self.tile(tile, width).await?,
            TilePath::Entries { index, width } => self
                .bundle_entries(index, width)
                .await?
                .map(|entries| entries.into_iter().flat_map(|e| e.data).collect()),
        })
    }

    /// The entries of bundle `index` (`width` of them, `None` = 256), for logs that frame their
    /// bundles differently (static-ct-api data tiles), or `None` when not all exist yet.
    pub async fn bundle_entries(
        &self,
        index: u64,
        width: Option<u8>,
    ) -> Result<Option<Vec<StoredEntry>>, ReadError> {
        let want = width.map_or(TILE_WIDTH, u64::from);
        let Some(end) = index
            .checked_mul(TILE_WIDTH)
            .and_then(|start| start.checked_add(want))
        else {
            return Ok(None);
        };
        let start = end - want;
        let head = self.head_covering(end).await?;
        if head.size < end {
            return Ok(None);
        }
        let entries = self
            .inner
            .store
            .read_entries(self.inner.id, start, end)
            .await?;
        if entries.len() as u64 != want {
            return Err(
                StoreError::Corrupt(format!("entries {start}..{end} are incomplete")).into(),
            );
        }
        Ok(Some(entries))
    }

    /// Stores content-addressed blobs the log's entries refer to (see [`LogStore::put_blobs`]).
    pub async fn put_blobs(&self, blobs: &[(Hash, Vec<u8>)]) -> Result<(), StoreError> {
        self.inner.store.put_blobs(self.inner.id, blobs).await
    }

    /// A blob stored with [`Log::put_blobs`].
    pub async fn blob(&self, key: &Hash) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.store.get_blob(self.inner.id, key).await
    }

    /// Entries `start..end` (clamped to the current size).
    pub async fn entries(&self, start: u64, end: u64) -> Result<Vec<StoredEntry>, ReadError> {
        let head = self.head_covering(end).await?;
        let end = end.min(head.size);
        if start >= end {
            return Ok(Vec::new());
        }
        Ok(self
            .inner
            .store
            .read_entries(self.inner.id, start, end)
            .await?)
    }

    /// The entry at `index`, if the log has one.
    pub async fn entry(&self, index: u64) -> Result<Option<StoredEntry>, ReadError> {
        Ok(self.entries(index, index.saturating_add(1)).await?.pop())
    }

    /// The entry with the given deduplication identity.
    pub async fn entry_by_identity(
        &self,
        identity: &Hash,
    ) -> Result<Option<StoredEntry>, StoreError> {
        self.inner
            .store
            .entry_by_identity(self.inner.id, identity)
            .await
    }

    /// The lowest-indexed entry with the given leaf hash.
    pub async fn entry_by_leaf_hash(
        &self,
        leaf_hash: &Hash,
    ) -> Result<Option<StoredEntry>, StoreError> {
        self.inner
            .store
            .entry_by_leaf_hash(self.inner.id, leaf_hash)
            .await
    }

    /// Indexes of entries filed under `kind`/`key` (see [`crate::IndexKey`]).
    pub async fn lookup(&self, kind: &str, key: &str, limit: u32) -> Result<Vec<u64>, StoreError> {
        self.inner
            .store
            .lookup_index(self.inner.id, kind, key, limit)
            .await
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
