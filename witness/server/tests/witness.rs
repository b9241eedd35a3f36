//! The witness over HTTP, on SQLite and on PostgreSQL (`SIGSTACK_TEST_DATABASE_URL`, else the
//! local server): a growing log is cosigned; rolled-back, inconsistent, unknown, forged,
//! malformed and oversized submissions get the spec's status and change nothing; concurrent
//! submissions from the same state have exactly one winner.

use std::sync::Arc;

use sigstack_keys::SoftwareKey;
use tlog::checkpoint::Checkpoint;
use tlog::merkle::{consistency_proof, leaf_hash, Hash, MemoryTree};
use tlog::note::{Note, NoteSigner};
use witness::{AddCheckpoint, CosignatureVerifier, Cosigner, Log, LogKey, LogList, Witness};
use witness_server::{SqlWitnessStore, WitnessServer, WitnessStore};

const ORIGIN: &str = "log.example/test";
const WITNESS: &str = "witness.example/w1";
const NOW: u64 = 1_765_000_000;

use sigstack_bench_support::TestDb;

/// A log (a tree of 100 leaves and its key) and a witness serving over HTTP.
struct Harness {
    base: String,
    client: reqwest::Client,
    log: NoteSigner,
    tree: MemoryTree,
    verifier: CosignatureVerifier,
    store: Arc<SqlWitnessStore>,
    _db: TestDb,
}

impl Harness {
    async fn start(db: TestDb) -> Self {
        let log = NoteSigner::ed25519(ORIGIN, Arc::new(SoftwareKey::ed25519_from_seed(&[5; 32])))
            .unwrap();
        let key = LogKey::from_vkey(&log.verifier().to_vkey()).unwrap();
        let logs = LogList::new(vec![Log::new(ORIGIN, vec![key]).unwrap()]).unwrap();
        let cosigner =
            Cosigner::new(WITNESS, Arc::new(SoftwareKey::ed25519_from_seed(&[6; 32]))).unwrap();
        let verifier = cosigner.verifier().clone();
        let store = Arc::new(SqlWitnessStore::connect(&db.url).await.unwrap());
        let server = WitnessServer::new(Witness::new(logs), cosigner, store.clone())
            .with_max_body_bytes(16 * 1024)
            .with_clock(Arc::new(|| NOW));
        let router = witness_server::router(Arc::new(server));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        let tree = MemoryTree::from_leaf_hashes((0..100u32).map(|i| leaf_hash(&i.to_be_bytes())));
        Harness {
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            log,
            tree,
            verifier,
            store,
            _db: db,
        }
    }

    fn root(&self, size: u64) -> Hash {
        MemoryTree::from_leaf_hashes((0..size as u32).map(|i| leaf_hash(&i.to_be_bytes()))).root()
    }

    fn log_text(&self, size: u64) -> String {
        Checkpoint::new(ORIGIN, size, self.root(size))
            .unwrap()
            .to_body()
    }

    fn note_with_root(&self, size: u64, root: Hash) -> Vec<u8> {
        Checkpoint::new(ORIGIN, size, root)
            .unwrap()
            .sign(&[&self.log])
            .unwrap()
            .to_bytes()
    }

    fn body(&self, old: u64, new: u64) -> Vec<u8> {
        let proof = if old == 0 || old == new {
            Vec::new()
        } else {
            consistency_proof(old, new, &self.tree).unwrap()
        };
        AddCheckpoint::encode(old, &proof, &self.note_with_root(new, self.root(new)))
    }

    async fn post(&self, body: Vec<u8>) -> (u16, String, String) {
        let r = self
            .client
            .post(format!("{}/add-checkpoint", self.base))
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let ct = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        (status, ct, r.text().await.unwrap())
    }

    /// Submits `old` → `new` and checks the cosignature it gets.
    async fn cosign(&self, old: u64, new: u64) {
        let (status, _, text) = self.post(self.body(old, new)).await;
        assert_eq!(status, 200, "{old} -> {new}: {text}");
        let note =
            Note::parse(&[self.note_with_root(new, self.root(new)), text.into_bytes()].concat())
                .unwrap();
        let cosig = note.signatures().last().unwrap();
        assert_eq!(self.verifier.verify(note.text(), cosig).unwrap(), NOW);
    }

