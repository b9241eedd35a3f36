//! [`LogStore`] on PostgreSQL and SQLite through sqlx's `Any` driver: one implementation, one
//! set of queries, two schemas (`migrations/postgres`, `migrations/sqlite`).
//!
//! The backend differences are placeholders (`$1` vs `?1`), SQLite's connection pragmas
//! (WAL, `synchronous=FULL`, busy timeout), the PostgreSQL advisory lock taken at the start
//! of every integration transaction, and the writes of an integration round: one fixed
//! statement on PostgreSQL (`WRITE_ROUND_POSTGRES`, with the round's rows as column
//! parameters, see `columns.rs`), multi-row `VALUES` per table on SQLite, where statements are
//! prepared in-process and cost no round trip. A few lookups also differ where the planners do.

use crate::columns::RoundColumns;
use crate::error::StoreError;
use crate::failover::{Failover, HostList, SessionAttrs, WatchGuard};
use crate::plan::{plan_round, IndexKey, RoundPlan, StoredEntry, Submission};
use crate::replicas::{AnsweredBy, Replicas};
use crate::store::{IntegrateRequest, Integrated, LogHead, LogId, LogStore};
use async_trait::async_trait;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::migrate::Migrator;
use sqlx::{AnyConnection, AnyPool, Row};
use std::borrow::Cow;
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tlog::merkle::Hash;
use tlog::tile::{TileId, TileSet, TreeEdge};

static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/postgres");
static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/sqlite");

/// PostgreSQL: the entries of log `$1` whose identities are among the 32-byte identities
/// concatenated in `$2`. Without statistics (a server without autovacuum, or a table not yet
/// analysed) PostgreSQL guessed that `identity IN (…)` of a few thousand values matches the
/// whole table, and scanned it: 17.6 s per round at 20 million entries. Here the lateral
/// subquery with its `LIMIT` cannot be flattened into a join, so each identity is its own
/// probe of the identity index, which is keyed by the log and the identity as one value
/// (migration 0008) so that no other index can take part: the index is used with or without
/// statistics (`hot_queries_use_their_indexes_without_statistics`). The concatenation rather
/// than an array because sqlx's `Any` driver binds no arrays.
const EXISTING_BY_IDENTITY: &str =
    "SELECT found.* FROM generate_series(0, length($2) / 32 - 1) AS wanted(i) \
     CROSS JOIN LATERAL ( \
       SELECT idx, identity, leaf_hash, data, integrated_at FROM entries \
       WHERE int8send(log_id) || identity = int8send($1) || substring($2 FROM wanted.i * 32 + 1 FOR 32) \
       LIMIT 1 \
     ) AS found";

/// The entries of log `$1` from index `$2` up to `$3`.
const ENTRIES_IN_RANGE: &str = "SELECT idx, identity, leaf_hash, data, integrated_at FROM entries \
     WHERE log_id = $1 AND idx >= $2 AND idx < $3 ORDER BY idx";

/// The entry of log `$1` with identity `$2`.
const ENTRY_BY_IDENTITY: &str =
    "SELECT idx, identity, leaf_hash, data, integrated_at FROM entries \
     WHERE log_id = $1 AND identity = $2";

/// PostgreSQL's [`ENTRY_BY_IDENTITY`], naming the identity index's key (migration 0008).
const ENTRY_BY_IDENTITY_POSTGRES: &str =
    "SELECT idx, identity, leaf_hash, data, integrated_at FROM entries \
     WHERE int8send(log_id) || identity = int8send($1) || $2";

/// The first entry of log `$1` with leaf hash `$2`. Entries whose leaf hash is their identity
/// are found through the identity index; the leaf-hash index holds only the others (migration
/// 0003).
const ENTRY_BY_LEAF_HASH: &str = "SELECT idx, identity, leaf_hash, data, integrated_at FROM ( \
       SELECT idx, identity, leaf_hash, data, integrated_at FROM entries \
       WHERE log_id = $1 AND identity = $2 AND leaf_hash = $2 \
       UNION ALL \
       SELECT idx, identity, leaf_hash, data, integrated_at FROM entries \
       WHERE log_id = $1 AND leaf_hash = $2 AND leaf_hash <> identity \
     ) AS found ORDER BY idx LIMIT 1";

/// PostgreSQL's [`ENTRY_BY_LEAF_HASH`], naming the identity index's key (migration 0008).
const ENTRY_BY_LEAF_HASH_POSTGRES: &str =
    "SELECT idx, identity, leaf_hash, data, integrated_at FROM ( \
       SELECT idx, identity, leaf_hash, data, integrated_at FROM entries \
       WHERE int8send(log_id) || identity = int8send($1) || $2 AND leaf_hash = $2 \
       UNION ALL \
       SELECT idx, identity, leaf_hash, data, integrated_at FROM entries \
       WHERE log_id = $1 AND leaf_hash = $2 AND leaf_hash <> identity \
     ) AS found ORDER BY idx LIMIT 1";

/// The indexes of the first `$4` entries of log `$1` filed under search key `$3` of kind `$2`.
const LOOKUP_INDEX: &str =
    "SELECT idx FROM entry_index WHERE log_id = $1 AND kind = $2 AND key = $3 \
     ORDER BY idx LIMIT $4";

/// PostgreSQL's [`LOOKUP_INDEX`]: its search index is keyed by a hash of the key (migration
/// 0007), which the lookup names so that the index is used; kind and key are compared on the
/// rows found.
const LOOKUP_INDEX_POSTGRES: &str =
    "SELECT idx FROM entry_index WHERE log_id = $1 AND hashtextextended(key, 0) = hashtextextended($3, 0) \
     AND kind = $2 AND key = $3 ORDER BY idx LIMIT $4";

/// Namespace of sigstack's advisory locks: `pg_advisory_xact_lock(NAMESPACE + log id)`.
const ADVISORY_LOCK_NAMESPACE: i64 = 0x5167_7374_0000_0000;

/// Rows per multi-row INSERT: well under both backends' bound-parameter limits.
const INSERT_CHUNK_ROWS: usize = 2000;

/// PostgreSQL, step 1 of a round in one round trip: takes the advisory lock of log `$1`
/// (`$2` = namespace + id) and writes its head row, returning the committed head. The
/// uncorrelated subquery is an init plan, run once before the row is read, so the lock is
/// held first, as with the two statements this replaces. The statement's snapshot is older
/// than the lock, but an `UPDATE` under READ COMMITTED always acts on, and returns, the row's
/// newest committed version (PostgreSQL re-reads a row a concurrent transaction changed).
const LOCK_HEAD_POSTGRES: &str = "UPDATE logs SET updated_at = updated_at \
     WHERE id = $1 AND (SELECT pg_advisory_xact_lock($2)) IS NOT NULL \
     RETURNING tree_size, root_hash, checkpoint";

