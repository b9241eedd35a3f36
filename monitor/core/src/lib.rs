//! The pure core of `sigstack monitor`: everything a monitor decides, with no I/O.
//!
//! A monitor follows transparency logs (Rekor v2 and static-ct-api CT logs, whose reads are
//! C2SP tlog-tiles) and reports what it finds:
//!
//! - [`follow`]: the checkpoint-by-checkpoint state of one log. A new checkpoint must carry the
//!   log's signature ([`witness::Log::open`]), must not be smaller than the last one verified
//!   (roll-back), must not differ from it at the same size (fork), and the entries served
//!   between the two must hash, appended to the verified tree's right edge, to its root (which
//!   proves consistency and that no entry was dropped or rewritten, in one computation).
//!   Witnesses' cosigned checkpoints are compared the same way (split view).
//! - [`facts`]: what one entry reveals (certificates, public keys, artifact digests), from any
//!   Rekor body or CT data-tile leaf.
//! - [`watch`]: the watch list, read from rekor-monitor's YAML, matched against those facts.
//! - [`merge_delay`]: late integration, from a CT log's tree head times and SCTs, or from a
//!   witness's cosignature times.
//! - [`finding`]: what the monitor reports, one JSON object per finding.
//!
//! The driver (`monitor_follow`) fetches, persists and reports; it advances a log's verified
//! state only through [`follow::Verified`] values this crate produced.

pub mod facts;
pub mod finding;
pub mod follow;
pub mod merge_delay;
pub mod watch;

pub use facts::{CertFacts, EntryFacts};
pub use finding::{Finding, FindingKind};
pub use follow::{Growth, Observation, Verified};
pub use watch::{MonitorConfig, WatchList};
