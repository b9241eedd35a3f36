//! `tlog-loadgen grow`: grows one log through the real sequencer and store to each of a list
//! of tree sizes (by default 1, 5 and 20 million), and at each reports what an operator needs
//! to plan for years of growth: append throughput, proof and search latency, and the database's
//! bytes per entry and per index. At the end it fits the curves and extrapolates them to a
//! billion entries.
//!
//! The entries are synthetic (`--payload-bytes`, 128 by default) but shaped as Rekor's are:
//! each is deduplicated by its leaf hash and filed under the SHA-256 of its payload in the
//! search index (Rekor's search by artifact digest), so the tables and indexes grow as a
//! Rekor log's do. Entry `n`'s payload is a pure function of `n`, so any entry below the tree
//! size can be looked up again. Start each run on a fresh database: the measurements assume
//! the log holds exactly entries `0..size`.

use anyhow::Context;
use serde::Serialize;
use sha2::Digest;
use sigstack_bench_support::median;
use sqlx::Row;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tlog_store::{
    IndexKey, Log, LogOptions, LogStore, NoteCheckpointSigner, PlainEntries, SqlStore, Submission,
};

/// The search index's kind for the synthetic entries (Rekor files artifacts under `sha256`).
const INDEX_KIND: &str = "sha256";

/// What `grow` was asked to do.
pub(crate) struct GrowArgs {
    pub(crate) url: String,
    pub(crate) milestones: Vec<u64>,
    pub(crate) concurrency: u64,
    pub(crate) payload_bytes: usize,
    pub(crate) samples: usize,
    pub(crate) window: Duration,
    /// Pairs of windows at each size: one on a fresh empty log, one on the grown log (see
    /// [`paired_windows`]); none when 0.
    pub(crate) pairs: usize,
    /// How the empty logs of the pairs are opened: as the grown one was.
    pub(crate) opener: LogOpener,
}

/// What opening a log takes besides its store, for the fresh empty logs of the pairs.
pub(crate) struct LogOpener {
    pub(crate) origin: String,
    pub(crate) signer: Arc<NoteCheckpointSigner>,
    pub(crate) options: LogOptions,
}

/// Entry `n`'s payload: `n` in the first eight bytes, then a fixed filler.
pub(crate) fn payload(n: u64, bytes: usize) -> Vec<u8> {
    let mut payload = vec![0x5a; bytes.max(8)];
    payload[..8].copy_from_slice(&n.to_le_bytes());
    payload
}

/// Entry `n`'s submission, as Rekor shapes one: identity the leaf hash, one search key.
pub(crate) fn submission(n: u64, bytes: usize) -> Submission {
    let payload = payload(n, bytes);
    let digest = hex::encode(sha2::Sha256::digest(&payload));
    let mut submission = Submission::by_leaf_hash(payload);
    submission.index_keys.push(IndexKey {
        kind: INDEX_KIND.to_owned(),
        key: digest,
    });
    submission
}

/// Latency percentiles of a sample, in milliseconds.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub(crate) struct Latency {
    pub p50_ms: f64,
    pub p99_ms: f64,
}

impl Latency {
    /// Percentiles of `samples` (sorted here); zero for an empty sample.
    pub(crate) fn of(mut samples: Vec<Duration>) -> Self {
        samples.sort();
        let at = |p: f64| {
            if samples.is_empty() {
                return 0.0;
            }
            let i = ((samples.len() as f64 * p).ceil() as usize).clamp(1, samples.len()) - 1;
            samples[i].as_secs_f64() * 1e3
        };
        Self {
            p50_ms: at(0.50),
            p99_ms: at(0.99),
        }
    }
}

/// The database's size: the whole and each table and index.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Sizes {
    pub(crate) database_bytes: u64,
    /// (table or index, bytes), largest first.
    pub(crate) relations: Vec<(String, u64)>,
}

/// What was measured at one tree size.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Milestone {
    pub(crate) tree_size: u64,
    /// Appends per second through the sequencer in the window measured at this size.
    pub(crate) appends_per_sec: f64,
    pub(crate) append_latency: Latency,
    pub(crate) inclusion_proof: Latency,
    pub(crate) consistency_proof: Latency,
    /// Search by artifact digest (the search index) and by leaf hash (the entry's identity).
    pub(crate) search_by_digest: Latency,
    pub(crate) search_by_leaf_hash: Latency,
    pub(crate) sizes: Sizes,
    /// PostgreSQL's write-ahead log during the append window (none on SQLite).
    pub(crate) wal: Option<WalUse>,
    /// The CPU the append window cost.
    pub(crate) cpu: Option<CpuUse>,
    /// Seconds spent growing to this size since the previous milestone.
    pub(crate) grow_seconds: f64,
    /// The windows alternated with a fresh empty log (`--pairs`), if any.
    pub(crate) pairs: Vec<Pair>,
}

