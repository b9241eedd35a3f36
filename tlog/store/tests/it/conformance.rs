//! One conformance suite for every `LogStore` backend: each test runs on SQLite and PostgreSQL.

use crate::common;

use common::{test_signer, TestDb};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tlog::checkpoint::Checkpoint;
use tlog::merkle::{self, MemoryTree};
use tlog::tile::{self, TileId};
use tlog_store::{
    AppendError, IndexKey, Log, LogOptions, LogStore, PlainEntries, ReadError, SequencerConfig,
    StoreError, Submission,
};

const ORIGIN: &str = "test.example/log";

fn options() -> LogOptions {
    LogOptions {
        sequencer: SequencerConfig {
            max_batch: 256,
            max_delay: Duration::from_millis(5),
            ..SequencerConfig::default()
        },
        // Tests that mix several handles want fresh heads.
        head_max_age: Duration::ZERO,
        ..LogOptions::default()
    }
}

async fn open(store: Arc<dyn LogStore>) -> Log {
    let (signer, _) = test_signer(ORIGIN);
    Log::open_or_create(store, ORIGIN, Arc::new(PlainEntries), signer, options())
        .await
        .unwrap()
}

/// Checks a checkpoint is signed by the test key and says (size, root).
fn check_checkpoint(bytes: &[u8], size: u64, root: &[u8; 32]) {
    let (_, verifier) = test_signer(ORIGIN);
    let (cp, _) = Checkpoint::open(bytes, &[verifier]).unwrap();
    assert_eq!(cp.origin(), ORIGIN);
    assert_eq!(cp.size(), size);
    assert_eq!(cp.root_hash(), root);
}

both_backends!(creation_is_explicit_and_unique, |db: TestDb| async move {
    let store = common::connect(&db).await;
    let (signer, _) = test_signer(ORIGIN);
    assert!(matches!(
        Log::open(
            store.clone(),
            ORIGIN,
            Arc::new(PlainEntries),
            signer.clone(),
            options()
        )
        .await,
        Err(StoreError::LogNotFound(_))
    ));
    Log::create(store.as_ref(), ORIGIN, signer.as_ref())
        .await
        .unwrap();
    assert!(matches!(
        Log::create(store.as_ref(), ORIGIN, signer.as_ref()).await,
        Err(StoreError::LogExists(_))
    ));
    let log = open(store.clone()).await;
    let head = log.head().await.unwrap();
    assert_eq!(head.size, 0);
    check_checkpoint(&head.checkpoint, 0, &merkle::empty_root());
});

both_backends!(
    concurrent_appends_get_distinct_indexes_and_valid_proofs,
    |db: TestDb| async move {
        let log = open(common::connect(&db).await).await;
        let mut tasks = Vec::new();
        for t in 0..40u32 {
            let log = log.clone();
            tasks.push(tokio::spawn(async move {
                let mut acks = Vec::new();
                for i in 0..25u32 {
                    let payload = format!("entry {t}/{i}").into_bytes();
                    acks.push((
                        payload.clone(),
                        log.append(Submission::by_leaf_hash(payload)).await.unwrap(),
                    ));
                }
                acks
            }));
        }
        let mut by_index = HashMap::new();
        for t in tasks {
            for (payload, ack) in t.await.unwrap() {
                assert!(!ack.duplicate);
                // The proof verifies against the head the append was acknowledged under.
                merkle::verify_inclusion(
                    &merkle::leaf_hash(&payload),
                    ack.entry.index,
                    ack.head.size,
                    &ack.inclusion_proof,
                    &ack.head.root,
                )
                .unwrap();
                check_checkpoint(&ack.head.checkpoint, ack.head.size, &ack.head.root);
                assert!(
                    by_index.insert(ack.entry.index, payload).is_none(),
                    "index given twice"
                );
            }
        }
        assert_eq!(by_index.len(), 1000);
        let head = log.head().await.unwrap();
        assert_eq!(head.size, 1000);
        let entries = log.entries(0, 1000).await.unwrap();
        let tree = MemoryTree::from_leaf_hashes(entries.iter().map(|e| e.leaf_hash));
        assert_eq!(tree.root(), head.root);
        for e in &entries {
            assert_eq!(by_index[&e.index], e.data);
        }
    }
);