    async fn held(&self) -> Option<witness_server::Stored> {
        self.store.get(ORIGIN).await.unwrap()
    }

    async fn monitoring(&self) -> (u16, String) {
        let r = self
            .client
            .get(format!(
                "{}/{}/checkpoint",
                self.base,
                witness::origin_hash(ORIGIN)
            ))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }
}

macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                ($body)(Harness::start(TestDb::sqlite().await).await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                ($body)(Harness::start(TestDb::postgres().await).await).await;
            }
        }
    };
}

both_backends!(a_growing_log_is_cosigned, |h: Harness| async move {
    assert_eq!(h.monitoring().await.0, 404);
    h.cosign(0, 5).await;
    h.cosign(5, 17).await;
    h.cosign(17, 17).await;
    h.cosign(17, 64).await;
    h.cosign(64, 100).await;
    let held = h.held().await.unwrap();
    assert_eq!(held.held.size, 100);
    // The monitoring endpoint serves the log's signature and our cosignature.
    let (status, text) = h.monitoring().await;
    assert_eq!(status, 200);
    assert_eq!(text.as_bytes(), held.checkpoint.as_slice());
    let note = Note::parse(text.as_bytes()).unwrap();
    assert_eq!(note.signatures().len(), 2);
    note.verify(&[h.log.verifier().clone()]).unwrap();
    assert_eq!(
        h.verifier
            .verify(note.text(), &note.signatures()[1])
            .unwrap(),
        NOW
    );
});

