//! The TSA end to end over real HTTP, judged by the real OpenSSL: `openssl ts -query` makes
//! the requests, `openssl ts -verify` must accept our replies against the development chain,
//! and `openssl ts -reply -text` must show what we meant to say. OpenSSL is required: without
//! it these tests fail with a message, they do not skip.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use sha2::Digest;
use tsa::{FailureInfo, TimeStampResponse};
use tsa_server::{dev_authority, router, TsaServer, TIMESTAMP_QUERY, TIMESTAMP_REPLY};

struct Tsa {
    url: String,
    dir: tempfile::TempDir,
    client: reqwest::Client,
    root: PathBuf,
    leaf: PathBuf,
    chain: Vec<Vec<u8>>,
}

async fn start_with_limit(limit: usize) -> Tsa {
    let dir = tempfile::tempdir().unwrap();
    let authority = dev_authority(dir.path()).unwrap();
    serve(dir, authority, limit).await
}

async fn serve(dir: tempfile::TempDir, authority: tsa::TimestampAuthority, limit: usize) -> Tsa {
    let chain = authority.chain().to_vec();
    let server = TsaServer::with_max_body_bytes(authority, limit).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    // `/metrics` beside the API, as the binary serves it without `--metrics-listen`.
    let app = router(server.clone()).merge(sigstack_http::metrics_router(vec![server
        .metrics()
        .clone()]));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let root = dir.path().join("root.pem");
    let leaf = dir.path().join("leaf.pem");
    std::fs::write(&leaf, tsa::chain_to_pem(&chain[..1]).unwrap()).unwrap();
    std::fs::write(&root, tsa::chain_to_pem(&chain[1..]).unwrap()).unwrap();
    Tsa {
        url,
        dir,
        client: reqwest::Client::new(),
        root,
        leaf,
        chain,
    }
}

async fn start() -> Tsa {
    start_with_limit(tsa_server::DEFAULT_MAX_BODY_BYTES).await
}

/// Runs openssl; a missing binary is a test failure with instructions.
fn openssl(args: &[&str]) -> std::process::Output {
    Command::new("openssl")
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "these tests need the `openssl` command line tool (apt-get install openssl): {e}"
            )
        })
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

