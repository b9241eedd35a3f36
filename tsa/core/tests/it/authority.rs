//! Round trips through our own authority: requests in, signed replies out, parsed and verified
//! back; refusals with the right PKIFailureInfo; DER SET OF ordering of everything we emit;
//! and parsers that never panic on arbitrary bytes.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use proptest::prelude::*;
use sigstack_keys::{Algorithm, Signer, SoftwareKey};
use tsa::*;

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 128 {
        out.push(n as u8);
    } else if n < 256 {
        out.extend([0x81, n as u8]);
    } else {
        out.extend([0x82, (n >> 8) as u8, n as u8]);
    }
    out.extend_from_slice(content);
    out
}

fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

/// DER of an AlgorithmIdentifier for `oid` (dotted content octets given raw) with NULL.
fn alg(oid_content: &[u8], null: bool) -> Vec<u8> {
    let mut parts = vec![tlv(0x06, oid_content)];
    if null {
        parts.push(vec![0x05, 0x00]);
    }
    seq(&parts)
}

const SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
const SHA1: &[u8] = &[0x2b, 0x0e, 0x03, 0x02, 0x1a];

fn raw_request(version: u8, alg_der: Vec<u8>, digest_len: usize, tail: &[Vec<u8>]) -> Vec<u8> {
    let mut parts = vec![
        tlv(0x02, &[version]),
        seq(&[alg_der, tlv(0x04, &vec![0xab; digest_len])]),
    ];
    parts.extend_from_slice(tail);
    seq(&parts)
}

struct Fixture {
    tsa: TimestampAuthority,
    key: Arc<SoftwareKey>,
    leaf: Vec<u8>,
    root: Vec<u8>,
}

fn fixture(alg: Algorithm, config: AuthorityConfig) -> Fixture {
    let root_key = SoftwareKey::generate(Algorithm::EcdsaP384Sha384);
    let leaf_key = Arc::new(SoftwareKey::generate(alg));
    let params = |cn: &str| CertificateParams {
        common_name: cn.into(),
        organization: "sigstack-test".into(),
        not_before: 1_700_000_000,
        lifetime_secs: DEV_CERT_LIFETIME_SECS,
        serial: [0x9c; 16],
    };
    let root = params("test tsa root").self_signed_root(&root_key).unwrap();
    let leaf = params("test tsa")
        .tsa_leaf(leaf_key.public_key_der(), &root_key, &root)
        .unwrap();
    let tsa = TimestampAuthority::new(leaf_key.clone(), vec![leaf.clone(), root.clone()], config)
        .unwrap();
    Fixture {
        tsa,
        key: leaf_key,
        leaf,
        root,
    }
}

fn now() -> std::time::SystemTime {
    UNIX_EPOCH + Duration::new(1_750_000_123, 456_789_012)
}

fn stamp(f: &Fixture, req: &TimeStampRequest) -> TimeStampResponse {
    let ts = f
        .tsa
        .timestamp(req, now(), &SerialNumber::from_random([0xee; 16]))
        .unwrap()
        .unwrap();
    TimeStampResponse::from_der(&ts.response).unwrap()
}

#[test]
fn granted_replies_carry_the_request_and_verify() {
    for key in [Algorithm::EcdsaP256Sha256, Algorithm::EcdsaP384Sha384] {
        let f = fixture(key, AuthorityConfig::default());
        for hash in [
            HashAlgorithm::Sha256,
            HashAlgorithm::Sha384,
            HashAlgorithm::Sha512,
        ] {
            for (nonce, cert_req) in [(None, false), (Some(u64::MAX), true), (Some(5), false)] {
                let mut req = TimeStampRequest::new(hash, vec![0x5a; hash.digest_len()])
                    .unwrap()
                    .with_cert_req(cert_req);
                if let Some(n) = nonce {
                    req = req.with_nonce(Nonce::from_u64(n));
                }
                let reply = stamp(&f, &req);
                assert!(reply.is_granted());
                assert_eq!(reply.policy(), Some(SIGSTORE_TSA_POLICY));
                let (oid, digest) = reply.message_imprint().unwrap();
                assert_eq!(oid, hash.oid());
                assert_eq!(digest, req.digest());
                assert_eq!(
                    reply.nonce(),
                    nonce.map(Nonce::from_u64).as_ref().map(|n| n.as_bytes())
                );
                assert_eq!(reply.accuracy(), Some((1, 0, 0)));
                assert!(reply.has_tsa_name());
                assert_eq!(
                    reply.gen_time(),
                    Some(UNIX_EPOCH + Duration::from_secs(1_750_000_123))
                );
                let serial = reply.serial_number().unwrap();
                assert_eq!(serial.len(), 16);
                assert!(serial[0] & 0x80 == 0 && serial[0] != 0);
                let certs = reply.certificates();
                if cert_req {
                    assert_eq!(certs, vec![f.leaf.clone()]);
                } else {
                    assert!(certs.is_empty());
                }
                reply.verify_signature(&f.leaf).unwrap();
                assert!(reply.verify_signature(&f.root).is_err());
                assert_der_sets_sorted(
                    f.tsa
                        .timestamp(&req, now(), &SerialNumber::from_random([1; 16]))
                        .unwrap()
                        .unwrap()
                        .response
                        .as_slice(),
                );
            }
        }
    }
}

