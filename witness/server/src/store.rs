//! Where the witness keeps the latest checkpoint it cosigned for each log.

use async_trait::async_trait;
use sqlx::{AnyPool, Row};
use tlog_store::{Backend, StoreError};
use witness::Held;

/// The latest cosigned checkpoint of one log, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Its size and root.
    pub held: Held,
    /// The checkpoint note as the log signed it, with the witness's cosignature appended.
    pub checkpoint: Vec<u8>,
}

/// The witness's state: one row per log, the latest checkpoint it cosigned.
///
/// Contract every implementation MUST hold:
///
/// - **Durability**: once [`WitnessStore::compare_and_swap`] returns `Ok(true)`, the new state
///   survives a crash; the witness answers the cosignature only after that.
/// - **Compare-and-swap**: `compare_and_swap(origin, expected, new)` replaces the state only if
///   the stored one is exactly `expected` (same size and root; `None`: no row), atomically
///   with respect to every other call, and returns `Ok(false)` otherwise, changing nothing. Two
///   submissions checked against the same state can therefore not both win, and the stored size
///   never goes back.
/// - **Reads**: [`WitnessStore::get`] returns the state of the last successful swap (or `None`).
/// - **Errors**: an `Err` means the outcome is unknown to the caller, who MUST NOT answer a
///   cosignature for it.
#[async_trait]
pub trait WitnessStore: Send + Sync {
    /// The stored state of `origin`, if any.
    async fn get(&self, origin: &str) -> Result<Option<Stored>, StoreError>;

    /// Replaces the state of `origin` by `new` if it is still `expected`; see the trait's
    /// contract.
    async fn compare_and_swap(
        &self,
        origin: &str,
        expected: Option<&Held>,
        new: &Stored,
    ) -> Result<bool, StoreError>;

    /// Whether the store answers now (for `/readyz`).
    async fn ping(&self) -> Result<(), StoreError>;
}

/// [`WitnessStore`] in the stack's PostgreSQL or SQLite database (table `witness_checkpoints`,
/// migration 0004).
#[derive(Debug, Clone)]
pub struct SqlWitnessStore {
    pool: AnyPool,
    backend: Backend,
}

impl SqlWitnessStore {
    /// Connects to `url` (`postgres://…` or `sqlite://PATH`) and applies the schema migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let (pool, backend) = tlog_store::open_pool(url, 8, 4).await?;
        Ok(SqlWitnessStore { pool, backend })
    }

    /// The query with the backend's placeholders (`$1` for PostgreSQL, `?1` for SQLite).
    fn sql<'a>(&self, query: &'a str) -> std::borrow::Cow<'a, str> {
        self.backend.placeholders(query)
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[async_trait]
impl WitnessStore for SqlWitnessStore {
    async fn get(&self, origin: &str) -> Result<Option<Stored>, StoreError> {
        let row = sqlx::query(&self.sql(
            "SELECT tree_size, root_hash, checkpoint FROM witness_checkpoints WHERE origin = $1",
        ))
        .bind(origin.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::db)?;
        let Some(row) = row else { return Ok(None) };
        let size: i64 = row.try_get("tree_size").map_err(StoreError::db)?;
        let root: Vec<u8> = row.try_get("root_hash").map_err(StoreError::db)?;
        let checkpoint: Vec<u8> = row.try_get("checkpoint").map_err(StoreError::db)?;
        let size = u64::try_from(size)
            .map_err(|_| StoreError::Corrupt(format!("negative witness size {size}")))?;
        let root_hash = root.try_into().map_err(|r: Vec<u8>| {
            StoreError::Corrupt(format!("witness root hash of {} bytes", r.len()))
        })?;
        Ok(Some(Stored {
            held: Held { size, root_hash },
            checkpoint,
        }))
    }

    async fn compare_and_swap(
        &self,
        origin: &str,
        expected: Option<&Held>,
        new: &Stored,
    ) -> Result<bool, StoreError> {
        // One statement each way: PostgreSQL re-checks an UPDATE's WHERE on the row it waited
        // for, and SQLite runs one writer at a time, so a swap that lost reports 0 rows.
        let result = match expected {
            None => {
                sqlx::query(&self.sql(
                    "INSERT INTO witness_checkpoints \
                     (origin, tree_size, root_hash, checkpoint, updated_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (origin) DO NOTHING",
                ))
                .bind(origin.to_string())
                .bind(tlog_store::to_i64(new.held.size)?)
                .bind(new.held.root_hash.to_vec())
                .bind(new.checkpoint.clone())
                .bind(now_ms())
                .execute(&self.pool)
                .await
            }
            Some(expected) => {
                sqlx::query(&self.sql(
                    "UPDATE witness_checkpoints \
                     SET tree_size = $1, root_hash = $2, checkpoint = $3, updated_at = $4 \
                     WHERE origin = $5 AND tree_size = $6 AND root_hash = $7",
                ))
                .bind(tlog_store::to_i64(new.held.size)?)
                .bind(new.held.root_hash.to_vec())
                .bind(new.checkpoint.clone())
                .bind(now_ms())
                .bind(origin.to_string())
                .bind(tlog_store::to_i64(expected.size)?)
                .bind(expected.root_hash.to_vec())
                .execute(&self.pool)
                .await
            }
        }
        .map_err(StoreError::db)?;
        Ok(result.rows_affected() == 1)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(StoreError::db)
    }
}