impl Tsa {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    async fn post(&self, content_type: &str, body: Vec<u8>) -> reqwest::Response {
        self.client
            .post(format!("{}/api/v1/timestamp", self.url))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// POSTs a DER query file; writes and returns the reply (HTTP 200, timestamp-reply).
    async fn post_query(&self, tsq: &Path, tsr: &Path) -> Vec<u8> {
        let resp = self
            .post(TIMESTAMP_QUERY, std::fs::read(tsq).unwrap())
            .await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], TIMESTAMP_REPLY);
        let body = resp.bytes().await.unwrap().to_vec();
        std::fs::write(tsr, &body).unwrap();
        body
    }

    fn verify(&self, tsq: &Path, tsr: &Path) -> String {
        text(&openssl(&[
            "ts",
            "-verify",
            "-queryfile",
            p(tsq),
            "-in",
            p(tsr),
            "-CAfile",
            p(&self.root),
            "-untrusted",
            p(&self.leaf),
        ]))
    }

    fn reply_text(&self, tsr: &Path) -> String {
        text(&openssl(&["ts", "-reply", "-in", p(tsr), "-text"]))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openssl_requests_get_replies_openssl_verifies() {
    let tsa = start().await;
    let data = tsa.path("data.bin");
    std::fs::write(&data, b"the signature bytes sigstore timestamps").unwrap();
    let cases: &[(&str, &[&str])] = &[
        ("-sha256", &[]),
        ("-sha512", &[]),
        ("-sha384", &[]),
        ("-sha256", &["-no_nonce"]),
        ("-sha256", &["-cert"]),
        ("-sha512", &["-no_nonce", "-cert"]),
    ];
    for (i, (hash, flags)) in cases.iter().enumerate() {
        let tsq = tsa.path(&format!("q{i}.tsq"));
        let tsr = tsa.path(&format!("r{i}.tsr"));
        let mut args = vec!["ts", "-query", "-data", p(&data), hash, "-out", p(&tsq)];
        args.extend_from_slice(flags);
        let out = openssl(&args);
        assert!(out.status.success(), "{}", text(&out));
        let der = tsa.post_query(&tsq, &tsr).await;

        let verified = tsa.verify(&tsq, &tsr);
        assert!(
            verified.contains("Verification: OK"),
            "{hash} {flags:?}: {verified}"
        );
        // Against the data itself too, not only the query.
        let by_data = text(&openssl(&[
            "ts",
            "-verify",
            "-data",
            p(&data),
            "-in",
            p(&tsr),
            "-CAfile",
            p(&tsa.root),
            "-untrusted",
            p(&tsa.leaf),
        ]));
        assert!(by_data.contains("Verification: OK"), "{by_data}");

        if flags.contains(&"-cert") {
            // The embedded TSA certificate is enough with the root alone.
            let embedded = text(&openssl(&[
                "ts",
                "-verify",
                "-queryfile",
                p(&tsq),
                "-in",
                p(&tsr),
                "-CAfile",
                p(&tsa.root),
            ]));
            assert!(embedded.contains("Verification: OK"), "{embedded}");
        }
        let shown = tsa.reply_text(&tsr);
        assert!(shown.contains("Status: Granted."), "{shown}");
        assert!(shown.contains("Policy OID: 1.3.6.1.4.1.57264.2"), "{shown}");
        assert!(shown.contains("Accuracy: 0x01 seconds"), "{shown}");
        assert!(shown.contains("TSA: DirName:"), "{shown}");
        if flags.contains(&"-no_nonce") {
            assert!(shown.contains("Nonce: unspecified"), "{shown}");
        } else {
            assert!(!shown.contains("Nonce: unspecified"), "{shown}");
        }
        let reply = TimeStampResponse::from_der(&der).unwrap();
        let expected_certs = if flags.contains(&"-cert") { 1 } else { 0 };
        assert_eq!(reply.certificates().len(), expected_certs);
        reply.verify_signature(&tsa.chain[0]).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_reply_fails_openssl_verification() {
    let tsa = start().await;
    let data = tsa.path("data.bin");
    std::fs::write(&data, b"payload").unwrap();
    let tsq = tsa.path("q.tsq");
    let tsr = tsa.path("r.tsr");
    assert!(openssl(&[
        "ts",
        "-query",
        "-data",
        p(&data),
        "-sha256",
        "-out",
        p(&tsq)
    ])
    .status
    .success());
    let der = tsa.post_query(&tsq, &tsr).await;
    assert!(tsa.verify(&tsq, &tsr).contains("Verification: OK"));
    // Change one byte of genTime inside the signed TSTInfo ("20" of the year becomes "21").
    let reply = TimeStampResponse::from_der(&der).unwrap();
    let tst = reply.tst_info_der().unwrap();
    let at = der.windows(tst.len()).position(|w| w == tst).unwrap();
    let year = tst
        .windows(3)
        .position(|w| w == [0x18, 0x0f, b'2'])
        .unwrap();
    let mut bad = der.clone();
    bad[at + year + 4] ^= 0x01;
    let bad_path = tsa.path("bad.tsr");
    std::fs::write(&bad_path, &bad).unwrap();
    let out = tsa.verify(&tsq, &bad_path);
    assert!(!out.contains("Verification: OK"), "{out}");
    // And a reply checked against another query (a different imprint) fails too.
    let other = tsa.path("other.tsq");
    std::fs::write(tsa.path("other.bin"), b"other").unwrap();
    assert!(openssl(&[
        "ts",
        "-query",
        "-data",
        p(&tsa.path("other.bin")),
        "-sha256",
        "-out",
        p(&other)
    ])
    .status
    .success());
    assert!(!tsa.verify(&other, &tsr).contains("Verification: OK"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigstore_js_json_request_gets_a_der_reply() {
    let tsa = start().await;
    let data = tsa.path("sig.bin");
    std::fs::write(&data, b"signature").unwrap();
    let digest = sha2::Sha256::digest(b"signature");
    let body = serde_json::json!({
        "artifactHash": base64::engine::general_purpose::STANDARD.encode(digest),
        "hashAlgorithm": "sha256",
        "nonce": 1234567890123u64,
        "certificates": true,
    });
    let resp = tsa
        .post("application/json", body.to_string().into_bytes())
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], TIMESTAMP_REPLY);
    let der = resp.bytes().await.unwrap().to_vec();
    let reply = TimeStampResponse::from_der(&der).unwrap();
    assert!(reply.is_granted());
    assert_eq!(
        reply.nonce(),
        Some(tsa::Nonce::from_u64(1234567890123).as_bytes())
    );
    assert_eq!(reply.certificates(), vec![tsa.chain[0].clone()]);
    let tsr = tsa.path("r.tsr");
    std::fs::write(&tsr, &der).unwrap();
    let out = text(&openssl(&[
        "ts",
        "-verify",
        "-data",
        p(&data),
        "-in",
        p(&tsr),
        "-CAfile",
        p(&tsa.root),
        "-untrusted",
        p(&tsa.leaf),
    ]));
    assert!(out.contains("Verification: OK"), "{out}");

    // Only what sigstore-js sends: artifactHash and hashAlgorithm.
    let minimal = serde_json::json!({
        "artifactHash": base64::engine::general_purpose::STANDARD.encode(digest),
        "hashAlgorithm": "sha256",
    });
    let resp = tsa
        .post("application/json", minimal.to_string().into_bytes())
        .await;
    assert_eq!(resp.status(), 200);
    let reply = TimeStampResponse::from_der(&resp.bytes().await.unwrap()).unwrap();
    assert!(reply.is_granted());
    assert!(reply.nonce().is_none());

    // JSON refusals are RFC 3161 rejections too.
    let md5 = serde_json::json!({"artifactHash": "AAAA", "hashAlgorithm": "md5"});
    let resp = tsa
        .post("application/json", md5.to_string().into_bytes())
        .await;
    assert_eq!(resp.status(), 200);
    let reply = TimeStampResponse::from_der(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(reply.failure_info(), vec![FailureInfo::BadAlg]);
    let short = serde_json::json!({"artifactHash": "AAAA", "hashAlgorithm": "sha256"});
    let resp = tsa
        .post("application/json", short.to_string().into_bytes())
        .await;
    let reply = TimeStampResponse::from_der(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(reply.failure_info(), vec![FailureInfo::BadDataFormat]);
    // Not the expected JSON: 400.
    for bad in [
        r#"{"hashAlgorithm":"sha256"}"#,
        r#"{"artifactHash":"!!","hashAlgorithm":"sha256"}"#,
        "{",
    ] {
        let resp = tsa.post("application/json", bad.as_bytes().to_vec()).await;
        assert_eq!(resp.status(), 400, "{bad}");
        let err: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(err["code"], 400);
        assert!(!err["message"].as_str().unwrap().is_empty());
    }
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    assert!(content.len() < 128);
    let mut out = vec![tag, content.len() as u8];
    out.extend_from_slice(content);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_and_errors() {
    let tsa = start_with_limit(1024).await;
    let data = tsa.path("data.bin");
    std::fs::write(&data, b"payload").unwrap();

    // Garbage: 400 JSON.
    let resp = tsa
        .post(TIMESTAMP_QUERY, b"definitely not DER".to_vec())
        .await;
    assert_eq!(resp.status(), 400);
    let err: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(err["code"], 400);
    assert!(err["message"].as_str().unwrap().contains("TimeStampReq"));

    // SHA-1 (unknown to us): rejection, badAlg, that openssl reads.
    let tsq = tsa.path("sha1.tsq");
    let tsr = tsa.path("sha1.tsr");
    assert!(
        openssl(&["ts", "-query", "-data", p(&data), "-sha1", "-out", p(&tsq)])
            .status
            .success()
    );
    let der = tsa.post_query(&tsq, &tsr).await;
    let reply = TimeStampResponse::from_der(&der).unwrap();
    assert_eq!(reply.status(), 2);
    assert_eq!(reply.failure_info(), vec![FailureInfo::BadAlg]);
    let shown = tsa.reply_text(&tsr);
    assert!(shown.contains("Status: Rejected"), "{shown}");
    assert!(
        shown.contains("unrecognized or unsupported algorithm identifier"),
        "{shown}"
    );

    // A hash OID nobody knows, hand-built.
    let alg = tlv(
        0x30,
        &[tlv(0x06, &[0x2a, 0x03, 0x04, 0x05]), vec![0x05, 0x00]].concat(),
    );
    let imprint = tlv(0x30, &[alg, tlv(0x04, &[1; 32])].concat());
    let req = tlv(0x30, &[tlv(0x02, &[1]), imprint].concat());
    let resp = tsa.post(TIMESTAMP_QUERY, req).await;
    assert_eq!(resp.status(), 200);
    let reply = TimeStampResponse::from_der(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(reply.failure_info(), vec![FailureInfo::BadAlg]);

    // SHA-256 with a 20-octet imprint: badDataFormat.
    let sha256 = [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
    let alg = tlv(0x30, &[tlv(0x06, &sha256), vec![0x05, 0x00]].concat());
    let imprint = tlv(0x30, &[alg, tlv(0x04, &[1; 20])].concat());
    let req = tlv(0x30, &[tlv(0x02, &[1]), imprint].concat());
    let tsr = tsa.path("short.tsr");
    let resp = tsa.post(TIMESTAMP_QUERY, req).await;
    assert_eq!(resp.status(), 200);
    let der = resp.bytes().await.unwrap().to_vec();
    std::fs::write(&tsr, &der).unwrap();
    assert_eq!(
        TimeStampResponse::from_der(&der).unwrap().failure_info(),
        vec![FailureInfo::BadDataFormat]
    );
    assert!(tsa.reply_text(&tsr).contains("has the wrong format"));

    // A policy we do not serve: unacceptedPolicy.
    let tsq = tsa.path("policy.tsq");
    let tsr = tsa.path("policy.tsr");
    assert!(openssl(&[
        "ts",
        "-query",
        "-data",
        p(&data),
        "-sha256",
        "-tspolicy",
        "1.2.3.4.5",
        "-out",
        p(&tsq)
    ])
    .status
    .success());
    let der = tsa.post_query(&tsq, &tsr).await;
    assert_eq!(
        TimeStampResponse::from_der(&der).unwrap().failure_info(),
        vec![FailureInfo::UnacceptedPolicy]
    );
    // Our own policy, asked for explicitly, is fine.
    let tsq = tsa.path("ours.tsq");
    let tsr = tsa.path("ours.tsr");
    assert!(openssl(&[
        "ts",
        "-query",
        "-data",
        p(&data),
        "-sha256",
        "-tspolicy",
        "1.3.6.1.4.1.57264.2",
        "-out",
        p(&tsq)
    ])
    .status
    .success());
    tsa.post_query(&tsq, &tsr).await;
    assert!(tsa.verify(&tsq, &tsr).contains("Verification: OK"));

    // Over the limit: 413 JSON naming it.
    let resp = tsa.post(TIMESTAMP_QUERY, vec![0x30; 1025]).await;
    assert_eq!(resp.status(), 413);
    let err: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(err["code"], 413);
    assert!(err["message"].as_str().unwrap().contains("1024"), "{err}");

    // Neither DER nor JSON.
    let resp = tsa.post("text/plain", b"hello".to_vec()).await;
    assert_eq!(resp.status(), 415);
    let err: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(err["code"], 415);

    // Go clients send null for what they leave unset.
    let digest = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
    let nulls = serde_json::json!({"artifactHash": digest, "hashAlgorithm": "sha256",
        "certificates": null, "nonce": null, "tsaPolicyOID": null});
    let resp = tsa
        .post("application/json", nulls.to_string().into_bytes())
        .await;
    assert_eq!(resp.status(), 200);
    let reply = TimeStampResponse::from_der(&resp.bytes().await.unwrap()).unwrap();
    assert!(reply.failure_info().is_empty());

    // Errors of the framework's own (unknown path, wrong method) are JSON in the same shape.
    for (method, path, status) in [
        ("GET", "/api/v1/nowhere", 404),
        ("GET", "/api/v1/timestamp", 405),
        ("DELETE", "/api/v1/timestamp/certchain", 405),
    ] {
        let resp = tsa
            .client
            .request(method.parse().unwrap(), format!("{}{path}", tsa.url))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), status, "{method} {path}");
        let err: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(err["code"], status, "{method} {path}");
        assert!(err["message"].is_string());
    }

    // What was counted.
    let metrics = tsa
        .client
        .get(format!("{}/metrics", tsa.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        r#"tsa_requests_refused_total{reason="badAlg"} 2"#,
        r#"tsa_requests_refused_total{reason="badDataFormat"} 1"#,
        r#"tsa_requests_refused_total{reason="unacceptedPolicy"} 1"#,
        r#"tsa_requests_refused_total{reason="bad_request"} 1"#,
        r#"tsa_requests_refused_total{reason="payload_too_large"} 1"#,
        r#"tsa_timestamps_issued_total{hash_algorithm="sha256"} 2"#,
    ] {
        assert!(metrics.contains(line), "{line} missing from\n{metrics}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chain_endpoint_health_and_certificate_profile() {
    let tsa = start().await;
    let resp = tsa
        .client
        .get(format!("{}/api/v1/timestamp/certchain", tsa.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let pem = resp.text().await.unwrap();
    assert_eq!(tsa::chain_from_pem(&pem).unwrap(), tsa.chain);
    let health = tsa
        .client
        .get(format!("{}/healthz", tsa.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let missing = tsa
        .client
        .get(format!("{}/nope", tsa.url))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    // OpenSSL agrees the leaf is a timestamping certificate under the root.
    let out = text(&openssl(&[
        "verify",
        "-CAfile",
        p(&tsa.root),
        "-purpose",
        "timestampsign",
        p(&tsa.leaf),
    ]));
    assert!(out.contains(": OK"), "{out}");
    let shown = text(&openssl(&["x509", "-in", p(&tsa.leaf), "-noout", "-text"]));
    assert!(
        shown.contains("X509v3 Extended Key Usage: critical"),
        "{shown}"
    );
    assert!(shown.contains("Time Stamping"), "{shown}");
    assert!(shown.contains("X509v3 Key Usage: critical"), "{shown}");
    assert!(shown.contains("Digital Signature"), "{shown}");
    assert!(shown.contains("X509v3 Authority Key Identifier"), "{shown}");
    assert!(shown.contains("X509v3 Subject Key Identifier"), "{shown}");
}

#[test]
fn dev_authority_is_created_once_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let first = dev_authority(dir.path()).unwrap();
    let second = dev_authority(dir.path()).unwrap();
    assert_eq!(first.chain(), second.chain());
    assert_eq!(first.chain().len(), 2);
    let key = dir.path().join("keys").join(tsa_server::DEV_KEY_FILE);
    assert!(dir
        .path()
        .join("keys")
        .join(tsa_server::DEV_CHAIN_FILE)
        .exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // A chain that does not fit the key is refused, not silently replaced.
    std::fs::remove_file(&key).unwrap();
    assert!(dev_authority(dir.path()).is_err());
    // Without --dev, a missing chain is an error.
    let other = tempfile::tempdir().unwrap();
    assert!(tsa_server::load_authority(
        &sigstack_keys::KeyLoader::development(),
        &other.path().join("k.pem"),
        &other.path().join("chain.pem"),
        false,
        tsa::AuthorityConfig::default()
    )
    .is_err());
}

/// An authority with a P-384 key (SHA-384 signatures), millisecond genTime and no TSA name.
fn p384_authority(config: tsa::AuthorityConfig) -> tsa::TimestampAuthority {
    use sigstack_keys::{Algorithm, Signer, SoftwareKey};
    let root_key = SoftwareKey::generate(Algorithm::EcdsaP384Sha384);
    let key = std::sync::Arc::new(SoftwareKey::generate(Algorithm::EcdsaP384Sha384));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let params = |cn: &str| tsa::CertificateParams {
        common_name: cn.into(),
        organization: "sigstack-test".into(),
        not_before: now - 60,
        lifetime_secs: 3600,
        serial: [0x42; 16],
    };
    let root = params("p384 root").self_signed_root(&root_key).unwrap();
    let leaf = params("p384 tsa")
        .tsa_leaf(key.public_key_der(), &root_key, &root)
        .unwrap();
    tsa::TimestampAuthority::new(key, vec![leaf, root], config).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p384_key_and_fractional_seconds_verify_with_openssl() {
    let config = tsa::AuthorityConfig {
        precision: tsa::TimePrecision::Millis,
        include_tsa_name: false,
        ..tsa::AuthorityConfig::default()
    };
    let tsa = serve(
        tempfile::tempdir().unwrap(),
        p384_authority(config),
        tsa_server::DEFAULT_MAX_BODY_BYTES,
    )
    .await;
    let data = tsa.path("data.bin");
    std::fs::write(&data, b"payload").unwrap();
    let tsq = tsa.path("q.tsq");
    let tsr = tsa.path("r.tsr");
    assert!(openssl(&[
        "ts",
        "-query",
        "-data",
        p(&data),
        "-sha384",
        "-cert",
        "-out",
        p(&tsq)
    ])
    .status
    .success());
    tsa.post_query(&tsq, &tsr).await;
    let out = tsa.verify(&tsq, &tsr);
    assert!(out.contains("Verification: OK"), "{out}");
    let shown = tsa.reply_text(&tsr);
    assert!(shown.contains("TSA: unspecified"), "{shown}");
}

/// sigstore-python's parser and verifier (`rfc3161-client`), when the interop virtualenv is
/// present (`.cache/interop/venv-sigstore`, made by the interop scripts). Optional: without
/// it this test says so and passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc3161_client_accepts_our_replies() {
    let python =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.cache/interop/venv-sigstore/bin/python");
    if !python.exists() {
        eprintln!(
            "rfc3161-client check not run: {} is absent",
            python.display()
        );
        return;
    }
    let script = r#"
import sys
from cryptography import x509
from rfc3161_client import decode_timestamp_response, VerifierBuilder
tsr, root, leaf, msg, nonce = sys.argv[1:6]
resp = decode_timestamp_response(open(tsr, "rb").read())
b = VerifierBuilder().add_root_certificate(x509.load_pem_x509_certificate(open(root, "rb").read()))
b = b.tsa_certificate(x509.load_pem_x509_certificate(open(leaf, "rb").read()))
if nonce != "-":
    b = b.nonce(int(nonce))
b.build().verify_message(resp, open(msg, "rb").read())
print("rfc3161-client: OK", resp.tst_info.gen_time)
"#;
    let check = |tsa: &Tsa, tsr: &Path, msg: &Path, nonce: &str| {
        let out = Command::new(&python)
            .args([
                "-c",
                script,
                p(tsr),
                p(&tsa.root),
                p(&tsa.leaf),
                p(msg),
                nonce,
            ])
            .output()
            .unwrap();
        let shown = text(&out);
        eprintln!("{shown}");
        assert!(shown.contains("rfc3161-client: OK"), "{shown}");
    };
    // Sigstore's layout: whole seconds, P-256, certReq and a nonce as sigstore-python sends.
    let tsa = start().await;
    let msg = tsa.path("sig.bin");
    std::fs::write(&msg, b"signature").unwrap();
    let nonce = 0x1234_5678_9abc_def0u64;
    let req = tsa::TimeStampRequest::new(
        tsa::HashAlgorithm::Sha256,
        sha2::Sha256::digest(b"signature").to_vec(),
    )
    .unwrap()
    .with_nonce(tsa::Nonce::from_u64(nonce))
    .with_cert_req(true);
    let tsq = tsa.path("q.tsq");
    std::fs::write(&tsq, req.to_der().unwrap()).unwrap();
    let tsr = tsa.path("r.tsr");
    tsa.post_query(&tsq, &tsr).await;
    check(&tsa, &tsr, &msg, &nonce.to_string());
    // Without certificates in the reply (the verifier has the TSA certificate).
    let req = tsa::TimeStampRequest::new(
        tsa::HashAlgorithm::Sha256,
        sha2::Sha256::digest(b"signature").to_vec(),
    )
    .unwrap();
    std::fs::write(&tsq, req.to_der().unwrap()).unwrap();
    tsa.post_query(&tsq, &tsr).await;
    check(&tsa, &tsr, &msg, "-");
    // A P-384 key (SHA-384 digest and signature) and genTime with fractional seconds.
    let config = tsa::AuthorityConfig {
        precision: tsa::TimePrecision::Millis,
        ..tsa::AuthorityConfig::default()
    };
    let tsa = serve(tempfile::tempdir().unwrap(), p384_authority(config), 1024).await;
    std::fs::write(&msg, b"signature").unwrap();
    let req = tsa::TimeStampRequest::new(
        tsa::HashAlgorithm::Sha512,
        sha2::Sha512::digest(b"signature").to_vec(),
    )
    .unwrap()
    .with_cert_req(true);
    let tsq = tsa.path("q.tsq");
    let tsr = tsa.path("r.tsr");
    std::fs::write(&tsq, req.to_der().unwrap()).unwrap();
    tsa.post_query(&tsq, &tsr).await;
    check(&tsa, &tsr, &msg, "-");
}