#[test]
fn tampered_reply_does_not_verify() {
    let f = fixture(Algorithm::EcdsaP256Sha256, AuthorityConfig::default());
    let req = TimeStampRequest::new(HashAlgorithm::Sha256, vec![1; 32]).unwrap();
    let der = f
        .tsa
        .timestamp(&req, now(), &SerialNumber::from_random([3; 16]))
        .unwrap()
        .unwrap()
        .response;
    let tst = TimeStampResponse::from_der(&der)
        .unwrap()
        .tst_info_der()
        .unwrap()
        .to_vec();
    // Flip a byte of the hashed message inside the TSTInfo.
    let at = der.windows(tst.len()).position(|w| w == tst).unwrap();
    let digest_at = tst.windows(32).position(|w| w == [1u8; 32]).unwrap();
    let mut bad = der.clone();
    bad[at + digest_at] ^= 0x01;
    let reply = TimeStampResponse::from_der(&bad).unwrap();
    assert!(matches!(
        reply.verify_signature(&f.leaf),
        Err(ResponseError::Verification(_))
    ));
}

#[test]
fn fractional_seconds_follow_der() {
    for (precision, nanos) in [
        (TimePrecision::Millis, 456_000_000),
        (TimePrecision::Micros, 456_789_000),
    ] {
        let f = fixture(
            Algorithm::EcdsaP256Sha256,
            AuthorityConfig {
                precision,
                accuracy: Some(Accuracy {
                    seconds: 0,
                    millis: 1,
                    micros: 0,
                }),
                include_tsa_name: false,
                ..AuthorityConfig::default()
            },
        );
        let req = TimeStampRequest::new(HashAlgorithm::Sha256, vec![1; 32]).unwrap();
        let reply = stamp(&f, &req);
        assert_eq!(
            reply.gen_time(),
            Some(UNIX_EPOCH + Duration::new(1_750_000_123, nanos))
        );
        assert_eq!(reply.accuracy(), Some((0, 1, 0)));
        assert!(!reply.has_tsa_name());
        let tst = reply.tst_info_der().unwrap();
        let text = String::from_utf8_lossy(tst);
        let expected = if nanos == 456_000_000 {
            "20250615150843.456Z"
        } else {
            "20250615150843.456789Z"
        };
        assert!(text.contains(expected), "{text:?}");
        reply.verify_signature(&f.leaf).unwrap();
    }
}

#[test]
fn policy_is_checked() {
    let f = fixture(Algorithm::EcdsaP256Sha256, AuthorityConfig::default());
    let ours = TimeStampRequest::new(HashAlgorithm::Sha256, vec![1; 32])
        .unwrap()
        .with_policy(SIGSTORE_TSA_POLICY);
    assert!(stamp(&f, &ours).is_granted());
    let other = ours.with_policy(ObjectIdentifier::new_unwrap("1.2.3.4.5"));
    let refused = f
        .tsa
        .timestamp(&other, now(), &SerialNumber::from_random([3; 16]))
        .unwrap()
        .unwrap_err();
    assert_eq!(refused.failure, FailureInfo::UnacceptedPolicy);
    let reply = TimeStampResponse::from_der(&rejection_response(&refused)).unwrap();
    assert_eq!(reply.status(), 2);
    assert!(!reply.is_granted());
    assert_eq!(reply.failure_info(), vec![FailureInfo::UnacceptedPolicy]);
    assert!(reply.status_text()[0].contains("1.2.3.4.5"));
    assert_der_sets_sorted(&rejection_response(&refused));
}