/// One pair of append windows of the same length, one right after the other on the same
/// server: a fresh empty log first, then the grown log.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub(crate) struct Pair {
    pub(crate) empty_per_sec: f64,
    pub(crate) grown_per_sec: f64,
    /// The grown log's window's write-ahead log (PostgreSQL): a window in a checkpoint's wake
    /// shows as full-page images.
    pub(crate) grown_wal: Option<WalUse>,
    pub(crate) empty_cpu: Option<CpuUse>,
    pub(crate) grown_cpu: Option<CpuUse>,
}

impl Pair {
    /// The grown log's rate as a share of the empty log's.
    pub(crate) fn share(&self) -> f64 {
        self.grown_per_sec / self.empty_per_sec.max(f64::MIN_POSITIVE)
    }
}

impl Milestone {
    pub(crate) fn bytes_per_entry(&self) -> f64 {
        self.sizes.database_bytes as f64 / self.tree_size.max(1) as f64
    }
}

/// The write-ahead log PostgreSQL wrote during an append window, per append: what shows
/// whether the server is sized for the log (`docs/deploy.md`, memory and checkpoints). Read
/// from the server-wide `pg_stat_wal` (PostgreSQL 14 and later), so another database's writes
/// in the window count too.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub(crate) struct WalUse {
    pub(crate) bytes_per_append: f64,
    /// Pages written to the log whole: the first change to a page after a checkpoint.
    pub(crate) full_page_images_per_append: f64,
}

/// `pg_stat_wal`'s (full-page images, bytes) so far; none on SQLite or an older server.
async fn wal_counters(pool: &sqlx::AnyPool) -> Option<(i64, i64)> {
    let row = sqlx::query("SELECT wal_fpi, wal_bytes::BIGINT FROM pg_stat_wal")
        .fetch_one(pool)
        .await
        .ok()?;
    Some((row.try_get(0).ok()?, row.try_get(1).ok()?))
}

/// The server's settings that decide how an append's random index writes cost (PostgreSQL).
async fn print_server_settings(pool: &sqlx::AnyPool) {
    let Ok(rows) = sqlx::query(
        "SELECT name || '=' || current_setting(name) FROM pg_settings \
         WHERE name IN ('shared_buffers', 'max_wal_size', 'checkpoint_timeout', \
                        'wal_compression', 'full_page_writes', 'fsync', 'synchronous_commit') \
         ORDER BY name",
    )
    .fetch_all(pool)
    .await
    else {
        return;
    };
    let settings: Vec<String> = rows.iter().filter_map(|r| r.try_get(0).ok()).collect();
    eprintln!("grow: server settings: {}", settings.join(" "));
}

/// Which way a measure is allowed to move when extrapolated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Trend {
    /// A cost (latency): extrapolated upwards only; a falling fit (noise) reads as flat.
    Cost,
    /// A rate (throughput): extrapolated downwards only; a rising fit reads as flat.
    Rate,
}

/// The least-squares fit of `y = a + b·log2(n)` over `points`, evaluated at `at`: how
/// latency and throughput of a Merkle log are expected to move (proofs and B-tree lookups
/// grow with the height of the tree), used to extrapolate to sizes not measured. The slope is
/// bounded by `trend` so that noise in a few samples never predicts a log that gets faster
/// as it grows, and a rate never goes below zero: a falling rate whose fit reaches zero before
/// `at` reads as 0 (the model says it runs out, not that it runs backwards).
pub(crate) fn log_fit(points: &[(u64, f64)], at: u64, trend: Trend) -> Option<f64> {
    let &(_, last) = points.last()?;
    let xs: Vec<f64> = points
        .iter()
        .map(|&(n, _)| (n.max(1) as f64).log2())
        .collect();
    let count = points.len() as f64;
    let mean_x = xs.iter().sum::<f64>() / count;
    let mean_y = points.iter().map(|&(_, y)| y).sum::<f64>() / count;
    let spread: f64 = xs.iter().map(|x| (x - mean_x).powi(2)).sum();
    if spread == 0.0 {
        return Some(last);
    }
    let covariance: f64 = xs
        .iter()
        .zip(points)
        .map(|(x, &(_, y))| (x - mean_x) * (y - mean_y))
        .sum();
    let slope = match trend {
        Trend::Cost => (covariance / spread).max(0.0),
        Trend::Rate => (covariance / spread).min(0.0),
    };
    let x_last = *xs.last()?;
    let value = last + slope * ((at as f64).log2() - x_last);
    Some(match trend {
        Trend::Cost => value,
        Trend::Rate => value.max(0.0),
    })
}