/// PostgreSQL, steps 4 to 6 of a round (entries, search keys, tiles, compare-and-swap of the
/// head) as one statement of one fixed shape: prepared once per connection and planned once,
/// whatever the round's size, where a multi-row `VALUES` per table was a new statement nearly
/// every round. Each column is one parameter laid out by `columns.rs`: fixed-width hashes
/// concatenated (row `n` at byte `32n - 31`), other bytes concatenated with lists of starts
/// and lengths, integers as comma-separated lists.
///
/// Deduplication against the log is the statement's first step (`resubmitted`): the batch's
/// identities are probed in the identity index (a hash index, which cannot be unique: migration
/// 0008), and when one is already logged nothing is written and the statement answers
/// `resubmitted`. All the CTEs read one snapshot, taken after the log's advisory lock, and every
/// writer of `entries` holds that lock, so no entry can be added between the probe and the
/// inserts. The probe has the lateral shape of [`EXISTING_BY_IDENTITY`], one index probe per
/// identity with or without statistics. A head that moved makes the `UPDATE` change no row
/// (`advanced` false).
///
/// `$1` log; entries: `$2` indexes, `$3` integration times, `$4` identities, `$5` leaf
/// hashes, `$6`/`$7`/`$8` data bytes, starts, lengths; search keys: `$9` entry indexes,
/// `$10`/`$11`/`$12` kinds, `$13`/`$14`/`$15` keys; tiles: `$16` levels, `$17` indexes,
/// `$18`/`$19`/`$20` hashes; head: `$21` size, `$22` root, `$23` checkpoint, `$24` time,
/// `$25` the size the round started from.
const WRITE_ROUND_POSTGRES: &str = "WITH resubmitted AS ( \
       SELECT 1 FROM generate_series(0, length($4) / 32 - 1) AS wanted(i) \
       CROSS JOIN LATERAL ( \
         SELECT 1 FROM entries \
         WHERE int8send(log_id) || identity = int8send($1) || substring($4 FROM wanted.i * 32 + 1 FOR 32) \
         LIMIT 1 \
       ) AS found \
       LIMIT 1 \
     ), new_entries AS ( \
       INSERT INTO entries (log_id, idx, identity, leaf_hash, data, integrated_at) \
       SELECT $1, e.idx, substring($4 FROM e.n::int4 * 32 - 31 FOR 32), \
              substring($5 FROM e.n::int4 * 32 - 31 FOR 32), \
              substring($6 FROM e.start + 1 FOR e.len), e.at \
       FROM unnest(string_to_array($2, ',')::int8[], string_to_array($3, ',')::int8[], \
                   string_to_array($7, ',')::int4[], string_to_array($8, ',')::int4[]) \
            WITH ORDINALITY AS e(idx, at, start, len, n) \
       WHERE NOT EXISTS (SELECT FROM resubmitted) \
     ), new_keys AS ( \
       INSERT INTO entry_index (log_id, kind, key, idx) \
       SELECT $1, convert_from(substring($10 FROM k.kind_start + 1 FOR k.kind_len), 'UTF8'), \
              convert_from(substring($13 FROM k.key_start + 1 FOR k.key_len), 'UTF8'), k.idx \
       FROM unnest(string_to_array($9, ',')::int8[], string_to_array($11, ',')::int4[], \
                   string_to_array($12, ',')::int4[], string_to_array($14, ',')::int4[], \
                   string_to_array($15, ',')::int4[]) \
            AS k(idx, kind_start, kind_len, key_start, key_len) \
       WHERE NOT EXISTS (SELECT FROM resubmitted) \
     ), new_tiles AS ( \
       INSERT INTO tiles (log_id, level, idx, hashes) \
       SELECT $1, t.level, t.idx, substring($18 FROM t.start + 1 FOR t.len) \
       FROM unnest(string_to_array($16, ',')::int8[], string_to_array($17, ',')::int8[], \
                   string_to_array($19, ',')::int4[], string_to_array($20, ',')::int4[]) \
            AS t(level, idx, start, len) \
       WHERE NOT EXISTS (SELECT FROM resubmitted) \
       ON CONFLICT (log_id, level, idx) DO UPDATE SET hashes = excluded.hashes \
     ), advanced AS ( \
       UPDATE logs SET tree_size = $21, root_hash = $22, checkpoint = $23, updated_at = $24 \
       WHERE id = $1 AND tree_size = $25 AND NOT EXISTS (SELECT FROM resubmitted) \
       RETURNING 1 \
     ) \
     SELECT EXISTS (SELECT FROM resubmitted) AS resubmitted, \
            EXISTS (SELECT FROM advanced) AS advanced";

/// Which database engine a [`SqlStore`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL: the production store.
    Postgres,
    /// SQLite: the embedded default.
    Sqlite,
}

impl Backend {
    /// `query`, written with PostgreSQL's `$n` placeholders, for this backend (SQLite: `?n`,
    /// numbered the same).
    pub fn placeholders(self, query: &str) -> Cow<'_, str> {
        match self {
            Backend::Postgres => Cow::Borrowed(query),
            Backend::Sqlite => Cow::Owned(query.replace('$', "?")),
        }
    }

    /// The backend a database URL names.
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else {
            Err(StoreError::UnsupportedUrl(redact(url)))
        }
    }
}

/// Hides a password in a URL before it goes into an error or a log line.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Checks that the TLS files a PostgreSQL URL names can be read. sqlx reads them only while
/// connecting, and reports a missing one as a bare "No such file or directory"; this error names
/// the file. Only files sqlx would read are looked at: the root certificate in the `verify-ca`
/// and `verify-full` modes, a client certificate and key whenever TLS may be used. As in sqlx,
/// the last of repeated URL parameters counts, and the `PGSSL…` variables stand in for
/// missing ones.
fn check_tls_files(url: &str) -> Result<(), StoreError> {
    use sqlx::postgres::{PgConnectOptions, PgSslMode};
    let mode = PgConnectOptions::from_str(url)
        .map_err(StoreError::db)?
        .get_ssl_mode();
    if matches!(mode, PgSslMode::Disable) {
        return Ok(());
    }
    let verify = matches!(mode, PgSslMode::VerifyCa | PgSslMode::VerifyFull);
    // PgConnectOptions parsed it just now, so it is a URL.
    let query: Vec<(String, String)> = url::Url::parse(url)
        .map(|u| u.query_pairs().into_owned().collect())
        .unwrap_or_default();
    let named = |aliases: &[&str], env: &str| {
        query
            .iter()
            .rev()
            .find(|(k, _)| aliases.contains(&k.as_str()))
            .cloned()
            .or_else(|| std::env::var(env).ok().map(|v| (env.to_owned(), v)))
    };
    let files = [
        (
            verify,
            named(&["sslrootcert", "ssl-root-cert", "ssl-ca"], "PGSSLROOTCERT"),
        ),
        (true, named(&["sslcert", "ssl-cert"], "PGSSLCERT")),
        (true, named(&["sslkey", "ssl-key"], "PGSSLKEY")),
    ];
    for (name, path) in files
        .into_iter()
        .filter_map(|(read, file)| file.filter(|_| read))
    {
        // sqlx takes a value that is PEM text as the certificate itself, not as a path.
        if path.trim_start().starts_with("-----BEGIN") {
            continue;
        }
        if let Err(source) = std::fs::File::open(&path) {
            return Err(StoreError::TlsFile { name, path, source });
        }
    }
    Ok(())
}

/// A [`LogStore`] in a PostgreSQL or SQLite database.
#[derive(Clone)]
pub struct SqlStore {
    /// Reads and everything else, on the caller's runtime.
    pool: AnyPool,
    /// Integration rounds only: connections made on the sequencing runtime, which is where
    /// the sequencers that use them run (see `runtime.rs`).
    writer: AnyPool,
    backend: Backend,
    /// Read replicas (`--read-database-url`), empty when reads go to the primary only.
    replicas: Arc<Replicas>,
    /// For a multi-host URL: keeps the failover watcher of `pool` and `writer` running for as
    /// long as a clone of the store exists.
    _failover: Option<Arc<WatchGuard>>,
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// `v` as the database's signed 64-bit integer; a value beyond it is refused, not wrapped.
pub fn to_i64(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v)
        .map_err(|_| StoreError::Corrupt(format!("value {v} does not fit the database")))
}

