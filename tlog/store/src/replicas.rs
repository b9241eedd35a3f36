//! Reads from PostgreSQL read replicas (`--read-database-url`), never behind what the reader
//! was given.
//!
//! A streaming replica applies the primary's transactions whole and in commit order, and an
//! integration round writes a log's head row in the same transaction as its entries, tiles and
//! search keys. So a replica whose `logs.tree_size` is `n` holds every entry below `n`, every
//! tile at least as wide as in the tree of size `n`, and every search key of those entries.
//! [`SqlStore`](crate::SqlStore) routes by that:
//!
//! - a read bounded by a size goes to a replica that holds the size, else to the primary:
//!   entries below `end`; tiles and search keys of the tree the caller may know, which is the
//!   largest head this store has read from the primary or committed ([`Replicas::known`]);
//! - a lookup by hash (entry by identity or leaf hash, blob) tries a replica, and the primary
//!   when the replica has nothing: an entry another process has just handed out is found there;
//! - the head itself is read from the primary, as is everything written: it is what the sizes
//!   above are checked against.
//!
//! What a replica holds only grows, so a size read from it earlier is a safe lower bound, and it
//! is read again only when it is too small for the read at hand.

use crate::error::StoreError;
use crate::failover::WatchGuard;
use crate::sql::{connect_unmigrated, Backend};
use crate::store::LogId;
use prometheus::{IntCounter, IntCounterVec};
use sqlx::{AnyPool, Row};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

/// One read replica.
struct Replica {
    pool: AnyPool,
    /// For a multi-host replica URL: keeps its failover watcher running.
    _failover: Option<WatchGuard>,
    /// The size of each log this replica was last seen to hold.
    held: Mutex<HashMap<LogId, u64>>,
}

/// The read replicas of a store, and what routing reads to them needs.
#[derive(Default)]
pub(crate) struct Replicas {
    list: Vec<Replica>,
    /// Round-robin position among the replicas.
    next: AtomicUsize,
    /// The largest head size per log read from the primary or committed through this store.
    known: Mutex<HashMap<LogId, u64>>,
    /// Reads a replica answered.
    replica_reads: AtomicU64,
    /// Reads that went to the primary because no replica held what they needed.
    primary_reads: AtomicU64,
    /// The same two counts in the service's metrics (`tlog_store_reads_total{target}`), once
    /// a log of the service has opened on this store.
    exported: OnceLock<ExportedCounts>,
}

/// Where a read with replicas configured was answered.
#[derive(Debug, Clone, Copy)]
pub(crate) enum AnsweredBy {
    Replica,
    /// No replica held what the read needed, or a lookup found nothing on one.
    Primary,
}

struct ExportedCounts {
    replica: IntCounter,
    primary: IntCounter,
}

/// Splits a `--read-database-url` value into URLs: a comma followed by a new scheme starts the
/// next URL; other commas belong to a URL's host list (`postgres://h1,h2/db`).
pub fn split_url_list(value: &str) -> Vec<String> {
    let mut urls: Vec<String> = Vec::new();
    for piece in value.split(',') {
        let starts_url = piece.trim_start().starts_with("postgres://")
            || piece.trim_start().starts_with("postgresql://");
        match urls.last_mut() {
            Some(last) if !starts_url => {
                last.push(',');
                last.push_str(piece);
            }
            _ => urls.push(piece.trim().to_string()),
        }
    }
    urls.retain(|u| !u.is_empty());
    urls
}

impl Replicas {
    /// Opens a pool on each replica (no migrations: a replica takes its schema from the
    /// primary). A multi-host replica URL is followed through failovers like the primary's.
    pub(crate) async fn connect(urls: &[String]) -> Result<Self, StoreError> {
        let mut list = Vec::with_capacity(urls.len());
        for url in urls {
            let opened = connect_unmigrated(url, 8, 1).await?;
            if opened.backend != Backend::Postgres {
                return Err(StoreError::InvalidUrl(
                    "a read replica must be a PostgreSQL server".into(),
                ));
            }
            let watcher = opened
                .failover
                .as_ref()
                .map(|(failover, current)| failover.watch(*current, vec![opened.pool.clone()]));
            list.push(Replica {
                _failover: watcher,
                pool: opened.pool,
                held: Mutex::default(),
            });
        }
        Ok(Self {
            list,
            ..Self::default()
        })
    }

    /// Whether there is any replica to route to.
    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Records a head size of `log` read from the primary or committed.
    pub(crate) fn note_primary(&self, log: LogId, size: u64) {
        if self.is_empty() {
            return;
        }
        let mut known = self.known.lock().expect("replica routing lock");
        let entry = known.entry(log).or_insert(0);
        *entry = (*entry).max(size);
    }

