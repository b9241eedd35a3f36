//! Feeds arbitrary bytes to the signed-note, checkpoint and key-string parsers.
//!
//! Asserts that nothing panics and that whatever parses re-serialises to exactly the input, which
//! is what makes a note's bytes unique (no two encodings of the same signed checkpoint).

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tlog::checkpoint::Checkpoint;
use tlog::note::{Note, NoteSigner, NoteVerifier};

/// Real keys, so that inputs derived from the vectors reach signature verification.
fn verifiers() -> &'static [NoteVerifier] {
    static VERIFIERS: OnceLock<Vec<NoteVerifier>> = OnceLock::new();
    VERIFIERS.get_or_init(|| {
        [
            // golang.org/x/mod sumdb/note test key.
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            // Tessera's test log.
            "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx",
            // rekor.sigstore.dev's ECDSA P-256 key as a type 0x02 key string.
            "rekor.sigstore.dev+c0d23d6a+AjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABNhtmPtrWm3U1eQXBogSMdGvXwBcK5AW5i0hrZLOC96l+smGNM7nwZ4QvFK/4sueRoVj//QP22Ni4Qt9DPfkWLc=",
        ]
        .iter()
        .map(|k| NoteVerifier::from_vkey(k).expect("valid test key"))
        .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(note) = Note::parse(data) {
        assert_eq!(note.to_bytes(), data, "note does not round-trip");
        if let Ok(verified) = note.verify(verifiers()) {
            assert!(!verified.verified().is_empty());
        }
        if let Ok(checkpoint) = Checkpoint::parse_body(note.text()) {
            assert_eq!(
                checkpoint.to_body(),
                note.text(),
                "checkpoint does not round-trip"
            );
        }
        // Whatever parsed can be rebuilt from its parts.
        let rebuilt = Note::new(note.text(), note.signatures().to_vec()).expect("rebuild");
        assert_eq!(rebuilt, note);
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(checkpoint) = Checkpoint::parse_body(text) {
        assert_eq!(checkpoint.to_body(), text, "checkpoint does not round-trip");
    }
    if let Ok(verifier) = NoteVerifier::from_vkey(text) {
        // Parsing ignores surrounding whitespace and the case of the hex key hash; otherwise the
        // key string is canonical.
        let mut parts = text.trim().splitn(3, '+');
        let (name, hash, key) = (parts.next(), parts.next(), parts.next());
        let canonical = format!(
            "{}+{}+{}",
            name.unwrap_or_default(),
            hash.unwrap_or_default().to_ascii_lowercase(),
            key.unwrap_or_default()
        );
        assert_eq!(verifier.to_vkey(), canonical, "vkey does not round-trip");
    }
    if let Ok(signer) = NoteSigner::from_skey(text) {
        let vkey = signer.verifier().to_vkey();
        assert!(NoteVerifier::from_vkey(&vkey).is_ok());
    }
});
