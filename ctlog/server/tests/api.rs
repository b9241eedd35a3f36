//! The CT API over HTTP against a real store: submissions, reads, proofs, and every kind of
//! bad request. SCT and STH signatures are checked here with `p256` directly and by
//! `independent_check.py` (Python `cryptography`), not with the code that made them.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ctlog::{CtLog, CtLogConfig};
use p256::ecdsa::signature::Verifier;
use p256::pkcs8::DecodePublicKey;
use rcgen::{BasicConstraints, CertificateParams, CustomExtension, DnType, IsCa, KeyPair};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;
use tlog::merkle;
use tlog_store::{LogOptions, LogStore, SequencerConfig, SqlStore};

const ORIGIN: &str = "ct.test.example/log";

struct TestCa {
    root_der: Vec<u8>,
    root: rcgen::Certificate,
    root_key: KeyPair,
}

fn test_ca(name: &str) -> TestCa {
    let root_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let root = params.self_signed(&root_key).unwrap();
    TestCa {
        root_der: root.der().to_vec(),
        root,
        root_key,
    }
}

const POISON: &[u64] = &[1, 3, 6, 1, 4, 1, 11129, 2, 4, 3];
const SCT_LIST: &[u64] = &[1, 3, 6, 1, 4, 1, 11129, 2, 4, 2];

/// Leaf parameters shared by a precertificate and its final certificate.
fn leaf_params(serial: u64, extra: Option<CustomExtension>) -> CertificateParams {
    let mut params = CertificateParams::new(vec!["signer@example.com".to_string()]).unwrap();
    params.serial_number = Some(rcgen::SerialNumber::from(serial.to_be_bytes().to_vec()));
    // One instant for the whole test binary: a precertificate and the final certificate
    // rebuilt from it must have byte-identical validity, and two calls of `now` a few
    // milliseconds apart straddle a second boundary about once in 200 runs.
    static NOW: std::sync::OnceLock<time::OffsetDateTime> = std::sync::OnceLock::new();
    let now = *NOW.get_or_init(time::OffsetDateTime::now_utc);
    params.not_before = now - time::Duration::minutes(1);
    params.not_after = now + time::Duration::minutes(10);
    params.custom_extensions = extra.into_iter().collect();
    params
}

fn poison() -> CustomExtension {
    let mut ext = CustomExtension::from_oid_content(POISON, vec![0x05, 0x00]);
    ext.set_criticality(true);
    ext
}

impl TestCa {
    fn issue(&self, params: CertificateParams, key: &KeyPair) -> Vec<u8> {
        params
            .signed_by(key, &self.root, &self.root_key)
            .unwrap()
            .der()
            .to_vec()
    }
}

struct Server {
    url: String,
    log: Arc<CtLog>,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

async fn start(roots: Vec<Vec<u8>>) -> Server {
    start_on(None, roots).await
}

/// A CT log on the database at `url`, or on SQLite in a temporary directory.
async fn start_on(url: Option<&str>, roots: Vec<Vec<u8>>) -> Server {
    let key = Arc::new(sigstack_keys::SoftwareKey::generate(
        sigstack_keys::Algorithm::EcdsaP256Sha256,
    ));
    start_full(url, roots, key, None).await
}

async fn start_full(
    url: Option<&str>,
    roots: Vec<Vec<u8>>,
    key: Arc<sigstack_keys::SoftwareKey>,
    witnessing: Option<witness_client::Witnessing>,
) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}", dir.path().join("ct.sqlite").display());
    let store: Arc<dyn LogStore> =
        Arc::new(SqlStore::connect(url.unwrap_or(&sqlite)).await.unwrap());
    let mut config = CtLogConfig::new(ORIGIN, key, roots);
    config.witnessing = witnessing;
    config.max_get_entries = 5;
    config.max_body_bytes = 64 * 1024;
    config.log_options = LogOptions {
        sequencer: SequencerConfig {
            max_delay: Duration::from_millis(2),
            ..SequencerConfig::default()
        },
        head_max_age: Duration::ZERO,
        ..LogOptions::default()
    };
    let log = CtLog::open(store, config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let log2 = log.clone();
    tokio::spawn(async move { axum::serve(listener, ctlog::router(log2)).await });
    Server {
        url,
        log,
        client: reqwest::Client::new(),
        _dir: dir,
    }
}

