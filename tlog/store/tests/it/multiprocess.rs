//! Crash and multi-process tests: real `tlog-loadgen` child processes append to a real
//! database; one is killed with SIGKILL mid-stream, two share one PostgreSQL log.
//!
//! The invariant checked after each: every acknowledged entry is at its acknowledged index,
//! the stored tiles are exactly the tree of the stored entries, and every checkpoint ever handed
//! out is consistent with the final one (the log never forked).
//!
//! They drive the `tlog-loadgen` binary, built with the `loadgen` feature: `cargo test
//! --all-features` (as the test command runs it) or `--features loadgen`.
#![cfg(feature = "loadgen")]

use crate::common;

use base64::Engine;
use common::TestDb;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tlog::checkpoint::Checkpoint;
use tlog::merkle::{self, Hash, MemoryTree};
use tlog::note::{NoteSigner, NoteVerifier};
use tlog::tile::{TileId, TILE_WIDTH};
use tlog_store::{Log, LogOptions, LogStore, NoteCheckpointSigner, PlainEntries, Submission};

const ORIGIN: &str = "loadgen.example/log";

#[derive(Debug, Clone)]
struct Ack {
    index: u64,
    payload: Vec<u8>,
    size: u64,
    root: Hash,
    checkpoint: Vec<u8>,
    proof: Vec<Hash>,
}

fn parse_ack(line: &str) -> Option<Ack> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    let hash =
        |s: &serde_json::Value| -> Option<Hash> { hex::decode(s.as_str()?).ok()?.try_into().ok() };
    Some(Ack {
        index: v["index"].as_u64()?,
        payload: hex::decode(v["payload"].as_str()?).ok()?,
        size: v["size"].as_u64()?,
        root: hash(&v["root"])?,
        checkpoint: base64::engine::general_purpose::STANDARD
            .decode(v["checkpoint"].as_str()?)
            .ok()?,
        proof: v["proof"]
            .as_array()?
            .iter()
            .map(hash)
            .collect::<Option<_>>()?,
    })
}