fn to_u64(v: i64) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("negative value {v} in the database")))
}

fn to_hash(bytes: Vec<u8>, what: &str) -> Result<Hash, StoreError> {
    bytes.try_into().map_err(|b: Vec<u8>| {
        StoreError::Corrupt(format!("{what} of {} bytes, expected 32", b.len()))
    })
}

fn to_hashes(bytes: &[u8]) -> Result<Vec<Hash>, StoreError> {
    if !bytes.len().is_multiple_of(32) || bytes.len() > 256 * 32 {
        return Err(StoreError::Corrupt(format!(
            "tile of {} bytes",
            bytes.len()
        )));
    }
    Ok(bytes
        .chunks_exact(32)
        .map(|c| c.try_into().expect("32-byte chunk"))
        .collect())
}

fn entry_from_row(row: &AnyRow) -> Result<StoredEntry, StoreError> {
    let db = StoreError::db;
    Ok(StoredEntry {
        index: to_u64(row.try_get("idx").map_err(db)?)?,
        identity: to_hash(row.try_get("identity").map_err(db)?, "identity")?,
        leaf_hash: to_hash(row.try_get("leaf_hash").map_err(db)?, "leaf hash")?,
        data: row.try_get("data").map_err(db)?,
        integrated_at_ms: to_u64(row.try_get("integrated_at").map_err(db)?)?,
    })
}

/// `(…), (…)`: `rows` rows of `cols` placeholders. PostgreSQL's are numbered from `$1`, so for
/// a statement with no other parameters; SQLite's are anonymous (`?`), bound in order: sqlx
/// asks SQLite for the name of every parameter it binds, and SQLite finds a numbered one's name
/// by a linear search of the statement's list, so binding n numbered parameters cost O(n²) —
/// 85% of the CPU of an append to SQLite in rounds of thousands (`perf`), and nothing with
/// anonymous ones.
fn values_list(backend: Backend, rows: usize, cols: usize) -> String {
    let mut out = String::new();
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for c in 0..cols {
            if c > 0 {
                out.push_str(", ");
            }
            match backend {
                Backend::Postgres => {
                    out.push('$');
                    out.push_str(&(1 + r * cols + c).to_string());
                }
                Backend::Sqlite => out.push('?'),
            }
        }
        out.push(')');
    }
    out
}

impl SqlStore {
    /// Connects to `url` (`postgres://…` or `sqlite://PATH`), creating an SQLite file if
    /// needed, and applies the schema migrations. A PostgreSQL URL may name several servers
    /// and `target_session_attrs`, as libpq accepts it (see `failover.rs`): the store then
    /// follows a failover by itself.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with_replicas(url, &[]).await
    }

    /// [`SqlStore::connect`], with reads served from the PostgreSQL read replicas
    /// `read_urls` where they hold what is asked for, and from the primary otherwise (see
    /// `replicas.rs`).
    pub async fn connect_with_replicas(
        url: &str,
        read_urls: &[String],
    ) -> Result<Self, StoreError> {
        let opened = connect_pool(url, 16, 8).await?;
        let (pool, backend) = (opened.pool.clone(), opened.backend);
        if backend != Backend::Postgres && !read_urls.is_empty() {
            return Err(StoreError::InvalidUrl(
                "read replicas (--read-database-url) need a PostgreSQL primary".into(),
            ));
        }
        // Rounds of different logs may overlap; each holds one connection.
        let writer = crate::runtime::sequencing()
            .spawn(pool_options(backend, 4, opened.attrs).connect_with(opened.options.clone()))
            .await
            .map_err(|e| StoreError::Database(Box::new(e)))?
            .map_err(StoreError::db)?;
        let watcher = opened.failover.as_ref().map(|(failover, current)| {
            Arc::new(failover.watch(*current, vec![pool.clone(), writer.clone()]))
        });
        let replicas = Replicas::connect(read_urls).await?;
        Ok(Self {
            pool,
            writer,
            backend,
            replicas: Arc::new(replicas),
            _failover: watcher,
        })
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes the pools, waiting for connections to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
        self.writer.close().await;
        self.replicas.close().await;
    }

    /// SQLite, step 4: inserts entries; `Ok(false)` when the log already holds one of their
    /// identities (the unique index refused it, and the transaction must be rolled back).
    async fn insert_entries(
        &self,
        conn: &mut AnyConnection,
        log: LogId,
        entries: &[StoredEntry],
    ) -> Result<bool, StoreError> {
        for chunk in entries.chunks(INSERT_CHUNK_ROWS) {
            let query = format!(
                "INSERT INTO entries (log_id, idx, identity, leaf_hash, data, integrated_at) VALUES {}",
                values_list(self.backend, chunk.len(), 6)
            );
            let mut q = sqlx::query(&query);
            for e in chunk {
                q = q
                    .bind(log.0)
                    .bind(to_i64(e.index)?)
                    .bind(e.identity.to_vec())
                    .bind(e.leaf_hash.to_vec())
                    .bind(e.data.clone())
                    .bind(to_i64(e.integrated_at_ms)?);
            }
            match q.execute(&mut *conn).await {
                Ok(_) => {}
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Ok(false),
                Err(e) => return Err(StoreError::db(e)),
            }
        }
        Ok(true)
    }

    /// The entries of the log with any of the batch's identities.
    async fn existing_entries(
        &self,
        conn: &mut AnyConnection,
        log: LogId,
        batch: &[Submission],
    ) -> Result<HashMap<Hash, StoredEntry>, StoreError> {
        let mut identities: Vec<&Hash> = batch.iter().map(|s| &s.identity).collect();
        identities.sort_unstable();
        identities.dedup();
        let mut existing = HashMap::new();
        let rows = match self.backend {
            // One statement whatever the batch size, planned as one index probe per identity
            // whether or not the table has statistics (see `EXISTING_BY_IDENTITY`).
            Backend::Postgres => sqlx::query(EXISTING_BY_IDENTITY)
                .bind(log.0)
                .bind(
                    identities
                        .iter()
                        .flat_map(|id| id.iter().copied())
                        .collect::<Vec<u8>>(),
                )
                .fetch_all(&mut *conn)
                .await
                .map_err(StoreError::db)?,
            // SQLite's planner answers an `IN` list on an indexed column with index probes.
            Backend::Sqlite => {
                let mut rows = Vec::new();
                for chunk in identities.chunks(INSERT_CHUNK_ROWS) {
                    let query = format!(
                        "SELECT idx, identity, leaf_hash, data, integrated_at FROM entries \
                         WHERE log_id = ? AND identity IN {}",
                        values_list(Backend::Sqlite, 1, chunk.len())
                    );
                    // A statement per batch size: not worth a place in the statement cache.
                    let mut q = sqlx::query(&query).persistent(false).bind(log.0);
                    for id in chunk {
                        q = q.bind(id.to_vec());
                    }
                    rows.extend(q.fetch_all(&mut *conn).await.map_err(StoreError::db)?);
                }
                rows
            }
        };
        for row in &rows {
            let entry = entry_from_row(row)?;
            existing.insert(entry.identity, entry);
        }
        Ok(existing)
    }

    /// A lookup by hash: on a replica, and on the primary when the replica has nothing (it may
    /// lag behind an entry just handed out) or fails.
    async fn replica_then_primary<T, F, Fut>(&self, query: F) -> Result<Option<T>, StoreError>
    where
        F: Fn(AnyPool) -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>, sqlx::Error>>,
    {
        if let Some(replica) = self.replicas.any() {
            match query(replica).await {
                Ok(Some(found)) => {
                    self.replicas.count(AnsweredBy::Replica);
                    return Ok(Some(found));
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "read replica failed; reading the primary"),
            }
            self.replicas.count(AnsweredBy::Primary);
        }
        query(self.pool.clone()).await.map_err(StoreError::db)
    }

    /// How many reads the read replicas answered, and how many went to the primary because
    /// none held what they needed (or had nothing for a lookup). `(0, 0)` without replicas.
    pub fn replica_read_counts(&self) -> (u64, u64) {
        self.replicas.counts()
    }

    /// Rewrites `$n` placeholders for SQLite (`?n`, numbered the same).
    fn sql<'a>(&self, query: &'a str) -> Cow<'a, str> {
        self.backend.placeholders(query)
    }
}

