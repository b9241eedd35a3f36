//! The driver of `sigstack monitor`: everything [`monitor`] decides, fed from the network and
//! kept in the database.
//!
//! One round per log ([`Monitor::round`]): fetch the checkpoint; [`monitor::follow::observe`]
//! it against the verified state; when the log grew, read the verified tree's right edge from
//! the log's tiles and every new entry from its entry bundles, and let
//! [`monitor::Growth`] decide; store the new state by compare-and-swap; then compare each
//! witness's cosigned checkpoint of the log with it. Findings go to the [`FindingSink`]
//! (JSON lines, webhook, database, metrics). A log that cannot be read is retried with
//! back-off and reported as [`monitor::FindingKind::Unreachable`] once it has failed for
//! longer than configured; nothing it answered in between becomes state.

mod api;
mod metrics;
mod monitor_loop;
mod sink;
mod source;
mod store;

pub use api::{router, MAX_FINDINGS_PAGE};
pub use metrics::Metrics;
pub use monitor_loop::{FollowedLog, Monitor, MonitorOptions, RoundOutcome, WitnessSource};
pub use sink::{FindingSink, StoredFinding};
pub use source::{FetchError, LogSource, ServedEntry};
pub use store::{MonitorStore, SqlMonitorStore};
