//! Round trips, signatures by self-generated keys, and negative tests: every structure parses
//! back to itself, every parser rejects truncation and trailing bytes and never panics, and
//! every signature fails on any flipped bit.

use std::sync::Arc;

use ct::*;
use proptest::prelude::*;
use sigstack_keys::{Algorithm, Signer, SoftwareKey};
use tlog::checkpoint::Checkpoint;
use tlog::note::{Note, NoteSigner};

fn p256() -> SoftwareKey {
    SoftwareKey::generate(Algorithm::EcdsaP256Sha256)
}

fn x509_entry() -> SignedEntry {
    SignedEntry::X509(Asn1Cert::new(b"\x30\x03\x02\x01\x01".to_vec()).unwrap())
}

fn precert_entry() -> SignedEntry {
    SignedEntry::Precert {
        issuer_key_hash: [7; 32],
        tbs_certificate: Asn1Cert::new(b"\x30\x03\x02\x01\x02".to_vec()).unwrap(),
    }
}

// ---------------------------------------------------------------------------------------------
// Signatures with our own keys.

#[test]
fn sct_signed_by_our_key_verifies_and_any_flipped_bit_breaks_it() {
    let key = p256();
    for entry in [x509_entry(), precert_entry()] {
        let sct = sign_sct(
            &key,
            1_700_000_000_123,
            &entry,
            CtExtensions::with_leaf_index(99).unwrap(),
        )
        .unwrap();
        assert_eq!(sct.log_id, sigstack_keys::key_id(key.public_key_der()));
        assert_eq!(sct.signature.hash_algorithm(), DigitallySigned::SHA256);
        assert_eq!(sct.signature.signature_algorithm(), DigitallySigned::ECDSA);
        verify_sct(&sct, key.public_key_der(), &entry).unwrap();

        let encoded = sct.encode();
        assert_eq!(SignedCertificateTimestamp::parse(&encoded).unwrap(), sct);
        for bit in 0..encoded.len() * 8 {
            let mut bad = encoded.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            if let Ok(bad) = SignedCertificateTimestamp::parse(&bad) {
                assert!(
                    verify_sct(&bad, key.public_key_der(), &entry).is_err(),
                    "bit {bit} flipped still verifies"
                );
            }
        }
        // The entry is covered too.
        let signed = sct_signed_data(sct.timestamp, &entry, &sct.extensions);
        let entry_bytes = match &entry {
            SignedEntry::X509(c) => c.as_bytes().to_vec(),
            SignedEntry::Precert {
                tbs_certificate, ..
            } => tbs_certificate.as_bytes().to_vec(),
        };
        for bit in 0..entry_bytes.len() * 8 {
            let mut bytes = entry_bytes.clone();
            bytes[bit / 8] ^= 1 << (bit % 8);
            let other = match &entry {
                SignedEntry::X509(_) => SignedEntry::X509(Asn1Cert::new(bytes).unwrap()),
                SignedEntry::Precert {
                    issuer_key_hash, ..
                } => SignedEntry::Precert {
                    issuer_key_hash: *issuer_key_hash,
                    tbs_certificate: Asn1Cert::new(bytes).unwrap(),
                },
            };
            assert_ne!(
                sct_signed_data(sct.timestamp, &other, &sct.extensions),
                signed
            );
            assert!(matches!(
                verify_sct(&sct, key.public_key_der(), &other),
                Err(CtError::BadSignature)
            ));
        }
        // x509 vs precert with the same bytes are different entries.
        assert!(verify_sct(
            &sct,
            key.public_key_der(),
            &match &entry {
                SignedEntry::X509(_) => precert_entry(),
                SignedEntry::Precert { .. } => x509_entry(),
            }
        )
        .is_err());
    }
}

#[test]
fn sct_from_another_log_is_a_log_id_mismatch() {
    let sct = sign_sct(&p256(), 1, &x509_entry(), CtExtensions::empty()).unwrap();
    assert!(matches!(
        verify_sct(&sct, p256().public_key_der(), &x509_entry()),
        Err(CtError::LogIdMismatch)
    ));
}