/// A pool on the database `url` names, set up as every part of the stack needs it (SQLite:
/// file created if missing, WAL, `synchronous=FULL`, busy timeout; PostgreSQL: the TLS files of
/// the URL checked first, and a multi-host URL followed through failovers), of at most
/// `postgres_max` or `sqlite_max` connections, with the schema migrations applied. For
/// services that keep state of their own in the stack's database (the witness) as well as for
/// [`SqlStore`].
pub async fn open_pool(
    url: &str,
    postgres_max: u32,
    sqlite_max: u32,
) -> Result<(AnyPool, Backend), StoreError> {
    let opened = connect_pool(url, postgres_max, sqlite_max).await?;
    if let Some((failover, current)) = &opened.failover {
        // The caller has only the pool: the watcher runs until the pool is closed.
        std::mem::forget(failover.watch(*current, vec![opened.pool.clone()]));
    }
    Ok((opened.pool, opened.backend))
}

/// A pool made by [`connect_pool`], with what it takes to make more on the same server.
pub(crate) struct Opened {
    pub(crate) pool: AnyPool,
    pub(crate) backend: Backend,
    /// The options of the server chosen (of the first, for a multi-host URL).
    pub(crate) options: AnyConnectOptions,
    /// What every new connection is checked to be.
    pub(crate) attrs: SessionAttrs,
    /// For a multi-host URL: what follows the servers, and the index of the one in use. The
    /// caller starts the watcher once all of its pools on it exist.
    pub(crate) failover: Option<(Arc<Failover>, usize)>,
}

async fn connect_pool(url: &str, postgres_max: u32, sqlite_max: u32) -> Result<Opened, StoreError> {
    let opened = connect_unmigrated(url, postgres_max, sqlite_max).await?;
    let migrator = match opened.backend {
        Backend::Postgres => &POSTGRES_MIGRATIONS,
        Backend::Sqlite => &SQLITE_MIGRATIONS,
    };
    migrator
        .run(&opened.pool)
        .await
        .map_err(|e| StoreError::Migration(Box::new(e)))?;
    Ok(opened)
}

/// [`connect_pool`] without the migrations: for read replicas, which cannot take writes and
/// get the schema from their primary.
pub(crate) async fn connect_unmigrated(
    url: &str,
    postgres_max: u32,
    sqlite_max: u32,
) -> Result<Opened, StoreError> {
    let backend = Backend::from_url(url)?;
    sqlx::any::install_default_drivers();
    let mut attrs = SessionAttrs::Any;
    let mut failover = None;
    let url = match backend {
        Backend::Sqlite if !url.contains("mode=") => {
            format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
        }
        Backend::Sqlite => url.to_string(),
        Backend::Postgres => {
            let hosts = HostList::parse(url)?;
            // Every server gets the same parameters: the first one's URL stands for all.
            check_tls_files(&hosts.host_url(0))?;
            if hosts.is_plain() {
                url.to_string()
            } else {
                attrs = hosts.attrs;
                let (watcher, current, chosen) = Failover::start(hosts).await?;
                failover = Some((watcher, current));
                chosen
            }
        }
    };
    let options = AnyConnectOptions::from_str(&url).map_err(StoreError::db)?;
    let max = match backend {
        Backend::Postgres => postgres_max,
        Backend::Sqlite => sqlite_max,
    };
    let pool = pool_options(backend, max, attrs)
        .connect_with(options.clone())
        .await
        .map_err(StoreError::db)?;
    Ok(Opened {
        pool,
        backend,
        options,
        attrs,
        failover,
    })
}

/// A pool of at most `max` connections, each set up for `backend` and checked to be on a
/// server of the kind `attrs` asks for.
fn pool_options(backend: Backend, max: u32, attrs: SessionAttrs) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(30))
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                match backend {
                    Backend::Sqlite => sqlite_pragmas(conn).await?,
                    Backend::Postgres => attrs.check(conn).await?,
                }
                Ok(())
            })
        })
}

/// SQLite settings every connection needs: WAL so readers never block the writer, FULL sync so
/// a committed round survives power loss, a busy timeout so writers queue instead of failing.
async fn sqlite_pragmas(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    for pragma in [
        "PRAGMA journal_mode = WAL",
        "PRAGMA synchronous = FULL",
        "PRAGMA busy_timeout = 30000",
        "PRAGMA foreign_keys = ON",
    ] {
        sqlx::query(pragma).execute(&mut *conn).await?;
    }
    Ok(())
}

#[async_trait]
impl LogStore for SqlStore {
    fn export_metrics(&self, metrics: &crate::LogMetrics) {
        self.replicas.export_to(metrics.store_reads());
    }