/// Grows the log to every milestone, printing one JSON line per milestone and a Markdown
/// table with the extrapolation at the end.
pub(crate) async fn grow(log: Log, args: GrowArgs) -> anyhow::Result<()> {
    let pool = stats_pool(&args.url).await?;
    let start_size = log.head().await?.size;
    // The empty-log figure everything is compared with (only when the log starts empty: a
    // resumed run has no empty log to measure).
    print_server_settings(&pool).await;
    // The pairs' empty logs live in one database made now, before anything is measured, and
    // removed after the last window (see `FreshDatabase`).
    let fresh = match args.pairs {
        0 => None,
        _ => Some(FreshDatabase::create(&args.url, &pool).await?),
    };
    let database = database_name(&pool).await?;
    let database = database.as_deref();
    let empty = if start_size == 0 {
        let window =
            measured_append_window(&log, &args, &pool, database, Arc::new(AtomicU64::new(0)))
                .await?;
        let wal = window.wal.map_or(String::new(), |w| {
            format!(
                ", {:.0} B of WAL and {:.2} full-page images per append",
                w.bytes_per_append, w.full_page_images_per_append
            )
        });
        let cpu = window.cpu.map_or(String::new(), |c| {
            format!(", {} of CPU per append", c.describe())
        });
        eprintln!("grow: empty log: {:.0} appends/s{wal}{cpu}", window.rate);
        Some((window.rate, window.latency))
    } else {
        None
    };
    let next = Arc::new(AtomicU64::new(log.head().await?.size));
    let mut done = Vec::new();
    for &target in &args.milestones {
        let started = Instant::now();
        fill(&log, &args, next.clone(), target).await?;
        let grow_seconds = started.elapsed().as_secs_f64();
        let size = log.head().await?.size;
        eprintln!("grow: {size} entries ({grow_seconds:.0} s); measuring");
        let (inclusion_proof, consistency_proof) = proof_latency(&log, size, args.samples).await?;
        let (search_by_digest, search_by_leaf_hash) = search_latency(&log, &args, size).await?;
        let sizes = sizes(&pool).await?;
        let window = measured_append_window(&log, &args, &pool, database, next.clone()).await?;
        let pairs = match &fresh {
            Some(fresh) => {
                paired_windows(&log, &args, &pool, database, fresh, next.clone()).await?
            }
            None => Vec::new(),
        };
        let milestone = Milestone {
            tree_size: size,
            appends_per_sec: window.rate,
            append_latency: window.latency,
            inclusion_proof,
            consistency_proof,
            search_by_digest,
            search_by_leaf_hash,
            sizes,
            wal: window.wal,
            cpu: window.cpu,
            grow_seconds,
            pairs,
        };
        println!("{}", serde_json::to_string(&milestone)?);
        done.push(milestone);
    }
    if let Some(fresh) = fresh {
        fresh.remove(&pool).await?;
    }
    println!("{}", report(empty, &done));
    Ok(())
}

/// `--pairs` pairs of append windows: a fresh empty log, then the grown log, alternating. A
/// single window moves by ±15% with the machine and with the server's checkpoints, and the
/// empty-log window of the run's start was measured minutes or hours earlier; a pair is
/// measured within seconds, so its ratio is what growth costs, and the median of the pairs the
/// figure to read.
async fn paired_windows(
    log: &Log,
    args: &GrowArgs,
    pool: &sqlx::AnyPool,
    database: Option<&str>,
    fresh: &FreshDatabase,
    next: Arc<AtomicU64>,
) -> anyhow::Result<Vec<Pair>> {
    let mut pairs = Vec::new();
    for _ in 0..args.pairs {
        let empty = empty_log_window(args, pool, fresh).await?;
        let grown = measured_append_window(log, args, pool, database, next.clone()).await?;
        let pair = Pair {
            empty_per_sec: empty.rate,
            grown_per_sec: grown.rate,
            grown_wal: grown.wal,
            empty_cpu: empty.cpu,
            grown_cpu: grown.cpu,
        };
        let cpu = |c: Option<CpuUse>| c.map_or(String::new(), |c| format!(" ({})", c.describe()));
        eprintln!(
            "grow: pair {}: empty {:.0}/s{}, grown {:.0}/s{} ({:.0}%){}",
            pairs.len() + 1,
            pair.empty_per_sec,
            cpu(pair.empty_cpu),
            pair.grown_per_sec,
            cpu(pair.grown_cpu),
            pair.share() * 100.0,
            pair.grown_wal.map_or(String::new(), |w| format!(
                ", {:.2} full-page images per append",
                w.full_page_images_per_append
            )),
        );
        pairs.push(pair);
    }
    Ok(pairs)
}