#[test]
fn only_p256_keys_sign_or_verify() {
    for alg in [Algorithm::EcdsaP384Sha384, Algorithm::Ed25519] {
        let key = SoftwareKey::generate(alg);
        assert!(matches!(
            sign_sct(&key, 1, &x509_entry(), CtExtensions::empty()),
            Err(CtError::UnsupportedKey { .. })
        ));
        assert!(matches!(
            sign_tree_head(&key, 1, 2, &[0; 32]),
            Err(CtError::UnsupportedKey { .. })
        ));
        let ds = DigitallySigned::new(4, 3, vec![0x30, 0x00]).unwrap();
        assert!(matches!(
            verify_tree_head(key.public_key_der(), 1, 2, &[0; 32], &ds),
            Err(CtError::UnsupportedKey { .. })
        ));
    }
    assert!(matches!(
        verify_tree_head(
            b"not a key",
            1,
            2,
            &[0; 32],
            &DigitallySigned::new(4, 3, vec![1]).unwrap()
        ),
        Err(CtError::InvalidPublicKey(_))
    ));
}

#[test]
fn tree_head_signature_verifies_and_any_flipped_bit_breaks_it() {
    let key = p256();
    let root = [0xab; 32];
    let sig = sign_tree_head(&key, 1_726_494_206_646, 961_984_011, &root).unwrap();
    verify_tree_head(
        key.public_key_der(),
        1_726_494_206_646,
        961_984_011,
        &root,
        &sig,
    )
    .unwrap();

    let encoded = sig.encode();
    for bit in 0..encoded.len() * 8 {
        let mut bad = encoded.clone();
        bad[bit / 8] ^= 1 << (bit % 8);
        if let Ok(bad) = DigitallySigned::parse(&bad) {
            assert!(verify_tree_head(
                key.public_key_der(),
                1_726_494_206_646,
                961_984_011,
                &root,
                &bad
            )
            .is_err());
        }
    }
    for bit in 0..256 {
        let mut bad_root = root;
        bad_root[bit / 8] ^= 1 << (bit % 8);
        assert!(matches!(
            verify_tree_head(
                key.public_key_der(),
                1_726_494_206_646,
                961_984_011,
                &bad_root,
                &sig
            ),
            Err(CtError::BadSignature)
        ));
    }
    for bit in 0..64 {
        assert!(verify_tree_head(
            key.public_key_der(),
            1_726_494_206_646 ^ (1 << bit),
            961_984_011,
            &root,
            &sig
        )
        .is_err());
        assert!(verify_tree_head(
            key.public_key_der(),
            1_726_494_206_646,
            961_984_011 ^ (1 << bit),
            &root,
            &sig
        )
        .is_err());
    }
    // Other algorithm numbers are refused before any signature work.
    let rsa = DigitallySigned::new(4, 1, sig.signature().to_vec()).unwrap();
    assert!(matches!(
        verify_tree_head(
            key.public_key_der(),
            1_726_494_206_646,
            961_984_011,
            &root,
            &rsa
        ),
        Err(CtError::UnsupportedSignatureAlgorithm { .. })
    ));
}

#[test]
fn static_ct_checkpoint_signed_by_our_key_opens() {
    let key = Arc::new(p256());
    let origin = "ct.example.com/2026h1";
    let checkpoint = Checkpoint::new(origin, 12345, [9; 32]).unwrap();
    let sig = sign_rfc6962_checkpoint(key.as_ref(), &checkpoint, 1_767_139_200_000).unwrap();
    assert_eq!(sig.name(), origin);
    assert_eq!(
        sig.key_hash(),
        rfc6962_note_key_hash(origin, &sigstack_keys::key_id(key.public_key_der()))
    );

    // A witness's Ed25519 cosignature alongside is ignored.
    let witness = NoteSigner::ed25519(
        "witness.example",
        Arc::new(SoftwareKey::generate(Algorithm::Ed25519)),
    )
    .unwrap();
    let cosig = witness.sign(&checkpoint.to_body()).unwrap();
    let note = Note::new(checkpoint.to_body(), vec![sig.clone(), cosig]).unwrap();
    let (opened, timestamp) =
        open_rfc6962_checkpoint(&note.to_bytes(), origin, key.public_key_der()).unwrap();
    assert_eq!(opened, checkpoint);
    assert_eq!(timestamp, 1_767_139_200_000);

    // The body is exactly a get-sth signature: verifiable without the note.
    let body = Rfc6962NoteSignature::parse(sig.signature()).unwrap();
    verify_tree_head(
        key.public_key_der(),
        body.timestamp,
        12345,
        &[9; 32],
        &body.signature,
    )
    .unwrap();

    // A signature by the right name but another key is simply not this log's.
    let impostor = sign_rfc6962_checkpoint(&p256(), &checkpoint, 1).unwrap();
    let note = Note::new(checkpoint.to_body(), vec![impostor]).unwrap();
    assert!(matches!(
        open_rfc6962_checkpoint(&note.to_bytes(), origin, key.public_key_der()),
        Err(CtError::NoLogSignature)
    ));

    // Extension lines are not covered by a tree head signature, so they are refused.
    let with_ext = checkpoint
        .clone()
        .with_extensions(vec!["ext".into()])
        .unwrap();
    assert!(matches!(
        sign_rfc6962_checkpoint(key.as_ref(), &with_ext, 1),
        Err(CtError::CheckpointHasExtensions)
    ));
    let note = Note::new(with_ext.to_body(), vec![sig]).unwrap();
    assert!(open_rfc6962_checkpoint(&note.to_bytes(), origin, key.public_key_der()).is_err());
}