    async fn create_log(&self, origin: &str, empty_checkpoint: &[u8]) -> Result<LogId, StoreError> {
        if self.find_log(origin).await?.is_some() {
            return Err(StoreError::LogExists(origin.to_string()));
        }
        let now = now_ms();
        let result = sqlx::query(&self.sql(
            "INSERT INTO logs (origin, tree_size, root_hash, checkpoint, created_at, updated_at) \
             VALUES ($1, 0, $2, $3, $4, $5) RETURNING id",
        ))
        .bind(origin.to_string())
        .bind(tlog::merkle::empty_root().to_vec())
        .bind(empty_checkpoint.to_vec())
        .bind(now)
        .bind(now)
        .fetch_one(&self.pool)
        .await;
        match result {
            Ok(row) => Ok(LogId(row.try_get("id").map_err(StoreError::db)?)),
            // Lost a race with another process creating the same log.
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(StoreError::LogExists(origin.to_string()))
            }
            Err(e) => Err(StoreError::db(e)),
        }
    }

    async fn find_log(&self, origin: &str) -> Result<Option<LogId>, StoreError> {
        let row = sqlx::query(&self.sql("SELECT id FROM logs WHERE origin = $1"))
            .bind(origin.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::db)?;
        row.map(|r| r.try_get("id").map(LogId).map_err(StoreError::db))
            .transpose()
    }

    async fn head(&self, log: LogId) -> Result<LogHead, StoreError> {
        let row = sqlx::query(
            &self.sql("SELECT tree_size, root_hash, checkpoint FROM logs WHERE id = $1"),
        )
        .bind(log.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::db)?
        .ok_or_else(|| StoreError::LogNotFound(format!("#{}", log.0)))?;
        let head = head_from_row(&row)?;
        self.replicas.note_primary(log, head.size);
        Ok(head)
    }

    async fn read_tiles(
        &self,
        log: LogId,
        tiles: &[TileId],
    ) -> Result<Vec<(TileId, Vec<Hash>)>, StoreError> {
        // The caller may be proving against any tree up to the largest head it could have
        // read: a replica's partial tiles must be at least that wide.
        let pool = self
            .replicas
            .holding(log, self.replicas.known(log))
            .await
            .unwrap_or_else(|| self.pool.clone());
        let mut conn = pool.acquire().await.map_err(StoreError::db)?;
        read_tiles_with(self, &mut conn, log, tiles).await
    }

    async fn read_entries(
        &self,
        log: LogId,
        start: u64,
        end: u64,
    ) -> Result<Vec<StoredEntry>, StoreError> {
        let rows = sqlx::query(&self.sql(ENTRIES_IN_RANGE))
            .bind(log.0)
            .bind(to_i64(start)?)
            .bind(to_i64(end)?)
            .fetch_all(
                &self
                    .replicas
                    .holding(log, end)
                    .await
                    .unwrap_or_else(|| self.pool.clone()),
            )
            .await
            .map_err(StoreError::db)?;
        rows.iter().map(entry_from_row).collect()
    }

    async fn entry_by_identity(
        &self,
        log: LogId,
        identity: &Hash,
    ) -> Result<Option<StoredEntry>, StoreError> {
        let query = self.sql(match self.backend {
            Backend::Postgres => ENTRY_BY_IDENTITY_POSTGRES,
            Backend::Sqlite => ENTRY_BY_IDENTITY,
        });
        let row = self
            .replica_then_primary(|pool| {
                let q = sqlx::query(&query).bind(log.0).bind(identity.to_vec());
                async move { q.fetch_optional(&pool).await }
            })
            .await?;
        row.as_ref().map(entry_from_row).transpose()
    }

    async fn entry_by_leaf_hash(
        &self,
        log: LogId,
        leaf_hash: &Hash,
    ) -> Result<Option<StoredEntry>, StoreError> {
        let query = self.sql(match self.backend {
            Backend::Postgres => ENTRY_BY_LEAF_HASH_POSTGRES,
            Backend::Sqlite => ENTRY_BY_LEAF_HASH,
        });
        let row = self
            .replica_then_primary(|pool| {
                let q = sqlx::query(&query).bind(log.0).bind(leaf_hash.to_vec());
                async move { q.fetch_optional(&pool).await }
            })
            .await?;
        row.as_ref().map(entry_from_row).transpose()
    }

    async fn lookup_index(
        &self,
        log: LogId,
        kind: &str,
        key: &str,
        limit: u32,
    ) -> Result<Vec<u64>, StoreError> {
        // On a replica with the keys of every entry up to the largest head this store has
        // seen; an empty answer is asked again of the primary, which may hold an entry
        // another process has just handed out.
        let query = match self.backend {
            Backend::Postgres => Cow::Borrowed(LOOKUP_INDEX_POSTGRES),
            Backend::Sqlite => self.sql(LOOKUP_INDEX),
        };
        let lookup = |pool: AnyPool| {
            let q = sqlx::query(&query)
                .bind(log.0)
                .bind(kind.to_string())
                .bind(key.to_string())
                .bind(i64::from(limit));
            async move { q.fetch_all(&pool).await }
        };
        let mut rows = Vec::new();
        if !self.replicas.is_empty() {
            if let Some(replica) = self
                .replicas
                .find_holding(log, self.replicas.known(log))
                .await
            {
                match lookup(replica).await {
                    Ok(found) => rows = found,
                    Err(e) => {
                        tracing::warn!(error = %e, "read replica failed; reading the primary")
                    }
                }
            }
            self.replicas.count(if rows.is_empty() {
                AnsweredBy::Primary
            } else {
                AnsweredBy::Replica
            });
        }
        if rows.is_empty() {
            rows = lookup(self.pool.clone()).await.map_err(StoreError::db)?;
        }
        rows.iter()
            .map(|r| to_u64(r.try_get("idx").map_err(StoreError::db)?))
            .collect()
    }

    async fn put_blobs(&self, log: LogId, blobs: &[(Hash, Vec<u8>)]) -> Result<(), StoreError> {
        for chunk in blobs.chunks(INSERT_CHUNK_ROWS) {
            let query = format!(
                "INSERT INTO blobs (log_id, key, value) VALUES {} ON CONFLICT (log_id, key) DO NOTHING",
                values_list(self.backend, chunk.len(), 3)
            );
            let mut q = sqlx::query(&query);
            for (key, value) in chunk {
                q = q.bind(log.0).bind(key.to_vec()).bind(value.clone());
            }
            q.execute(&self.pool).await.map_err(StoreError::db)?;
        }
        Ok(())
    }

    async fn get_blob(&self, log: LogId, key: &Hash) -> Result<Option<Vec<u8>>, StoreError> {
        let query = self.sql("SELECT value FROM blobs WHERE log_id = $1 AND key = $2");
        let row = self
            .replica_then_primary(|pool| {
                let q = sqlx::query(&query).bind(log.0).bind(key.to_vec());
                async move { q.fetch_optional(&pool).await }
            })
            .await?;
        row.map(|r| r.try_get("value").map_err(StoreError::db))
            .transpose()
    }

    async fn integrate(&self, req: IntegrateRequest<'_>) -> Result<Integrated, StoreError> {
        // Resubmissions are rare, so the first attempt plans as if none of the batch were in the
        // log. If the database finds one of them logged (SQLite: the unique index on (log,
        // identity) refuses a row; PostgreSQL: the round statement's probe of the identity index,
        // under the log's lock), the whole round is rolled back and planned again from a lookup
        // of the batch. The database decides what is a duplicate, not a cache.
        let done = match self.integrate_attempt(&req, false).await? {
            Attempt::Committed(done) => done,
            Attempt::Resubmitted => match self.integrate_attempt(&req, true).await? {
                Attempt::Committed(done) => done,
                // The lookup ran under the log's lock: nothing can have been added since.
                Attempt::Resubmitted => {
                    return Err(StoreError::Corrupt(
                        "entries conflict after deduplication".into(),
                    ))
                }
            },
        };
        self.replicas.note_primary(req.log, done.head.size);
        Ok(done)
    }
}

/// How one attempt at an integration round ended.
enum Attempt {
    Committed(Integrated),
    /// Some entry of the batch was already in the log; nothing was written.
    Resubmitted,
}

