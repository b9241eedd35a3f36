//! Feeds arbitrary bytes to `rekor_types::canonicalize_v2` (Rekor v2 CreateEntryRequest JSON).
//!
//! Asserts that nothing panics and that an accepted entry's body is JSON naming its kind.
//! Seed with the repository's `dev/test-vectors/data/rekor/v2/*/proposed-entry.json`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(entry) = rekor_types::canonicalize_v2(data) {
        let body: serde_json::Value =
            serde_json::from_slice(&entry.body).expect("a canonical body is JSON");
        assert_eq!(body["kind"], entry.kind);
        assert_eq!(body["apiVersion"], entry.api_version);
    }
});