// ---------------------------------------------------------------------------------------------
// Strictness.

#[test]
fn leaf_index_extension_encoding() {
    assert_eq!(
        encode_leaf_index_extension(768).unwrap(),
        [0, 0, 5, 0, 0, 0, 3, 0]
    );
    assert_eq!(
        encode_leaf_index_extension(MAX_LEAF_INDEX).unwrap(),
        [0, 0, 5, 0xff, 0xff, 0xff, 0xff, 0xff]
    );
    assert!(matches!(
        encode_leaf_index_extension(MAX_LEAF_INDEX + 1),
        Err(CtError::LeafIndexOutOfRange { .. })
    ));
    assert!(matches!(
        parse_leaf_index_extension(&[]),
        Err(CtError::MissingLeafIndex)
    ));
    // Other extension types are skipped, in any order.
    assert_eq!(
        parse_leaf_index_extension(&[7, 0, 1, 0xaa, 0, 0, 5, 0, 0, 0, 0, 9]).unwrap(),
        9
    );
    assert!(matches!(
        parse_leaf_index_extension(&[7, 0, 0]),
        Err(CtError::MissingLeafIndex)
    ));
    assert!(matches!(
        parse_leaf_index_extension(&[0, 0, 5, 0, 0, 0, 0, 1, 0, 0, 5, 0, 0, 0, 0, 1]),
        Err(CtError::DuplicateCtExtension { extension_type: 0 })
    ));
    assert!(matches!(
        parse_leaf_index_extension(&[7, 0, 0, 7, 0, 0, 0, 0, 5, 0, 0, 0, 0, 1]),
        Err(CtError::DuplicateCtExtension { extension_type: 7 })
    ));
    assert!(matches!(
        parse_leaf_index_extension(&[0, 0, 4, 0, 0, 0, 1]),
        Err(CtError::LengthOutOfRange { .. })
    ));
    assert!(matches!(
        parse_leaf_index_extension(&[0, 0, 6, 0, 0, 0, 0, 0, 1]),
        Err(CtError::LengthOutOfRange { .. })
    ));
    assert!(matches!(
        parse_leaf_index_extension(&[0, 0, 5, 0, 0]),
        Err(CtError::Truncated { .. })
    ));
    assert!(matches!(
        parse_leaf_index_extension(&[0, 0]),
        Err(CtError::Truncated { .. })
    ));
}

#[test]
fn unknown_enum_values_are_rejected() {
    let sct = sign_sct(&p256(), 5, &x509_entry(), CtExtensions::empty()).unwrap();
    let mut v2 = sct.encode();
    v2[0] = 1;
    assert!(matches!(
        SignedCertificateTimestamp::parse(&v2),
        Err(CtError::UnknownValue { value: 1, .. })
    ));

    let leaf = MerkleTreeLeaf::from(TimestampedEntry {
        timestamp: 5,
        entry: x509_entry(),
        extensions: CtExtensions::empty(),
    });
    let encoded = leaf.encode();
    for (offset, value) in [(0, 1), (1, 1), (10, 2)] {
        let mut bad = encoded.clone();
        bad[offset] = value;
        assert!(
            matches!(
                MerkleTreeLeaf::parse(&bad),
                Err(CtError::UnknownValue { .. })
            ),
            "offset {offset}"
        );
    }
    assert!(LogEntryType::try_from(2).is_err());
    assert_eq!(
        LogEntryType::try_from(1).unwrap(),
        LogEntryType::PrecertEntry
    );
    assert_eq!(LogEntryType::PrecertEntry.value(), 1);
}

