//! Differential tests of our RFC 3161 ASN.1 (kept in `src/asn1.rs`, see its "why not the crate"
//! note) against RustCrypto's `x509-tsp`: requests encoded by either side decode to the same
//! fields on the other, and the TSTInfo of our whole-second tokens reads the same through both.
//! The last test pins the reason we keep our own types: `x509-tsp` refuses the fractional
//! genTime that RFC 3161 allows and our authority emits at finer precision.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use der::{Decode as _, Encode as _};
use proptest::prelude::*;
use sigstack_keys::{Algorithm, Signer, SoftwareKey};
use tsa::*;

const HASHES: [HashAlgorithm; 3] = [
    HashAlgorithm::Sha256,
    HashAlgorithm::Sha384,
    HashAlgorithm::Sha512,
];

fn authority(precision: TimePrecision) -> TimestampAuthority {
    let root_key = SoftwareKey::generate(Algorithm::EcdsaP256Sha256);
    let key = Arc::new(SoftwareKey::generate(Algorithm::EcdsaP256Sha256));
    let params = |cn: &str| CertificateParams {
        common_name: cn.into(),
        organization: "sigstack-test".into(),
        not_before: 1_700_000_000,
        lifetime_secs: DEV_CERT_LIFETIME_SECS,
        serial: [0x51; 16],
    };
    let root = params("root").self_signed_root(&root_key).unwrap();
    let leaf = params("tsa")
        .tsa_leaf(key.public_key_der(), &root_key, &root)
        .unwrap();
    let config = AuthorityConfig {
        precision,
        ..AuthorityConfig::default()
    };
    TimestampAuthority::new(key, vec![leaf, root], config).unwrap()
}

fn request(
    hash: HashAlgorithm,
    fill: u8,
    nonce: Option<u64>,
    policy: bool,
    cert_req: bool,
) -> TimeStampRequest {
    let mut req = TimeStampRequest::new(hash, vec![fill; hash.digest_len()])
        .unwrap()
        .with_cert_req(cert_req);
    if let Some(n) = nonce {
        req = req.with_nonce(Nonce::from_u64(n));
    }
    if policy {
        req = req.with_policy(SIGSTORE_TSA_POLICY);
    }
    req
}

/// The fields both sides agree a request has: hash OID, digest, nonce bytes, policy, certReq.
type Fields = (
    ObjectIdentifier,
    Vec<u8>,
    Option<Vec<u8>>,
    Option<ObjectIdentifier>,
    bool,
);

fn ours(req: &TimeStampRequest) -> Fields {
    (
        req.hash_algorithm().oid(),
        req.digest().to_vec(),
        req.nonce().map(|n| n.as_bytes().to_vec()),
        req.policy().copied(),
        req.cert_req(),
    )
}

fn theirs(req: &x509_tsp::TimeStampReq) -> Fields {
    (
        req.message_imprint.hash_algorithm.oid,
        req.message_imprint.hashed_message.as_bytes().to_vec(),
        req.nonce.as_ref().map(|n| n.as_bytes().to_vec()),
        req.req_policy,
        req.cert_req,
    )
}

fn check_request(req: &TimeStampRequest) {
    // Ours → theirs.
    let der = req.to_der().unwrap();
    let decoded = x509_tsp::TimeStampReq::from_der(&der).unwrap();
    assert_eq!(theirs(&decoded), ours(req));
    // Theirs → ours: the crate's encoding of the same request parses to the same fields, and
    // both encode it to the same bytes.
    let reencoded = decoded.to_der().unwrap();
    assert_eq!(reencoded, der);
    assert_eq!(ours(&parse_request(&reencoded).unwrap()), ours(req));
}

#[test]
fn requests_read_the_same_both_ways() {
    for hash in HASHES {
        for nonce in [None, Some(0), Some(1), Some(0x80), Some(u64::MAX)] {
            for policy in [false, true] {
                for cert_req in [false, true] {
                    check_request(&request(hash, 0x5a, nonce, policy, cert_req));
                }
            }
        }
    }
}

proptest! {
    #[test]
    fn arbitrary_requests_read_the_same_both_ways(
        hash in 0usize..3,
        fill in any::<u8>(),
        nonce in proptest::option::of(any::<u64>()),
        policy in any::<bool>(),
        cert_req in any::<bool>(),
    ) {
        check_request(&request(HASHES[hash], fill, nonce, policy, cert_req));
    }
}

#[test]
fn our_whole_second_tokens_read_the_same_through_the_crate() {
    let tsa = authority(TimePrecision::Seconds);
    let now = UNIX_EPOCH + Duration::new(1_750_000_123, 456_000_000);
    for hash in HASHES {
        let req = request(hash, 0x33, Some(77), false, true);
        let token = tsa
            .timestamp(&req, now, &SerialNumber::from_random([0x42; 16]))
            .unwrap()
            .unwrap();
        let reply = TimeStampResponse::from_der(&token.response).unwrap();
        let info = x509_tsp::TstInfo::from_der(reply.tst_info_der().unwrap()).unwrap();
        assert_eq!(Some(info.policy), reply.policy());
        assert_eq!(info.message_imprint.hash_algorithm.oid, hash.oid());
        assert_eq!(info.message_imprint.hashed_message.as_bytes(), req.digest());
        assert_eq!(Some(info.serial_number.as_bytes()), reply.serial_number());
        assert_eq!(info.nonce.as_ref().map(|n| n.as_bytes()), reply.nonce());
        assert_eq!(Some(info.gen_time.to_system_time()), reply.gen_time());
        assert_eq!(info.accuracy.as_ref().and_then(|a| a.seconds), Some(1));
        assert!(info.tsa.is_some());
        // Re-encoded by the crate, the TSTInfo is byte for byte what we signed.
        assert_eq!(info.to_der().unwrap(), reply.tst_info_der().unwrap());
    }
}

#[test]
fn fractional_gen_time_is_ours_to_read_the_reason_we_keep_our_types() {
    let tsa = authority(TimePrecision::Millis);
    let now = UNIX_EPOCH + Duration::new(1_750_000_123, 456_000_000);
    let req = request(HashAlgorithm::Sha256, 0x33, None, false, false);
    let token = tsa
        .timestamp(&req, now, &SerialNumber::from_random([0x42; 16]))
        .unwrap()
        .unwrap();
    let reply = TimeStampResponse::from_der(&token.response).unwrap();
    assert_eq!(reply.gen_time(), Some(now));
    assert!(x509_tsp::TstInfo::from_der(reply.tst_info_der().unwrap()).is_err());
}