both_backends!(refusals_change_nothing, |h: Harness| async move {
    h.cosign(0, 17).await;
    let before = h.held().await.unwrap();

    // Rolled back: an old size that is not the held one is a 409 naming the held size.
    for (old, new) in [(0, 5), (5, 10), (16, 20), (18, 20)] {
        let (status, ct, text) = h.post(h.body(old, new)).await;
        assert_eq!(
            (status, ct.as_str(), text.as_str()),
            (409, "text/x.tlog.size", "17\n")
        );
    }
    // Old above new.
    let (status, _, _) = h
        .post(AddCheckpoint::encode(
            17,
            &[],
            &h.note_with_root(10, h.root(10)),
        ))
        .await;
    assert_eq!(status, 400);
    // An inconsistent tree: a proof from the held size to a forked root.
    let forked = AddCheckpoint::encode(
        17,
        &consistency_proof(17, 30, &h.tree).unwrap(),
        &h.note_with_root(30, [9; 32]),
    );
    assert_eq!(h.post(forked).await.0, 422);
    // A proof that does not verify.
    let mut proof = consistency_proof(17, 30, &h.tree).unwrap();
    proof[0][0] ^= 1;
    let bad = AddCheckpoint::encode(17, &proof, &h.note_with_root(30, h.root(30)));
    assert_eq!(h.post(bad).await.0, 422);
    // The same size with another root.
    let fork = AddCheckpoint::encode(17, &[], &h.note_with_root(17, [3; 32]));
    assert_eq!(h.post(fork).await.0, 422);
    // Unknown log: 404.
    let stranger = NoteSigner::ed25519(
        "other.example/log",
        Arc::new(SoftwareKey::ed25519_from_seed(&[5; 32])),
    )
    .unwrap();
    let other = Checkpoint::new("other.example/log", 1, [0; 32])
        .unwrap()
        .sign(&[&stranger])
        .unwrap();
    assert_eq!(
        h.post(AddCheckpoint::encode(0, &[], &other.to_bytes()))
            .await
            .0,
        404
    );
    // Signed by a key the witness does not trust for the origin: 403.
    let impostor =
        NoteSigner::ed25519(ORIGIN, Arc::new(SoftwareKey::ed25519_from_seed(&[4; 32]))).unwrap();
    let forged = Checkpoint::new(ORIGIN, 30, h.root(30))
        .unwrap()
        .sign(&[&impostor])
        .unwrap();
    let body = AddCheckpoint::encode(
        17,
        &consistency_proof(17, 30, &h.tree).unwrap(),
        &forged.to_bytes(),
    );
    assert_eq!(h.post(body).await.0, 403);
    // The log's signature over another text: 403.
    let good = Checkpoint::new(ORIGIN, 30, h.root(30))
        .unwrap()
        .sign(&[&h.log])
        .unwrap();
    let moved = Note::new(
        Checkpoint::new(ORIGIN, 31, h.root(31)).unwrap().to_body(),
        good.signatures().to_vec(),
    )
    .unwrap();
    let body = AddCheckpoint::encode(
        17,
        &consistency_proof(17, 31, &h.tree).unwrap(),
        &moved.to_bytes(),
    );
    assert_eq!(h.post(body).await.0, 403);
    // Malformed bodies: 400.
    for body in [
        &b""[..],
        b"old 17\n",
        b"old 017\n\n",
        b"old 17\nnot-a-hash\n\n",
        b"old 17\n\nnot a note\n",
    ] {
        assert_eq!(h.post(body.to_vec()).await.0, 400, "{body:?}");
    }
    // Oversized: 413.
    let mut huge = h.body(17, 30);
    huge.extend(std::iter::repeat_n(b'x', 17 * 1024));
    assert_eq!(h.post(huge).await.0, 413);
    // Wrong method and unknown path.
    let r = h
        .client
        .get(format!("{}/add-checkpoint", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 405);
    let r = h
        .client
        .get(format!("{}/{}/checkpoint", h.base, "00".repeat(32)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);

    assert_eq!(h.held().await.unwrap(), before);
    // And the log still advances from where it was.
    h.cosign(17, 30).await;
});

both_backends!(
    concurrent_submissions_have_one_winner,
    |h: Harness| async move {
        h.cosign(0, 10).await;
        let h = Arc::new(h);
        // Twelve submissions from the held size 10 to different sizes, all at once.
        let tasks: Vec<_> = (0..12u64)
            .map(|i| {
                let h = h.clone();
                tokio::spawn(async move {
                    let new = 20 + i * 5;
                    (new, h.post(h.body(10, new)).await)
                })
            })
            .collect();
        let mut winners = Vec::new();
        for t in tasks {
            let (new, (status, ct, text)) = t.await.unwrap();
            match status {
                200 => winners.push(new),
                409 => assert_eq!(ct, "text/x.tlog.size"),
                other => panic!("{new}: {other} {text}"),
            }
        }
        assert_eq!(winners.len(), 1, "{winners:?}");
        assert_eq!(h.held().await.unwrap().held.size, winners[0]);
        // Same-size resubmissions of the held checkpoint all succeed: they are consistent.
        let size = winners[0];
        let again: Vec<_> = (0..6)
            .map(|_| {
                let h = h.clone();
                tokio::spawn(async move { h.post(h.body(size, size)).await.0 })
            })
            .collect();
        for t in again {
            assert_eq!(t.await.unwrap(), 200);
        }
        assert_eq!(h.held().await.unwrap().held.size, size);
    }
);

/// `cosignature/v1` as the spec defines it, checked through Cloudflare's `signed_note` (note
/// parsing, key IDs, the verification loop) and `ed25519-dalek`, not through our note code.
struct IndependentCosignatureVerifier {
    name: String,
    key: ed25519_dalek::VerifyingKey,
}

impl signed_note::Verifier for IndependentCosignatureVerifier {
    fn name(&self) -> &str {
        &self.name
    }

    fn key_id(&self) -> u32 {
        // SHA-256(name || "\n" || 0x04 || public key)[:4]
        let mut key = vec![0x04];
        key.extend_from_slice(self.key.as_bytes());
        signed_note::key_id(&self.name, &key)
    }

    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        let (Some(timestamp), Some(signature)) = (sig.get(..8), sig.get(8..)) else {
            return false;
        };
        let (Ok(timestamp), Ok(signature)) = (
            <[u8; 8]>::try_from(timestamp),
            <[u8; 64]>::try_from(signature),
        ) else {
            return false;
        };
        let mut message =
            format!("cosignature/v1\ntime {}\n", u64::from_be_bytes(timestamp)).into_bytes();
        message.extend_from_slice(msg);
        self.key
            .verify_strict(&message, &ed25519_dalek::Signature::from_bytes(&signature))
            .is_ok()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cosignatures_verify_with_an_independent_implementation() {
    let h = Harness::start(TestDb::sqlite().await).await;
    h.cosign(0, 33).await;
    let (_, served) = h.monitoring().await;
    // The witness's public key, from its verifier key string, decoded here.
    let vkey = h.verifier.to_vkey();
    let mut parts = vkey.splitn(3, '+');
    let name = parts.next().unwrap().to_string();
    let _id = parts.next().unwrap();
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(parts.next().unwrap())
        .unwrap();
    assert_eq!(raw[0], 0x04);
    let key = ed25519_dalek::VerifyingKey::from_bytes(&raw[1..].try_into().unwrap()).unwrap();
    let cosigner = IndependentCosignatureVerifier { name, key };
    assert_eq!(
        format!("{:08x}", signed_note::Verifier::key_id(&cosigner)),
        vkey.split('+').nth(1).unwrap()
    );
    // The log's own Ed25519 key through signed_note's standard verifier.
    let log = signed_note::StandardVerifier::new(&h.log.verifier().to_vkey()).unwrap();
    let note = signed_note::Note::from_bytes(served.as_bytes()).unwrap();
    let (verified, unverified) = note
        .verify(&signed_note::VerifierList::new(vec![
            Box::new(log),
            Box::new(cosigner),
        ]))
        .unwrap();
    assert_eq!(verified.len(), 2);
    assert!(unverified.is_empty());

    // A cosignature moved onto another checkpoint does not verify.
    let other = h.note_with_root(34, h.root(34));
    let cosig_line = served.lines().last().unwrap();
    let forged = [other, format!("{cosig_line}\n").into_bytes()].concat();
    let key = ed25519_dalek::VerifyingKey::from_bytes(&raw[1..].try_into().unwrap()).unwrap();
    let cosigner = IndependentCosignatureVerifier {
        name: vkey.split('+').next().unwrap().to_string(),
        key,
    };
    let note = signed_note::Note::from_bytes(&forged).unwrap();
    assert!(note
        .verify(&signed_note::VerifierList::new(vec![Box::new(cosigner)]))
        .is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_verified_signatures_are_kept_and_served() {
    let h = Harness::start(TestDb::sqlite().await).await;
    // The log's checkpoint with another line claiming to be some other witness: not checkable by
    // us, and a client knowing that witness would reject a note where it does not verify.
    let other = NoteSigner::ed25519(
        "other-witness.example",
        Arc::new(SoftwareKey::ed25519_from_seed(&[11; 32])),
    )
    .unwrap();
    let mut junk = other.sign(&h.log_text(9)).unwrap().signature().to_vec();
    junk[10] ^= 1;
    let junk = tlog::note::NoteSignature::new(other.name(), other.key_hash(), junk).unwrap();
    let mut note = Note::parse(&h.note_with_root(9, h.root(9))).unwrap();
    let mut sigs = note.signatures().to_vec();
    sigs.push(junk);
    note = Note::new(note.text(), sigs).unwrap();
    let (status, _, _) = h
        .post(AddCheckpoint::encode(0, &[], &note.to_bytes()))
        .await;
    assert_eq!(status, 200);
    let (_, served) = h.monitoring().await;
    let served = Note::parse(served.as_bytes()).unwrap();
    let names: Vec<&str> = served.signatures().iter().map(|s| s.name()).collect();
    assert_eq!(names, [ORIGIN, WITNESS]);
}