#[test]
fn bounded_types_refuse_out_of_range_contents() {
    assert!(matches!(
        Asn1Cert::new(Vec::new()),
        Err(CtError::LengthOutOfRange { .. })
    ));
    assert!(Asn1Cert::new(vec![0; Asn1Cert::MAX_LEN]).is_ok());
    assert!(Asn1Cert::new(vec![0; Asn1Cert::MAX_LEN + 1]).is_err());
    assert!(CtExtensions::new(vec![0; CtExtensions::MAX_LEN]).is_ok());
    assert!(CtExtensions::new(vec![0; CtExtensions::MAX_LEN + 1]).is_err());
    assert!(DigitallySigned::new(4, 3, vec![0; 65_536]).is_err());
    assert!(matches!(
        SignedCertificateTimestampList::new(Vec::new()),
        Err(CtError::LengthOutOfRange { .. })
    ));
    let sct = sign_sct(&p256(), 5, &x509_entry(), CtExtensions::empty()).unwrap();
    let too_many = vec![sct; 65_535 / 100];
    assert!(SignedCertificateTimestampList::new(too_many).is_err());
    assert!(matches!(
        SignedCertificateTimestampList::parse(&[0, 0]),
        Err(CtError::LengthOutOfRange { .. })
    ));
    assert!(matches!(
        SignedCertificateTimestampList::parse(&[0, 2, 0, 0]),
        Err(CtError::LengthOutOfRange { .. })
    ));
}

#[test]
fn tile_leaf_invariants() {
    let te = |entry| TimestampedEntry {
        timestamp: 1,
        entry,
        extensions: CtExtensions::with_leaf_index(3).unwrap(),
    };
    let cert = Asn1Cert::new(vec![1, 2, 3]).unwrap();
    assert!(matches!(
        TileLeaf::new(te(x509_entry()), Some(cert.clone()), vec![]),
        Err(CtError::InvalidTileLeaf { .. })
    ));
    assert!(matches!(
        TileLeaf::new(te(precert_entry()), None, vec![]),
        Err(CtError::InvalidTileLeaf { .. })
    ));
    assert!(TileLeaf::new(
        te(x509_entry()),
        None,
        vec![[0; 32]; TileLeaf::MAX_CHAIN_LEN + 1]
    )
    .is_err());
    let leaf = TileLeaf::new(
        te(precert_entry()),
        Some(cert),
        vec![[0; 32]; TileLeaf::MAX_CHAIN_LEN],
    )
    .unwrap();
    assert_eq!(TileLeaf::parse(&leaf.encode()).unwrap(), leaf);

    // A chain that is not whole fingerprints.
    let mut bad = TileLeaf::new(te(x509_entry()), None, vec![])
        .unwrap()
        .encode();
    let n = bad.len();
    bad[n - 1] = 1;
    bad.push(0);
    assert!(matches!(
        TileLeaf::parse(&bad),
        Err(CtError::InvalidTileLeaf { .. })
    ));

    // Data tiles hold 1 to 256 entries.
    assert!(parse_data_tile(&[]).is_err());
    let one = TileLeaf::new(te(x509_entry()), None, vec![[1; 32]])
        .unwrap()
        .encode();
    assert_eq!(parse_data_tile(&one.repeat(256)).unwrap().len(), 256);
    assert!(matches!(
        parse_data_tile(&one.repeat(257)),
        Err(CtError::LengthOutOfRange { .. })
    ));
}

#[test]
fn sct_list_extension_value_is_a_der_octet_string() {
    let key = p256();
    for n in [1usize, 2, 3, 40] {
        let scts = (0..n)
            .map(|i| sign_sct(&key, i as u64, &x509_entry(), CtExtensions::empty()).unwrap())
            .collect();
        let list = SignedCertificateTimestampList::new(scts).unwrap();
        let value = list.to_extension_value();
        assert_eq!(value[0], 0x04);
        assert_eq!(
            SignedCertificateTimestampList::from_extension_value(&value).unwrap(),
            list
        );
        // Not an OCTET STRING, or trailing bytes: refused.
        let mut bad = value.clone();
        bad[0] = 0x03;
        assert!(SignedCertificateTimestampList::from_extension_value(&bad).is_err());
        let mut bad = value.clone();
        bad.push(0);
        assert!(SignedCertificateTimestampList::from_extension_value(&bad).is_err());
    }
}

// ---------------------------------------------------------------------------------------------
// Properties.

