//! Known-answer tests on real RFC 3161 traffic (dev/test-vectors/data/tsa, see its README): the
//! requests rebuilt for Sigstore's public and staging TSAs, their real replies, and the
//! upstream negative fixture with an injected certificate.

use sha2::{Digest, Sha256};
use sigstack_test_vectors::{read, read_json};
use tsa::{parse_request, HashAlgorithm, TimeStampResponse, SIGSTORE_TSA_POLICY};

struct Reply {
    tsr: &'static str,
    chain: &'static str,
    data: &'static str,
    /// `None`: not recorded for this vector.
    nonce: Option<Option<&'static str>>,
    serial: Option<&'static str>,
    certs: usize,
}

const REPLIES: &[Reply] = &[
    Reply {
        tsr: "tsa/public-good/timestamp.sigstore.dev.tsr",
        chain: "tsa/public-good/timestamp.sigstore.dev.chain.pem",
        data: "tsa/public-good/timestamp.sigstore.dev.signed-data.bin",
        nonce: Some(None),
        serial: Some("4bc0fd7d98f90ed2812788cd5d6c77d2e0d612e4"),
        certs: 0,
    },
    Reply {
        tsr: "tsa/staging/timestamp.sigstage.dev.tsr",
        chain: "tsa/staging/timestamp.sigstage.dev.chain.pem",
        data: "tsa/staging/timestamp.sigstage.dev.signed-data.bin",
        nonce: Some(Some("009b7f970db782510e")),
        serial: Some("00ee61c17a1f1dd68b6b20c69986f881b62a5bd429"),
        certs: 1,
    },
    Reply {
        tsr: "tsa/staging/timestamp.sigstage.dev.with-cert.tsr",
        chain: "tsa/staging/timestamp.sigstage.dev.chain.pem",
        data: "tsa/staging/timestamp.sigstage.dev.with-cert.signed-data.bin",
        nonce: None,
        serial: None,
        certs: 1,
    },
    Reply {
        tsr: "tsa/staging/timestamp.sigstage.dev.no-certs.tsr",
        chain: "tsa/staging/timestamp.sigstage.dev.chain.pem",
        data: "tsa/staging/timestamp.sigstage.dev.no-certs.signed-data.bin",
        nonce: None,
        serial: None,
        certs: 0,
    },
    Reply {
        tsr: "tsa/staging/timestamp.sigstage.dev.issue1482-no-cert.tsr",
        chain: "tsa/staging/timestamp.sigstage.dev.chain.pem",
        data: "tsa/staging/timestamp.sigstage.dev.issue1482-no-cert.signed-data.bin",
        nonce: None,
        serial: None,
        certs: 0,
    },
];

#[test]
fn real_replies_parse_and_match_what_was_timestamped() {
    for r in REPLIES {
        let reply =
            TimeStampResponse::from_der(&read(r.tsr)).unwrap_or_else(|e| panic!("{}: {e}", r.tsr));
        assert!(reply.is_granted(), "{}", r.tsr);
        assert_eq!(reply.status(), 0);
        assert!(reply.failure_info().is_empty());
        assert_eq!(reply.policy(), Some(SIGSTORE_TSA_POLICY), "{}", r.tsr);
        let (alg, digest) = reply.message_imprint().unwrap();
        assert_eq!(alg, tsa::SHA256_OID);
        assert_eq!(digest, &Sha256::digest(read(r.data))[..], "{}", r.tsr);
        assert_eq!(reply.accuracy(), Some((1, 0, 0)), "{}", r.tsr);
        assert!(reply.has_tsa_name());
        assert_eq!(reply.certificates().len(), r.certs, "{}", r.tsr);
        if let Some(serial) = r.serial {
            assert_eq!(hex::encode(reply.serial_number().unwrap()), serial);
        }
        if let Some(nonce) = r.nonce {
            assert_eq!(
                reply.nonce().map(hex::encode).as_deref(),
                nonce,
                "{}",
                r.tsr
            );
        }
    }
}