fn refused(der: &[u8]) -> FailureInfo {
    match parse_request(der) {
        Err(RequestError::Refused(r)) => r.failure,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn requests_are_parsed_strictly() {
    // Good baseline, as openssl ts -query -sha256 -no_nonce writes it.
    let good = raw_request(1, alg(SHA256, true), 32, &[]);
    parse_request(&good).unwrap();
    // Absent parameters are fine too.
    parse_request(&raw_request(1, alg(SHA256, false), 32, &[])).unwrap();
    // certReq TRUE must be 0xFF.
    parse_request(&raw_request(
        1,
        alg(SHA256, true),
        32,
        &[vec![0x01, 0x01, 0xff]],
    ))
    .unwrap();
    assert!(matches!(
        parse_request(&raw_request(
            1,
            alg(SHA256, true),
            32,
            &[vec![0x01, 0x01, 0x01]]
        )),
        Err(RequestError::Malformed(_))
    ));

    assert_eq!(
        refused(&raw_request(1, alg(SHA1, true), 20, &[])),
        FailureInfo::BadAlg
    );
    assert_eq!(
        refused(&raw_request(1, alg(SHA256, true), 20, &[])),
        FailureInfo::BadDataFormat
    );
    assert_eq!(
        refused(&raw_request(2, alg(SHA256, true), 32, &[])),
        FailureInfo::BadDataFormat
    );
    let with_params = seq(&[tlv(0x06, SHA256), tlv(0x04, b"x")]);
    assert_eq!(
        refused(&raw_request(1, with_params, 32, &[])),
        FailureInfo::BadAlg
    );
    let ext = tlv(0xa0, &seq(&[tlv(0x06, SHA256), tlv(0x04, &[0x05, 0x00])]));
    assert_eq!(
        refused(&raw_request(1, alg(SHA256, true), 32, &[ext])),
        FailureInfo::UnacceptedExtension
    );
    let long_nonce = tlv(0x02, &[0x11; 40]);
    assert_eq!(
        refused(&raw_request(1, alg(SHA256, true), 32, &[long_nonce])),
        FailureInfo::BadDataFormat
    );

    // Not a TimeStampReq at all.
    let mut trailing = good.clone();
    trailing.push(0);
    for bad in [
        &b""[..],
        b"hello",
        &trailing,
        &good[..good.len() - 1],
        &[0x30, 0x00],
    ] {
        assert!(
            matches!(parse_request(bad), Err(RequestError::Malformed(_))),
            "{bad:?}"
        );
    }
    // A non-minimal INTEGER (BER, not DER).
    let ber_version = {
        let mut v = raw_request(1, alg(SHA256, true), 32, &[]);
        let at = 2;
        assert_eq!(&v[at..at + 3], &[0x02, 0x01, 0x01]);
        v.splice(at..at + 3, [0x02, 0x02, 0x00, 0x01]);
        v[1] += 1;
        v
    };
    assert!(matches!(
        parse_request(&ber_version),
        Err(RequestError::Malformed(_))
    ));
}

#[test]
fn json_style_requests_check_lengths_and_names() {
    assert_eq!(
        tsa::hash_algorithm("SHA-256").unwrap(),
        HashAlgorithm::Sha256
    );
    assert_eq!(
        tsa::hash_algorithm("sha512").unwrap(),
        HashAlgorithm::Sha512
    );
    assert_eq!(
        tsa::hash_algorithm("md5").unwrap_err().failure,
        FailureInfo::BadAlg
    );
    assert_eq!(
        TimeStampRequest::new(HashAlgorithm::Sha384, vec![0; 32])
            .unwrap_err()
            .failure,
        FailureInfo::BadDataFormat
    );
}

#[test]
fn authority_refuses_unfit_certificates_and_keys() {
    let f = fixture(Algorithm::EcdsaP256Sha256, AuthorityConfig::default());
    let other = Arc::new(SoftwareKey::generate(Algorithm::EcdsaP256Sha256));
    assert!(matches!(
        TimestampAuthority::new(other, vec![f.leaf.clone()], AuthorityConfig::default()),
        Err(AuthorityError::KeyMismatch)
    ));
    // A root is not a TSA certificate (no timeStamping EKU).
    let root_key = Arc::new(SoftwareKey::generate(Algorithm::EcdsaP256Sha256));
    let params = CertificateParams {
        common_name: "r".into(),
        organization: "o".into(),
        not_before: 1_700_000_000,
        lifetime_secs: 3600,
        serial: [1; 16],
    };
    let root = params.self_signed_root(root_key.as_ref()).unwrap();
    assert!(matches!(
        TimestampAuthority::new(root_key, vec![root], AuthorityConfig::default()),
        Err(AuthorityError::NotATsaCertificate(_))
    ));
    assert!(matches!(
        TimestampAuthority::new(
            Arc::new(SoftwareKey::generate(Algorithm::EcdsaP256Sha256)),
            vec![],
            AuthorityConfig::default()
        ),
        Err(AuthorityError::EmptyChain)
    ));
    assert!(matches!(
        TimestampAuthority::new(
            Arc::new(SoftwareKey::generate(Algorithm::EcdsaP256Sha256)),
            vec![b"junk".to_vec()],
            AuthorityConfig::default()
        ),
        Err(AuthorityError::MalformedCertificate { index: 0, .. })
    ));
}

#[test]
fn pem_chain_round_trips() {
    let f = fixture(Algorithm::EcdsaP256Sha256, AuthorityConfig::default());
    let pem = chain_to_pem(f.tsa.chain()).unwrap();
    assert_eq!(pem.matches("-----BEGIN CERTIFICATE-----").count(), 2);
    assert_eq!(
        chain_from_pem(&pem).unwrap(),
        vec![f.leaf.clone(), f.root.clone()]
    );
    assert!(chain_from_pem("").is_err());
    assert!(
        chain_from_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").is_err()
    );
}

// --- DER SET OF ordering, checked on the bytes (the `der` crate sorts when it decodes, so
// --- decoding and re-encoding would hide an unsorted input).

struct Node<'a> {
    tag: u8,
    content: &'a [u8],
    whole: &'a [u8],
}

fn children(mut data: &[u8]) -> Vec<Node<'_>> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let tag = data[0];
        let (len, hl) = match data[1] {
            n if n < 0x80 => (n as usize, 2),
            0x81 => (data[2] as usize, 3),
            0x82 => (((data[2] as usize) << 8) | data[3] as usize, 4),
            0x83 => (
                ((data[2] as usize) << 16) | ((data[3] as usize) << 8) | data[4] as usize,
                5,
            ),
            other => panic!("unexpected length octet {other:#x}"),
        };
        out.push(Node {
            tag,
            content: &data[hl..hl + len],
            whole: &data[..hl + len],
        });
        data = &data[hl + len..];
    }
    out
}