fn arb_cert() -> impl Strategy<Value = Asn1Cert> {
    prop::collection::vec(any::<u8>(), 1..64).prop_map(|v| Asn1Cert::new(v).unwrap())
}

fn arb_extensions() -> impl Strategy<Value = CtExtensions> {
    prop_oneof![
        Just(CtExtensions::empty()),
        (0..=MAX_LEAF_INDEX).prop_map(|i| CtExtensions::with_leaf_index(i).unwrap()),
        prop::collection::vec(any::<u8>(), 0..20).prop_map(|v| CtExtensions::new(v).unwrap()),
    ]
}

fn arb_entry() -> impl Strategy<Value = SignedEntry> {
    prop_oneof![
        arb_cert().prop_map(SignedEntry::X509),
        (any::<[u8; 32]>(), arb_cert()).prop_map(|(issuer_key_hash, tbs_certificate)| {
            SignedEntry::Precert {
                issuer_key_hash,
                tbs_certificate,
            }
        }),
    ]
}

fn arb_timestamped_entry() -> impl Strategy<Value = TimestampedEntry> {
    (any::<u64>(), arb_entry(), arb_extensions()).prop_map(|(timestamp, entry, extensions)| {
        TimestampedEntry {
            timestamp,
            entry,
            extensions,
        }
    })
}

fn arb_signature() -> impl Strategy<Value = DigitallySigned> {
    (
        any::<u8>(),
        any::<u8>(),
        prop::collection::vec(any::<u8>(), 0..80),
    )
        .prop_map(|(h, s, sig)| DigitallySigned::new(h, s, sig).unwrap())
}

fn arb_sct() -> impl Strategy<Value = SignedCertificateTimestamp> {
    (
        any::<[u8; 32]>(),
        any::<u64>(),
        arb_extensions(),
        arb_signature(),
    )
        .prop_map(
            |(log_id, timestamp, extensions, signature)| SignedCertificateTimestamp {
                log_id,
                timestamp,
                extensions,
                signature,
            },
        )
}

fn arb_tile_leaf() -> impl Strategy<Value = TileLeaf> {
    (
        arb_timestamped_entry(),
        arb_cert(),
        prop::collection::vec(any::<[u8; 32]>(), 0..4),
    )
        .prop_map(|(te, pre, chain)| {
            let pre = matches!(te.entry, SignedEntry::Precert { .. }).then_some(pre);
            TileLeaf::new(te, pre, chain).unwrap()
        })
}

fn arb_extra_data() -> impl Strategy<Value = ExtraData> {
    (
        prop::option::of(arb_cert()),
        prop::collection::vec(arb_cert(), 0..4),
    )
        .prop_map(|(pre, chain)| match pre {
            Some(pre) => ExtraData::precert(pre, chain).unwrap(),
            None => ExtraData::x509(chain).unwrap(),
        })
}

/// Every strict prefix and every one-byte extension of `bytes` is rejected by `parse`.
fn assert_exact<T>(bytes: &[u8], parse: impl Fn(&[u8]) -> Result<T, CtError>) {
    for cut in 0..bytes.len() {
        assert!(
            parse(&bytes[..cut]).is_err(),
            "prefix of {cut} bytes accepted"
        );
    }
    let mut longer = bytes.to_vec();
    longer.push(0);
    assert!(matches!(parse(&longer), Err(CtError::TrailingData { .. })));
}