impl SqlStore {
    /// One integration round in one transaction, in the steps of
    /// `docs/design/life-of-a-leaf.md`; `look_up` first reads which of the batch's identities
    /// the log already holds.
    async fn integrate_attempt(
        &self,
        req: &IntegrateRequest<'_>,
        look_up: bool,
    ) -> Result<Attempt, StoreError> {
        let t0 = std::time::Instant::now();
        let mut tx = self.writer.begin().await.map_err(StoreError::db)?;

        let committed = self.lock_head(&mut tx, req).await?;
        let edge = self.committed_edge(&mut tx, req, &committed).await?;

        let existing = if look_up {
            self.existing_entries(&mut tx, req.log, req.batch).await?
        } else {
            HashMap::new()
        };
        let plan = plan_round(&edge, req.batch, &existing, req.encoder, req.now_ms);
        // SQLite learns first whether the unique index refuses an entry, before the head is
        // signed; PostgreSQL checks and writes the whole round in one statement, below, so
        // there a resubmission the plan did not know of costs one checkpoint signature in vain.
        if self.backend == Backend::Sqlite
            && !self
                .insert_entries(&mut tx, req.log, &plan.new_entries)
                .await?
        {
            // Dropping the transaction rolls it back.
            return Ok(Attempt::Resubmitted);
        }
        let t_dedup = t0.elapsed();

        let new_edge = plan.appended.edge.clone();
        if plan.new_entries.is_empty() {
            // Nothing new: the committed head stands.
            tx.rollback().await.map_err(StoreError::db)?;
            return Ok(Attempt::Committed(Integrated {
                outcomes: plan.outcomes,
                head: committed,
                edge: new_edge,
                tiles: Vec::new(),
            }));
        }
        let root = new_edge.root();
        let head = LogHead {
            size: new_edge.size(),
            root,
            checkpoint: req
                .signer
                .sign(req.origin, new_edge.size(), &root, req.now_ms)
                .map_err(StoreError::Signing)?,
        };
        let t_plan = t0.elapsed();

        match self.backend {
            Backend::Postgres => {
                if !self
                    .write_round_postgres(&mut tx, req.log, &plan, committed.size, &head)
                    .await?
                {
                    return Ok(Attempt::Resubmitted);
                }
            }
            Backend::Sqlite => {
                self.insert_index_keys(&mut tx, req.log, &plan.new_index_keys)
                    .await?;
                self.write_tiles(&mut tx, req.log, &plan.appended.tiles)
                    .await?;
                self.advance_head(&mut tx, req.log, committed.size, &head)
                    .await?;
            }
        }
        let t_write = t0.elapsed();
        tx.commit().await.map_err(StoreError::db)?;
        tracing::debug!(
            dedup_ms = t_dedup.as_secs_f64() * 1e3,
            plan_ms = (t_plan - t_dedup).as_secs_f64() * 1e3,
            write_ms = (t_write - t_plan).as_secs_f64() * 1e3,
            commit_ms = (t0.elapsed() - t_write).as_secs_f64() * 1e3,
            entries = plan.new_entries.len(),
            "integration transaction"
        );
        Ok(Attempt::Committed(Integrated {
            outcomes: plan.outcomes,
            head,
            edge: new_edge,
            tiles: plan.appended.tiles,
        }))
    }

    /// Step 1, exclusion: takes the log's lock and reads its committed head. PostgreSQL: a
    /// transaction-scoped advisory lock per log, so exactly one round per log runs at a time
    /// across every process on this database, taken in the same statement as the head
    /// ([`LOCK_HEAD_POSTGRES`]). Both backends: the head row is written first, which takes its
    /// row lock (PostgreSQL) or the database write lock (SQLite) before anything is read.
    async fn lock_head(
        &self,
        conn: &mut AnyConnection,
        req: &IntegrateRequest<'_>,
    ) -> Result<LogHead, StoreError> {
        let db = StoreError::db;
        let row = match self.backend {
            Backend::Postgres => sqlx::query(LOCK_HEAD_POSTGRES)
                .bind(req.log.0)
                .bind(ADVISORY_LOCK_NAMESPACE + req.log.0),
            Backend::Sqlite => sqlx::query(
                "UPDATE logs SET updated_at = updated_at WHERE id = ?1 \
                 RETURNING tree_size, root_hash, checkpoint",
            )
            .bind(req.log.0),
        }
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?
        .ok_or_else(|| StoreError::LogNotFound(req.origin.to_string()))?;
        head_from_row(&row)
    }

    /// Step 2, the edge of the committed tree: the caller's, if it is the committed one; else
    /// rebuilt from the tiles (another process sequenced since). Refuses to go on when the
    /// tiles and the head disagree: the log never forks.
    async fn committed_edge(
        &self,
        conn: &mut AnyConnection,
        req: &IntegrateRequest<'_>,
        committed: &LogHead,
    ) -> Result<TreeEdge, StoreError> {
        let edge = if req.edge.size() == committed.size {
            req.edge.clone()
        } else {
            let needed = TreeEdge::required_tiles(committed.size);
            let ids: Vec<TileId> = needed.iter().map(|(id, _)| *id).collect();
            let mut set = TileSet::new();
            for (id, hashes) in read_tiles_with(self, conn, req.log, &ids).await? {
                set.insert(id, hashes);
            }
            TreeEdge::from_tiles(committed.size, &set)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?
        };
        if edge.root() != committed.root {
            return Err(StoreError::Corrupt(format!(
                "root of the stored tiles at size {} differs from the stored head",
                committed.size
            )));
        }
        Ok(edge)
    }

    /// PostgreSQL, steps 4 to 6 in one statement (see [`WRITE_ROUND_POSTGRES`]): the new
    /// entries, their search keys, the tiles the round changed, and the compare-and-swap of the
    /// head from `from_size` to `head`. `Ok(false)` when an entry of the plan was already in the
    /// log: nothing was written, and the transaction must be rolled back.
    async fn write_round_postgres(
        &self,
        conn: &mut AnyConnection,
        log: LogId,
        plan: &RoundPlan,
        from_size: u64,
        head: &LogHead,
    ) -> Result<bool, StoreError> {
        let columns = RoundColumns::new(
            &plan.new_entries,
            &plan.new_index_keys,
            &plan.appended.tiles,
        )?;
        let result = sqlx::query(WRITE_ROUND_POSTGRES)
            .bind(log.0)
            .bind(columns.entry_indexes.into_string())
            .bind(columns.entry_times.into_string())
            .bind(columns.identities)
            .bind(columns.leaf_hashes)
            .bind(columns.data.bytes)
            .bind(columns.data.starts.into_string())
            .bind(columns.data.lengths.into_string())
            .bind(columns.key_indexes.into_string())
            .bind(columns.key_kinds.bytes)
            .bind(columns.key_kinds.starts.into_string())
            .bind(columns.key_kinds.lengths.into_string())
            .bind(columns.keys.bytes)
            .bind(columns.keys.starts.into_string())
            .bind(columns.keys.lengths.into_string())
            .bind(columns.tile_levels.into_string())
            .bind(columns.tile_indexes.into_string())
            .bind(columns.tile_hashes.bytes)
            .bind(columns.tile_hashes.starts.into_string())
            .bind(columns.tile_hashes.lengths.into_string())
            .bind(to_i64(head.size)?)
            .bind(head.root.to_vec())
            .bind(head.checkpoint.clone())
            .bind(now_ms())
            .bind(to_i64(from_size)?)
            .fetch_one(&mut *conn)
            .await
            .map_err(StoreError::db)?;
        let resubmitted: bool = result.try_get("resubmitted").map_err(StoreError::db)?;
        let advanced: bool = result.try_get("advanced").map_err(StoreError::db)?;
        match (resubmitted, advanced) {
            (true, _) => Ok(false),
            (false, true) => Ok(true),
            (false, false) => Err(StoreError::Corrupt(
                "the log head moved while its lock was held".into(),
            )),
        }
    }

    /// SQLite, step 5, write: the search keys of the new entries, in the round's transaction, so
    /// the index never drifts from the log.
    async fn insert_index_keys(
        &self,
        conn: &mut AnyConnection,
        log: LogId,
        keys: &[(u64, IndexKey)],
    ) -> Result<(), StoreError> {
        for chunk in keys.chunks(INSERT_CHUNK_ROWS) {
            let query = format!(
                "INSERT INTO entry_index (log_id, kind, key, idx) VALUES {}",
                values_list(self.backend, chunk.len(), 4)
            );
            let mut q = sqlx::query(&query);
            for (index, key) in chunk {
                q = q
                    .bind(log.0)
                    .bind(key.kind.clone())
                    .bind(key.key.clone())
                    .bind(to_i64(*index)?);
            }
            q.execute(&mut *conn).await.map_err(StoreError::db)?;
        }
        Ok(())
    }