fn spawn_loadgen(url: &str, key: &Path, tag: &str, count: u64, concurrency: u64) -> Child {
    Command::new(env!("CARGO_BIN_EXE_tlog-loadgen"))
        .args(["--url", url, "--key"])
        .arg(key)
        .args([
            "--origin",
            ORIGIN,
            "--max-delay-ms",
            "5",
            "--max-batch",
            "200",
            "append",
        ])
        .args([
            "--count",
            &count.to_string(),
            "--concurrency",
            &concurrency.to_string(),
            "--tag",
            tag,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn tlog-loadgen")
}

/// Reads acknowledgements from a child; once `kill_after` have arrived, SIGKILLs it. Returns
/// every complete line the child wrote (a line cut by the kill was never acknowledged).
fn collect_acks(mut child: Child, kill_after: Option<usize>) -> Vec<Ack> {
    let stdout = child.stdout.take().unwrap();
    let mut acks = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut killed = false;
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        if let Some(ack) = parse_ack(&line) {
            acks.push(ack);
        }
        if !killed && (kill_after.is_some_and(|n| acks.len() >= n) || Instant::now() > deadline) {
            child.kill().unwrap(); // SIGKILL: no destructors, no flush, no clean shutdown.
            killed = true;
        }
    }
    let status = child.wait().unwrap();
    if kill_after.is_none() {
        assert!(status.success(), "loadgen failed: {status}");
    }
    acks
}

fn verifier(key: &Path) -> NoteVerifier {
    let key = sigstack_keys::SoftwareKey::load(key).unwrap();
    NoteSigner::ed25519(ORIGIN, Arc::new(key))
        .unwrap()
        .verifier()
        .clone()
}

/// Reopens the log (the recovery path) and checks every invariant against the acks.
async fn check_log(url: &str, key: &Path, acks: &[Ack]) -> Log {
    let store: Arc<dyn LogStore> = Arc::new(tlog_store::SqlStore::connect(url).await.unwrap());
    let signing_key = sigstack_keys::SoftwareKey::load(key).unwrap();
    let signer = Arc::new(NoteCheckpointSigner::new(vec![NoteSigner::ed25519(
        ORIGIN,
        Arc::new(signing_key),
    )
    .unwrap()]));
    let log = Log::open(
        store,
        ORIGIN,
        Arc::new(PlainEntries),
        signer,
        LogOptions::default(),
    )
    .await
    .unwrap();
    let head = log.head().await.unwrap();
    let v = verifier(key);
    let (cp, _) = Checkpoint::open(&head.checkpoint, std::slice::from_ref(&v)).unwrap();
    assert_eq!((cp.size(), cp.root_hash()), (head.size, &head.root));

    // The stored entries form exactly the stored tree, tile by tile.
    let entries = log.entries(0, head.size).await.unwrap();
    assert_eq!(
        entries.len() as u64,
        head.size,
        "entries missing below the head"
    );
    let tree = MemoryTree::from_leaf_hashes(entries.iter().map(|e| e.leaf_hash));
    assert_eq!(tree.root(), head.root);
    for level in 0..3u8 {
        let hashes_at_level = head.size >> (8 * level as u32);
        for index in 0..hashes_at_level.div_ceil(TILE_WIDTH) {
            let id = TileId::new(level, index);
            let width = id.width_at(head.size);
            let served = log
                .tile(id, (width < TILE_WIDTH).then_some(width as u8))
                .await
                .unwrap()
                .unwrap();
            let want: Vec<u8> = (0..width)
                .flat_map(|i| {
                    merkle::LeafRange {
                        start: (index * 256 + i) << (8 * level),
                        end: (index * 256 + i + 1) << (8 * level),
                    }
                    .hash(&tree)
                    .unwrap()
                })
                .collect();
            assert_eq!(served, want, "tile {level}/{index}");
        }
    }

    // Every acknowledgement holds: same entry at the same index, its proof and checkpoint valid,
    // and its head a prefix of today's tree.
    let mut seen: HashMap<u64, &Vec<u8>> = HashMap::new();
    for ack in acks {
        assert!(
            ack.index < head.size,
            "acknowledged index {} lost (size {})",
            ack.index,
            head.size
        );
        assert_eq!(
            entries[ack.index as usize].data, ack.payload,
            "entry {} changed",
            ack.index
        );
        if let Some(other) = seen.insert(ack.index, &ack.payload) {
            assert_eq!(
                other, &ack.payload,
                "index {} given to two entries",
                ack.index
            );
        }
        merkle::verify_inclusion(
            &merkle::leaf_hash(&ack.payload),
            ack.index,
            ack.size,
            &ack.proof,
            &ack.root,
        )
        .unwrap();
        let (cp, _) = Checkpoint::open(&ack.checkpoint, std::slice::from_ref(&v)).unwrap();
        assert_eq!((cp.size(), cp.root_hash()), (ack.size, &ack.root));
        let proof = merkle::consistency_proof(ack.size, head.size, &tree).unwrap();
        merkle::verify_consistency(ack.size, head.size, &proof, &ack.root, &head.root).unwrap();
    }
    // The same proofs served by the log itself.
    for ack in acks.iter().step_by(97) {
        let proof = log.consistency_proof(ack.size, head.size).await.unwrap();
        merkle::verify_consistency(ack.size, head.size, &proof, &ack.root, &head.root).unwrap();
    }
    log
}

async fn kill_and_recover(db: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("log.key");
    let mut acks = Vec::new();
    for round in 0..3 {
        let child = spawn_loadgen(&db.url, &key, &format!("crash{round}"), 0, 48);
        let got = collect_acks(child, Some(1500));
        assert!(got.len() >= 1500, "child acknowledged only {}", got.len());
        acks.extend(got);
        // Recovery after each kill, and the log still takes appends afterwards.
        let log = check_log(&db.url, &key, &acks).await;
        let before = log.head().await.unwrap().size;
        let ack = log
            .append(Submission::by_leaf_hash(
                format!("after kill {round}").into_bytes(),
            ))
            .await
            .unwrap();
        assert_eq!(ack.entry.index, before);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_stream_loses_nothing_acknowledged_sqlite() {
    kill_and_recover(TestDb::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_stream_loses_nothing_acknowledged_postgres() {
    kill_and_recover(TestDb::postgres().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sequencer_processes_on_one_postgres_log_never_fork() {
    let db = TestDb::postgres().await;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("log.key");
    // Create the key and log first so both processes start from the same one.
    collect_acks(spawn_loadgen(&db.url, &key, "init", 1, 1), None);
    let a = spawn_loadgen(&db.url, &key, "a", 1500, 32);
    let b = spawn_loadgen(&db.url, &key, "b", 1500, 32);
    let (acks_a, acks_b) = std::thread::scope(|s| {
        let ha = s.spawn(|| collect_acks(a, None));
        let hb = s.spawn(|| collect_acks(b, None));
        (ha.join().unwrap(), hb.join().unwrap())
    });
    assert_eq!(acks_a.len(), 1500);
    assert_eq!(acks_b.len(), 1500);
    // Both processes really sequenced at the same time: their indexes interleave.
    let span = |acks: &[Ack]| {
        (
            acks.iter().map(|a| a.index).min().unwrap(),
            acks.iter().map(|a| a.index).max().unwrap(),
        )
    };
    let ((a_min, a_max), (b_min, b_max)) = (span(&acks_a), span(&acks_b));
    assert!(
        a_min < b_max && b_min < a_max,
        "no interleaving: a {a_min}..{a_max}, b {b_min}..{b_max}"
    );
    let all: Vec<Ack> = acks_a.into_iter().chain(acks_b).collect();
    let log = check_log(&db.url, &key, &all).await;
    assert_eq!(log.head().await.unwrap().size, 3001);
}
