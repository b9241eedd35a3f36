//! Storage and sequencing for transparency logs built on the pure [`tlog`] core.
//!
//! - [`LogStore`]: the one storage trait, with its durability and concurrency contract written
//!   on it; [`SqlStore`] implements it on PostgreSQL (production) and SQLite (embedded) through
//!   sqlx. One store holds many logs. On PostgreSQL it follows a failover named by a libpq
//!   multi-host URL (`failover.rs`) and reads from read replicas where they hold what is asked
//!   for (`replicas.rs`).
//! - [`Log`]: a handle on one log. Appends go through its batching sequencer and resolve only
//!   once the batch holding them is committed; reads (checkpoint, tiles, entries, proofs) are
//!   served from memory where possible and from the store otherwise.
//! - [`LogMetrics`]: what the sequencers and proof reads measure, owned by the service that
//!   registers them and handed to its logs in [`LogOptions`].
//! - [`plan`]: the pure part of an integration round (assign indexes, deduplicate, grow the tree
//!   edge), which the store runs inside its transaction.
//!
//! See `docs/design/life-of-a-leaf.md` for the order of operations and why it is crash-safe.

mod columns;
mod error;
mod failover;
mod log;
mod memo;
mod metrics;
pub mod plan;
mod replicas;
mod runtime;
mod sequencer;
mod signer;
mod sql;
mod store;

pub use error::{AppendError, NotReady, ReadError, StoreError};
pub use log::{AppendResult, Appended, Log, LogOptions, DEFAULT_HEAD_MAX_AGE, DEFAULT_TILE_CACHE};
pub use metrics::LogMetrics;
pub use plan::{EntryEncoder, IndexKey, PlainEntries, StoredEntry, Submission};
pub use replicas::split_url_list;
pub use runtime::wait_for_sequencers;
pub use sequencer::{
    SequencerConfig, DEFAULT_MAX_BATCH, DEFAULT_MAX_DELAY, DEFAULT_MAX_PENDING,
    DEFAULT_WEDGED_AFTER,
};
pub use signer::{CheckpointSigner, NoteCheckpointSigner};
pub use sql::{open_pool, to_i64, Backend, SqlStore};
pub use store::{IntegrateRequest, Integrated, LogHead, LogId, LogStore};