/// Runs every parser of the crate on `bytes`; none may panic.
fn parse_everything(bytes: &[u8]) {
    let _ = TimestampedEntry::parse(bytes);
    let _ = MerkleTreeLeaf::parse(bytes);
    let _ = SignedCertificateTimestamp::parse(bytes);
    let _ = SignedCertificateTimestampList::parse(bytes);
    let _ = SignedCertificateTimestampList::from_extension_value(bytes);
    let _ = SignedCertificateTimestampList::from_certificate(bytes);
    let _ = DigitallySigned::parse(bytes);
    let _ = TileLeaf::parse(bytes);
    let _ = parse_data_tile(bytes);
    let _ = Rfc6962NoteSignature::parse(bytes);
    let _ = ExtraData::parse(LogEntryType::X509Entry, bytes);
    let _ = ExtraData::parse(LogEntryType::PrecertEntry, bytes);
    let _ = parse_leaf_index_extension(bytes);
    let _ = has_poison(bytes);
    let _ = precert_tbs_from_precert(bytes);
    let _ = precert_tbs_from_final_cert(bytes);
    let _ = issuer_key_hash(bytes);
    let _ = tbs_and_signature(bytes);
    let _ = verify_issued_by(bytes, bytes);
    let _ = verify_embedded_scts(bytes, bytes, bytes);
    let _ = open_rfc6962_checkpoint(bytes, "o", bytes);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn timestamped_entry_and_leaf_round_trip(te in arb_timestamped_entry()) {
        let bytes = te.encode();
        prop_assert_eq!(&TimestampedEntry::parse(&bytes).unwrap(), &te);
        assert_exact(&bytes, TimestampedEntry::parse);
        let leaf = MerkleTreeLeaf::from(te);
        let bytes = leaf.encode();
        prop_assert_eq!(&bytes[..2], &[0u8, 0][..]);
        prop_assert_eq!(&MerkleTreeLeaf::parse(&bytes).unwrap(), &leaf);
        prop_assert_eq!(leaf.leaf_hash(), tlog::merkle::leaf_hash(&bytes));
        assert_exact(&bytes, MerkleTreeLeaf::parse);
    }

    #[test]
    fn sct_and_list_round_trip(scts in prop::collection::vec(arb_sct(), 1..4)) {
        for sct in &scts {
            let bytes = sct.encode();
            prop_assert_eq!(&SignedCertificateTimestamp::parse(&bytes).unwrap(), sct);
            assert_exact(&bytes, SignedCertificateTimestamp::parse);
            assert_exact(&sct.signature.encode(), DigitallySigned::parse);
        }
        let list = SignedCertificateTimestampList::new(scts).unwrap();
        let bytes = list.encode();
        prop_assert_eq!(&SignedCertificateTimestampList::parse(&bytes).unwrap(), &list);
        assert_exact(&bytes, SignedCertificateTimestampList::parse);
    }

    #[test]
    fn tile_leaf_and_data_tile_round_trip(leaves in prop::collection::vec(arb_tile_leaf(), 1..5)) {
        let mut tile = Vec::new();
        for leaf in &leaves {
            let bytes = leaf.encode();
            prop_assert_eq!(&TileLeaf::parse(&bytes).unwrap(), leaf);
            prop_assert_eq!(leaf.leaf_hash(), leaf.merkle_tree_leaf().leaf_hash());
            assert_exact(&bytes, TileLeaf::parse);
            leaf.encode_into(&mut tile);
        }
        prop_assert_eq!(&parse_data_tile(&tile).unwrap(), &leaves);
        for cut in 1..tile.len() {
            // A cut inside an entry is an error; a cut between entries is a shorter tile.
            if let Ok(shorter) = parse_data_tile(&tile[..cut]) {
                prop_assert!(shorter.len() < leaves.len());
                prop_assert_eq!(&shorter[..], &leaves[..shorter.len()]);
            }
        }
    }

    #[test]
    fn extra_data_round_trips(extra in arb_extra_data()) {
        let bytes = extra.encode();
        prop_assert_eq!(&ExtraData::parse(extra.entry_type(), &bytes).unwrap(), &extra);
        assert_exact(&bytes, |b| ExtraData::parse(extra.entry_type(), b));
    }

    #[test]
    fn note_signature_body_round_trips(timestamp in any::<u64>(), signature in arb_signature()) {
        let body = Rfc6962NoteSignature { timestamp, signature };
        let bytes = body.encode();
        prop_assert_eq!(&Rfc6962NoteSignature::parse(&bytes).unwrap(), &body);
        assert_exact(&bytes, Rfc6962NoteSignature::parse);
    }

    #[test]
    fn leaf_index_round_trips(index in 0..=MAX_LEAF_INDEX) {
        let ext = encode_leaf_index_extension(index).unwrap();
        prop_assert_eq!(ext.len(), 8);
        prop_assert_eq!(parse_leaf_index_extension(&ext).unwrap(), index);
    }

    #[test]
    fn parsers_never_panic_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        parse_everything(&bytes);
    }

    #[test]
    fn parsers_never_panic_on_mutated_encodings(
        leaf in arb_tile_leaf(),
        sct in arb_sct(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let leaf_bytes = leaf.encode();
        let list = SignedCertificateTimestampList::new(vec![sct]).unwrap();
        for mut bytes in [leaf_bytes.clone(), leaf.merkle_tree_leaf().encode(), list.encode()] {
            for (i, b) in &edits {
                let i = i.index(bytes.len());
                bytes[i] = *b;
            }
            parse_everything(&bytes);
        }
    }
}