    /// SQLite, step 5, write: the tiles the round changed (a partial tile grows in place).
    async fn write_tiles(
        &self,
        conn: &mut AnyConnection,
        log: LogId,
        tiles: &[(TileId, Vec<Hash>)],
    ) -> Result<(), StoreError> {
        for chunk in tiles.chunks(INSERT_CHUNK_ROWS) {
            let query = format!(
                "INSERT INTO tiles (log_id, level, idx, hashes) VALUES {} \
                 ON CONFLICT (log_id, level, idx) DO UPDATE SET hashes = excluded.hashes",
                values_list(self.backend, chunk.len(), 4)
            );
            let mut q = sqlx::query(&query);
            for (id, hashes) in chunk {
                q = q
                    .bind(log.0)
                    .bind(i64::from(id.level))
                    .bind(to_i64(id.index)?)
                    .bind(hashes.concat());
            }
            q.execute(&mut *conn).await.map_err(StoreError::db)?;
        }
        Ok(())
    }

    /// SQLite, step 6: compare-and-swap of the head, from the size the round started at to `head`.
    /// Under the lock it cannot have moved; if it did, the store is refused rather than forked.
    async fn advance_head(
        &self,
        conn: &mut AnyConnection,
        log: LogId,
        from_size: u64,
        head: &LogHead,
    ) -> Result<(), StoreError> {
        let updated = sqlx::query(&self.sql(
            "UPDATE logs SET tree_size = $1, root_hash = $2, checkpoint = $3, updated_at = $4 \
             WHERE id = $5 AND tree_size = $6",
        ))
        .bind(to_i64(head.size)?)
        .bind(head.root.to_vec())
        .bind(head.checkpoint.clone())
        .bind(now_ms())
        .bind(log.0)
        .bind(to_i64(from_size)?)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::db)?;
        if updated.rows_affected() != 1 {
            return Err(StoreError::Corrupt(
                "the log head moved while its lock was held".into(),
            ));
        }
        Ok(())
    }
}

fn head_from_row(row: &AnyRow) -> Result<LogHead, StoreError> {
    let db = StoreError::db;
    Ok(LogHead {
        size: to_u64(row.try_get("tree_size").map_err(db)?)?,
        root: to_hash(row.try_get("root_hash").map_err(db)?, "root hash")?,
        checkpoint: row.try_get("checkpoint").map_err(db)?,
    })
}

/// The tiles of log `$1` at `count` (level, index) pairs: `$2, $3`, `$4, $5`, …
fn tiles_query(count: usize) -> String {
    let conditions: Vec<String> = (0..count)
        .map(|i| format!("(level = ${} AND idx = ${})", 2 + 2 * i, 3 + 2 * i))
        .collect();
    format!(
        "SELECT level, idx, hashes FROM tiles WHERE log_id = $1 AND ({})",
        conditions.join(" OR ")
    )
}

