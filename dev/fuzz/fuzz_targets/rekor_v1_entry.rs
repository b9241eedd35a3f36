//! Feeds arbitrary bytes to `rekor_types::canonicalize_v1` (Rekor v1 proposed entries).
//!
//! Asserts that nothing panics, that an accepted entry's body is JSON, and that a hashedrekord
//! body is a fixed point (canonicalising it again yields the same bytes), as upstream bodies are.
//! Seed with the vectors: `cargo fuzz run rekor_v1_entry corpus/rekor_v1_entry <seeds>` where
//! `<seeds>` holds the repository's `dev/test-vectors/data/rekor/v1/*/proposed-entry.json`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(entry) = rekor_types::canonicalize_v1(data) {
        let body: serde_json::Value =
            serde_json::from_slice(&entry.body).expect("a canonical body is JSON");
        assert_eq!(body["kind"], entry.kind);
        if entry.kind == "hashedrekord" {
            let again = rekor_types::canonicalize_v1(&entry.body).expect("a body re-verifies");
            assert_eq!(again.body, entry.body);
        }
    }
});
