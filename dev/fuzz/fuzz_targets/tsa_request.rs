//! Feeds arbitrary bytes to both RFC 3161 parsers of the `tsa` crate: `tsa::parse_request`
//! (what the TSA reads from clients) and `tsa::TimeStampResponse::from_der` (what a client of
//! a TSA reads back), the same input to each.
//!
//! Asserts that nothing panics, and:
//! - an accepted request has a digest of its hash's length, re-encodes, and its encoding is a
//!   fixed point (parse → to_der → parse gives the same request and the same bytes);
//! - every accessor of an accepted response answers without panicking, a granted response has
//!   a TSTInfo, and checking its signature against each certificate it carries returns (the
//!   outcome is not asserted: the input is arbitrary).
//!
//! Seed with the vectors: `cargo fuzz run tsa_request corpus/tsa_request <seeds>` where
//! `<seeds>` holds the repository's `dev/test-vectors/data/tsa/*/*.tsq` and `*.tsr`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = tsa::parse_request(data) {
        assert_eq!(req.digest().len(), req.hash_algorithm().digest_len());
        let der = req.to_der().expect("an accepted request re-encodes");
        let again = tsa::parse_request(&der).expect("a re-encoded request parses");
        assert_eq!(again.hash_algorithm(), req.hash_algorithm());
        assert_eq!(again.digest(), req.digest());
        assert_eq!(again.policy(), req.policy());
        assert_eq!(
            again.nonce().map(|n| n.as_bytes().to_vec()),
            req.nonce().map(|n| n.as_bytes().to_vec())
        );
        assert_eq!(again.cert_req(), req.cert_req());
        assert_eq!(again.to_der().expect("re-encodes"), der, "DER is a fixed point");
    }

    if let Ok(resp) = tsa::TimeStampResponse::from_der(data) {
        let _ = (resp.status(), resp.failure_info(), resp.status_text());
        let _ = (resp.policy(), resp.message_imprint(), resp.serial_number());
        let _ = (resp.gen_time(), resp.accuracy(), resp.nonce(), resp.has_tsa_name());
        if resp.is_granted() {
            assert!(resp.tst_info_der().is_some(), "a granted response has a TSTInfo");
        }
        for cert in resp.certificates() {
            let _ = resp.verify_signature(&cert);
        }
    }
});
