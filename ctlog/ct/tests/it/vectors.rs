//! Known-answer tests against the upstream vectors in `dev/test-vectors/data/ct` and
//! `dev/test-vectors/data/fulcio` (see `dev/test-vectors/data/README.md`).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ct::*;
use serde_json::Value;

use sigstack_test_vectors::{pem_blocks, read};

fn json(rel: &str) -> Value {
    serde_json::from_slice(&read(rel)).unwrap()
}

fn pem(rel: &str) -> Vec<u8> {
    pem_blocks(rel).remove(0)
}

fn hex_str(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

fn b64_str(v: &Value) -> Vec<u8> {
    B64.decode(v.as_str().unwrap()).unwrap()
}

fn arr32(v: Vec<u8>) -> [u8; 32] {
    v.try_into().unwrap()
}

const CTGO: &str = "ct/rfc6962-ctgo";

fn ctgo(name: &str) -> String {
    format!("{CTGO}/{name}")
}

fn check_sct_fields(sct: &SignedCertificateTimestamp, fields: &Value) {
    assert_eq!(fields["version"], 0);
    assert_eq!(sct.log_id.to_vec(), hex_str(&fields["log_id"]));
    assert_eq!(sct.timestamp, fields["timestamp_ms"].as_u64().unwrap());
    assert_eq!(sct.extensions.as_bytes(), hex_str(&fields["extensions"]));
    assert_eq!(
        u64::from(sct.signature.hash_algorithm()),
        fields["hash_alg"].as_u64().unwrap()
    );
    assert_eq!(
        u64::from(sct.signature.signature_algorithm()),
        fields["sig_alg"].as_u64().unwrap()
    );
    assert_eq!(sct.signature.signature(), hex_str(&fields["signature"]));
}

fn ctgo_precert_entry() -> SignedEntry {
    SignedEntry::Precert {
        issuer_key_hash: issuer_key_hash(&pem(&ctgo("ca-cert.pem"))).unwrap(),
        tbs_certificate: Asn1Cert::new(read(&ctgo("test-precert.tbs.der"))).unwrap(),
    }
}

#[test]
fn ctgo_log_id_is_the_key_hash() {
    let expected = json(&ctgo("expected.json"));
    let key = pem(&ctgo("log-pubkey.pem"));
    assert_eq!(
        sigstack_keys::key_id(&key).to_vec(),
        hex_str(&expected["log_id_hex"])
    );
}

#[test]
fn ctgo_x509_sct_parses_signs_the_expected_bytes_and_verifies() {
    let expected = json(&ctgo("expected.json"));
    let x = &expected["x509_entry"];
    let raw = read(&ctgo("test-cert.sct"));
    let sct = SignedCertificateTimestamp::parse(&raw).unwrap();
    check_sct_fields(&sct, &x["sct_fields"]);
    assert_eq!(sct.encode(), raw);

    let entry = SignedEntry::X509(Asn1Cert::new(pem(&ctgo("test-cert.pem"))).unwrap());
    assert_eq!(
        sct_signed_data(sct.timestamp, &entry, &sct.extensions),
        hex_str(&x["signed_data_hex"])
    );
    verify_sct(&sct, &pem(&ctgo("log-pubkey.pem")), &entry).unwrap();

    let leaf = MerkleTreeLeaf::from(TimestampedEntry {
        timestamp: sct.timestamp,
        entry,
        extensions: sct.extensions.clone(),
    });
    let leaf_bytes = hex_str(&x["merkle_tree_leaf_hex"]);
    assert_eq!(leaf.encode(), leaf_bytes);
    assert_eq!(MerkleTreeLeaf::parse(&leaf_bytes).unwrap(), leaf);
    assert_eq!(leaf.leaf_hash().to_vec(), b64_str(&x["leaf_hash_b64"]));
    assert_eq!(
        leaf.leaf_hash().to_vec(),
        b64_str(&x["upstream_leaf_hash_b64"])
    );
}

#[test]
fn ctgo_precert_sct_parses_signs_the_expected_bytes_and_verifies() {
    let expected = json(&ctgo("expected.json"));
    let p = &expected["precert_entry"];
    let raw = read(&ctgo("test-precert.sct"));
    let sct = SignedCertificateTimestamp::parse(&raw).unwrap();
    check_sct_fields(&sct, &p["sct_fields"]);
    assert_eq!(sct.encode(), raw);

    let entry = ctgo_precert_entry();
    assert_eq!(
        sct_signed_data(sct.timestamp, &entry, &sct.extensions),
        hex_str(&p["signed_data_hex"])
    );
    verify_sct(&sct, &pem(&ctgo("log-pubkey.pem")), &entry).unwrap();

    let leaf = MerkleTreeLeaf::from(TimestampedEntry {
        timestamp: sct.timestamp,
        entry,
        extensions: sct.extensions.clone(),
    });
    assert_eq!(leaf.encode(), hex_str(&p["merkle_tree_leaf_hex"]));
    assert_eq!(leaf.leaf_hash().to_vec(), b64_str(&p["leaf_hash_b64"]));
    assert_eq!(
        leaf.leaf_hash().to_vec(),
        b64_str(&p["upstream_leaf_hash_b64"])
    );
}

#[test]
fn ctgo_issuer_key_hash() {
    let expected = json(&ctgo("expected.json"));
    assert_eq!(
        issuer_key_hash(&pem(&ctgo("ca-cert.pem")))
            .unwrap()
            .to_vec(),
        hex_str(&expected["precert_entry"]["issuer_key_hash_hex"])
    );
}

#[test]
fn ctgo_precert_tbs_from_precert_and_from_final_cert_agree() {
    let want = read(&ctgo("test-precert.tbs.der"));
    let precert = pem(&ctgo("test-precert.pem"));
    let final_cert = pem(&ctgo("test-embedded-cert.pem"));
    assert_eq!(precert_tbs_from_precert(&precert).unwrap(), want);
    assert_eq!(precert_tbs_from_final_cert(&final_cert).unwrap(), want);

    // The wrong function for each certificate is refused.
    assert!(matches!(
        precert_tbs_from_precert(&final_cert),
        Err(CtError::MissingPoison)
    ));
    assert!(matches!(
        precert_tbs_from_final_cert(&precert),
        Err(CtError::UnexpectedPoison)
    ));
    assert!(matches!(
        precert_tbs_from_final_cert(&pem(&ctgo("test-cert.pem"))),
        Err(CtError::MissingSctList)
    ));
}

#[test]
fn ctgo_final_tbs_built_from_precert_matches_the_real_final_cert() {
    let precert = pem(&ctgo("test-precert.pem"));
    let final_cert = pem(&ctgo("test-embedded-cert.pem"));
    let list = SignedCertificateTimestampList::from_certificate(&final_cert).unwrap();
    let tbs = final_tbs_from_precert(&precert, &list).unwrap();
    assert_eq!(tbs, tbs_and_signature(&final_cert).unwrap().tbs_der);
}

#[test]
fn ctgo_poison_detection() {
    assert!(has_poison(&pem(&ctgo("test-precert.pem"))).unwrap());
    assert!(!has_poison(&pem(&ctgo("test-embedded-cert.pem"))).unwrap());
    assert!(!has_poison(&pem(&ctgo("test-cert.pem"))).unwrap());
    assert!(!has_poison(&pem(&ctgo("ca-cert.pem"))).unwrap());
}

#[test]
fn ctgo_embedded_sct_list_is_the_precert_sct() {
    let final_cert = pem(&ctgo("test-embedded-cert.pem"));
    let list = SignedCertificateTimestampList::from_certificate(&final_cert).unwrap();
    assert_eq!(list.scts().len(), 1);
    assert_eq!(list.scts()[0].encode(), read(&ctgo("test-precert.sct")));
    // The list re-encodes to the extension bytes in the certificate.
    let again = SignedCertificateTimestampList::parse(&list.encode()).unwrap();
    assert_eq!(again, list);
    let ext = list.to_extension_value();
    assert!(final_cert.windows(ext.len()).any(|w| w == ext));
}

#[test]
fn ctgo_embedded_scts_verify_and_the_invalid_one_does_not() {
    let ca = pem(&ctgo("ca-cert.pem"));
    let log = pem(&ctgo("log-pubkey.pem"));
    verify_embedded_scts(&pem(&ctgo("test-embedded-cert.pem")), &ca, &log).unwrap();

    let invalid = pem(&ctgo("test-invalid-embedded-cert.pem"));
    assert!(matches!(
        verify_embedded_scts(&invalid, &ca, &log),
        Err(CtError::BadSignature)
    ));
    let list = SignedCertificateTimestampList::from_certificate(&invalid).unwrap();
    assert_eq!(list.scts()[0].encode(), read(&ctgo("test-invalid.sct")));

    // The invalid SCT parses, but signs something other than the test precert.
    let sct = SignedCertificateTimestamp::parse(&read(&ctgo("test-invalid.sct"))).unwrap();
    assert!(matches!(
        verify_sct(&sct, &log, &ctgo_precert_entry()),
        Err(CtError::BadSignature)
    ));

    // An unrelated log's key finds no SCT of its own.
    let other = pem("ct/rfc6962-argon2020/log-pubkey.pem");
    assert!(matches!(
        verify_embedded_scts(&pem(&ctgo("test-embedded-cert.pem")), &ca, &other),
        Err(CtError::NoSctFromLog)
    ));
}

#[test]
fn ctgo_rsa_chain_is_out_of_scope_but_its_parts_are_exposed() {
    let cert = pem(&ctgo("test-cert.pem"));
    let ca = pem(&ctgo("ca-cert.pem"));
    assert!(matches!(
        verify_issued_by(&cert, &ca),
        Err(CtError::UnsupportedSignatureAlgorithm { .. })
    ));
    let parts = tbs_and_signature(&cert).unwrap();
    // sha1WithRSAEncryption, NULL parameters, 1024-bit signature.
    assert_eq!(parts.algorithm.to_string(), "1.2.840.113549.1.1.5");
    assert_eq!(parts.parameters_der.as_deref(), Some(&[0x05, 0x00][..]));
    assert_eq!(parts.signature.len(), 128);
    assert!(cert
        .windows(parts.tbs_der.len())
        .any(|w| w == parts.tbs_der));
}

const ARGON: &str = "ct/rfc6962-argon2020";

#[test]
fn argon_sth_signature_verifies() {
    let expected = json(&format!("{ARGON}/expected.json"));
    let sth = json(&format!("{ARGON}/get-sth.json"));
    let key = pem(&format!("{ARGON}/log-pubkey.pem"));
    assert_eq!(
        sigstack_keys::key_id(&key).to_vec(),
        b64_str(&expected["log_id_b64"])
    );
    let timestamp = sth["timestamp"].as_u64().unwrap();
    let size = sth["tree_size"].as_u64().unwrap();
    let root = arr32(b64_str(&sth["sha256_root_hash"]));
    assert_eq!(timestamp, expected["timestamp_ms"].as_u64().unwrap());
    assert_eq!(size, expected["tree_size"].as_u64().unwrap());
    assert_eq!(
        tree_head_signed_data(timestamp, size, &root),
        hex_str(&expected["tree_head_signed_data_hex"])
    );
    let raw_sig = b64_str(&sth["tree_head_signature"]);
    assert_eq!(
        raw_sig[..4],
        hex_str(&expected["digitally_signed_header_hex"])
    );
    let sig = DigitallySigned::parse(&raw_sig).unwrap();
    assert_eq!(sig.encode(), raw_sig);
    verify_tree_head(&key, timestamp, size, &root, &sig).unwrap();
    assert!(matches!(
        verify_tree_head(&key, timestamp, size + 1, &root, &sig),
        Err(CtError::BadSignature)
    ));
    assert!(matches!(
        verify_tree_head(&key, timestamp + 1, size, &root, &sig),
        Err(CtError::BadSignature)
    ));
}

#[test]
fn argon_entry_parses_and_hashes_to_the_proven_leaf() {
    let expected = json(&format!("{ARGON}/expected.json"));
    let entries = json(&format!("{ARGON}/get-entries-start-10000-end-10000.json"));
    let e = &entries["entries"][0];
    let leaf_input = b64_str(&e["leaf_input"]);
    let leaf = MerkleTreeLeaf::parse(&leaf_input).unwrap();
    assert_eq!(leaf.encode(), leaf_input);
    assert_eq!(
        leaf.leaf_hash().to_vec(),
        b64_str(&expected["leaf_hash_b64"])
    );
    assert_eq!(
        leaf.timestamped_entry.entry.entry_type(),
        LogEntryType::X509Entry
    );
    assert!(leaf.timestamped_entry.extensions.is_empty());

    // The chain it was submitted with.
    let extra = b64_str(&e["extra_data"]);
    let chain = ExtraData::parse(LogEntryType::X509Entry, &extra).unwrap();
    assert_eq!(chain.encode(), extra);
    assert!(chain.pre_certificate().is_none());
    assert!(!chain.chain().is_empty());
    // The leaf is a real certificate issued by the first chain entry's key.
    let SignedEntry::X509(cert) = &leaf.timestamped_entry.entry else {
        unreachable!()
    };
    assert!(!has_poison(cert.as_bytes()).unwrap());
    assert!(matches!(
        verify_issued_by(cert.as_bytes(), chain.chain()[0].as_bytes()),
        Err(CtError::UnsupportedSignatureAlgorithm { .. })
    ));
    // Read as precert extra data, the same bytes are malformed.
    assert!(ExtraData::parse(LogEntryType::PrecertEntry, &extra).is_err());
}

const NAVIGLI: &str = "ct/static-ct-navigli2025h2";

#[test]
fn navigli_data_tile_parses_hashes_and_round_trips() {
    let expected = json(&format!("{NAVIGLI}/expected.json"));
    let data = read(&format!("{NAVIGLI}/tile/data/003.p/10"));
    let hashes = read(&format!("{NAVIGLI}/tile/0/003.p/10"));
    let leaves = parse_data_tile(&data).unwrap();
    assert_eq!(leaves.len(), 10);
    assert_eq!(hashes.len(), 10 * 32);

    let mut again = Vec::new();
    for (i, (leaf, want)) in leaves
        .iter()
        .zip(expected["entries"].as_array().unwrap())
        .enumerate()
    {
        let index = 768 + i as u64;
        assert_eq!(want["index"].as_u64().unwrap(), index);
        let te = leaf.timestamped_entry();
        assert_eq!(te.timestamp, want["timestamp_ms"].as_u64().unwrap());
        assert_eq!(te.entry.entry_type(), LogEntryType::PrecertEntry);
        assert_eq!(want["entry_type"], "precert_entry");
        assert_eq!(te.extensions.as_bytes(), hex_str(&want["extensions_hex"]));
        assert_eq!(te.extensions.leaf_index().unwrap(), index);
        assert_eq!(
            parse_leaf_index_extension(te.extensions.as_bytes()).unwrap(),
            want["leaf_index_from_extension"].as_u64().unwrap()
        );
        assert_eq!(te.extensions, CtExtensions::with_leaf_index(index).unwrap());
        let fingerprints: Vec<Vec<u8>> = want["chain_fingerprints"]
            .as_array()
            .unwrap()
            .iter()
            .map(hex_str)
            .collect();
        assert_eq!(
            leaf.certificate_chain()
                .iter()
                .map(|f| f.to_vec())
                .collect::<Vec<_>>(),
            fingerprints
        );
        assert_eq!(leaf.leaf_hash()[..], hashes[32 * i..32 * (i + 1)]);
        assert_eq!(leaf.merkle_tree_leaf().leaf_hash(), leaf.leaf_hash());
        assert_eq!(
            leaf.leaf_hash().to_vec(),
            hex_str(&want["merkle_tree_leaf_hash_hex"])
        );

        // The logged TBS is the submitted precertificate's TBS minus the poison: our
        // reconstruction agrees with the real log's on real WebPKI precertificates.
        let pre = leaf.pre_certificate().unwrap();
        assert!(has_poison(pre.as_bytes()).unwrap());
        let SignedEntry::Precert {
            tbs_certificate, ..
        } = &te.entry
        else {
            unreachable!()
        };
        assert_eq!(
            precert_tbs_from_precert(pre.as_bytes()).unwrap(),
            tbs_certificate.as_bytes()
        );

        let one = leaf.encode();
        assert_eq!(TileLeaf::parse(&one).unwrap(), *leaf);
        again.extend_from_slice(&one);
    }
    assert_eq!(again, data);
}

const SUNLIGHT: &str = "ct/static-ct-sunlight-test";

fn sunlight_key() -> Vec<u8> {
    b64_str(&json(&format!("{SUNLIGHT}/log.v3.json"))["key"])
}

#[test]
fn sunlight_checkpoint_rfc6962_note_signature_verifies() {
    let expected = json(&format!("{SUNLIGHT}/expected.json"));
    let log = json(&format!("{SUNLIGHT}/log.v3.json"));
    let key = sunlight_key();
    let log_id = sigstack_keys::key_id(&key);
    assert_eq!(log_id.to_vec(), b64_str(&log["log_id"]));
    assert_eq!(log_id.to_vec(), b64_str(&expected["log_id_b64"]));
    let origin = "rome2026h1.example.org";
    assert_eq!(
        rfc6962_note_key_hash(origin, &log_id).to_bytes().to_vec(),
        hex_str(&expected["key_id_hex"])
    );

    let note = read(&format!("{SUNLIGHT}/checkpoint"));
    let (checkpoint, timestamp) = open_rfc6962_checkpoint(&note, origin, &key).unwrap();
    assert_eq!(checkpoint.size(), 300);
    assert_eq!(checkpoint.size(), expected["tree_size"].as_u64().unwrap());
    assert_eq!(
        checkpoint.root_hash().to_vec(),
        b64_str(&expected["root_hash_b64"])
    );
    assert_eq!(timestamp, expected["timestamp_ms"].as_u64().unwrap());
    assert_eq!(
        tree_head_signed_data(timestamp, checkpoint.size(), checkpoint.root_hash()),
        hex_str(&expected["tree_head_signed_data_hex"])
    );
    // The final tree head of the log list is the same tree head.
    let fth = &log["final_tree_head"];
    assert_eq!(timestamp, fth["timestamp"].as_u64().unwrap());
    assert_eq!(
        checkpoint.root_hash().to_vec(),
        b64_str(&fth["sha256_root_hash"])
    );

    // The signature body parses and re-encodes byte for byte.
    let parsed = tlog::note::Note::parse(&note).unwrap();
    let sig = &parsed.signatures()[0];
    let body = Rfc6962NoteSignature::parse(sig.signature()).unwrap();
    assert_eq!(body.encode(), sig.signature());
    assert_eq!(
        body.signature.encode()[..4],
        hex_str(&expected["digitally_signed_header_hex"])
    );
}

#[test]
fn sunlight_checkpoint_rejects_tampering_and_wrong_expectations() {
    let key = sunlight_key();
    let origin = "rome2026h1.example.org";
    let note = String::from_utf8(read(&format!("{SUNLIGHT}/checkpoint"))).unwrap();

    let tampered = note.replacen("\n300\n", "\n301\n", 1);
    assert!(matches!(
        open_rfc6962_checkpoint(tampered.as_bytes(), origin, &key),
        Err(CtError::BadSignature)
    ));
    assert!(matches!(
        open_rfc6962_checkpoint(note.as_bytes(), "rome2026h2.example.org", &key),
        Err(CtError::OriginMismatch { .. })
    ));
    let other_log = pem(&ctgo("log-pubkey.pem"));
    assert!(matches!(
        open_rfc6962_checkpoint(note.as_bytes(), origin, &other_log),
        Err(CtError::NoLogSignature)
    ));
}

/// One Fulcio leaf: `dir/leaf-<name>.{pem,json,precert-tbs.der}`, its issuer, and the trusted
/// root listing its CT log.
fn check_fulcio_leaf(dir: &str, name: &str, issuer_file: &str, trusted_root: &str) {
    let leaf = pem(&format!("fulcio/{dir}/leaf-{name}.pem"));
    let issuer = pem(&format!("fulcio/{dir}/{issuer_file}"));
    let info = json(&format!("fulcio/{dir}/leaf-{name}.json"));
    let want_tbs = read(&format!("fulcio/{dir}/leaf-{name}.precert-tbs.der"));

    assert_eq!(precert_tbs_from_final_cert(&leaf).unwrap(), want_tbs);
    assert!(!has_poison(&leaf).unwrap());
    let ikh = issuer_key_hash(&issuer).unwrap();
    assert_eq!(ikh.to_vec(), hex_str(&info["issuer_key_hash_hex"]));

    let entry = SignedEntry::Precert {
        issuer_key_hash: ikh,
        tbs_certificate: Asn1Cert::new(want_tbs).unwrap(),
    };
    let list = SignedCertificateTimestampList::from_certificate(&leaf).unwrap();
    let want_scts = info["scts"].as_array().unwrap();
    assert_eq!(list.scts().len(), want_scts.len());

    let root = json(trusted_root);
    for (sct, want) in list.scts().iter().zip(want_scts) {
        assert_eq!(sct.log_id.to_vec(), hex_str(&want["log_id_hex"]));
        assert_eq!(sct.timestamp, want["timestamp_ms"].as_u64().unwrap());
        assert_eq!(sct.extensions.as_bytes(), hex_str(&want["extensions_hex"]));
        assert_eq!(sct.signature.signature(), hex_str(&want["signature_hex"]));
        assert_eq!(
            sct_signed_data(sct.timestamp, &entry, &sct.extensions),
            hex_str(&want["signed_data_hex"])
        );
        let log = root["ctlogs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| b64_str(&l["logId"]["keyId"]) == sct.log_id)
            .unwrap_or_else(|| panic!("{dir}/{name}: SCT log not in {trusted_root}"));
        let key = b64_str(&log["publicKey"]["rawBytes"]);
        verify_sct(sct, &key, &entry).unwrap();
        verify_embedded_scts(&leaf, &issuer, &key).unwrap();
    }
}

#[test]
fn fulcio_public_good_leaves_rebuild_their_precert_and_verify_their_scts() {
    for name in ["email", "github-actions"] {
        check_fulcio_leaf(
            "public-good",
            name,
            "fulcio-intermediate.pem",
            "bundles/public-good/trusted_root.json",
        );
    }
}

#[test]
fn fulcio_staging_leaf_carries_a_static_ct_leaf_index() {
    check_fulcio_leaf(
        "staging",
        "github-actions-token-subject",
        "chain-2026.pem",
        "fulcio/staging/trusted_root.json",
    );
    let leaf = pem("fulcio/staging/leaf-github-actions-token-subject.pem");
    let list = SignedCertificateTimestampList::from_certificate(&leaf).unwrap();
    assert_eq!(list.scts()[0].extensions.leaf_index().unwrap(), 0x09cd5e);
}

#[test]
fn fulcio_scaffolding_leaf_rebuilds_its_precert_and_verifies_its_sct() {
    check_fulcio_leaf(
        "scaffolding",
        "othername-username",
        "ca.pem",
        "fulcio/scaffolding/trusted_root.json",
    );
}

#[test]
fn fulcio_ecdsa_chains_verify() {
    // public-good: P-384 root -> P-384 intermediate -> leaf.
    let leaf = pem("fulcio/public-good/leaf-email.pem");
    let intermediate = pem("fulcio/public-good/fulcio-intermediate.pem");
    let root = pem("fulcio/public-good/fulcio-root.pem");
    verify_issued_by(&leaf, &intermediate).unwrap();
    verify_issued_by(
        &pem("fulcio/public-good/leaf-github-actions.pem"),
        &intermediate,
    )
    .unwrap();
    verify_issued_by(&intermediate, &root).unwrap();
    verify_issued_by(&root, &root).unwrap();
    assert!(matches!(
        verify_issued_by(&leaf, &root),
        Err(CtError::BadSignature)
    ));
    assert_eq!(
        tbs_and_signature(&leaf).unwrap().algorithm,
        ECDSA_WITH_SHA384_OID
    );

    // staging 2026: intermediate then root in one file.
    let chain = pem_blocks("fulcio/staging/chain-2026.pem");
    let leaf = pem("fulcio/staging/leaf-github-actions-token-subject.pem");
    verify_issued_by(&leaf, &chain[0]).unwrap();
    verify_issued_by(&chain[0], &chain[1]).unwrap();

    // scaffolding CA is RSA: the caller verifies it with the exposed parts.
    assert!(matches!(
        verify_issued_by(
            &pem("fulcio/scaffolding/leaf-othername-username.pem"),
            &pem("fulcio/scaffolding/ca.pem")
        ),
        Err(CtError::UnsupportedSignatureAlgorithm { .. })
    ));
}

// ---------------------------------------------------------------------------------------------
// Crafted precertificates: the real test precertificate with one thing changed. Signatures are
// not re-made; TBS reconstruction does not look at them.

mod crafted {
    use super::*;
    use der::{Decode, Encode};
    use x509_cert::ext::Extension;
    use x509_cert::Certificate;

    fn precert() -> Certificate {
        Certificate::from_der(&pem(&ctgo("test-precert.pem"))).unwrap()
    }

    fn edit(f: impl FnOnce(&mut Vec<Extension>)) -> Vec<u8> {
        let mut cert = precert();
        f(cert.tbs_certificate.extensions.as_mut().unwrap());
        cert.to_der().unwrap()
    }

    fn poison_index(exts: &[Extension]) -> usize {
        exts.iter()
            .position(|e| e.extn_id == CT_POISON_OID)
            .unwrap()
    }

    #[test]
    fn re_encoding_the_untouched_precert_changes_nothing() {
        assert_eq!(edit(|_| {}), pem(&ctgo("test-precert.pem")));
    }

    #[test]
    fn poison_must_be_critical_and_null() {
        let not_critical = edit(|e| {
            let i = poison_index(e);
            e[i].critical = false;
        });
        assert!(has_poison(&not_critical).unwrap());
        assert!(matches!(
            precert_tbs_from_precert(&not_critical),
            Err(CtError::PoisonNotCritical)
        ));
        let not_null = edit(|e| {
            let i = poison_index(e);
            e[i].extn_value = der::asn1::OctetString::new(vec![0x04, 0x00]).unwrap();
        });
        assert!(matches!(
            precert_tbs_from_precert(&not_null),
            Err(CtError::MalformedPoison)
        ));
    }

    #[test]
    fn duplicate_extensions_are_refused() {
        let twice = edit(|e| {
            let i = poison_index(e);
            let p = e[i].clone();
            e.push(p);
        });
        assert!(matches!(
            precert_tbs_from_precert(&twice),
            Err(CtError::DuplicateX509Extension { .. })
        ));
        assert!(matches!(
            has_poison(&twice),
            Err(CtError::DuplicateX509Extension { .. })
        ));
    }

    #[test]
    fn removing_the_only_extension_drops_the_extensions_field() {
        let only_poison = edit(|e| e.retain(|x| x.extn_id == CT_POISON_OID));
        let tbs = precert_tbs_from_precert(&only_poison).unwrap();
        let tbs = x509_cert::TbsCertificate::from_der(&tbs).unwrap();
        assert!(tbs.extensions.is_none());
    }

    #[test]
    fn final_tbs_and_precert_tbs_agree_for_a_poison_anywhere() {
        let final_cert = pem(&ctgo("test-embedded-cert.pem"));
        let list = SignedCertificateTimestampList::from_certificate(&final_cert).unwrap();
        for position in 0..5 {
            let der = edit(|e| {
                let i = poison_index(e);
                let p = e.remove(i);
                e.insert(position.min(e.len()), p);
            });
            let final_tbs = final_tbs_from_precert(&der, &list).unwrap();
            // Wrap the TBS in a certificate to run the verifier's reconstruction on it.
            let mut cert = precert();
            cert.tbs_certificate = x509_cert::TbsCertificate::from_der(&final_tbs).unwrap();
            let rebuilt = precert_tbs_from_final_cert(&cert.to_der().unwrap()).unwrap();
            assert_eq!(rebuilt, precert_tbs_from_precert(&der).unwrap());
        }
        // An SCT list already present is a duplicate.
        let with_list = edit(|e| {
            e.push(Extension {
                extn_id: SCT_LIST_OID,
                critical: false,
                extn_value: der::asn1::OctetString::new(list.to_extension_value()).unwrap(),
            })
        });
        assert!(matches!(
            final_tbs_from_precert(&with_list, &list),
            Err(CtError::DuplicateX509Extension { .. })
        ));
    }

    #[test]
    fn non_canonical_der_is_refused_not_rewritten() {
        // Spell the poison's `critical` out as a long-form length: BER, not DER.
        let der = pem(&ctgo("test-precert.pem"));
        let poison = [
            0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6, 0x79, 0x02, 0x04, 0x03, 0x01, 0x01,
            0xff,
        ];
        let at = der.windows(poison.len()).position(|w| w == poison).unwrap();
        let mut ber = der[..at + 12].to_vec();
        ber.extend_from_slice(&[0x81, 0x01, 0xff]);
        ber.extend_from_slice(&der[at + poison.len()..]);
        assert!(precert_tbs_from_precert(&ber).is_err());

        // An explicit `critical FALSE` on a non-critical extension: the parser accepts this
        // DEFAULT value spelled out, but re-encoding would drop it and change the signed bytes.
        let cert = precert();
        let exts = cert.tbs_certificate.extensions.as_ref().unwrap();
        let other = exts.iter().find(|e| !e.critical).unwrap();
        let encoded = other.to_der().unwrap();
        assert!(encoded[1] < 0x7d, "short-form SEQUENCE expected");
        let oid_end = 2 + 2 + other.extn_id.as_bytes().len();
        let mut with_false = vec![0x30, encoded[1] + 3];
        with_false.extend_from_slice(&encoded[2..oid_end]);
        with_false.extend_from_slice(&[0x01, 0x01, 0x00]);
        with_false.extend_from_slice(&encoded[oid_end..]);
        let pos = der
            .windows(encoded.len())
            .position(|w| w == encoded)
            .unwrap();
        let mut spliced = der[..pos].to_vec();
        spliced.extend_from_slice(&with_false);
        spliced.extend_from_slice(&der[pos + encoded.len()..]);
        bump_lengths(&mut spliced, pos, 3);
        assert!(matches!(
            precert_tbs_from_precert(&spliced),
            Err(CtError::NonCanonicalCertificate)
        ));
    }

    /// Adds `delta` to the length of every constructed DER element that encloses offset `at`
    /// (all of which use 2-byte long-form lengths or short lengths that stay short).
    fn bump_lengths(der: &mut [u8], at: usize, delta: usize) {
        let mut i = 0;
        while i < at {
            let constructed = der[i] & 0x20 != 0;
            let (len, hdr) = match der[i + 1] {
                l if l < 0x80 => (l as usize, 2),
                0x81 => (der[i + 2] as usize, 3),
                0x82 => (((der[i + 2] as usize) << 8) | der[i + 3] as usize, 4),
                _ => unreachable!(),
            };
            let end = i + hdr + len;
            if constructed && at < end {
                let new = len + delta;
                match hdr {
                    2 => der[i + 1] = new as u8,
                    3 => der[i + 2] = new as u8,
                    _ => {
                        der[i + 2] = (new >> 8) as u8;
                        der[i + 3] = new as u8;
                    }
                }
                i += hdr;
            } else {
                i = end;
            }
        }
    }
}

mod mutated_certificates {
    use super::*;
    use proptest::prelude::*;

    fn certs() -> Vec<Vec<u8>> {
        vec![
            pem(&ctgo("test-precert.pem")),
            pem(&ctgo("test-embedded-cert.pem")),
            pem("fulcio/public-good/leaf-github-actions.pem"),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn x509_helpers_never_panic_on_mutated_certificates(
            which in 0..3usize,
            edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut der = certs().swap_remove(which);
            for (i, b) in &edits {
                let i = i.index(der.len());
                der[i] = *b;
            }
            let issuer = pem(&ctgo("ca-cert.pem"));
            let log = pem(&ctgo("log-pubkey.pem"));
            for bytes in [&der[..], &der[..cut.index(der.len())]] {
                let _ = has_poison(bytes);
                let _ = precert_tbs_from_precert(bytes);
                let _ = precert_tbs_from_final_cert(bytes);
                let _ = issuer_key_hash(bytes);
                let _ = tbs_and_signature(bytes);
                let _ = verify_issued_by(bytes, &issuer);
                let _ = verify_issued_by(&issuer, bytes);
                let _ = verify_embedded_scts(bytes, &issuer, &log);
                let _ = SignedCertificateTimestampList::from_certificate(bytes);
            }
        }
    }
}