/// X.690 11.6: the encodings of a SET OF's elements in ascending order, compared as octet
/// strings with the shorter padded at its end with zero octets.
fn check_sorted(set: &Node<'_>, what: &str) {
    let elems = children(set.content);
    for pair in elems.windows(2) {
        let (a, b) = (pair[0].whole, pair[1].whole);
        let n = a.len().max(b.len());
        let pad = |x: &[u8]| {
            let mut v = x.to_vec();
            v.resize(n, 0);
            v
        };
        assert!(pad(a) <= pad(b), "{what} is not DER-sorted");
    }
}

fn walk(data: &[u8], sets: &mut usize) {
    for node in children(data) {
        if node.tag == 0x31 {
            check_sorted(&node, "SET OF");
            *sets += 1;
        }
        if node.tag & 0x20 != 0 {
            walk(node.content, sets);
        }
    }
}

fn assert_der_sets_sorted(resp: &[u8]) {
    let mut sets = 0;
    walk(resp, &mut sets);
    // The IMPLICIT [0] SETs of SignedData: certificates and SignerInfo.signedAttrs.
    let top = children(resp);
    let resp_fields = children(top[0].content);
    if let Some(token) = resp_fields.get(1) {
        let ci = children(token.content);
        let signed_data = &children(children(ci[1].content)[0].content);
        let certs = signed_data.iter().find(|n| n.tag == 0xa0);
        if let Some(certs) = certs {
            check_sorted(certs, "certificates");
        }
        let signer_infos = signed_data.last().unwrap();
        let signer_info = &children(signer_infos.content)[0];
        let attrs = children(signer_info.content)
            .into_iter()
            .find(|n| n.tag == 0xa0)
            .expect("signed attributes");
        check_sorted(&attrs, "signedAttrs");
        assert_eq!(children(attrs.content).len(), 4);
        assert!(sets >= 5, "only {sets} SETs seen");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parsing_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_request(&bytes);
        let _ = TimeStampResponse::from_der(&bytes);
    }

    #[test]
    fn mutated_requests_never_panic(pos in 0usize..200, val in any::<u8>(), cut in 0usize..200) {
        let mut req = TimeStampRequest::new(HashAlgorithm::Sha256, vec![7; 32]).unwrap()
            .with_nonce(Nonce::from_u64(99)).with_cert_req(true)
            .with_policy(SIGSTORE_TSA_POLICY).to_der().unwrap();
        let n = req.len();
        req[pos % n] = val;
        req.truncate(n - cut % n);
        let _ = parse_request(&req);
    }

    #[test]
    fn nonces_survive_the_round_trip(n in any::<i64>()) {
        let req = TimeStampRequest::new(HashAlgorithm::Sha256, vec![7; 32]).unwrap()
            .with_nonce(Nonce::from_i128(n.into()));
        let back = parse_request(&req.to_der().unwrap()).unwrap();
        prop_assert_eq!(back.nonce(), Some(&Nonce::from_i128(n.into())));
    }
}