/// One append window on a fresh empty log in `fresh`, emptied first.
async fn empty_log_window(
    args: &GrowArgs,
    pool: &sqlx::AnyPool,
    fresh: &FreshDatabase,
) -> anyhow::Result<Window> {
    fresh.empty().await?;
    let store = Arc::new(
        SqlStore::connect(&fresh.url)
            .await
            .context("connecting to the fresh database")?,
    );
    let log = Log::open_or_create(
        store.clone() as Arc<dyn LogStore>,
        &args.opener.origin,
        Arc::new(PlainEntries),
        args.opener.signer.clone(),
        args.opener.options.clone(),
    )
    .await?;
    let window = measured_append_window(
        &log,
        args,
        pool,
        fresh.postgres_name.as_deref(),
        Arc::new(AtomicU64::new(0)),
    )
    .await?;
    drop(log);
    store.close().await;
    Ok(window)
}

/// The PostgreSQL database `pool` is connected to (none on SQLite).
async fn database_name(pool: &sqlx::AnyPool) -> anyhow::Result<Option<String>> {
    if pool
        .connect_options()
        .database_url
        .scheme()
        .starts_with("sqlite")
    {
        return Ok(None);
    }
    let name: String = sqlx::query("SELECT current_database()::text")
        .fetch_one(pool)
        .await?
        .try_get(0)?;
    Ok(Some(name))
}

/// The database of the pairs' empty logs, beside the grown one: `<name>_empty` on the same
/// PostgreSQL server, or `<file>.empty` beside the SQLite file. On PostgreSQL it is made once
/// and emptied with `TRUNCATE` before each window, because `DROP DATABASE` forces an immediate
/// checkpoint of the whole server: every grown-log window after one would start in the
/// checkpoint's wake, where each index page's first change writes the whole page to the WAL.
struct FreshDatabase {
    url: String,
    postgres_name: Option<String>,
}

/// The tables an empty log starts without rows in (the store's schema, `migrations/`).
const LOG_TABLES: &str = "logs, entries, entry_index, tiles, blobs";

impl FreshDatabase {
    async fn create(grown: &str, pool: &sqlx::AnyPool) -> anyhow::Result<Self> {
        if let Some(file) = grown
            .strip_prefix("sqlite://")
            .or_else(|| grown.strip_prefix("sqlite:"))
        {
            let file = format!("{}.empty", file.split('?').next().unwrap_or(file));
            remove_sqlite_files(&file);
            return Ok(Self {
                url: format!("sqlite://{file}"),
                postgres_name: None,
            });
        }
        let grown_name = database_name(pool)
            .await?
            .context("the grown log's database")?;
        let name = format!("{grown_name}_empty");
        for statement in [
            format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
            format!("CREATE DATABASE \"{name}\""),
        ] {
            sqlx::query(&statement).execute(pool).await?;
        }
        // The grown database's URL naming the new one: user, host, TLS settings kept.
        let mut url = url::Url::parse(grown)
            .context("the database URL, for the pairs' fresh databases (--pairs 0 skips them)")?;
        url.set_path(&format!("/{name}"));
        let url = String::from(url);
        // The schema, made once by the store, for `empty` to truncate.
        SqlStore::connect(&url).await?.close().await;
        Ok(Self {
            url,
            postgres_name: Some(name),
        })
    }

    /// No log in it: SQLite's file removed, PostgreSQL's tables truncated.
    async fn empty(&self) -> anyhow::Result<()> {
        match &self.postgres_name {
            None => remove_sqlite_files(self.url.trim_start_matches("sqlite://")),
            Some(_) => {
                let pool = stats_pool(&self.url).await?;
                let truncated = sqlx::query(&format!("TRUNCATE {LOG_TABLES}"))
                    .execute(&pool)
                    .await;
                pool.close().await;
                truncated?;
            }
        }
        Ok(())
    }

    async fn remove(self, pool: &sqlx::AnyPool) -> anyhow::Result<()> {
        match &self.postgres_name {
            Some(name) => {
                sqlx::query(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
                    .execute(pool)
                    .await?;
            }
            None => remove_sqlite_files(self.url.trim_start_matches("sqlite://")),
        }
        Ok(())
    }
}

/// A SQLite database's file and its write-ahead log and shared memory, where they exist.
fn remove_sqlite_files(file: &str) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{file}{suffix}"));
    }
}

/// Appends entries `next..` from `concurrency` tasks until the tree holds `target`; every
/// entry handed out is in the log when this returns.
async fn fill(log: &Log, args: &GrowArgs, next: Arc<AtomicU64>, target: u64) -> anyhow::Result<()> {
    // Already there (a remeasurement of a grown log): the counter must not be moved back.
    if next.load(Ordering::Relaxed) >= target {
        return Ok(());
    }
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency {
        let (log, next, bytes) = (log.clone(), next.clone(), args.payload_bytes);
        tasks.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= target {
                    // Leave the counter where the next phase starts.
                    next.fetch_min(target, Ordering::Relaxed);
                    return Ok::<(), anyhow::Error>(());
                }
                append(&log, n, bytes).await?;
            }
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(())
}

