//! `rekor-loadgen --grown N`: what a large log costs Rekor's writers, as they see it.
//!
//! `tlog-loadgen grow` measures the store alone, where an append costs a few microseconds
//! and the indexes' growth shows at its largest. Here the same growth is measured through
//! Rekor's whole write path (HTTP, signature verification, canonicalisation, sequencing,
//! proof and SET): the active shard is grown to `N` entries with synthetic ones appended
//! through its own sequencer and store, then pairs of windows run, one on a fresh empty log
//! and one on the grown log, seconds apart on the same server, each with entries signed for
//! it. The median of the pairs' ratios is the growth's cost, free of the machine's drift.
//!
//! The synthetic entries are shaped as hashedrekord's: deduplicated by their leaf hash and
//! filed under a public key (one of the run's sixteen) and an artifact digest, so the
//! identity and search indexes grow as a Rekor log's do. Rekor cannot render them (they are
//! not entries it made); the windows only write.

use crate::{has_proof, sign_entries, Args, EntryKey, InProcess, ServiceKeys};
use sha2::{Digest, Sha256};
use sigstack_bench_support::{load, median, BenchDatabase};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tlog_store::{IndexKey, Log, Submission};

/// The store's index kinds of Rekor v1's search keys (`v1::index_key`): a public key's digest
/// and an artifact's.
const KEY_KIND: &str = "key";
const ARTIFACT_KIND: &str = "hash";

/// What was measured at one size.
struct AtSize {
    size: u64,
    /// (empty log, grown log) of each pair.
    pairs: Vec<(load::LoadReport, load::LoadReport)>,
}

impl AtSize {
    fn shares(&self) -> Vec<f64> {
        self.pairs
            .iter()
            .map(|(empty, grown)| grown.per_second() / empty.per_second())
            .collect()
    }
}

/// Grows a log to each of `sizes` in turn and at each measures `args.pairs` pairs of windows.
pub(crate) async fn run(args: &Args, sizes: &[u64], keys: &[EntryKey]) -> anyhow::Result<()> {
    let mut sizes = sizes.to_vec();
    sizes.sort_unstable();
    sizes.dedup();
    let service_keys = ServiceKeys::new();
    let grown_database = BenchDatabase::fresh("sigstack_bench_rekor_grown").await;
    // Every empty log's database is made now, and all are dropped at the end: on PostgreSQL
    // dropping a database forces a checkpoint, and a window in a checkpoint's wake pays for
    // a full-page image at the first touch of every page.
    let mut empty_databases = Vec::new();
    for _ in 0..args.pairs * sizes.len() {
        empty_databases.push(BenchDatabase::fresh("sigstack_bench_rekor_empty").await);
    }
    let mut empty_databases = empty_databases.iter();
    let grown = InProcess::start(&grown_database, &service_keys, args.max_delay_ms).await?;
    let key_digests: Arc<Vec<String>> = Arc::new(
        keys.iter()
            .map(|(_, pem_b64)| hex::encode(Sha256::digest(pem_b64.as_bytes())))
            .collect(),
    );

    let mut measured = Vec::new();
    for size in sizes {
        let started = Instant::now();
        let log = grown.rekor.active_v1_log();
        let from = log.head().await?.size;
        fill(
            log,
            size,
            args.fill_concurrency,
            args.fill_payload_bytes,
            key_digests.clone(),
        )
        .await?;
        let grew = started.elapsed().as_secs_f64();
        eprintln!(
            "grew the active shard from {from} to {size} entries in {grew:.0}s ({:.0} appends/s)",
            size.saturating_sub(from) as f64 / grew
        );
        let mut at = AtSize {
            size,
            pairs: Vec::new(),
        };
        for pair in 1..=args.pairs {
            let empty_database = empty_databases.next().expect("one per pair and size");
            let requests: Arc<Vec<load::Request>> = Arc::new(
                sign_entries(args.entries, keys)
                    .into_iter()
                    .map(load::Request::json)
                    .collect(),
            );
            let empty = InProcess::start(empty_database, &service_keys, args.max_delay_ms).await?;
            let on_empty = window(&empty, &requests, args, empty_database).await?;
            drop(empty);
            let grown_size = log.head().await?.size;
            let on_grown = window(&grown, &requests, args, &grown_database).await?;
            println!(
                "at {size}, pair {pair}: empty log {}; log of {grown_size} entries {}: {:.1}% of the empty log",
                describe(&on_empty),
                describe(&on_grown),
                100.0 * on_grown.per_second() / on_empty.per_second()
            );
            at.pairs.push((on_empty, on_grown));
        }
        measured.push(at);
    }
    println!(
        "rekor v1 hashedrekord ({}, concurrency {}, {}-second windows) on a log grown through its sequencer, against a fresh empty log (medians of {} pairs):",
        grown_database.backend(),
        args.concurrency,
        args.seconds,
        args.pairs
    );
    for at in &measured {
        let rate = |pick: fn(&(load::LoadReport, load::LoadReport)) -> &load::LoadReport| {
            median(at.pairs.iter().map(|p| pick(p).per_second())).unwrap_or_default()
        };
        let shares = at.shares();
        println!(
            "  {}: empty log {:.0} entries/s, grown log {:.0} entries/s: {:.1}% ({})",
            at.size,
            rate(|p| &p.0),
            rate(|p| &p.1),
            100.0 * median(shares.iter().copied()).unwrap_or_default(),
            shares
                .iter()
                .map(|s| format!("{:.1}%", 100.0 * s))
                .collect::<Vec<_>>()
                .join(" / ")
        );
    }
    Ok(())
}