#[test]
fn mutated_replies_never_panic() {
    let f = fixture(Algorithm::EcdsaP256Sha256, AuthorityConfig::default());
    let req = TimeStampRequest::new(HashAlgorithm::Sha256, vec![1; 32])
        .unwrap()
        .with_cert_req(true);
    let der = f
        .tsa
        .timestamp(&req, now(), &SerialNumber::from_random([3; 16]))
        .unwrap()
        .unwrap()
        .response;
    for i in 0..der.len() {
        for v in [0x00, 0xff, der[i] ^ 0x01] {
            let mut bad = der.clone();
            bad[i] = v;
            if let Ok(reply) = TimeStampResponse::from_der(&bad) {
                let _ = reply.verify_signature(&f.leaf);
            }
        }
    }
}

#[test]
fn no_token_outside_the_certificate_validity_or_with_bad_accuracy() {
    let f = fixture(Algorithm::EcdsaP256Sha256, AuthorityConfig::default());
    let (not_before, not_after) = f.tsa.validity();
    assert_eq!(not_before, UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let req = TimeStampRequest::new(HashAlgorithm::Sha256, vec![1; 32]).unwrap();
    for t in [
        not_before - Duration::from_secs(1),
        not_after + Duration::from_secs(1),
    ] {
        let refused = f
            .tsa
            .timestamp(&req, t, &SerialNumber::from_random([3; 16]))
            .unwrap()
            .unwrap_err();
        assert_eq!(refused.failure, FailureInfo::SystemFailure);
    }
    let config = AuthorityConfig {
        accuracy: Some(Accuracy {
            seconds: 0,
            millis: 1000,
            micros: 0,
        }),
        ..AuthorityConfig::default()
    };
    assert!(matches!(
        TimestampAuthority::new(f.key.clone(), f.tsa.chain().to_vec(), config),
        Err(AuthorityError::InvalidConfig(_))
    ));
}

#[test]
fn explicit_cert_req_false_is_tolerated() {
    // DER leaves DEFAULT values out, so an explicit certReq FALSE is strictly BER. It is the one
    // leniency we keep (as the `der` crate does): clients that set certReq(false) explicitly,
    // such as BouncyCastle's generator, encode it.
    let explicit_false = raw_request(1, alg(SHA256, true), 32, &[vec![0x01, 0x01, 0x00]]);
    assert!(!parse_request(&explicit_false).unwrap().cert_req());
}