impl Server {
    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .client
            .post(format!("{}{path}", self.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// A POST whose answer is read as text (errors are ctfe's plain text).
    async fn post_text(&self, path: &str, body: Value) -> (u16, String) {
        let r = self
            .client
            .post(format!("{}{path}", self.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.text().await.unwrap())
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .client
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn get_bytes(&self, path: &str) -> (u16, Vec<u8>, Option<String>) {
        let r = self
            .client
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let cache = r
            .headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap().to_string());
        (status, r.bytes().await.unwrap().to_vec(), cache)
    }

    fn verifying_key(&self) -> p256::ecdsa::VerifyingKey {
        p256::ecdsa::VerifyingKey::from_public_key_der(self.log.public_key_der()).unwrap()
    }
}

fn b64(v: &Value) -> Vec<u8> {
    B64.decode(v.as_str().unwrap()).unwrap()
}

/// RFC 6962 3.2 signed data, written out here independently of the `ct` crate.
fn sct_input(timestamp: u64, entry_type: u16, entry: &[u8], extensions: &[u8]) -> Vec<u8> {
    let mut d = vec![0u8, 0u8];
    d.extend(timestamp.to_be_bytes());
    d.extend(entry_type.to_be_bytes());
    d.extend(entry);
    d.extend((extensions.len() as u16).to_be_bytes());
    d.extend(extensions);
    d
}

fn u24(n: usize) -> [u8; 3] {
    [(n >> 16) as u8, (n >> 8) as u8, n as u8]
}

/// Checks a TLS DigitallySigned ECDSA-SHA256 signature with `p256` alone.
fn check_signature(key: &p256::ecdsa::VerifyingKey, message: &[u8], digitally_signed: &[u8]) {
    assert_eq!(
        &digitally_signed[..2],
        &[4, 3],
        "hash sha256, signature ecdsa"
    );
    let len = u16::from_be_bytes([digitally_signed[2], digitally_signed[3]]) as usize;
    assert_eq!(digitally_signed.len(), 4 + len);
    let sig = p256::ecdsa::DerSignature::from_bytes(&digitally_signed[4..]).unwrap();
    key.verify(message, &sig).unwrap();
}

fn check_sth(server: &Server, sth: &Value) -> (u64, [u8; 32]) {
    let size = sth["tree_size"].as_u64().unwrap();
    let root: [u8; 32] = b64(&sth["sha256_root_hash"]).try_into().unwrap();
    let mut m = vec![0u8, 1u8];
    m.extend(sth["timestamp"].as_u64().unwrap().to_be_bytes());
    m.extend(size.to_be_bytes());
    m.extend(root);
    check_signature(
        &server.verifying_key(),
        &m,
        &b64(&sth["tree_head_signature"]),
    );
    (size, root)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn precert_and_cert_submissions_get_valid_scts_and_are_provable() {
    let ca = test_ca("Test Fulcio CA");
    let server = start(vec![ca.root_der.clone()]).await;
    let leaf_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let precert = ca.issue(leaf_params(7, Some(poison())), &leaf_key);
    let (status, sct) = server
        .post(
            "/ct/v1/add-pre-chain",
            json!({"chain": [B64.encode(&precert), B64.encode(&ca.root_der)]}),
        )
        .await;
    assert_eq!(status, 200, "{sct}");
    assert_eq!(sct["sct_version"], 0);
    assert_eq!(b64(&sct["id"]), server.log.log_id());
    // static-ct-api: the extensions carry leaf_index 0.
    let extensions = b64(&sct["extensions"]);
    assert_eq!(extensions, [0, 0, 5, 0, 0, 0, 0, 0]); // type 0, length 5, uint40 index

    // Independent check: rebuild the precert signed entry from a FINAL certificate carrying the
    // SCT, exactly as a verifier does (TBS minus the SCT list), and verify with p256.
    let mut sct_bytes = vec![0u8];
    sct_bytes.extend(b64(&sct["id"]));
    sct_bytes.extend(sct["timestamp"].as_u64().unwrap().to_be_bytes());
    sct_bytes.extend((extensions.len() as u16).to_be_bytes());
    sct_bytes.extend(&extensions);
    sct_bytes.extend(b64(&sct["signature"]));
    let mut list = ((sct_bytes.len() + 2) as u16).to_be_bytes().to_vec();
    list.extend((sct_bytes.len() as u16).to_be_bytes());
    list.extend(&sct_bytes);
    // DER OCTET STRING around the TLS list (long-form length: the list is over 127 bytes).
    let mut octet = vec![0x04];
    if list.len() < 128 {
        octet.push(list.len() as u8);
    } else {
        assert!(list.len() < 256);
        octet.extend([0x81, list.len() as u8]);
    }
    octet.extend(&list);
    let final_cert = ca.issue(
        leaf_params(7, Some(CustomExtension::from_oid_content(SCT_LIST, octet))),
        &leaf_key,
    );
    let tbs = ct::precert_tbs_from_final_cert(&final_cert).unwrap();
    let issuer_key_hash: [u8; 32] = {
        use x509_cert::der::{Decode, Encode};
        let root = x509_cert::Certificate::from_der(&ca.root_der).unwrap();
        Sha256::digest(
            root.tbs_certificate
                .subject_public_key_info
                .to_der()
                .unwrap(),
        )
        .into()
    };
    let mut entry = issuer_key_hash.to_vec();
    entry.extend(u24(tbs.len()));
    entry.extend(&tbs);
    check_signature(
        &server.verifying_key(),
        &sct_input(sct["timestamp"].as_u64().unwrap(), 1, &entry, &extensions),
        &b64(&sct["signature"]),
    );

    // add-chain with the final certificate (chain without the root: the log adds it).
    let (status, sct2) = server
        .post(
            "/ct/v1/add-chain",
            json!({"chain": [B64.encode(&final_cert)]}),
        )
        .await;
    assert_eq!(status, 200, "{sct2}");
    let mut x509_entry = u24(final_cert.len()).to_vec();
    x509_entry.extend(&final_cert);
    check_signature(
        &server.verifying_key(),
        &sct_input(
            sct2["timestamp"].as_u64().unwrap(),
            0,
            &x509_entry,
            &b64(&sct2["extensions"]),
        ),
        &b64(&sct2["signature"]),
    );

    // Resubmission: the original SCT data (timestamp and leaf index), no new entry.
    let (status, again) = server
        .post(
            "/ct/v1/add-pre-chain",
            json!({"chain": [B64.encode(&precert), B64.encode(&ca.root_der)]}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(again["timestamp"], sct["timestamp"]);
    assert_eq!(again["extensions"], sct["extensions"]);

    // STH, entries, proofs.
    let (_, sth) = server.get("/ct/v1/get-sth").await;
    let (size, root) = check_sth(&server, &sth);
    assert_eq!(size, 2);
    let (status, entries) = server.get("/ct/v1/get-entries?start=0&end=1").await;
    assert_eq!(status, 200);
    let entries = entries["entries"].as_array().unwrap().clone();
    assert_eq!(entries.len(), 2);
    let leaf_hashes: Vec<[u8; 32]> = entries
        .iter()
        .map(|e| merkle::leaf_hash(&b64(&e["leaf_input"])))
        .collect();
    assert_eq!(
        merkle::MemoryTree::from_leaf_hashes(leaf_hashes.clone()).root(),
        root
    );
    // extra_data of the precert entry: PrecertChainEntry = precert, then the chain with the root.
    let extra = b64(&entries[0]["extra_data"]);
    let mut want = u24(precert.len()).to_vec();
    want.extend(&precert);
    want.extend(u24(3 + ca.root_der.len()));
    want.extend(u24(ca.root_der.len()));
    want.extend(&ca.root_der);
    assert_eq!(extra, want);
    for (i, h) in leaf_hashes.iter().enumerate() {
        let (status, p) = server
            .get(&format!(
                "/ct/v1/get-proof-by-hash?hash={}&tree_size=2",
                urlencode(&B64.encode(h))
            ))
            .await;
        assert_eq!(status, 200, "{p}");
        assert_eq!(p["leaf_index"], i as u64);
        let path: Vec<[u8; 32]> = p["audit_path"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| b64(x).try_into().unwrap())
            .collect();
        merkle::verify_inclusion(h, i as u64, 2, &path, &root).unwrap();
    }
    let (status, ep) = server
        .get("/ct/v1/get-entry-and-proof?leaf_index=1&tree_size=2")
        .await;
    assert_eq!(status, 200);
    assert_eq!(ep["leaf_input"], entries[1]["leaf_input"]);
    let (status, c) = server
        .get("/ct/v1/get-sth-consistency?first=1&second=2")
        .await;
    assert_eq!(status, 200);
    let proof: Vec<[u8; 32]> = c["consistency"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| b64(x).try_into().unwrap())
        .collect();
    merkle::verify_consistency(1, 2, &proof, &leaf_hashes[0], &root).unwrap();
    let (_, roots) = server.get("/ct/v1/get-roots").await;
    assert_eq!(b64(&roots["certificates"][0]), ca.root_der);

    // static-ct-api read path.
    let (status, cp, _) = server.get_bytes("/checkpoint").await;
    assert_eq!(status, 200);
    let (cp, _) =
        ct::open_rfc6962_checkpoint(&cp, "ct.test.example/log", server.log.public_key_der())
            .unwrap();
    assert_eq!((cp.size(), *cp.root_hash()), (2, root));
    let (status, tile, cache) = server.get_bytes("/tile/0/000.p/2").await;
    assert_eq!(status, 200);
    assert_eq!(tile, leaf_hashes.concat());
    assert!(cache.unwrap().contains("immutable"));
    let (status, data, _) = server.get_bytes("/tile/data/000.p/2").await;
    assert_eq!(status, 200);
    let leaves = ct::parse_data_tile(&data).unwrap();
    assert_eq!(leaves.len(), 2);
    assert_eq!(leaves[1].leaf_hash(), leaf_hashes[1]);
    let fp = hex::encode(Sha256::digest(&ca.root_der));
    let (status, issuer, _) = server.get_bytes(&format!("/issuer/{fp}")).await;
    assert_eq!(status, 200);
    assert_eq!(issuer, ca.root_der);
    assert_eq!(server.get_bytes("/tile/0/000.p/3").await.0, 404);
    assert_eq!(server.get_bytes("/tile/0/000").await.0, 404);
}

fn urlencode(s: &str) -> String {
    s.replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_precise_400s_and_change_nothing() {
    let ca = test_ca("Test CA");
    let other = test_ca("Someone else's CA");
    let server = start(vec![ca.root_der.clone()]).await;
    let leaf_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let cert = ca.issue(leaf_params(1, None), &leaf_key);
    let precert = ca.issue(leaf_params(2, Some(poison())), &leaf_key);
    let foreign = other.issue(leaf_params(3, None), &leaf_key);
    let mut expired_params = leaf_params(4, None);
    expired_params.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(2);
    expired_params.not_after = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    let expired = ca.issue(expired_params, &leaf_key);
    let mut tampered = cert.clone();
    let n = tampered.len();
    tampered[n - 5] ^= 0x01; // inside the signature

    let cases: Vec<(&str, Value, &str)> = vec![
        ("/ct/v1/add-chain", json!({"chain": []}), "empty"),
        (
            "/ct/v1/add-chain",
            json!({"chain": ["not base64!"]}),
            "base64",
        ),
        (
            "/ct/v1/add-chain",
            json!({"chain": [B64.encode(b"garbage")]}),
            "not a DER X.509",
        ),
        (
            "/ct/v1/add-chain",
            json!({"chain": [B64.encode(&foreign)]}),
            "root this log accepts",
        ),
        (
            "/ct/v1/add-chain",
            json!({"chain": [B64.encode(&foreign), B64.encode(&ca.root_der)]}),
            "not signed by",
        ),
        (
            "/ct/v1/add-chain",
            json!({"chain": [B64.encode(&tampered)]}),
            "root this log accepts",
        ),
        (
            "/ct/v1/add-chain",
            json!({"chain": [B64.encode(&expired)]}),
            "expired",
        ),
        (
            "/ct/v1/add-chain",
            json!({"chain": [B64.encode(&precert)]}),
            "add-pre-chain",
        ),
        (
            "/ct/v1/add-pre-chain",
            json!({"chain": [B64.encode(&cert)]}),
            "no CT poison",
        ),
        ("/ct/v1/add-chain", json!({"chane": []}), "expected JSON"),
        ("/ct/v1/add-chain", json!([1, 2]), "expected JSON"),
    ];
    for (path, body, want) in cases {
        let (status, err) = server.post_text(path, body.clone()).await;
        assert_eq!(status, 400, "{path} {body}: {err}");
        assert!(err.contains(want), "{path} {body}: {err}");
    }
    let r = server
        .client
        .post(format!("{}/ct/v1/add-chain", server.url))
        .body("{")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let big = json!({"chain": [B64.encode(vec![0u8; 100 * 1024])]});
    let (status, err) = server.post_text("/ct/v1/add-chain", big).await;
    assert_eq!(status, 413, "{err}");
    assert!(err.contains("65536"), "{err}");

    // Nothing was logged.
    let (_, sth) = server.get("/ct/v1/get-sth").await;
    assert_eq!(check_sth(&server, &sth).0, 0);

    let (status, _) = server
        .post("/ct/v1/add-chain", json!({"chain": [B64.encode(&cert)]}))
        .await;
    assert_eq!(status, 200);
    for (path, want) in [
        ("/ct/v1/get-entries?start=1&end=0", "larger than end"),
        ("/ct/v1/get-entries?start=5&end=9", "not in the tree"),
        ("/ct/v1/get-entries?start=-1&end=2", "non-negative integer"),
        ("/ct/v1/get-entries?start=a&end=2", "non-negative integer"),
        ("/ct/v1/get-entries?end=2", "missing query parameter"),
        (
            "/ct/v1/get-sth-consistency?first=2&second=1",
            "larger than second",
        ),
        (
            "/ct/v1/get-sth-consistency?first=1&second=9",
            "larger than the log",
        ),
        ("/ct/v1/get-proof-by-hash?hash=AAAA&tree_size=1", "32 bytes"),
        (
            "/ct/v1/get-entry-and-proof?leaf_index=1&tree_size=1",
            "not in a tree of size 1",
        ),
        (
            "/ct/v1/get-entry-and-proof?leaf_index=0&tree_size=99",
            "larger than the log",
        ),
    ] {
        let (status, err, _) = server.get_bytes(path).await;
        let err = String::from_utf8(err).unwrap();
        assert_eq!(status, 400, "{path}: {err}");
        assert!(err.starts_with("Bad Request\n"), "{path}: {err}");
        assert!(err.contains(want), "{path}: {err}");
    }
    let (status, _) = server
        .get(&format!(
            "/ct/v1/get-proof-by-hash?hash={}&tree_size=1",
            urlencode(&B64.encode([9u8; 32]))
        ))
        .await;
    assert_eq!(status, 404);
    // get-entries pages at the server's limit (5), never beyond the tree.
    for i in 10..20 {
        let c = ca.issue(leaf_params(i, None), &leaf_key);
        assert_eq!(
            server
                .post("/ct/v1/add-chain", json!({"chain": [B64.encode(&c)]}))
                .await
                .0,
            200
        );
    }
    let (_, page) = server.get("/ct/v1/get-entries?start=0&end=100").await;
    assert_eq!(page["entries"].as_array().unwrap().len(), 5);
    let (_, page) = server.get("/ct/v1/get-entries?start=9&end=100").await;
    assert_eq!(page["entries"].as_array().unwrap().len(), 2);
    for path in [
        "/tile/9/000",
        "/tile/0/x000/000",
        "/tile/entries/000.p/1",
        "/issuer/zz",
        "/nope",
    ] {
        let (status, body, _) = server.get_bytes(path).await;
        assert_eq!(status, 404, "{path}");
        // As ctfe answers errors: plain text, the status line first.
        assert!(String::from_utf8(body).unwrap().starts_with("Not Found\n"));
    }
    for (method, path, status, first_line) in [
        ("POST", "/ct/v1/get-sth", 405, "Method Not Allowed"),
        ("GET", "/ct/v1/add-chain", 405, "Method Not Allowed"),
    ] {
        let r = server
            .client
            .request(method.parse().unwrap(), format!("{}{path}", server.url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), status, "{method} {path}");
        let content_type = r.headers()["content-type"].to_str().unwrap().to_string();
        assert_eq!(content_type, "text/plain; charset=utf-8", "{method} {path}");
        let text = r.text().await.unwrap();
        assert!(text.starts_with(first_line), "{method} {path}: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_refuses_a_non_p256_key() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn LogStore> = Arc::new(
        SqlStore::connect(&format!(
            "sqlite://{}",
            dir.path().join("x.sqlite").display()
        ))
        .await
        .unwrap(),
    );
    let key = Arc::new(sigstack_keys::SoftwareKey::generate(
        sigstack_keys::Algorithm::Ed25519,
    ));
    assert!(CtLog::open(store, CtLogConfig::new("x", key, vec![]))
        .await
        .is_err());
}

/// `/readyz` follows the database: a real PostgreSQL database is made to refuse connections
/// (and its sessions are ended), then let back in. Needs `SIGSTACK_TEST_DATABASE_URL`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_the_database() {
    if std::env::var("SIGSTACK_TEST_DATABASE_URL").is_err() {
        eprintln!("skipped: SIGSTACK_TEST_DATABASE_URL is not set (scripts/with-postgres.sh)");
        return;
    }
    // Dropped (with the database) at the end, unlike a benchmark's.
    let db = sigstack_bench_support::TestDb::postgres().await;
    let name = db.pg_name().unwrap().to_owned();
    let ca = test_ca("readiness root");
    let server = start_on(Some(&db.url), vec![ca.root_der.clone()]).await;
    let (status, body) = server.get("/readyz").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["checks"]["log"], "ok");

    use sqlx::Connection as _;
    let admin_url = std::env::var("SIGSTACK_TEST_DATABASE_URL").unwrap();
    let mut admin = sqlx::AnyConnection::connect(&admin_url).await.unwrap();
    for sql in [
        format!("ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false"),
        format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"),
    ] {
        sqlx::query(&sql).execute(&mut admin).await.unwrap();
    }
    let (status, body) = server.get("/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "unready");
    assert_ne!(body["checks"]["log"], "ok", "{body}");
    assert_eq!(body["checks"]["key"], "ok");

    let allow = format!("ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true");
    sqlx::query(&allow).execute(&mut admin).await.unwrap();
    let mut ready = false;
    for _ in 0..50 {
        if server.get("/readyz").await.0 == 200 {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(ready, "still unready after the database came back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_are_witnessed() {
    let dir = tempfile::tempdir().unwrap();
    let key = Arc::new(sigstack_keys::SoftwareKey::generate(
        sigstack_keys::Algorithm::EcdsaP256Sha256,
    ));
    // Our witness, following this log by its type 0x05 (RFC 6962) key.
    let log_key =
        witness::LogKey::rfc6962(ORIGIN, sigstack_keys::Signer::public_key_der(key.as_ref()))
            .unwrap();
    let logs = witness::LogList::new(vec![
        witness::Log::new(ORIGIN, vec![log_key.clone()]).unwrap()
    ])
    .unwrap();
    let cosigner = witness::Cosigner::new(
        "witness.test.example",
        Arc::new(sigstack_keys::SoftwareKey::generate(
            sigstack_keys::Algorithm::Ed25519,
        )),
    )
    .unwrap();
    let store = Arc::new(
        witness_server::SqlWitnessStore::connect(&format!(
            "sqlite://{}",
            dir.path().join("witness.sqlite").display()
        ))
        .await
        .unwrap(),
    );
    let server =
        witness_server::WitnessServer::new(witness::Witness::new(logs), cosigner.clone(), store);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let witness_url = format!("http://{}", listener.local_addr().unwrap());
    let router = witness_server::router(Arc::new(server));
    tokio::spawn(async move { axum::serve(listener, router).await });

    let policy = witness::WitnessPolicy::new(vec![cosigner.verifier().clone()], 1).unwrap();
    // Fail-closed, the interval long: the writes must not wait for it.
    let fail_closed = |url: &str, timeout| witness_client::Witnessing {
        witnesses: vec![
            witness_client::WitnessClient::new(url, cosigner.verifier().clone()).unwrap(),
        ],
        policy: policy.clone(),
        interval: Duration::from_secs(3600),
        mode: witness_client::WitnessMode::FailClosed { timeout },
    };
    let ca = test_ca("witnessed root");
    let log = start_full(
        None,
        vec![ca.root_der.clone()],
        key,
        Some(fail_closed(&witness_url, Duration::from_secs(30))),
    )
    .await;
    for serial in 0..3 {
        let leaf_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let cert = ca.issue(leaf_params(100 + serial, None), &leaf_key);
        let (status, sct) = log
            .post("/ct/v1/add-chain", json!({"chain": [B64.encode(&cert)]}))
            .await;
        assert_eq!(status, 200, "{sct}");
        // Fail-closed: the SCT came once a checkpoint with the entry was witnessed.
        let (status, note, _) = log.get_bytes("/checkpoint/witnessed").await;
        assert_eq!(status, 200);
        let (checkpoint, _) =
            ct::open_rfc6962_checkpoint(&note, ORIGIN, log.log.public_key_der()).unwrap();
        assert!(checkpoint.size() > serial, "{}", checkpoint.size());
    }
    let mut seen = None;
    for _ in 0..250 {
        let (status, note, _) = log.get_bytes("/checkpoint/witnessed").await;
        if status == 200 {
            let (checkpoint, _) =
                ct::open_rfc6962_checkpoint(&note, ORIGIN, log.log.public_key_der()).unwrap();
            assert_eq!(
                policy.check(&tlog::note::Note::parse(&note).unwrap()),
                Ok(1)
            );
            if checkpoint.size() == 3 {
                seen = Some(checkpoint.size());
                break;
            }
        } else {
            assert_eq!(status, 503);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(seen, Some(3));
    let (status, policy_file, _) = log.get_bytes("/witness-policy").await;
    assert_eq!(status, 200);
    assert_eq!(
        String::from_utf8(policy_file).unwrap(),
        format!(
            "log {}\nwitness w1 {} {witness_url}\ngroup witnesses 1 w1\nquorum witnesses\n",
            log_key.to_vkey(),
            cosigner.verifier().to_vkey()
        )
    );
    // Fail-closed with the witness down: 503, the entry logged all the same, and a
    // resubmission finds it (still 503 until witnessed).
    let down = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let down_url = format!("http://{}", down.local_addr().unwrap());
    drop(down);
    let unwitnessed = start_full(
        None,
        vec![ca.root_der.clone()],
        Arc::new(sigstack_keys::SoftwareKey::generate(
            sigstack_keys::Algorithm::EcdsaP256Sha256,
        )),
        Some(fail_closed(&down_url, Duration::from_millis(200))),
    )
    .await;
    let leaf_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let cert = ca.issue(leaf_params(200, None), &leaf_key);
    for _ in 0..2 {
        let (status, body) = unwitnessed
            .post("/ct/v1/add-chain", json!({"chain": [B64.encode(&cert)]}))
            .await;
        assert_eq!(status, 503, "{body}");
        assert_eq!(unwitnessed.log.log().head().await.unwrap().size, 1);
    }
    let plain = start(vec![ca.root_der.clone()]).await;
    assert_eq!(plain.get_bytes("/checkpoint/witnessed").await.0, 404);
    assert_eq!(plain.get_bytes("/witness-policy").await.0, 404);
}

/// A rotation: shard 1 freezes with its key (still serving its STH and proofs, refusing
/// submissions), shard 2 at `/shards/2` takes new certificates under a new key and, as a
/// temporal shard, only those whose notAfter falls in its window.
#[tokio::test]
async fn a_rotated_log_keeps_its_frozen_shard_provable_and_temporal_shards_keep_their_window() {
    let ca = test_ca("Test Fulcio CA");
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}", dir.path().join("ct.sqlite").display());
    let store: Arc<dyn LogStore> = Arc::new(SqlStore::connect(&sqlite).await.unwrap());
    let key = |()| {
        Arc::new(sigstack_keys::SoftwareKey::generate(
            sigstack_keys::Algorithm::EcdsaP256Sha256,
        ))
    };
    let (old_key, new_key) = (key(()), key(()));
    let leaf_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let chain = |serial| {
        let precert = ca.issue(leaf_params(serial, Some(poison())), &leaf_key);
        json!({"chain": [B64.encode(&precert), B64.encode(&ca.root_der)]})
    };
    // Before the rotation: one shard, which logs a precertificate.
    let old_log = CtLog::open(
        store.clone(),
        CtLogConfig::new(ORIGIN, old_key.clone(), vec![ca.root_der.clone()]),
    )
    .await
    .unwrap();
    let before = serve(ctlog::router(old_log.clone()), old_log).await;
    let (status, sct) = before.post("/ct/v1/add-pre-chain", chain(1)).await;
    assert_eq!(status, 200, "{sct}");
    // After: shard 1 frozen with the old key, shard 2 with the new key and a window that holds
    // this test's certificates (they expire in ten minutes) but not next year's.
    let now = std::time::SystemTime::now();
    let window = ctlog::ExpiryWindow::new(now, now + Duration::from_secs(3600)).unwrap();
    let mut frozen = CtLogConfig::new(ORIGIN, old_key.clone(), vec![ca.root_der.clone()]);
    frozen.frozen_for = Some(vec![ctlog::shard_path(2)]);
    let mut active = CtLogConfig::new(
        ctlog::shard_origin(ORIGIN, 2),
        new_key.clone(),
        vec![ca.root_der.clone()],
    );
    active.not_after = Some(window);
    let shards = vec![
        CtLog::open(store.clone(), frozen).await.unwrap(),
        CtLog::open(store.clone(), active).await.unwrap(),
    ];
    let after = serve(ctlog::shards_router(&shards), shards[0].clone()).await;
    let (status, sct) = after.post("/shards/2/ct/v1/add-pre-chain", chain(2)).await;
    assert_eq!(status, 200, "{sct}");
    assert_eq!(b64(&sct["id"]), shards[1].log_id());
    assert_ne!(shards[0].log_id(), shards[1].log_id());
    // The frozen shard refuses, naming where to go, and does not grow.
    let (status, text) = after.post_text("/ct/v1/add-pre-chain", chain(3)).await;
    assert_eq!(status, 403, "{text}");
    assert!(
        text.contains("frozen") && text.contains("/shards/2"),
        "{text}"
    );
    // Each shard's STH is signed by its own key.
    let verify_sth = |sth: &Value, key: &sigstack_keys::SoftwareKey| {
        use sigstack_keys::Signer as _;
        let vk = p256::ecdsa::VerifyingKey::from_public_key_der(key.public_key_der()).unwrap();
        let mut input = vec![0u8, 1];
        input.extend(sth["timestamp"].as_u64().unwrap().to_be_bytes());
        input.extend(sth["tree_size"].as_u64().unwrap().to_be_bytes());
        input.extend(b64(&sth["sha256_root_hash"]));
        check_signature(&vk, &input, &b64(&sth["tree_head_signature"]));
    };
    let (status, sth) = after.get("/ct/v1/get-sth").await;
    assert_eq!(status, 200, "{sth}");
    assert_eq!(check_sth(&after, &sth).0, 1);
    let (status, sth) = after.get("/shards/2/ct/v1/get-sth").await;
    assert_eq!((status, sth["tree_size"].as_u64()), (200, Some(1)), "{sth}");
    verify_sth(&sth, &new_key);
    // The frozen shard's entry is still there, and its tiles still serve.
    let (status, entries) = after.get("/ct/v1/get-entries?start=0&end=0").await;
    assert_eq!(status, 200, "{entries}");
    assert_eq!(entries["entries"].as_array().unwrap().len(), 1);
    let (status, _, _) = after.get_bytes("/tile/0/000.p/1").await;
    assert_eq!(status, 200);
    // Readiness, at any shard's path, is the active shard's: the log takes certificates.
    for path in ["/readyz", "/shards/2/readyz"] {
        let (status, body) = after.get(path).await;
        assert_eq!(
            (status, &body["status"]),
            (200, &json!("ready")),
            "{path}: {body}"
        );
    }
    // A certificate that expires outside the window is refused by the temporal shard.
    let mut late = leaf_params(4, Some(poison()));
    late.not_after = time::OffsetDateTime::now_utc() + time::Duration::days(400);
    let precert = ca.issue(late, &leaf_key);
    let (status, text) = after
        .post_text(
            "/shards/2/ct/v1/add-pre-chain",
            json!({"chain": [B64.encode(&precert), B64.encode(&ca.root_der)]}),
        )
        .await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("window"), "{text}");
    let (_, sth) = after.get("/shards/2/ct/v1/get-sth").await;
    assert_eq!(sth["tree_size"], 1);
}

/// Serves `router` (whose requests `log` answers at its root) on a loopback port.
async fn serve(router: axum::Router, log: Arc<CtLog>) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    Server {
        url,
        log,
        client: reqwest::Client::new(),
        _dir: tempfile::tempdir().unwrap(),
    }
}