both_backends!(
    resubmissions_return_the_original_entry,
    |db: TestDb| async move {
        let log = open(common::connect(&db).await).await;
        let first = log
            .append(Submission::by_leaf_hash(b"same".to_vec()))
            .await
            .unwrap();
        log.append(Submission::by_leaf_hash(b"other".to_vec()))
            .await
            .unwrap();
        let again = log
            .append(Submission::by_leaf_hash(b"same".to_vec()))
            .await
            .unwrap();
        assert!(again.duplicate);
        assert_eq!(again.entry, first.entry);
        merkle::verify_inclusion(
            &first.entry.leaf_hash,
            0,
            again.head.size,
            &again.inclusion_proof,
            &again.head.root,
        )
        .unwrap();
        // Twice in one round: one entry, both callers get it.
        let (a, b) = tokio::join!(
            log.append(Submission::by_leaf_hash(b"twin".to_vec())),
            log.append(Submission::by_leaf_hash(b"twin".to_vec()))
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.entry.index, b.entry.index);
        assert!(a.duplicate != b.duplicate || a.head.size != b.head.size);
        assert_eq!(log.head().await.unwrap().size, 3);
        // A resubmission among new entries: the unique index refuses the round, which is
        // planned again with the old entry looked up; the new ones still get the next indexes.
        let (new1, old, new2) = tokio::join!(
            log.append(Submission::by_leaf_hash(b"new 1".to_vec())),
            log.append(Submission::by_leaf_hash(b"other".to_vec())),
            log.append(Submission::by_leaf_hash(b"new 2".to_vec()))
        );
        let (new1, old, new2) = (new1.unwrap(), old.unwrap(), new2.unwrap());
        assert!(old.duplicate && old.entry.index == 1);
        let mut fresh = [new1.entry.index, new2.entry.index];
        fresh.sort();
        assert_eq!(fresh, [3, 4]);
        assert!(!new1.duplicate && !new2.duplicate);
        assert_eq!(log.head().await.unwrap().size, 5);
        let entries = log.entries(0, 5).await.unwrap();
        let tree = MemoryTree::from_leaf_hashes(entries.iter().map(|e| e.leaf_hash));
        assert_eq!(tree.root(), log.head().await.unwrap().root);
    }
);

both_backends!(
    reopening_recovers_and_the_tree_keeps_growing_consistently,
    |db: TestDb| async move {
        let store = common::connect(&db).await;
        let log = open(store.clone()).await;
        for i in 0..300u32 {
            log.append(Submission::by_leaf_hash(i.to_be_bytes().to_vec()))
                .await
                .unwrap();
        }
        let before = log.head().await.unwrap();
        drop(log);
        let log = open(store.clone()).await;
        assert_eq!(*log.head().await.unwrap(), *before);
        let mut heads = vec![before.clone()];
        for i in 300..700u32 {
            let ack = log
                .append(Submission::by_leaf_hash(i.to_be_bytes().to_vec()))
                .await
                .unwrap();
            if i % 97 == 0 {
                heads.push(ack.head);
            }
        }
        let last = log.head().await.unwrap();
        for h in &heads {
            let proof = log.consistency_proof(h.size, last.size).await.unwrap();
            merkle::verify_consistency(h.size, last.size, &proof, &h.root, &last.root).unwrap();
            assert_eq!(log.root_at(h.size).await.unwrap(), h.root);
        }
    }
);