#[test]
fn real_replies_verify_against_the_trusted_root_chains() {
    // Sigstore's TSA signs a SHA-256 digest with a P-384 key (ecdsa-with-SHA256): the checker
    // must pair curves and hashes freely. Re-encoding the decoded signed attributes must also
    // give back exactly the bytes upstream signed (their SET OF is DER-sorted).
    for r in REPLIES {
        let chain = tsa::chain_from_pem(&String::from_utf8(read(r.chain)).unwrap()).unwrap();
        assert_eq!(chain.len(), 2);
        let reply = TimeStampResponse::from_der(&read(r.tsr)).unwrap();
        reply
            .verify_signature(&chain[0])
            .unwrap_or_else(|e| panic!("{}: {e}", r.tsr));
        assert!(reply.verify_signature(&chain[1]).is_err(), "{}", r.tsr);
        for embedded in reply.certificates() {
            assert_eq!(embedded, chain[0], "{}", r.tsr);
        }
    }
    // A reply from one instance does not verify with the other's certificate.
    let staging = tsa::chain_from_pem(
        &String::from_utf8(read("tsa/staging/timestamp.sigstage.dev.chain.pem")).unwrap(),
    )
    .unwrap();
    let public =
        TimeStampResponse::from_der(&read("tsa/public-good/timestamp.sigstore.dev.tsr")).unwrap();
    assert!(public.verify_signature(&staging[0]).is_err());
}

#[test]
fn real_reply_gen_time_matches_openssl() {
    // expected.json: "Time stamp: Jun  9 11:57:38 2025 GMT".
    let reply =
        TimeStampResponse::from_der(&read("tsa/staging/timestamp.sigstage.dev.tsr")).unwrap();
    let secs = reply
        .gen_time()
        .unwrap()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert_eq!(secs, 1_749_470_258);
}

#[test]
fn rebuilt_requests_parse_and_re_encode_byte_for_byte() {
    let public = read("tsa/public-good/timestamp.sigstore.dev.tsq");
    let req = parse_request(&public).unwrap();
    let expected = read_json("tsa/public-good/timestamp.sigstore.dev.expected.json");
    assert_eq!(req.hash_algorithm(), HashAlgorithm::Sha256);
    assert_eq!(
        hex::encode(req.digest()),
        expected["message_imprint_sha256_hex"].as_str().unwrap()
    );
    assert!(req.nonce().is_none());
    assert!(!req.cert_req());
    assert!(req.policy().is_none());
    assert_eq!(req.to_der().unwrap(), public);

    let staging = read("tsa/staging/timestamp.sigstage.dev.tsq");
    let req = parse_request(&staging).unwrap();
    let expected = read_json("tsa/staging/timestamp.sigstage.dev.expected.json");
    assert_eq!(
        hex::encode(req.digest()),
        expected["message_imprint_sha256_hex"].as_str().unwrap()
    );
    let nonce = expected["nonce"].as_u64().unwrap();
    assert_eq!(req.nonce(), Some(&tsa::Nonce::from_u64(nonce)));
    assert!(req.cert_req());
    assert_eq!(req.to_der().unwrap(), staging);
}

#[test]
fn a_reply_is_not_a_request_and_vice_versa() {
    assert!(matches!(
        parse_request(&read("tsa/staging/timestamp.sigstage.dev.tsr")),
        Err(tsa::RequestError::Malformed(_))
    ));
    assert!(TimeStampResponse::from_der(&read("tsa/staging/timestamp.sigstage.dev.tsq")).is_err());
}

#[test]
fn injected_certificate_does_not_verify_as_the_signer() {
    // Upstream's TestVerifyTimestampResponseWithOutOfChainCert: the reply embeds a "Spoofed
    // TSA" certificate next to the real one. Only the certificate the SignerInfo names, and
    // whose key signed, may verify.
    let reply =
        TimeStampResponse::from_der(&read("tsa/negative/response-injected-certs.tsr")).unwrap();
    let certs = reply.certificates();
    assert_eq!(certs.len(), 3);
    let verified: Vec<bool> = certs
        .iter()
        .map(|c| reply.verify_signature(c).is_ok())
        .collect();
    assert_eq!(verified.iter().filter(|v| **v).count(), 1, "{verified:?}");
    for cert in &certs {
        let text = String::from_utf8_lossy(cert);
        if text.contains("Spoofed TSA") {
            assert!(reply.verify_signature(cert).is_err());
        }
    }
}