/// One window of `args.seconds` posting `requests` to `service`; every request must succeed.
async fn window(
    service: &InProcess,
    requests: &Arc<Vec<load::Request>>,
    args: &Args,
    database: &BenchDatabase,
) -> anyhow::Result<load::LoadReport> {
    let target = load::Target::parse(&service.endpoint).map_err(anyhow::Error::msg)?;
    let report = load::run(
        &target,
        requests.clone(),
        args.concurrency,
        Duration::from_secs(args.seconds),
        |status, body| status == 201 && has_proof(body),
        false,
        Some(database),
    )
    .await;
    if let Some(why) = &report.first_failure {
        anyhow::bail!("{} requests failed; the first: {why}", report.failures);
    }
    Ok(report)
}

/// A window's rate, latency and CPU per entry, on one line.
fn describe(report: &load::LoadReport) -> String {
    let per_entry = |cpu: Duration| cpu.as_secs_f64() * 1e6 / report.latencies.len().max(1) as f64;
    let cpu = match (report.cpu, report.database_cpu) {
        (Some(own), Some(database)) => format!(
            "; {:.0} + {:.0} µs of CPU per entry, process + database",
            per_entry(own),
            per_entry(database)
        ),
        // SQLite: the database's work is the process's.
        (Some(own), None) => format!("; {:.0} µs of CPU per entry", per_entry(own)),
        _ => String::new(),
    };
    format!(
        "{:.0} entries/s (p99 {:.1} ms{cpu})",
        report.per_second(),
        report.p(0.99),
    )
}

/// Synthetic entry `n`: `n` in the first eight bytes of a fixed filler, deduplicated by its
/// leaf hash and filed as hashedrekord's are.
fn synthetic(n: u64, bytes: usize, key_digests: &[String]) -> Submission {
    let mut payload = vec![0x5a; bytes.max(8)];
    payload[..8].copy_from_slice(&n.to_le_bytes());
    let artifact = hex::encode(Sha256::digest(&payload));
    let mut submission = Submission::by_leaf_hash(payload);
    submission.index_keys = vec![
        IndexKey {
            kind: KEY_KIND.to_owned(),
            key: key_digests[n as usize % key_digests.len()].clone(),
        },
        IndexKey {
            kind: ARTIFACT_KIND.to_owned(),
            key: format!("sha256:{artifact}"),
        },
    ];
    submission
}

/// Appends synthetic entries from `concurrency` tasks until the log holds `size`.
async fn fill(
    log: &Log,
    size: u64,
    concurrency: usize,
    bytes: usize,
    key_digests: Arc<Vec<String>>,
) -> anyhow::Result<()> {
    let next = Arc::new(AtomicU64::new(log.head().await?.size));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (log, next, key_digests) = (log.clone(), next.clone(), key_digests.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= size {
                    return Ok::<(), anyhow::Error>(());
                }
                if n > 0 && n % 1_000_000 == 0 {
                    eprintln!("growing: {n} entries");
                }
                let submission = synthetic(n, bytes, &key_digests);
                loop {
                    match log.append(submission.clone()).await {
                        Ok(_) => break,
                        // The sequencer's queue is full: wait for it to drain.
                        Err(tlog_store::AppendError::Pushback) => {
                            tokio::time::sleep(Duration::from_millis(2)).await
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_entries_are_distinct_and_filed_as_hashedrekord() {
        let keys = vec!["aa".to_owned(), "bb".to_owned()];
        let (a, b) = (synthetic(0, 128, &keys), synthetic(1, 128, &keys));
        assert_eq!(a.payload.len(), 128);
        assert_ne!(a.identity, b.identity);
        assert_eq!(a.identity, tlog::merkle::leaf_hash(&a.payload));
        let kinds: Vec<_> = a.index_keys.iter().map(|k| k.kind.as_str()).collect();
        assert_eq!(kinds, [KEY_KIND, ARTIFACT_KIND]);
        assert_eq!(a.index_keys[0].key, "aa");
        assert_eq!(b.index_keys[0].key, "bb");
        assert!(a.index_keys[1].key.starts_with("sha256:"));
    }
}
