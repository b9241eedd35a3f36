//! Signed notes and checkpoints against real upstream vectors (golang.org/x/mod sumdb/note, the
//! C2SP spec, Tessera's test log, Rekor v1 and v2, Sunlight), plus tamper and property tests.
//!
//! The vectors are in `dev/test-vectors/data` (see the `sigstack-test-vectors` crate; set
//! `SIGSTACK_VECTORS` to point elsewhere). Its `README.md` says where each file comes from.

use std::path::PathBuf;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use proptest::prelude::*;
use sigstack_keys::{Algorithm, PublicKey, Signer, SoftwareKey};
use tlog::checkpoint::{Checkpoint, CheckpointError};
use tlog::note::{
    ed25519_key_id, KeyHash, Note, NoteError, NoteSignature, NoteSigner, NoteVerifier,
    SignatureType,
};

fn vectors() -> PathBuf {
    sigstack_test_vectors::dir()
}

fn read(path: &str) -> Vec<u8> {
    let full = vectors().join(path);
    std::fs::read(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

fn read_str(path: &str) -> String {
    String::from_utf8(read(path)).unwrap()
}

fn json(path: &str) -> serde_json::Value {
    serde_json::from_slice(&read(path)).unwrap()
}

/// The DER inside a PEM `PUBLIC KEY` file.
fn pem_der(path: &str) -> Vec<u8> {
    let pem = read_str(path);
    let b64: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .concat();
    BASE64.decode(b64).unwrap()
}

fn vkey(path: &str) -> NoteVerifier {
    NoteVerifier::from_vkey(&read_str(path)).unwrap()
}

fn names(sigs: &[NoteSignature]) -> Vec<&str> {
    sigs.iter().map(|s| s.name()).collect()
}

const GO: &str = "note/golang-sumdb-note";

// ---------------------------------------------------------------- golang.org/x/mod sumdb/note

#[test]
fn go_note_verifies_and_signing_reproduces_it() {
    let msg = read(&format!("{GO}/note-peter.txt"));
    let note = Note::parse(&msg).unwrap();
    assert_eq!(note.to_bytes(), msg);
    let peter = vkey(&format!("{GO}/PeterNeumann.vkey"));
    assert_eq!(peter.signature_type(), SignatureType::Ed25519);
    let verified = note.verify(std::slice::from_ref(&peter)).unwrap();
    assert_eq!(names(verified.verified()), ["PeterNeumann"]);
    assert!(verified.unknown().is_empty());

    let signer = NoteSigner::from_skey(&read_str(&format!("{GO}/PeterNeumann.skey"))).unwrap();
    assert_eq!(signer.key_hash(), peter.key_hash());
    assert_eq!(
        signer.verifier().to_vkey(),
        read_str(&format!("{GO}/PeterNeumann.vkey")).trim()
    );
    let signed = Note::sign(note.text(), &[&signer]).unwrap();
    assert_eq!(signed.to_bytes(), msg, "Ed25519 is deterministic");
}

#[test]
fn go_note_with_two_signatures() {
    let note = Note::parse(&read(&format!("{GO}/note-peter-enoch.txt"))).unwrap();
    let peter = vkey(&format!("{GO}/PeterNeumann.vkey"));
    let enoch = vkey(&format!("{GO}/EnochRoot.vkey"));

    let only_peter = note.verify(std::slice::from_ref(&peter)).unwrap();
    assert_eq!(names(only_peter.verified()), ["PeterNeumann"]);
    assert_eq!(names(only_peter.unknown()), ["EnochRoot"]);
    assert!(only_peter.is_verified_by(&peter));
    assert!(!only_peter.is_verified_by(&enoch));

    let both = note.verify(&[enoch.clone(), peter.clone()]).unwrap();
    assert_eq!(names(both.verified()), ["PeterNeumann", "EnochRoot"]);
    assert!(both.unknown().is_empty());

    let only_enoch = note.verify(&[enoch]).unwrap();
    assert_eq!(names(only_enoch.unknown()), ["PeterNeumann"]);
}

#[test]
fn go_malformed_notes_fail_to_parse() {
    let check = |n: u32, ok: &dyn Fn(&NoteError) -> bool| {
        let err = Note::parse(&read(&format!("{GO}/malformed-{n}.txt"))).unwrap_err();
        assert!(ok(&err), "malformed-{n}: unexpected error {err:?}");
        assert!(!err.to_string().is_empty());
    };
    check(1, &|e| matches!(e, NoteError::MissingSeparator));
    check(2, &|e| matches!(e, NoteError::NoSignatures));
    check(3, &|e| matches!(e, NoteError::SignaturesNotTerminated));
    check(4, &|e| {
        matches!(e, NoteError::ControlCharacter { offset: 0 })
    });
    check(5, &|e| matches!(e, NoteError::InvalidUtf8 { offset: 0 }));
    check(6, &|e| matches!(e, NoteError::SignaturesNotTerminated));
    check(7, &|e| {
        matches!(e, NoteError::MalformedSignatureLine { line: 5 })
    });

    // malformed-6 also has a key name with a space; with its newline restored that is what fails.
    let mut six = read(&format!("{GO}/malformed-6.txt"));
    six.push(b'\n');
    assert!(matches!(
        Note::parse(&six),
        Err(NoteError::MalformedSignatureLine { line: 4 })
    ));
}

// ---------------------------------------------------------------- C2SP

#[test]
fn c2sp_example_note_verifies() {
    let msg = read("note/c2sp/example.com-foo.note.txt");
    let note = Note::parse(&msg).unwrap();
    assert_eq!(note.text(), "This is an example message.\n");
    assert_eq!(note.to_bytes(), msg);
    let v = vkey("note/c2sp/example.com-foo.vkey");
    assert_eq!(v.key_hash().to_string(), "530d903a");
    note.verify(&[v]).unwrap();
}

// ---------------------------------------------------------------- Tessera test log

#[test]
fn tessera_checkpoints_verify_parse_and_re_sign() {
    let dir = "tlog-tiles/tessera-testdata-log";
    let verifier = vkey(&format!("{dir}/vkey.txt"));
    let signer = NoteSigner::from_skey(&read_str(&format!("{dir}/skey.txt"))).unwrap();
    assert_eq!(signer.verifier().to_vkey(), verifier.to_vkey());
    let leaves = json(&format!("{dir}/leaves.json"));
    for n in 0..=15u64 {
        let msg = read(&format!("{dir}/checkpoint.{n}"));
        let (checkpoint, note) = Checkpoint::open(&msg, std::slice::from_ref(&verifier))
            .unwrap_or_else(|e| panic!("checkpoint.{n}: {e}"));
        assert_eq!(checkpoint.origin(), "example.com/log/testdata");
        assert_eq!(checkpoint.size(), n);
        let want = leaves["root_by_size_b64"][n.to_string()].as_str().unwrap();
        assert_eq!(BASE64.encode(checkpoint.root_hash()), want, "root at {n}");
        assert!(checkpoint.extensions().is_empty());
        assert_eq!(checkpoint.to_body(), note.text());

        let resigned = checkpoint.sign(&[&signer]).unwrap();
        assert_eq!(
            resigned.to_bytes(),
            msg,
            "checkpoint.{n} re-signed byte for byte"
        );
    }
    assert_eq!(
        read(&format!("{dir}/checkpoint")),
        read(&format!("{dir}/checkpoint.15"))
    );
}

// ---------------------------------------------------------------- Rekor v1 (ECDSA P-256)

fn rekor_v1_verifier() -> NoteVerifier {
    NoteVerifier::ecdsa_rekor(
        "rekor.sigstore.dev",
        &pem_der("rekor/v1/rekor.sigstore.dev.pub"),
    )
    .unwrap()
}

const REKOR_V1: [&str; 4] = [
    "dsse-v0.0.1",
    "dsse-v0.0.1-keyid",
    "hashedrekord-v0.0.1",
    "intoto-v0.0.2",
];

#[test]
fn rekor_v1_checkpoints_verify_as_ecdsa() {
    let verifier = rekor_v1_verifier();
    assert_eq!(verifier.signature_type(), SignatureType::EcdsaRekor);
    // Also reachable by key type alone, as from a trusted root's rawBytes.
    let from_spki = NoteVerifier::from_spki(
        "rekor.sigstore.dev",
        &pem_der("rekor/v1/rekor.sigstore.dev.pub"),
    )
    .unwrap();
    assert_eq!(from_spki.signature_type(), SignatureType::EcdsaRekor);
    for kind in REKOR_V1 {
        let entry = json(&format!("rekor/v1/{kind}/entry.json"));
        let log_id = hex::decode(entry["logID_hex"].as_str().unwrap()).unwrap();
        assert_eq!(verifier.key_hash().to_bytes(), log_id[..4], "{kind}");

        let msg = read(&format!("rekor/v1/{kind}/checkpoint.txt"));
        let (checkpoint, note) = Checkpoint::open(&msg, std::slice::from_ref(&verifier))
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(note.to_bytes(), msg);
        assert!(checkpoint.origin().starts_with("rekor.sigstore.dev - "));
        let signed = BASE64
            .decode(entry["checkpoint_signed_message_b64"].as_str().unwrap())
            .unwrap();
        assert_eq!(note.text().as_bytes(), signed, "{kind}");
        let proof = &entry["inclusionProof"];
        assert_eq!(checkpoint.size(), proof["treeSize"].as_u64().unwrap());
        assert_eq!(
            hex::encode(checkpoint.root_hash()),
            proof["rootHash_hex"].as_str().unwrap()
        );
        assert_eq!(checkpoint.to_body(), note.text());
        note.verify(std::slice::from_ref(&from_spki)).unwrap();
    }
}

#[test]
fn rekor_v1_intoto_checkpoint_keeps_its_timestamp_extension() {
    let msg = read("rekor/v1/intoto-v0.0.2/checkpoint.txt");
    let (checkpoint, _) = Checkpoint::open(&msg, &[rekor_v1_verifier()]).unwrap();
    assert_eq!(checkpoint.extensions(), ["Timestamp: 1692374735595899989"]);
}

#[test]
fn rekor_v1_checkpoint_under_the_wrong_name_is_unknown() {
    // The key name is the host, not the origin line.
    let der = pem_der("rekor/v1/rekor.sigstore.dev.pub");
    let origin_named = NoteVerifier::ecdsa_rekor("rekor.sigstore.dev-origin", &der).unwrap();
    let msg = read("rekor/v1/hashedrekord-v0.0.1/checkpoint.txt");
    match Checkpoint::open(&msg, &[origin_named]) {
        Err(CheckpointError::Note(NoteError::NoVerifiedSignature { signers })) => {
            assert_eq!(signers, ["rekor.sigstore.dev+c0d23d6a"]);
        }
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------- Rekor v2 (Ed25519)

fn rekor_v2_verifier(origin: &str) -> NoteVerifier {
    let der = pem_der(&format!("rekor/v2/{origin}.pub"));
    let raw = PublicKey::from_spki_der(&der)
        .unwrap()
        .ed25519_raw()
        .unwrap();
    let v = NoteVerifier::ed25519(origin, &raw).unwrap();
    let via_spki = NoteVerifier::from_spki(origin, &der).unwrap();
    assert_eq!(via_spki.to_vkey(), v.to_vkey());
    v
}

#[test]
fn rekor_v2_checkpoints_verify_and_log_id_is_the_full_key_id() {
    for (kind, origin, witnesses) in [
        (
            "hashedrekord-v0.0.2",
            "log2025-alpha1.rekor.sigstage.dev",
            &[][..],
        ),
        (
            "dsse-as-hashedrekord-v0.0.2",
            "log2025-alpha3.rekor.sigstage.dev",
            &[
                "witness.stagemole.eu",
                "staging.witness.transparency.goog/ring-any-bells",
                "witness.navigli.sunlight.geomys.org",
            ][..],
        ),
    ] {
        let entry = json(&format!("rekor/v2/{kind}/entry.json"));
        assert_eq!(entry["log_origin"], origin);
        let verifier = rekor_v2_verifier(origin);
        let raw = verifier.public_key().ed25519_raw().unwrap();
        assert_eq!(
            hex::encode(ed25519_key_id(origin, &raw)),
            entry["logId_hex"].as_str().unwrap(),
            "{kind}"
        );

        let msg = read(&format!("rekor/v2/{kind}/checkpoint.txt"));
        let (checkpoint, note) = Checkpoint::open(&msg, std::slice::from_ref(&verifier))
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(note.to_bytes(), msg);
        assert_eq!(checkpoint.origin(), origin);
        let proof = &entry["inclusionProof"];
        assert_eq!(checkpoint.size(), proof["treeSize"].as_u64().unwrap());
        assert_eq!(
            hex::encode(checkpoint.root_hash()),
            proof["rootHash_hex"].as_str().unwrap()
        );
        let verified = note.verify(std::slice::from_ref(&verifier)).unwrap();
        assert_eq!(names(verified.verified()), [origin]);
        assert_eq!(names(verified.unknown()), witnesses, "{kind}");
    }
}

#[test]
fn rekor_v2_cosigned_checkpoint_ignores_the_witness() {
    let verifier = rekor_v2_verifier("log2025-alpha1.rekor.sigstage.dev");
    let msg = read("rekor/v2/checkpoint-cosigned.txt");
    let note = Note::parse(&msg).unwrap();
    assert_eq!(note.to_bytes(), msg);
    let verified = note.verify(std::slice::from_ref(&verifier)).unwrap();
    assert_eq!(names(verified.unknown()), ["witness.example"]);
    let (checkpoint, _) = Checkpoint::open(&msg, &[verifier]).unwrap();
    assert_eq!(checkpoint.size(), 736);
}

#[test]
fn rekor_v2_second_signature_under_the_origin_name_is_unknown() {
    let verifier = rekor_v2_verifier("log2025-alpha1.rekor.sigstage.dev");
    let note = Note::parse(&read("rekor/v2/checkpoint-two-sigs-from-origin.txt")).unwrap();
    let verified = note.verify(std::slice::from_ref(&verifier)).unwrap();
    assert_eq!(verified.verified().len(), 1);
    assert_eq!(verified.unknown().len(), 1);
    // Same name, different key hash (an ECDSA key): C2SP says ignore it.
    assert_eq!(verified.unknown()[0].name(), verifier.name());
    assert_ne!(verified.unknown()[0].key_hash(), verifier.key_hash());
}

// ---------------------------------------------------------------- other signature types

#[test]
fn sunlight_checkpoints_with_unsupported_types_come_out_unknown() {
    for path in [
        "note/sunlight-witness/cosigned-checkpoint.txt",
        "ct/static-ct-sunlight-test/checkpoint",
    ] {
        let msg = read(path);
        let note = Note::parse(&msg).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(note.to_bytes(), msg);
        let checkpoint = Checkpoint::parse_body(note.text()).unwrap();
        assert_eq!(checkpoint.origin(), "rome2026h1.example.org");
        assert_eq!(checkpoint.size(), 300);
        assert_eq!(
            BASE64.encode(checkpoint.root_hash()),
            "lCkHUpkmVBEms2r2T1K6Og69+wUuuN3MIEW1/ezu2v0="
        );
        // The RFC 6962 (0x05) log signature: key ID from expected.json.
        assert_eq!(note.signatures()[0].key_hash().to_string(), "91507526");

        // Nothing we trust: an error that lists the unknown signers, not a parse failure.
        match note.verify(&[]) {
            Err(NoteError::NoVerifiedSignature { signers }) => {
                assert_eq!(signers.len(), note.signatures().len(), "{path}");
            }
            other => panic!("{path}: {other:?}"),
        }

        // With one key we do trust added, the others stay unknown.
        let ours = NoteSigner::new(
            "rome2026h1.example.org",
            Arc::new(SoftwareKey::generate(Algorithm::Ed25519)),
        )
        .unwrap();
        let mut sigs = note.signatures().to_vec();
        sigs.push(ours.sign(note.text()).unwrap());
        let cosigned = Note::new(note.text(), sigs).unwrap();
        let verified = cosigned.verify(&[ours.verifier().clone()]).unwrap();
        assert_eq!(verified.verified().len(), 1);
        assert_eq!(verified.unknown(), note.signatures());
    }
    // The witness's cosignature key (type 0x04) is refused as a verifier, clearly.
    let witness = read_str("note/sunlight-witness/witness.example.org.vkey");
    assert!(matches!(
        NoteVerifier::from_vkey(&witness),
        Err(NoteError::UnsupportedSignatureType { id: 0x04 })
    ));
    let note = Note::parse(&read("note/sunlight-witness/cosigned-checkpoint.txt")).unwrap();
    assert_eq!(note.signatures()[1].key_hash().to_string(), "b8a2cf20");
}

// ---------------------------------------------------------------- tampering

/// Flips every bit of `msg` in turn: each result must fail to parse or fail to verify.
fn assert_every_bit_flip_is_caught(msg: &[u8], verifiers: &[NoteVerifier]) -> usize {
    Note::parse(msg).unwrap().verify(verifiers).unwrap();
    let mut parse_failures = 0;
    for i in 0..msg.len() {
        for bit in 0..8 {
            let mut bad = msg.to_vec();
            bad[i] ^= 1 << bit;
            match Note::parse(&bad) {
                Err(_) => parse_failures += 1,
                Ok(note) => assert!(
                    note.verify(verifiers).is_err(),
                    "flipping bit {bit} of byte {i} still verifies"
                ),
            }
        }
    }
    parse_failures
}

#[test]
fn every_bit_flip_of_an_ed25519_note_is_caught() {
    let msg = read(&format!("{GO}/note-peter.txt"));
    let parse_failures =
        assert_every_bit_flip_is_caught(&msg, &[vkey(&format!("{GO}/PeterNeumann.vkey"))]);
    // Both kinds of failure happen.
    assert!(parse_failures > 0 && parse_failures < msg.len() * 8);
}

#[test]
fn every_bit_flip_of_an_ecdsa_checkpoint_is_caught() {
    let msg = read("rekor/v1/hashedrekord-v0.0.1/checkpoint.txt");
    assert_every_bit_flip_is_caught(&msg, &[rekor_v1_verifier()]);
}

#[test]
fn every_bit_flip_of_a_tessera_checkpoint_is_caught_by_open() {
    let dir = "tlog-tiles/tessera-testdata-log";
    let verifier = vkey(&format!("{dir}/vkey.txt"));
    let msg = read(&format!("{dir}/checkpoint.5"));
    for i in 0..msg.len() {
        for bit in 0..8 {
            let mut bad = msg.clone();
            bad[i] ^= 1 << bit;
            assert!(Checkpoint::open(&bad, std::slice::from_ref(&verifier)).is_err());
        }
    }
}

// ---------------------------------------------------------------- round trips with fresh keys

#[test]
fn sign_serialise_parse_verify_with_generated_keys() {
    let ed = NoteSigner::ed25519(
        "log.example/ed",
        Arc::new(SoftwareKey::generate(Algorithm::Ed25519)),
    )
    .unwrap();
    let p256_key: Arc<dyn Signer> = Arc::new(SoftwareKey::generate(Algorithm::EcdsaP256Sha256));
    let p256 = NoteSigner::ecdsa_rekor("log.example", p256_key.clone()).unwrap();
    assert_eq!(
        p256.key_hash(),
        KeyHash::new(
            sigstack_keys::key_id(p256_key.public_key_der())[..4]
                .try_into()
                .unwrap()
        )
    );
    let checkpoint = Checkpoint::new("log.example - 42", 1234, [0x5a; 32]).unwrap();
    let note = checkpoint.sign(&[&ed, &p256]).unwrap();
    let bytes = note.to_bytes();

    // Each verifier alone, from its published key string.
    for signer in [&ed, &p256] {
        let v = NoteVerifier::from_vkey(&signer.verifier().to_vkey()).unwrap();
        let (opened, parsed) = Checkpoint::open(&bytes, std::slice::from_ref(&v)).unwrap();
        assert_eq!(opened, checkpoint);
        assert_eq!(parsed, note);
        let verified = parsed.verify(&[v]).unwrap();
        assert_eq!(verified.verified().len(), 1);
        assert_eq!(verified.unknown().len(), 1);
    }
    let both = note
        .verify(&[ed.verifier().clone(), p256.verifier().clone()])
        .unwrap();
    assert_eq!(both.verified().len(), 2);
}

// ---------------------------------------------------------------- properties

/// Valid note texts: printable lines (including non-ASCII and blank lines), newline-terminated.
fn note_text() -> impl Strategy<Value = String> {
    proptest::collection::vec("[^\\x00-\\x1f]{0,20}", 1..6)
        .prop_map(|lines| lines.iter().map(|l| format!("{l}\n")).collect::<String>())
}

fn peter() -> (NoteSigner, NoteVerifier) {
    let signer = NoteSigner::from_skey(&read_str(&format!("{GO}/PeterNeumann.skey"))).unwrap();
    let verifier = signer.verifier().clone();
    (signer, verifier)
}

#[derive(Debug, Clone)]
enum Mutation {
    Set(usize, u8),
    Insert(usize, u8),
    Delete(usize),
}

fn mutate(msg: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut out = msg.to_vec();
    for m in mutations {
        match *m {
            Mutation::Set(i, b) if !out.is_empty() => {
                let i = i % out.len();
                out[i] = b;
            }
            Mutation::Insert(i, b) => {
                let i = i % (out.len() + 1);
                out.insert(i, b);
            }
            Mutation::Delete(i) if !out.is_empty() => {
                let i = i % out.len();
                out.remove(i);
            }
            _ => {}
        }
    }
    out
}

/// Bytes that matter to the parser are over-represented.
fn interesting_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        any::<u8>(),
        Just(b'\n'),
        Just(b' '),
        Just(b'+'),
        Just(b'='),
        Just(0xe2),
        Just(0x80),
        Just(0x94),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), interesting_byte()).prop_map(|(i, b)| Mutation::Set(i, b)),
        (any::<usize>(), interesting_byte()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Delete),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parse_never_panics_and_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(note) = Note::parse(&bytes) {
            prop_assert_eq!(note.to_bytes(), bytes);
        }
    }

    #[test]
    fn parse_never_panics_on_note_shaped_strings(
        s in "([a-z \\n+=/]|—|\\x01|\u{a0}){0,40}\n\n(— ([a-z.]{1,8}|[a-zA-Z+ ]{0,8}) ([A-Za-z0-9+/]{4}){1,3}[A-Za-z0-9+/=]{0,2}\n){0,3}"
    ) {
        if let Ok(note) = Note::parse(s.as_bytes()) {
            prop_assert_eq!(note.to_string(), s);
        }
    }

    #[test]
    fn mutated_notes_never_verify(mutations in proptest::collection::vec(mutation(), 1..4)) {
        let (_, verifier) = peter();
        let msg = read(&format!("{GO}/note-peter.txt"));
        let bad = mutate(&msg, &mutations);
        prop_assume!(bad != msg);
        if let Ok(note) = Note::parse(&bad) {
            prop_assert_eq!(note.to_bytes(), bad.clone());
            prop_assert!(note.verify(std::slice::from_ref(&verifier)).is_err());
            let _ = Checkpoint::parse_body(note.text());
        }
    }

    #[test]
    fn mutated_checkpoints_never_open(mutations in proptest::collection::vec(mutation(), 1..4)) {
        let msg = read("rekor/v1/intoto-v0.0.2/checkpoint.txt");
        let bad = mutate(&msg, &mutations);
        prop_assume!(bad != msg);
        prop_assert!(Checkpoint::open(&bad, &[rekor_v1_verifier()]).is_err());
    }

    #[test]
    fn checkpoint_parse_never_panics_and_round_trips(
        s in "([a-z0-9 ]{0,6}\n){0,2}(0|[1-9][0-9]{0,21}|00|\\+1)\n[A-Za-z0-9+/=]{42,46}\n([ -~]{0,5}\n){0,2}"
    ) {
        if let Ok(c) = Checkpoint::parse_body(&s) {
            prop_assert_eq!(c.to_body(), s);
        }
    }

    #[test]
    fn ed25519_sign_parse_verify(text in note_text()) {
        let (signer, verifier) = peter();
        let note = Note::sign(&text, &[&signer]).unwrap();
        let parsed = Note::parse(&note.to_bytes()).unwrap();
        prop_assert_eq!(parsed.text(), text.as_str());
        prop_assert!(parsed.verify(&[verifier]).is_ok());
    }

    #[test]
    fn checkpoint_sign_open(origin in "[^\\x00-\\x1f]{1,30}", size: u64, root: [u8; 32],
                            ext in proptest::collection::vec("[^\\x00-\\x1f]{1,10}", 0..3)) {
        let (signer, verifier) = peter();
        let checkpoint = Checkpoint::new(origin, size, root).unwrap().with_extensions(ext).unwrap();
        let note = checkpoint.sign(&[&signer]).unwrap();
        let (opened, _) = Checkpoint::open(&note.to_bytes(), &[verifier]).unwrap();
        prop_assert_eq!(opened, checkpoint);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn p256_sign_parse_verify(text in note_text()) {
        let signer = NoteSigner::ecdsa_rekor(
            "log.example",
            Arc::new(SoftwareKey::generate(Algorithm::EcdsaP256Sha256)),
        ).unwrap();
        let note = Note::sign(&text, &[&signer]).unwrap();
        let parsed = Note::parse(&note.to_bytes()).unwrap();
        prop_assert!(parsed.verify(&[signer.verifier().clone()]).is_ok());
    }
}
