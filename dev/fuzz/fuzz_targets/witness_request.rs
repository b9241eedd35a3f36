//! Feeds arbitrary bytes to the witness's `add-checkpoint` body parser, its log and cosigner key
//! strings and the parsers of a witness's answers.
//!
//! Asserts that nothing panics, and that a body that parses re-encodes to exactly the input (one
//! encoding per request), as do the key strings that parse.

#![no_main]

use libfuzzer_sys::fuzz_target;
use witness::{AddCheckpoint, CosignatureVerifier, LogKey};

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = AddCheckpoint::parse(data) {
        let encoded = AddCheckpoint::encode(
            request.old_size(),
            request.proof(),
            &request.note().to_bytes(),
        );
        assert_eq!(encoded, data, "request does not round-trip");
    }
    let _ = witness::size_in_conflict(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(key) = LogKey::from_vkey(text) {
        assert!(LogKey::from_vkey(&key.to_vkey()).is_ok());
    }
    if let Ok(verifier) = CosignatureVerifier::from_vkey(text) {
        assert!(CosignatureVerifier::from_vkey(&verifier.to_vkey()).is_ok());
    }
});