    /// The largest head size of `log` this store has seen on the primary.
    pub(crate) fn known(&self, log: LogId) -> u64 {
        self.known
            .lock()
            .expect("replica routing lock")
            .get(&log)
            .copied()
            .unwrap_or(0)
    }

    /// A replica holding at least `size` entries of `log` ([`Replicas::find_holding`]), the
    /// read counted as the replica's; `None`: read from the primary, counted as its.
    pub(crate) async fn holding(&self, log: LogId, size: u64) -> Option<AnyPool> {
        if self.is_empty() {
            return None;
        }
        let found = self.find_holding(log, size).await;
        self.count(if found.is_some() {
            AnsweredBy::Replica
        } else {
            AnsweredBy::Primary
        });
        found
    }

    /// A replica holding at least `size` entries of `log`, trying them round-robin and reading
    /// again the size of those not known to hold enough; `None`: read from the primary. The
    /// caller counts the read once it knows who answered ([`Replicas::count`]).
    pub(crate) async fn find_holding(&self, log: LogId, size: u64) -> Option<AnyPool> {
        if self.is_empty() {
            return None;
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        for offset in 0..self.list.len() {
            let replica = &self.list[(start + offset) % self.list.len()];
            let cached = replica
                .held
                .lock()
                .expect("replica routing lock")
                .get(&log)
                .copied();
            if cached.is_some_and(|held| held >= size) {
                return Some(replica.pool.clone());
            }
            match held_on(&replica.pool, log).await {
                Ok(held) => {
                    replica
                        .held
                        .lock()
                        .expect("replica routing lock")
                        .insert(log, held);
                    if held >= size {
                        return Some(replica.pool.clone());
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "read replica unavailable; reading the primary")
                }
            }
        }
        tracing::debug!(
            log = log.0,
            size,
            "read from the primary: no replica holds the size"
        );
        None
    }

    /// The next replica round-robin, for lookups that fall back to the primary on a miss. The
    /// caller counts the read once it knows who answered ([`Replicas::count`]).
    pub(crate) fn any(&self) -> Option<AnyPool> {
        if self.is_empty() {
            return None;
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.list.len();
        Some(self.list[i].pool.clone())
    }

    /// Counts one read by where it was answered.
    pub(crate) fn count(&self, by: AnsweredBy) {
        let (count, exported) = match by {
            AnsweredBy::Replica => (&self.replica_reads, self.exported.get().map(|e| &e.replica)),
            AnsweredBy::Primary => (&self.primary_reads, self.exported.get().map(|e| &e.primary)),
        };
        count.fetch_add(1, Ordering::Relaxed);
        if let Some(counter) = exported {
            counter.inc();
        }
        tracing::debug!(answered_by = ?by, "read with replicas");
    }

    /// Exports the counts into `reads` (labelled by `target`), from now on and with what was
    /// counted before. Only the first call takes effect: a store serves one service.
    pub(crate) fn export_to(&self, reads: &IntCounterVec) {
        if self.is_empty() {
            return;
        }
        let exported = ExportedCounts {
            replica: reads.with_label_values(&["replica"]),
            primary: reads.with_label_values(&["primary"]),
        };
        if self.exported.set(exported).is_ok() {
            let (replica, primary) = self.counts();
            if let Some(e) = self.exported.get() {
                e.replica.inc_by(replica);
                e.primary.inc_by(primary);
            }
        }
    }

    /// (reads answered by a replica, reads that went to the primary) so far.
    pub(crate) fn counts(&self) -> (u64, u64) {
        (
            self.replica_reads.load(Ordering::Relaxed),
            self.primary_reads.load(Ordering::Relaxed),
        )
    }

    pub(crate) async fn close(&self) {
        for replica in &self.list {
            replica.pool.close().await;
        }
    }
}

/// The size of `log` a replica holds (0 before the log reached it).
async fn held_on(pool: &AnyPool, log: LogId) -> Result<u64, sqlx::Error> {
    let row = sqlx::query("SELECT tree_size FROM logs WHERE id = $1")
        .bind(log.0)
        .fetch_optional(pool)
        .await?;
    Ok(match row {
        Some(row) => u64::try_from(row.try_get::<i64, _>("tree_size")?).unwrap_or(0),
        None => 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_lists_split_at_schemes_not_at_host_lists() {
        assert_eq!(
            split_url_list("postgres://r1/db,postgresql://u@r2:5433,r3:5434/db?sslmode=disable"),
            [
                "postgres://r1/db",
                "postgresql://u@r2:5433,r3:5434/db?sslmode=disable"
            ]
        );
        assert_eq!(split_url_list("postgres://r1/db"), ["postgres://r1/db"]);
        assert_eq!(
            split_url_list(" postgres://a/db , postgres://b/db"),
            ["postgres://a/db", "postgres://b/db"]
        );
        assert!(split_url_list("").is_empty());
    }
}