/// Appends entry `n`, waiting out the sequencer's pushback.
async fn append(log: &Log, n: u64, bytes: usize) -> anyhow::Result<()> {
    loop {
        match log.append(submission(n, bytes)).await {
            Ok(_) => return Ok(()),
            Err(tlog_store::AppendError::Pushback) => {
                tokio::time::sleep(Duration::from_millis(2)).await
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// One measured append window.
pub(crate) struct Window {
    pub(crate) rate: f64,
    pub(crate) latency: Latency,
    pub(crate) wal: Option<WalUse>,
    pub(crate) cpu: Option<CpuUse>,
}

/// The CPU an append window cost per append: this process (the appending tasks, the
/// sequencer, planning, checkpoint signing, proofs) and, on PostgreSQL running on this machine,
/// the server processes connected to the log's database (its autovacuum workers included).
/// What tells a log that costs more per append from a machine that had less to give.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub(crate) struct CpuUse {
    pub(crate) process_us: f64,
    pub(crate) database_us: Option<f64>,
}

impl CpuUse {
    /// This process's and the database's together (0 when not measured).
    fn total_us(cpu: Option<Self>) -> f64 {
        cpu.map_or(0.0, |c| c.process_us + c.database_us.unwrap_or(0.0))
    }

    fn describe(&self) -> String {
        match self.database_us {
            Some(db) => format!("{:.0}+{db:.0} µs", self.process_us),
            None => format!("{:.0} µs", self.process_us),
        }
    }
}

/// [`append_window`], with the write-ahead log it made PostgreSQL write and the CPU it cost;
/// `database` names the PostgreSQL database `log` is in (none on SQLite).
async fn measured_append_window(
    log: &Log,
    args: &GrowArgs,
    pool: &sqlx::AnyPool,
    database: Option<&str>,
    next: Arc<AtomicU64>,
) -> anyhow::Result<Window> {
    use sigstack_bench_support::load::{process_cpu, DatabaseCpu};
    let before = wal_counters(pool).await;
    let process_before = process_cpu();
    let database_before = match database {
        Some(name) => Some(DatabaseCpu::sample(&args.url, name).await),
        None => None,
    };
    let (rate, latency, appended) = append_window(log, args, next).await?;
    let database_spent = match (database, database_before) {
        (Some(name), Some(before)) => before.until(&DatabaseCpu::sample(&args.url, name).await),
        _ => None,
    };
    let per_append = |spent: std::time::Duration| spent.as_secs_f64() * 1e6 / appended as f64;
    let cpu = match (process_before, process_cpu()) {
        (Some(before), Some(after)) if appended > 0 => Some(CpuUse {
            process_us: per_append(after.saturating_sub(before)),
            database_us: database_spent.map(per_append),
        }),
        _ => None,
    };
    let wal = match (before, wal_counters(pool).await) {
        (Some((fpi0, bytes0)), Some((fpi1, bytes1))) if appended > 0 => Some(WalUse {
            bytes_per_append: (bytes1 - bytes0) as f64 / appended as f64,
            full_page_images_per_append: (fpi1 - fpi0) as f64 / appended as f64,
        }),
        _ => None,
    };
    Ok(Window {
        rate,
        latency,
        wal,
        cpu,
    })
}

/// Appends for `--window-seconds` from `concurrency` tasks: throughput, latency and how
/// many were appended.
async fn append_window(
    log: &Log,
    args: &GrowArgs,
    next: Arc<AtomicU64>,
) -> anyhow::Result<(f64, Latency, usize)> {
    let started = Instant::now();
    let deadline = started + args.window;
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency {
        let (log, next, bytes) = (log.clone(), next.clone(), args.payload_bytes);
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let t0 = Instant::now();
                append(&log, n, bytes).await?;
                latencies.push(t0.elapsed());
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await??);
    }
    let rate = all.len() as f64 / started.elapsed().as_secs_f64();
    let appended = all.len();
    Ok((rate, Latency::of(all), appended))
}

/// Inclusion proofs of random entries and consistency proofs from random sizes, both to the
/// current tree size, one at a time (the latency a client sees, not throughput).
async fn proof_latency(log: &Log, size: u64, samples: usize) -> anyhow::Result<(Latency, Latency)> {
    let (mut inclusion, mut consistency) = (Vec::new(), Vec::new());
    for _ in 0..samples {
        let index = rand::random::<u64>() % size;
        let t0 = Instant::now();
        log.inclusion_proof(index, size).await?;
        inclusion.push(t0.elapsed());
        let old = 1 + rand::random::<u64>() % (size - 1).max(1);
        let t0 = Instant::now();
        log.consistency_proof(old, size).await?;
        consistency.push(t0.elapsed());
    }
    Ok((Latency::of(inclusion), Latency::of(consistency)))
}

/// Lookups of random existing entries by artifact digest and by leaf hash.
async fn search_latency(
    log: &Log,
    args: &GrowArgs,
    size: u64,
) -> anyhow::Result<(Latency, Latency)> {
    let (mut by_digest, mut by_leaf) = (Vec::new(), Vec::new());
    for _ in 0..args.samples {
        let n = rand::random::<u64>() % size;
        let payload = payload(n, args.payload_bytes);
        let digest = hex::encode(sha2::Sha256::digest(&payload));
        let t0 = Instant::now();
        let found = log.lookup(INDEX_KIND, &digest, 10).await?;
        by_digest.push(t0.elapsed());
        anyhow::ensure!(
            found.len() == 1,
            "entry {n}: {} hits by digest",
            found.len()
        );
        let t0 = Instant::now();
        let entry = log
            .entry_by_identity(&tlog::merkle::leaf_hash(&payload))
            .await?;
        by_leaf.push(t0.elapsed());
        anyhow::ensure!(entry.is_some(), "entry {n}: not found by leaf hash");
    }
    Ok((Latency::of(by_digest), Latency::of(by_leaf)))
}

/// A small pool of its own for the size queries, apart from the store's.
async fn stats_pool(url: &str) -> anyhow::Result<sqlx::AnyPool> {
    sqlx::any::install_default_drivers();
    sqlx::pool::PoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .context("connecting for the size queries")
}

/// The database's size and each table's and index's, as the database itself reports them.
async fn sizes(pool: &sqlx::AnyPool) -> anyhow::Result<Sizes> {
    let postgres = pool
        .connect_options()
        .database_url
        .scheme()
        .starts_with("postgres");
    let (database_bytes, rows) = if postgres {
        let total: i64 = sqlx::query("SELECT pg_database_size(current_database())::BIGINT")
            .fetch_one(pool)
            .await?
            .try_get(0)?;
        // Tables with their TOAST data, and each index on its own.
        let rows = sqlx::query(
            "SELECT c.relname::TEXT, \
                    (CASE WHEN c.relkind = 'r' \
                          THEN pg_relation_size(c.oid) + COALESCE(pg_total_relation_size(NULLIF(c.reltoastrelid, 0)), 0) \
                          ELSE pg_relation_size(c.oid) END)::BIGINT \
             FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace \
             WHERE s.nspname = current_schema() AND c.relkind IN ('r', 'i')",
        )
        .fetch_all(pool)
        .await?;
        (total, rows)
    } else {
        // SQLite's page counts: the file as a whole, and per table and index from `dbstat`
        // (compiled into the bundled SQLite).
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(pool)
            .await?;
        let pages: i64 = sqlx::query("PRAGMA page_count")
            .fetch_one(pool)
            .await?
            .try_get(0)?;
        let page_size: i64 = sqlx::query("PRAGMA page_size")
            .fetch_one(pool)
            .await?
            .try_get(0)?;
        let rows = sqlx::query("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name")
            .fetch_all(pool)
            .await?;
        (pages * page_size, rows)
    };
    let mut relations = rows
        .iter()
        .map(|row| {
            Ok((
                row.try_get::<String, _>(0)?,
                row.try_get::<i64, _>(1)? as u64,
            ))
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    relations.retain(|(name, bytes)| *bytes > 0 && !name.starts_with("_sqlx"));
    relations.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(Sizes {
        database_bytes: database_bytes as u64,
        relations,
    })
}

/// The Markdown table of the milestones, with a column extrapolated to a billion entries.
pub(crate) fn report(empty: Option<(f64, Latency)>, milestones: &[Milestone]) -> String {
    const BILLION: u64 = 1_000_000_000;
    let mut out = String::new();
    let header: Vec<String> = milestones.iter().map(|m| human(m.tree_size)).collect();
    out.push_str(&format!(
        "\n| | {} | 1B (extrapolated) |\n",
        header.join(" | ")
    ));
    out.push_str(&format!("|---|{}---|\n", "---|".repeat(milestones.len())));
    let series = |f: &dyn Fn(&Milestone) -> f64| -> Vec<(u64, f64)> {
        milestones.iter().map(|m| (m.tree_size, f(m))).collect()
    };
    let mut row = |name: &str,
                   points: Vec<(u64, f64)>,
                   extrapolated: Option<f64>,
                   fmt: &dyn Fn(f64) -> String| {
        let cells: Vec<String> = points.iter().map(|&(_, y)| fmt(y)).collect();
        let last = extrapolated.map(fmt).unwrap_or_else(|| "–".to_owned());
        out.push_str(&format!("| {name} | {} | {last} |\n", cells.join(" | ")));
    };
    let ms = |y: f64| format!("{y:.2} ms");
    let rate = |y: f64| format!("{y:.0}/s");
    let appends = series(&|m| m.appends_per_sec);
    let append_name = match empty {
        Some((empty, _)) => format!("appends/s (empty log: {empty:.0}/s)"),
        None => "appends/s".to_owned(),
    };
    row(
        &append_name,
        appends.clone(),
        log_fit(&appends, BILLION, Trend::Rate),
        &rate,
    );
    // The pairs (`--pairs`): each size's windows alternated with a fresh empty log's.
    if !milestones.is_empty() && milestones.iter().all(|m| !m.pairs.is_empty()) {
        let of_pairs =
            |f: fn(&Pair) -> f64| series(&|m| median(m.pairs.iter().map(f)).unwrap_or(0.0));
        let count = milestones.iter().map(|m| m.pairs.len()).min().unwrap_or(0);
        row(
            &format!("appends/s, fresh empty log (median of {count} pairs)"),
            of_pairs(|p| p.empty_per_sec),
            None,
            &rate,
        );
        row(
            &format!("appends/s, this log (median of {count} pairs)"),
            of_pairs(|p| p.grown_per_sec),
            None,
            &rate,
        );
        // What each side cost per append, this process and the database together: a share
        // below 100% at an equal cost is a machine that gave the grown log less CPU.
        if milestones
            .iter()
            .flat_map(|m| &m.pairs)
            .all(|p| p.empty_cpu.is_some() && p.grown_cpu.is_some())
        {
            row(
                "CPU/append, fresh empty log (median of the pairs)",
                of_pairs(|p| CpuUse::total_us(p.empty_cpu)),
                None,
                &|y| format!("{y:.0} µs"),
            );
            row(
                "CPU/append, this log (median of the pairs)",
                of_pairs(|p| CpuUse::total_us(p.grown_cpu)),
                None,
                &|y| format!("{y:.0} µs"),
            );
        }
        let shares = of_pairs(Pair::share);
        row(
            "this log / empty log (median of the pairs' ratios)",
            shares.clone(),
            log_fit(&shares, BILLION, Trend::Rate),
            &|y| format!("{:.0}%", y * 100.0),
        );
    }
    for (name, f) in [
        (
            "append p99",
            &(|m: &Milestone| m.append_latency.p99_ms) as &dyn Fn(&Milestone) -> f64,
        ),
        ("inclusion proof p50", &|m| m.inclusion_proof.p50_ms),
        ("inclusion proof p99", &|m| m.inclusion_proof.p99_ms),
        ("consistency proof p50", &|m| m.consistency_proof.p50_ms),
        ("consistency proof p99", &|m| m.consistency_proof.p99_ms),
        ("search by digest p50", &|m| m.search_by_digest.p50_ms),
        ("search by digest p99", &|m| m.search_by_digest.p99_ms),
        ("search by leaf hash p99", &|m| m.search_by_leaf_hash.p99_ms),
    ] {
        let points = series(f);
        row(
            name,
            points.clone(),
            log_fit(&points, BILLION, Trend::Cost),
            &ms,
        );
    }
    // PostgreSQL's log per append: no extrapolation (it follows the server's settings).
    if milestones.iter().all(|m| m.wal.is_some()) && !milestones.is_empty() {
        let wal = |f: fn(&WalUse) -> f64| series(&|m| m.wal.as_ref().map_or(0.0, f));
        row(
            "WAL bytes/append",
            wal(|w| w.bytes_per_append),
            None,
            &|y| format!("{y:.0} B"),
        );
        row(
            "full-page images/append",
            wal(|w| w.full_page_images_per_append),
            None,
            &|y| format!("{y:.2}"),
        );
    }
    // Bytes grow linearly: the last milestone's bytes per entry, times a billion.
    let per_entry = series(&|m| m.bytes_per_entry());
    let last_per_entry = per_entry.last().map(|&(_, y)| y);
    row("database bytes/entry", per_entry, last_per_entry, &|y| {
        format!("{y:.0} B")
    });
    let total = series(&|m| m.sizes.database_bytes as f64);
    row(
        "database size",
        total,
        last_per_entry.map(|b| b * BILLION as f64),
        &|y| human_bytes(y),
    );
    // The tables and indexes that hold the log (the empty ones of other services, and the
    // schema's own, stay out of the table).
    let mut names: Vec<&str> = milestones
        .last()
        .map(|m| {
            m.sizes
                .relations
                .iter()
                .filter(|(_, bytes)| *bytes * 200 >= m.sizes.database_bytes)
                .map(|(n, _)| n.as_str())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    for name in names {
        let points: Vec<(u64, f64)> = milestones
            .iter()
            .map(|m| {
                let bytes = m
                    .sizes
                    .relations
                    .iter()
                    .find(|(n, _)| n == name)
                    .map_or(0, |r| r.1);
                (m.tree_size, bytes as f64 / m.tree_size.max(1) as f64)
            })
            .collect();
        let last = points.last().map(|&(_, y)| y);
        row(&format!("`{name}` bytes/entry"), points, last, &|y| {
            format!("{y:.1} B")
        });
    }
    out
}

fn human(n: u64) -> String {
    if n >= 1_000_000 && n.is_multiple_of(1_000_000) {
        format!("{}M", n / 1_000_000)
    } else if n >= 1_000 && n.is_multiple_of(1_000) {
        format!("{}k", n / 1_000)
    } else {
        n.to_string()
    }
}

fn human_bytes(bytes: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_are_distinct_and_sized() {
        assert_eq!(payload(7, 128).len(), 128);
        assert_ne!(payload(1, 128), payload(2, 128));
        assert_eq!(payload(3, 2).len(), 8);
        let s = submission(5, 128);
        assert_eq!(s.identity, tlog::merkle::leaf_hash(&s.payload));
        assert_eq!(s.index_keys.len(), 1);
        assert_eq!(s.index_keys[0].key.len(), 64);
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let latency = Latency::of(samples);
        assert_eq!(latency.p50_ms, 50.0);
        assert_eq!(latency.p99_ms, 99.0);
        assert_eq!(Latency::of(Vec::new()).p99_ms, 0.0);
    }

    #[test]
    fn the_fit_is_linear_in_the_trees_height_and_never_improves_with_size() {
        // One more millisecond per doubling: a billion is ~9.97 doublings past a million.
        let points = [(1 << 20, 1.0), (1 << 22, 3.0), (1 << 24, 5.0)];
        assert_eq!(log_fit(&points, 1 << 30, Trend::Cost), Some(11.0));
        // A latency that fell (noise) stays flat; a rate that rose stays flat.
        let falling = [(1 << 20, 2.0), (1 << 24, 1.0)];
        assert_eq!(log_fit(&falling, 1 << 30, Trend::Cost), Some(1.0));
        assert_eq!(log_fit(&points, 1 << 30, Trend::Rate), Some(5.0));
        // A rate that falls runs out at zero, never below.
        assert_eq!(log_fit(&falling, 1 << 30, Trend::Rate), Some(0.0));
        assert_eq!(log_fit(&[(1000, 2.0)], 1 << 30, Trend::Cost), Some(2.0));
        assert_eq!(log_fit(&[], 1, Trend::Cost), None);
    }

    #[test]
    fn pairs_are_read_as_the_median_of_their_ratios() {
        let pair = |empty, grown| Pair {
            empty_per_sec: empty,
            grown_per_sec: grown,
            grown_wal: None,
            empty_cpu: None,
            grown_cpu: None,
        };
        assert_eq!(pair(40_000.0, 30_000.0).share(), 0.75);
        // The median of the ratios, not the ratio of the medians: each pair shares its moment.
        let pairs = [
            pair(40_000.0, 36_000.0),
            pair(20_000.0, 19_000.0),
            pair(30_000.0, 15_000.0),
        ];
        assert_eq!(median(pairs.iter().map(Pair::share)), Some(0.9));
        let milestone = |pairs: Vec<Pair>| Milestone {
            tree_size: 1_000_000,
            appends_per_sec: 1.0,
            append_latency: Latency::of(Vec::new()),
            inclusion_proof: Latency::of(Vec::new()),
            consistency_proof: Latency::of(Vec::new()),
            search_by_digest: Latency::of(Vec::new()),
            search_by_leaf_hash: Latency::of(Vec::new()),
            sizes: Sizes {
                database_bytes: 1,
                relations: Vec::new(),
            },
            wal: None,
            cpu: None,
            grow_seconds: 1.0,
            pairs,
        };
        let table = report(None, &[milestone(pairs.to_vec())]);
        assert!(
            table.contains("| this log / empty log (median of the pairs' ratios) | 90% | 90% |"),
            "{table}"
        );
        assert!(!report(None, &[milestone(Vec::new())]).contains("pairs"));
    }

    #[test]
    fn sizes_are_printed_in_binary_units() {
        assert_eq!(human_bytes(512.0), "512.0 B");
        assert_eq!(human_bytes(3.0 * 1024.0 * 1024.0 * 1024.0), "3.0 GiB");
        assert_eq!(human(20_000_000), "20M");
        assert_eq!(human(1500), "1500");
    }
}
