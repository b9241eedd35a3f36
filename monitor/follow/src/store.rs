//! Where the monitor keeps what it verified and what it found.

use async_trait::async_trait;
use monitor::Verified;
use sqlx::{AnyPool, Row};
use tlog_store::{Backend, StoreError};

use crate::StoredFinding;

/// The monitor's state: per log, the last checkpoint verified; and every finding reported.
///
/// Contract every implementation MUST hold:
///
/// - **Compare-and-swap**: `advance(log, expected, new)` replaces the state of `log` only if
///   the stored one is exactly `expected` (same size and root; `None`: no row), atomically with
///   respect to every other call, and returns `Ok(false)` otherwise, changing nothing. Two
///   monitors sharing a database can therefore not move a log's state past each other's
///   verification, and the stored size never goes back.
/// - **Durability**: once `advance` or `record` returns `Ok`, the write survives a crash.
/// - **Order**: findings are returned newest first, by the order `record` was called in, each
///   with an id that grows with that order.
/// - **Errors**: an `Err` means the outcome is unknown; the caller retries the whole round.
#[async_trait]
pub trait MonitorStore: Send + Sync {
    /// The verified state of `log`, if any.
    async fn get(&self, log: &str) -> Result<Option<Verified>, StoreError>;

    /// Replaces the state of `log` by `new` if it is still `expected`; see the contract.
    async fn advance(
        &self,
        log: &str,
        expected: Option<&Verified>,
        new: &Verified,
    ) -> Result<bool, StoreError>;

    /// Records a finding (its JSON line), returning its id.
    async fn record(&self, finding: &StoredFinding) -> Result<i64, StoreError>;

    /// The newest `limit` findings with an id above `after`, newest first.
    async fn findings(&self, after: i64, limit: u32) -> Result<Vec<StoredFinding>, StoreError>;
}

/// [`MonitorStore`] in the stack's PostgreSQL or SQLite database (tables `monitor_logs` and
/// `monitor_findings`, migration 0006).
#[derive(Debug, Clone)]
pub struct SqlMonitorStore {
    pool: AnyPool,
    backend: Backend,
}

impl SqlMonitorStore {
    /// Connects to `url` (`postgres://…` or `sqlite://PATH`) and applies the schema migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let (pool, backend) = tlog_store::open_pool(url, 4, 2).await?;
        Ok(SqlMonitorStore { pool, backend })
    }

    /// The query with the backend's placeholders (`$1` for PostgreSQL, `?1` for SQLite).
    fn sql<'a>(&self, query: &'a str) -> std::borrow::Cow<'a, str> {
        self.backend.placeholders(query)
    }
}

#[async_trait]
impl MonitorStore for SqlMonitorStore {
    async fn get(&self, log: &str) -> Result<Option<Verified>, StoreError> {
        let row =
            sqlx::query(&self.sql(
                "SELECT tree_size, root_hash, checkpoint FROM monitor_logs WHERE log_url = $1",
            ))
            .bind(log.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::db)?;
        let Some(row) = row else { return Ok(None) };
        let size: i64 = row.try_get("tree_size").map_err(StoreError::db)?;
        let root: Vec<u8> = row.try_get("root_hash").map_err(StoreError::db)?;
        let note: Vec<u8> = row.try_get("checkpoint").map_err(StoreError::db)?;
        let size = u64::try_from(size)
            .map_err(|_| StoreError::Corrupt(format!("negative monitor size {size}")))?;
        let root = root.try_into().map_err(|r: Vec<u8>| {
            StoreError::Corrupt(format!("monitor root hash of {} bytes", r.len()))
        })?;
        Ok(Some(Verified::restore(size, root, note)))
    }

    async fn advance(
        &self,
        log: &str,
        expected: Option<&Verified>,
        new: &Verified,
    ) -> Result<bool, StoreError> {
        // One statement each way, as the witness's store: PostgreSQL re-checks an UPDATE's
        // WHERE on the row it waited for, and SQLite runs one writer at a time.
        let result = match expected {
            None => sqlx::query(&self.sql(
                "INSERT INTO monitor_logs (log_url, tree_size, root_hash, checkpoint, updated_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (log_url) DO NOTHING",
            ))
            .bind(log.to_string())
            .bind(tlog_store::to_i64(new.size())?)
            .bind(new.root_hash().to_vec())
            .bind(new.note().to_vec())
            .bind(crate::sink::now_ms())
            .execute(&self.pool)
            .await,
            Some(expected) => {
                sqlx::query(&self.sql(
                    "UPDATE monitor_logs \
                     SET tree_size = $1, root_hash = $2, checkpoint = $3, updated_at = $4 \
                     WHERE log_url = $5 AND tree_size = $6 AND root_hash = $7",
                ))
                .bind(tlog_store::to_i64(new.size())?)
                .bind(new.root_hash().to_vec())
                .bind(new.note().to_vec())
                .bind(crate::sink::now_ms())
                .bind(log.to_string())
                .bind(tlog_store::to_i64(expected.size())?)
                .bind(expected.root_hash().to_vec())
                .execute(&self.pool)
                .await
            }
        }
        .map_err(StoreError::db)?;
        Ok(result.rows_affected() == 1)
    }

    async fn record(&self, finding: &StoredFinding) -> Result<i64, StoreError> {
        let row = sqlx::query(&self.sql(
            "INSERT INTO monitor_findings (found_at, kind, log_url, body) \
             VALUES ($1, $2, $3, $4) RETURNING id",
        ))
        .bind(finding.found_at)
        .bind(finding.finding.kind.as_str().to_string())
        .bind(finding.finding.log.clone())
        .bind(serde_json::to_string(&finding.finding).unwrap_or_default())
        .fetch_one(&self.pool)
        .await
        .map_err(StoreError::db)?;
        row.try_get("id").map_err(StoreError::db)
    }

    async fn findings(&self, after: i64, limit: u32) -> Result<Vec<StoredFinding>, StoreError> {
        let rows = sqlx::query(&self.sql(
            "SELECT id, found_at, body FROM monitor_findings WHERE id > $1 ORDER BY id DESC LIMIT $2",
        ))
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::db)?;
        rows.into_iter()
            .map(|row| {
                let body: String = row.try_get("body").map_err(StoreError::db)?;
                let finding = serde_json::from_str(&body)
                    .map_err(|e| StoreError::Corrupt(format!("stored finding: {e}")))?;
                Ok(StoredFinding {
                    id: row.try_get("id").map_err(StoreError::db)?,
                    found_at: row.try_get("found_at").map_err(StoreError::db)?,
                    finding,
                })
            })
            .collect()
    }
}
