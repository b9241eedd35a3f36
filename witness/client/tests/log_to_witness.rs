//! Our log (the store's `Log`, signing checkpoints as Rekor v2 does: Ed25519 under its origin)
//! submitting its checkpoints to two of our witnesses and one that is down, under a 2-of-3
//! policy.

use std::sync::Arc;
use std::time::Duration;

use sigstack_keys::SoftwareKey;
use tlog::note::{Note, NoteSigner};
use tlog_store::{Log, LogOptions, PlainEntries, SqlStore, Submission};
use witness::{Cosigner, LogKey, LogList, Witness, WitnessPolicy};
use witness_client::{cosign, SubmitError, WitnessClient};
use witness_server::{SqlWitnessStore, WitnessServer};

const ORIGIN: &str = "rekor.example";

async fn start_witness(dir: &std::path::Path, i: u8, log_vkey: &str) -> (String, Cosigner) {
    let logs = LogList::new(vec![witness::Log::new(
        ORIGIN,
        vec![LogKey::from_vkey(log_vkey).unwrap()],
    )
    .unwrap()])
    .unwrap();
    let cosigner = Cosigner::new(
        &format!("w{i}.example"),
        Arc::new(SoftwareKey::ed25519_from_seed(&[i; 32])),
    )
    .unwrap();
    let url = format!("sqlite://{}", dir.join(format!("w{i}.sqlite")).display());
    let store = Arc::new(SqlWitnessStore::connect(&url).await.unwrap());
    let server = WitnessServer::new(Witness::new(logs), cosigner.clone(), store);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = witness_server::router(Arc::new(server));
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (format!("http://{addr}"), cosigner)
}

async fn append(log: &Log, from: u32, to: u32) {
    for i in from..to {
        log.append(Submission::by_leaf_hash(i.to_be_bytes().to_vec()))
            .await
            .unwrap();
    }
}