async fn read_tiles_with(
    store: &SqlStore,
    conn: &mut AnyConnection,
    log: LogId,
    tiles: &[TileId],
) -> Result<Vec<(TileId, Vec<Hash>)>, StoreError> {
    // PostgreSQL answers an OR of primary keys with one index scan per key; SQLite's planner
    // scans the whole table for it, so there each tile is its own primary-key lookup (cheap
    // in-process).
    let per_query = match store.backend {
        Backend::Postgres => 100,
        Backend::Sqlite => 1,
    };
    let mut out = Vec::with_capacity(tiles.len());
    for chunk in tiles.chunks(per_query) {
        let query = tiles_query(chunk.len());
        let query = store.sql(&query).into_owned();
        let mut q = sqlx::query(&query).bind(log.0);
        for id in chunk {
            q = q.bind(i64::from(id.level)).bind(to_i64(id.index)?);
        }
        for row in q.fetch_all(&mut *conn).await.map_err(StoreError::db)? {
            let level: i64 = row.try_get("level").map_err(StoreError::db)?;
            let index: i64 = row.try_get("idx").map_err(StoreError::db)?;
            let hashes: Vec<u8> = row.try_get("hashes").map_err(StoreError::db)?;
            let level = u8::try_from(level)
                .map_err(|_| StoreError::Corrupt(format!("tile level {level}")))?;
            out.push((TileId::new(level, to_u64(index)?), to_hashes(&hashes)?));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_the_backend_and_passwords_never_leak() {
        assert_eq!(
            Backend::from_url("postgres://u@h/db").unwrap(),
            Backend::Postgres
        );
        assert_eq!(Backend::from_url("sqlite://x.db").unwrap(), Backend::Sqlite);
        let err = Backend::from_url("mysql://u:secret@h/db")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("secret"), "{err}");
        assert!(err.contains("mysql://u:***@h/db"), "{err}");
    }

    #[test]
    fn missing_tls_files_are_named_when_they_would_be_read() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, "-----BEGIN CERTIFICATE-----\n").unwrap();
        let missing = dir.path().join("missing.pem");
        let url = |query: String| format!("postgres://u@h/db?{query}");
        let (ca, missing) = (ca.display(), missing.display());

        for mode in ["verify-full", "verify-ca"] {
            assert!(check_tls_files(&url(format!("sslmode={mode}&sslrootcert={ca}"))).is_ok());
            let err =
                check_tls_files(&url(format!("sslmode={mode}&sslrootcert={missing}"))).unwrap_err();
            assert!(matches!(err, StoreError::TlsFile { .. }), "{err}");
            assert_eq!(
                err.to_string(),
                format!("sslrootcert={missing} cannot be read")
            );
        }
        // The last of repeated parameters counts, as in sqlx.
        assert!(check_tls_files(&url(format!(
            "sslmode=verify-full&sslrootcert={missing}&sslrootcert={ca}"
        )))
        .is_ok());
        // Not verifying: sqlx does not read the root certificate.
        assert!(check_tls_files(&url(format!("sslmode=require&sslrootcert={missing}"))).is_ok());
        // A client key is read whenever TLS may be used, and never without it.
        let err = check_tls_files(&url(format!("sslmode=prefer&ssl-key={missing}"))).unwrap_err();
        assert!(err.to_string().starts_with("ssl-key="), "{err}");
        assert!(check_tls_files(&url(format!("sslmode=disable&sslkey={missing}"))).is_ok());
        // PEM text in place of a path is the certificate itself.
        assert!(check_tls_files(&url(
            "sslmode=verify-full&sslrootcert=-----BEGIN%20CERTIFICATE-----".into()
        ))
        .is_ok());
    }

    /// An argument of a query whose plan a test reads.
    enum Arg {
        Int(i64),
        Bytes(Vec<u8>),
        Text(String),
    }

    /// PostgreSQL's plan for `query` with `args`, as text.
    async fn plan(pool: &AnyPool, query: &str, args: Vec<Arg>) -> String {
        let explain = format!("EXPLAIN {query}");
        let mut q = sqlx::query(&explain);
        for arg in args {
            q = match arg {
                Arg::Int(v) => q.bind(v),
                Arg::Bytes(v) => q.bind(v),
                Arg::Text(v) => q.bind(v),
            };
        }
        let rows = q.fetch_all(pool).await.unwrap();
        rows.iter()
            .map(|r| r.try_get::<String, _>(0).unwrap())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// `statement`'s generic plan (the one a cached statement may settle on, made without its
    /// arguments): prepared with parameters of `types`, explained with `args`.
    async fn generic_plan(url: &str, types: &str, statement: &str, args: &str) -> String {
        use sqlx::Connection;
        let mut conn = AnyConnection::connect(url).await.unwrap();
        for setup in [
            format!("PREPARE generic({types}) AS {statement}"),
            "SET plan_cache_mode = force_generic_plan".into(),
        ] {
            sqlx::query(&setup).execute(&mut conn).await.unwrap();
        }
        let rows = sqlx::query(&format!("EXPLAIN EXECUTE generic({args})"))
            .fetch_all(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        rows.iter()
            .map(|r| r.try_get::<String, _>(0).unwrap())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// A plan that finds entries by identity through the identity index alone: never a scan
    /// of the table, never the primary key's range of the whole log (migration 0008).
    fn assert_probes_the_identity_index(plan: &str) {
        assert!(plan.contains(" entries_by_log_identity"), "{plan}");
        assert!(!plan.contains("Seq Scan on entries"), "{plan}");
        assert!(!plan.contains("entries_pkey"), "{plan}");
    }

    /// On a PostgreSQL server that has never analysed the store's tables (autovacuum off, as
    /// on some servers), each lookup of the hot paths is planned on its index, never as a scan
    /// of the table.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hot_queries_use_their_indexes_without_statistics() {
        let db = sigstack_bench_support::TestDb::postgres().await;
        let store = SqlStore::connect(&db.url).await.unwrap();
        let pool = &store.pool;
        let log = store
            .create_log("stats.example", b"checkpoint")
            .await
            .unwrap();
        for statement in [
            "ALTER TABLE entries SET (autovacuum_enabled = false)",
            "ALTER TABLE entry_index SET (autovacuum_enabled = false)",
            "ALTER TABLE tiles SET (autovacuum_enabled = false)",
            // 100,000 entries, their search keys and their tiles, written in bulk.
            "INSERT INTO entries SELECT $1, i, sha256(int8send(i)), sha256(int8send(i)), \
             sha256(int8send(-i)) || sha256(int8send(-i)), 0 FROM generate_series(0, 99999) AS i",
            "INSERT INTO entry_index SELECT $1, 'hash', encode(sha256(int8send(-i)), 'hex'), i \
             FROM generate_series(0, 99999) AS i",
            "INSERT INTO tiles SELECT $1, l, i, decode(repeat('00', 8192), 'hex') \
             FROM generate_series(0, 2) AS l, generate_series(0, 390) AS i",
        ] {
            sqlx::query(statement)
                .bind(log.0)
                .execute(pool)
                .await
                .unwrap();
        }
        let analysed: i64 = sqlx::query(
            "SELECT count(*) FROM pg_stats WHERE tablename IN ('entries', 'entry_index', 'tiles')",
        )
        .fetch_one(pool)
        .await
        .unwrap()
        .get(0);
        assert_eq!(analysed, 0, "the premise: no statistics");

        // A round of 4096 identities, as the sequencer looks them up after a resubmission.
        let identities: Vec<u8> = (0..4096u32)
            .flat_map(|i| tlog::merkle::leaf_hash(&i.to_be_bytes()))
            .collect();
        let lookup = plan(
            pool,
            EXISTING_BY_IDENTITY,
            vec![Arg::Int(log.0), Arg::Bytes(identities.clone())],
        )
        .await;
        assert_probes_the_identity_index(&lookup);
        // The statements are cached: their generic plans, made without the arguments, too.
        let generic = generic_plan(
            &db.url,
            "bigint, bytea",
            EXISTING_BY_IDENTITY,
            &format!("{}, '\\x00'", log.0),
        )
        .await;
        assert_probes_the_identity_index(&generic);
        assert!(generic.contains("$2"), "a generic plan: {generic}");
        // The round's write statement probes the batch's identities the same way (its
        // deduplication), whatever it is given.
        let write = generic_plan(
            &db.url,
            "bigint, text, text, bytea, bytea, bytea, text, text, text, bytea, text, text, \
             bytea, text, text, text, text, bytea, text, text, bigint, bytea, bytea, bigint, \
             bigint",
            WRITE_ROUND_POSTGRES,
            &format!(
                "{}, '', '', '\\x00', '\\x00', '\\x00', '', '', '', '\\x00', '', '', '\\x00', \
                 '', '', '', '', '\\x00', '', '', 0, '\\x00', '\\x00', 0, 0",
                log.0
            ),
        )
        .await;
        assert_probes_the_identity_index(&write);
        assert!(write.contains("$4"), "a generic plan: {write}");
        // The shape the lookup replaces (conditions on the columns, an `IN` list) reads the
        // whole log here rather than probing the identity index: the premise holds.
        let in_list = format!(
            "SELECT idx FROM entries WHERE log_id = $1 AND identity IN ({})",
            (2..4098)
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let args = std::iter::once(Arg::Int(log.0))
            .chain(identities.chunks(32).map(|id| Arg::Bytes(id.to_vec())))
            .collect();
        let former = plan(pool, &in_list, args).await;
        assert!(!former.contains("entries_by_log_identity"), "{former}");

        let by_hash = || vec![Arg::Int(log.0), Arg::Bytes(vec![7u8; 32])];
        // 100 tiles, as a proof's reads are batched.
        let tile_args = std::iter::once(Arg::Int(log.0))
            .chain((0..100).flat_map(|i| [Arg::Int(i % 3), Arg::Int(i * 3)]))
            .collect();
        let hot = [
            (
                "entries",
                plan(pool, ENTRY_BY_IDENTITY_POSTGRES, by_hash()).await,
            ),
            (
                "entries",
                plan(pool, ENTRY_BY_LEAF_HASH_POSTGRES, by_hash()).await,
            ),
            (
                "entries",
                plan(
                    pool,
                    ENTRIES_IN_RANGE,
                    vec![Arg::Int(log.0), Arg::Int(5000), Arg::Int(5256)],
                )
                .await,
            ),
            (
                "entry_index",
                plan(
                    pool,
                    LOOKUP_INDEX_POSTGRES,
                    vec![
                        Arg::Int(log.0),
                        Arg::Text("hash".into()),
                        Arg::Text("00".repeat(32)),
                        Arg::Int(1000),
                    ],
                )
                .await,
            ),
            ("tiles", plan(pool, &tiles_query(100), tile_args).await),
        ];
        assert_probes_the_identity_index(&hot[0].1);
        assert_probes_the_identity_index(&hot[1].1);
        assert!(
            hot[3].1.contains("on entry_index_by_key_hash"),
            "{}",
            hot[3].1
        );
        for (table, plan) in hot {
            assert!(plan.contains("Index"), "{plan}");
            assert!(!plan.contains(&format!("Seq Scan on {table}")), "{plan}");
        }
        store.close().await;
    }

    #[test]
    fn values_lists_number_postgres_placeholders_in_order_and_leave_sqlite_ones_anonymous() {
        assert_eq!(values_list(Backend::Postgres, 2, 2), "($1, $2), ($3, $4)");
        assert_eq!(values_list(Backend::Postgres, 1, 3), "($1, $2, $3)");
        assert_eq!(values_list(Backend::Sqlite, 2, 2), "(?, ?), (?, ?)");
    }
}
