//! Feeds arbitrary bytes to every parser of the `ct` crate: TLS structures (SCTs, SCT lists,
//! Merkle tree leaves, static-ct-api tile entries and note signature bodies, get-entries
//! extra data, leaf_index extensions) and the X.509 precertificate helpers.
//!
//! Asserts that nothing panics, that every TLS structure that parses re-encodes to exactly the
//! input (the encodings are unique, so a log and its monitors can never disagree about bytes),
//! and that the X.509 helpers' outputs are themselves well formed.

#![no_main]

use ct::*;
use libfuzzer_sys::fuzz_target;

/// The CT test log key (RFC 6962 test data, `ct/rfc6962-ctgo/log-pubkey.pem`), so inputs
/// derived from its SCTs reach signature verification.
const LOG_KEY: [u8; 91] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04, 0x99, 0x78, 0x3c, 0xb1, 0x45,
    0x33, 0xc0, 0x16, 0x1a, 0x5a, 0xb4, 0x5b, 0xf9, 0x5d, 0x08, 0xa2, 0x9c, 0xd0, 0xea, 0x8d, 0xd4,
    0xc8, 0x42, 0x74, 0xe2, 0xbe, 0x59, 0xad, 0x15, 0xc6, 0x76, 0x96, 0x0c, 0xf0, 0xaf, 0xa1, 0x07,
    0x4a, 0x57, 0xac, 0x64, 0x4b, 0x23, 0x47, 0x9e, 0x5b, 0x3f, 0xb7, 0xb2, 0x45, 0xeb, 0x4b, 0x42,
    0x0e, 0xf3, 0x70, 0x21, 0x03, 0x71, 0xa9, 0x44, 0xbe, 0xac, 0xeb,
];

fn log_key() -> &'static [u8] {
    &LOG_KEY
}

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = TimestampedEntry::parse(data) {
        assert_eq!(v.encode(), data, "TimestampedEntry does not round-trip");
    }
    if let Ok(v) = MerkleTreeLeaf::parse(data) {
        assert_eq!(v.encode(), data, "MerkleTreeLeaf does not round-trip");
        assert_eq!(v.leaf_hash(), tlog::merkle::leaf_hash(data));
    }
    if let Ok(v) = SignedCertificateTimestamp::parse(data) {
        assert_eq!(v.encode(), data, "SCT does not round-trip");
        let entry = SignedEntry::X509(Asn1Cert::new(data.to_vec()).unwrap());
        let _ = verify_sct(&v, log_key(), &entry);
        let _ = v.extensions.leaf_index();
    }
    if let Ok(v) = SignedCertificateTimestampList::parse(data) {
        assert_eq!(v.encode(), data, "SCT list does not round-trip");
        assert!(!v.scts().is_empty());
        let value = v.to_extension_value();
        assert_eq!(
            SignedCertificateTimestampList::from_extension_value(&value).unwrap(),
            v
        );
    }
    if let Ok(v) = SignedCertificateTimestampList::from_extension_value(data) {
        assert_eq!(
            v.to_extension_value(),
            data,
            "SCT list extension does not round-trip"
        );
    }
    if let Ok(v) = DigitallySigned::parse(data) {
        assert_eq!(v.encode(), data, "DigitallySigned does not round-trip");
        let _ = verify_tree_head(log_key(), 0, 0, &[0; 32], &v);
    }
    if let Ok(v) = TileLeaf::parse(data) {
        assert_eq!(v.encode(), data, "TileLeaf does not round-trip");
    }
    if let Ok(tile) = parse_data_tile(data) {
        assert!(!tile.is_empty() && tile.len() <= TILE_WIDTH);
        let mut again = Vec::new();
        for leaf in &tile {
            leaf.encode_into(&mut again);
        }
        assert_eq!(again, data, "data tile does not round-trip");
    }
    if let Ok(v) = Rfc6962NoteSignature::parse(data) {
        assert_eq!(v.encode(), data, "RFC6962NoteSignature does not round-trip");
    }
    for entry_type in [LogEntryType::X509Entry, LogEntryType::PrecertEntry] {
        if let Ok(v) = ExtraData::parse(entry_type, data) {
            assert_eq!(v.entry_type(), entry_type);
            assert_eq!(v.encode(), data, "extra_data does not round-trip");
        }
    }
    if let Ok(index) = parse_leaf_index_extension(data) {
        assert!(index <= MAX_LEAF_INDEX);
    }
    let _ = open_rfc6962_checkpoint(data, "rome2026h1.example.org", log_key());

    // X.509 helpers: the input as a certificate (and as its own issuer).
    let poisoned = has_poison(data).ok();
    if let Ok(tbs) = precert_tbs_from_precert(data) {
        assert_eq!(poisoned, Some(true));
        assert!(Asn1Cert::new(tbs).is_ok());
    }
    if let Ok(tbs) = precert_tbs_from_final_cert(data) {
        assert_eq!(poisoned, Some(false));
        assert!(!tbs.is_empty());
    }
    if let Ok(parts) = tbs_and_signature(data) {
        assert!(parts.tbs_der.len() < data.len());
    }
    let _ = issuer_key_hash(data);
    let _ = verify_issued_by(data, data);
    let _ = verify_embedded_scts(data, data, log_key());
    let _ = SignedCertificateTimestampList::from_certificate(data);
});