both_backends!(
    tiles_and_bundles_are_served_from_the_store,
    |db: TestDb| async move {
        let log = open(common::connect(&db).await).await;
        let payloads: Vec<Vec<u8>> = (0..600u32)
            .map(|i| format!("leaf {i}").into_bytes())
            .collect();
        let mut tasks = Vec::new();
        for p in payloads.clone() {
            let log = log.clone();
            tasks.push(tokio::spawn(async move {
                log.append(Submission::by_leaf_hash(p)).await.unwrap()
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let entries = log.entries(0, 600).await.unwrap();
        let leaves: Vec<_> = entries.iter().map(|e| e.leaf_hash).collect();
        // Full level-0 tile 1, partial tile 2 at every width up to its current 88.
        let full = log.tile(TileId::new(0, 1), None).await.unwrap().unwrap();
        assert_eq!(full, leaves[256..512].concat());
        for w in [1u8, 50, 88] {
            let t = log.tile(TileId::new(0, 2), Some(w)).await.unwrap().unwrap();
            assert_eq!(t, leaves[512..512 + w as usize].concat());
        }
        assert_eq!(log.tile(TileId::new(0, 2), Some(89)).await.unwrap(), None);
        assert_eq!(log.tile(TileId::new(0, 2), None).await.unwrap(), None);
        // Level-1 tile: the roots of the two full level-0 tiles.
        let l1 = log.tile(TileId::new(1, 0), Some(2)).await.unwrap().unwrap();
        let tree = MemoryTree::from_leaf_hashes(leaves.iter().copied());
        let want: Vec<u8> = [
            merkle::LeafRange { start: 0, end: 256 },
            merkle::LeafRange {
                start: 256,
                end: 512,
            },
        ]
        .iter()
        .flat_map(|r| r.hash(&tree).unwrap())
        .collect();
        assert_eq!(l1, want);
        let bundle = log.entry_bundle(0, None).await.unwrap().unwrap();
        let decoded = tile::decode_bundle(&bundle).unwrap();
        assert_eq!(decoded.len(), 256);
        assert_eq!(decoded[17], entries[17].data.as_slice());
        assert_eq!(
            log.entry_bundle(2, Some(88))
                .await
                .unwrap()
                .map(|b| tile::decode_bundle(&b).unwrap().len()),
            Some(88)
        );
        assert_eq!(log.entry_bundle(2, None).await.unwrap(), None);
    }
);

both_backends!(
    index_keys_are_written_with_their_entries,
    |db: TestDb| async move {
        let log = open(common::connect(&db).await).await;
        let mut sub = Submission::by_leaf_hash(b"signed thing".to_vec());
        sub.index_keys = vec![
            IndexKey {
                kind: "sha256".into(),
                key: "abcd".into(),
            },
            IndexKey {
                kind: "email".into(),
                key: "alice@example.com".into(),
            },
        ];
        let ack = log.append(sub).await.unwrap();
        let mut sub2 = Submission::by_leaf_hash(b"second".to_vec());
        sub2.index_keys = vec![
            IndexKey {
                kind: "email".into(),
                key: "alice@example.com".into(),
            },
            // The same key under another kind: PostgreSQL's index holds only the key's hash,
            // so the kind is told apart on the rows.
            IndexKey {
                kind: "certificate-sha256".into(),
                key: "abcd".into(),
            },
        ];
        let ack2 = log.append(sub2).await.unwrap();
        assert_eq!(
            log.lookup("sha256", "abcd", 10).await.unwrap(),
            vec![ack.entry.index]
        );
        assert_eq!(
            log.lookup("certificate-sha256", "abcd", 10).await.unwrap(),
            vec![ack2.entry.index]
        );
        assert_eq!(
            log.lookup("email", "alice@example.com", 10).await.unwrap(),
            vec![ack.entry.index, ack2.entry.index]
        );
        assert_eq!(
            log.lookup("email", "alice@example.com", 1).await.unwrap(),
            vec![ack.entry.index]
        );
        assert!(log
            .lookup("email", "bob@example.com", 10)
            .await
            .unwrap()
            .is_empty());
        // An identity of the service's choosing, not the leaf hash (a CT log's): still found by
        // its leaf hash.
        let mut sub3 = Submission::by_leaf_hash(b"third".to_vec());
        sub3.identity = merkle::leaf_hash(b"chosen identity");
        let ack3 = log.append(sub3).await.unwrap();
        assert_ne!(ack3.entry.identity, ack3.entry.leaf_hash);
        assert_eq!(
            log.entry_by_leaf_hash(&ack3.entry.leaf_hash)
                .await
                .unwrap()
                .map(|e| e.index),
            Some(ack3.entry.index)
        );
        assert_eq!(
            log.entry_by_leaf_hash(&ack3.entry.identity).await.unwrap(),
            None
        );
        assert_eq!(
            log.entry_by_leaf_hash(&ack2.entry.leaf_hash)
                .await
                .unwrap()
                .unwrap()
                .index,
            ack2.entry.index
        );
        assert_eq!(
            log.entry_by_identity(&ack.entry.identity)
                .await
                .unwrap()
                .unwrap(),
            ack.entry
        );
    }
);

both_backends!(
    rounds_of_every_size_store_every_byte_as_given,
    |db: TestDb| async move {
        // Entries of different lengths (empty included) with keys outside ASCII, in rounds of
        // whatever size the batching makes: PostgreSQL receives each round's columns
        // concatenated and cuts them apart again, so every offset must come out right.
        let log = open(common::connect(&db).await).await;
        let payload = |i: usize| -> Vec<u8> { (0..(i * 37) % 300).map(|b| b as u8).collect() };
        let key = |i: usize| IndexKey {
            kind: if i.is_multiple_of(2) {
                "sha256"
            } else {
                "e-mail ✉"
            }
            .into(),
            key: format!("ключ-{i}-{}", "é".repeat(i % 5)),
        };
        let mut tasks = Vec::new();
        for i in 0..120 {
            let log = log.clone();
            tasks.push(tokio::spawn(async move {
                let mut sub = Submission::by_leaf_hash(payload(i));
                sub.identity = merkle::leaf_hash(format!("identity {i}").as_bytes());
                sub.index_keys = vec![key(i), key(i + 1000)];
                (i, log.append(sub).await.unwrap())
            }));
        }
        for t in tasks {
            let (i, ack) = t.await.unwrap();
            let stored = log
                .entries(ack.entry.index, ack.entry.index + 1)
                .await
                .unwrap();
            assert_eq!(stored[0].data, payload(i), "entry {i}");
            assert_eq!(stored[0].leaf_hash, merkle::leaf_hash(&payload(i)));
            assert_eq!(
                stored[0].identity,
                merkle::leaf_hash(format!("identity {i}").as_bytes())
            );
            for k in [key(i), key(i + 1000)] {
                assert_eq!(
                    log.lookup(&k.kind, &k.key, 10).await.unwrap(),
                    vec![ack.entry.index],
                    "{k:?}"
                );
            }
        }
        let head = log.head().await.unwrap();
        let entries = log.entries(0, head.size).await.unwrap();
        let tree = MemoryTree::from_leaf_hashes(entries.iter().map(|e| e.leaf_hash));
        assert_eq!(tree.root(), head.root);
    }
);

both_backends!(
    bad_requests_fail_cleanly_and_change_nothing,
    |db: TestDb| async move {
        let log = open(common::connect(&db).await).await;
        log.append(Submission::by_leaf_hash(b"a".to_vec()))
            .await
            .unwrap();
        let big = Submission::by_leaf_hash(vec![0u8; 70_000]);
        let small = Submission::by_leaf_hash(b"b".to_vec());
        let (big, small) = tokio::join!(log.append(big), log.append(small));
        assert!(matches!(
            big,
            Err(AppendError::EntryTooLarge { size: 70_000, .. })
        ));
        assert_eq!(small.unwrap().entry.index, 1);
        let head = log.head().await.unwrap();
        assert_eq!(head.size, 2);
        assert!(matches!(
            log.inclusion_proof(2, 2).await,
            Err(ReadError::OutOfRange(_))
        ));
        assert!(matches!(
            log.inclusion_proof(0, 3).await,
            Err(ReadError::OutOfRange(_))
        ));
        assert!(matches!(
            log.consistency_proof(0, 2).await,
            Err(ReadError::OutOfRange(_))
        ));
        assert!(matches!(
            log.consistency_proof(2, 1).await,
            Err(ReadError::OutOfRange(_))
        ));
        assert!(matches!(
            log.consistency_proof(1, 3).await,
            Err(ReadError::OutOfRange(_))
        ));
        assert!(log.consistency_proof(2, 2).await.unwrap().is_empty());
        assert_eq!(log.entry(5).await.unwrap(), None);
        assert_eq!(log.entry_bundle(u64::MAX, None).await.unwrap(), None);
        assert_eq!(
            log.entry_bundle(u64::MAX / 256, Some(255)).await.unwrap(),
            None
        );
        assert_eq!(log.blob(&[1u8; 32]).await.unwrap(), None);
        log.put_blobs(&[([1u8; 32], b"issuer".to_vec())])
            .await
            .unwrap();
        log.put_blobs(&[([1u8; 32], b"issuer".to_vec())])
            .await
            .unwrap();
        assert_eq!(
            log.blob(&[1u8; 32]).await.unwrap(),
            Some(b"issuer".to_vec())
        );
        assert_eq!(log.tile(TileId::new(5, 0), Some(1)).await.unwrap(), None);
        assert_eq!(*log.head().await.unwrap(), *head);
    }
);

both_backends!(
    two_sequencers_on_one_store_never_fork,
    |db: TestDb| async move {
        // Two independent handles (two sequencers, as two processes would have) on one log.
        let a = open(common::connect(&db).await).await;
        let b = open(common::connect(&db).await).await;
        let mut tasks = Vec::new();
        for t in 0..20u32 {
            let log = if t % 2 == 0 { a.clone() } else { b.clone() };
            tasks.push(tokio::spawn(async move {
                let mut acks = Vec::new();
                for i in 0..20u32 {
                    let payload = format!("{t}:{i}").into_bytes();
                    let ack = log
                        .append(Submission::by_leaf_hash(payload.clone()))
                        .await
                        .unwrap();
                    merkle::verify_inclusion(
                        &merkle::leaf_hash(&payload),
                        ack.entry.index,
                        ack.head.size,
                        &ack.inclusion_proof,
                        &ack.head.root,
                    )
                    .unwrap();
                    acks.push((payload, ack));
                }
                acks
            }));
        }
        let mut acks = Vec::new();
        for t in tasks {
            acks.extend(t.await.unwrap());
        }
        let head = a.head().await.unwrap();
        assert_eq!(head.size, 400);
        let entries = a.entries(0, 400).await.unwrap();
        let tree = MemoryTree::from_leaf_hashes(entries.iter().map(|e| e.leaf_hash));
        assert_eq!(tree.root(), head.root);
        for (payload, ack) in &acks {
            assert_eq!(&entries[ack.entry.index as usize].data, payload);
            // Every head either process handed out is a prefix of the final tree.
            let proof = merkle::consistency_proof(ack.head.size, head.size, &tree).unwrap();
            merkle::verify_consistency(
                ack.head.size,
                head.size,
                &proof,
                &ack.head.root,
                &head.root,
            )
            .unwrap();
        }
    }
);