/// Our log in `dir`, signing as Rekor v2 does, and its note verifier.
async fn open_log(dir: &std::path::Path) -> (Log, tlog::note::NoteVerifier) {
    let signer =
        NoteSigner::ed25519(ORIGIN, Arc::new(SoftwareKey::ed25519_from_seed(&[7; 32]))).unwrap();
    let log_verifier = signer.verifier().clone();
    let store = Arc::new(
        SqlStore::connect(&format!("sqlite://{}", dir.join("log.sqlite").display()))
            .await
            .unwrap(),
    );
    let options = LogOptions {
        head_max_age: Duration::ZERO,
        ..LogOptions::default()
    };
    let log = Log::open_or_create(
        store,
        ORIGIN,
        Arc::new(PlainEntries),
        Arc::new(tlog_store::NoteCheckpointSigner::new(vec![signer])),
        options,
    )
    .await
    .unwrap();
    (log, log_verifier)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_log_collects_cosignatures_under_a_policy() {
    let dir = tempfile::tempdir().unwrap();
    let (log, log_verifier) = open_log(dir.path()).await;

    let (url1, w1) = start_witness(dir.path(), 1, &log_verifier.to_vkey()).await;
    let (url2, w2) = start_witness(dir.path(), 2, &log_verifier.to_vkey()).await;
    // A third witness that is down: a port nothing listens on.
    let down = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url3 = format!("http://{}", down.local_addr().unwrap());
    drop(down);
    let w3 = Cosigner::new(
        "w3.example",
        Arc::new(SoftwareKey::ed25519_from_seed(&[3; 32])),
    )
    .unwrap();
    let verifiers = [w1.verifier(), w2.verifier(), w3.verifier()].map(Clone::clone);
    let witnesses: Vec<WitnessClient> = [&url1, &url2, &url3]
        .iter()
        .zip(verifiers.iter())
        .map(|(u, v)| WitnessClient::new(u, v.clone()).unwrap())
        .collect();
    let two_of_three = WitnessPolicy::new(verifiers.to_vec(), 2).unwrap();
    let three_of_three = WitnessPolicy::new(verifiers.to_vec(), 3).unwrap();

    for (from, to) in [(0, 5), (5, 300), (300, 301), (301, 301)] {
        append(&log, from, to).await;
        let head = log.head().await.unwrap();
        let note = Note::parse(&head.checkpoint).unwrap();
        let got = cosign(&note, &witnesses, &two_of_three, &log).await;
        assert_eq!(got.policy, Ok(2), "size {to}: {:?}", got.failures);
        assert_eq!(got.failures.len(), 1);
        assert!(matches!(got.failures[0].1, SubmitError::Unreachable { .. }));
        assert_eq!(got.note.signatures().len(), 3);
        got.note
            .verify(std::slice::from_ref(&log_verifier))
            .unwrap();
        assert!(three_of_three.check(&got.note).is_err());
    }

    // A log process that restarts knows nothing of what the witnesses hold: its first
    // submission (old 0) learns it from the 409 and retries.
    append(&log, 301, 310).await;
    let fresh = WitnessClient::new(&url1, w1.verifier().clone()).unwrap();
    let note = Note::parse(&log.head().await.unwrap().checkpoint).unwrap();
    let sig = fresh.add_checkpoint(&note, &log).await.unwrap();
    assert!(w1.verifier().verify(note.text(), &sig).is_ok());
    // A checkpoint older than the one the witness holds is not submitted at all.
    let at_310 = log.head().await.unwrap().checkpoint.clone();
    append(&log, 310, 320).await;
    let newer = Note::parse(&log.head().await.unwrap().checkpoint).unwrap();
    fresh.add_checkpoint(&newer, &log).await.unwrap();
    let stale = Note::parse(&at_310).unwrap();
    assert!(matches!(
        fresh.add_checkpoint(&stale, &log).await,
        Err(SubmitError::WitnessAhead {
            held: 320,
            size: 310
        })
    ));

    // The background task keeps the latest witnessed checkpoint; it follows the log.
    let policy = WitnessPolicy::new(vec![w1.verifier().clone(), w2.verifier().clone()], 2).unwrap();
    let clients = vec![
        WitnessClient::new(&url1, w1.verifier().clone()).unwrap(),
        WitnessClient::new(&url2, w2.verifier().clone()).unwrap(),
    ];
    let witnessed = witness_client::WitnessedCheckpoint::spawn(
        log.clone(),
        witness_client::Witnessing {
            witnesses: clients,
            policy: policy.clone(),
            interval: Duration::from_millis(50),
            mode: witness_client::WitnessMode::FailOpen,
        },
    );
    append(&log, 320, 330).await;
    let mut size = 0;
    for _ in 0..200 {
        if let Some(bytes) = witnessed.latest() {
            let note = Note::parse(&bytes).unwrap();
            assert_eq!(policy.check(&note), Ok(2));
            size = tlog::checkpoint::Checkpoint::parse_body(note.text())
                .unwrap()
                .size();
            if size == 330 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(size, 330);
}

/// Several replicas of one log (processes on one database) each submit the same checkpoints:
/// the witness's 409 is how a replica learns another one got there first, never a failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_submitting_the_same_checkpoint_all_get_cosignatures() {
    let dir = tempfile::tempdir().unwrap();
    let (log, log_verifier) = open_log(dir.path()).await;
    let (url, w) = start_witness(dir.path(), 1, &log_verifier.to_vkey()).await;
    let replicas: Vec<WitnessClient> = (0..3)
        .map(|_| WitnessClient::new(&url, w.verifier().clone()).unwrap())
        .collect();
    let policy = WitnessPolicy::new(vec![w.verifier().clone()], 1).unwrap();
    for (from, to) in [(0, 3), (3, 10), (10, 11)] {
        append(&log, from, to).await;
        let note = Note::parse(&log.head().await.unwrap().checkpoint).unwrap();
        // One after another and all at once: every replica gets a valid cosignature.
        for replica in &replicas {
            let got = cosign(&note, std::slice::from_ref(replica), &policy, &log).await;
            assert_eq!(got.policy, Ok(1), "size {to}: {:?}", got.failures);
        }
        let all =
            futures_util::future::join_all(replicas.iter().map(|r| r.add_checkpoint(&note, &log)))
                .await;
        for sig in all {
            assert!(w.verifier().verify(note.text(), &sig.unwrap()).is_ok());
        }
    }
    // A replica a round behind the one that submitted last: the witness holds more, which
    // the replica reports as such (logged at debug, not as a failing witness).
    let behind = Note::parse(&log.head().await.unwrap().checkpoint).unwrap();
    append(&log, 11, 12).await;
    let ahead = Note::parse(&log.head().await.unwrap().checkpoint).unwrap();
    replicas[0].add_checkpoint(&ahead, &log).await.unwrap();
    let got = cosign(&behind, &replicas[1..2], &policy, &log).await;
    assert!(got.policy.is_err());
    assert!(got.failures[0].1.is_witness_ahead(), "{:?}", got.failures);
}

/// Fail-closed: a write waits for a witnessed checkpoint that contains it, or is told it was
/// not witnessed in time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_closed_waits_for_the_witnesses() {
    let dir = tempfile::tempdir().unwrap();
    let (log, log_verifier) = open_log(dir.path()).await;
    let (url, w) = start_witness(dir.path(), 1, &log_verifier.to_vkey()).await;
    let policy = WitnessPolicy::new(vec![w.verifier().clone()], 1).unwrap();
    let down = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let down_url = format!("http://{}", down.local_addr().unwrap());
    drop(down);
    let timeout = Duration::from_millis(300);
    let witnessed = |url: &str| {
        witness_client::WitnessedCheckpoint::spawn(
            log.clone(),
            witness_client::Witnessing {
                witnesses: vec![WitnessClient::new(url, w.verifier().clone()).unwrap()],
                policy: policy.clone(),
                // Long: a waiting write must not depend on the interval.
                interval: Duration::from_secs(3600),
                mode: witness_client::WitnessMode::FailClosed { timeout },
            },
        )
    };
    let unreachable = witnessed(&down_url);
    let reachable = witnessed(&url);
    append(&log, 0, 5).await;
    let err = unreachable.settle(5).await.unwrap_err();
    assert_eq!((err.size, err.timeout), (5, timeout));
    assert_eq!(
        sigstack_http::ApiError::from(err).kind(),
        sigstack_http::ErrorKind::Unavailable
    );
    let got = reachable.settle(5).await.unwrap().unwrap();
    assert!(got.size >= 5);
    let note = Note::parse(&got.note).unwrap();
    assert_eq!(policy.check(&note), Ok(1));
    let checkpoint = tlog::checkpoint::Checkpoint::parse_body(note.text()).unwrap();
    assert_eq!(
        (checkpoint.size(), *checkpoint.root_hash()),
        (got.size, got.root)
    );
    // Fail-open never waits.
    let open = witness_client::WitnessedCheckpoint::spawn(
        log.clone(),
        witness_client::Witnessing {
            witnesses: vec![WitnessClient::new(&down_url, w.verifier().clone()).unwrap()],
            policy: policy.clone(),
            interval: Duration::from_secs(3600),
            mode: witness_client::WitnessMode::FailOpen,
        },
    );
    assert!(open.settle(5).await.unwrap().is_none());
}
