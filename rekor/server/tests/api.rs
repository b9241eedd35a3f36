//! Both Rekor APIs over HTTP against a real store: entries of every kind we can make here,
//! reads, search, proofs, shards, and bad requests. Proofs, SETs and checkpoints are checked
//! with `p256` and the RFC 6962 verifier directly, not with the code that made them; the
//! interop suite checks them again with sigstore-python.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePublicKey, LineEnding};
use rekor::{Rekor, RekorConfig, ShardLayout};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use sigstack_keys::{Algorithm, SoftwareKey};
use std::sync::Arc;
use std::time::Duration;
use tlog::checkpoint::Checkpoint;
use tlog::merkle;
use tlog::note::NoteVerifier;
use tlog_store::{LogStore, SqlStore};

const HOST: &str = "rekor.test.example";

struct Keys {
    v1: Arc<SoftwareKey>,
    v2: Arc<SoftwareKey>,
}

fn keys() -> Keys {
    Keys {
        v1: Arc::new(SoftwareKey::generate(Algorithm::EcdsaP256Sha256)),
        v2: Arc::new(SoftwareKey::generate(Algorithm::Ed25519)),
    }
}

struct Server {
    url: String,
    rekor: Arc<Rekor>,
    client: reqwest::Client,
}

async fn start(store: Arc<dyn LogStore>, keys: &Keys, layout: ShardLayout) -> Server {
    start_with(store, keys, layout, None).await
}

async fn start_with(
    store: Arc<dyn LogStore>,
    keys: &Keys,
    layout: ShardLayout,
    public_url: Option<&str>,
) -> Server {
    let mut config = test_config(keys, layout);
    config.public_url = public_url.map(str::to_owned);
    start_config(store, config).await
}

fn test_config(keys: &Keys, layout: ShardLayout) -> RekorConfig {
    let mut config = RekorConfig::new(keys.v1.clone(), keys.v2.clone(), HOST, HOST, layout);
    config.log_options.sequencer.max_delay = Duration::from_millis(2);
    config.log_options.head_max_age = Duration::ZERO;
    config.limits.hashedrekord_bytes = 16 * 1024;
    config
}

async fn start_config(store: Arc<dyn LogStore>, config: RekorConfig) -> Server {
    let rekor = Rekor::open(store, config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    // `/metrics` beside the API, as the binary serves it without `--metrics-listen`.
    let app = rekor::router(rekor.clone())
        .merge(sigstack_http::metrics_router(vec![rekor.metrics().clone()]));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Server {
        url,
        rekor,
        client: reqwest::Client::new(),
    }
}

async fn sqlite_store(dir: &tempfile::TempDir) -> Arc<dyn LogStore> {
    Arc::new(
        SqlStore::connect(&format!(
            "sqlite://{}",
            dir.path().join("rekor.sqlite").display()
        ))
        .await
        .unwrap(),
    )
}

impl Server {
    async fn post_raw(
        &self,
        path: &str,
        body: Vec<u8>,
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        let r = self
            .client
            .post(format!("{}{path}", self.url))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap();
        let value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
        (status, value, headers)
    }

    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let (s, v, _) = self.post_raw(path, serde_json::to_vec(body).unwrap()).await;
        (s, v)
    }

    async fn get_text(&self, path: &str) -> (u16, String) {
        let r = self
            .client
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .client
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}")),
        )
    }

    async fn get_bytes(&self, path: &str) -> (u16, Vec<u8>) {
        let r = self
            .client
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
    }

    async fn tree_size(&self) -> u64 {
        self.get("/api/v1/log").await.1["treeSize"]
            .as_u64()
            .unwrap()
    }
}

/// A signer of artifacts: a P-256 key, with or without a certificate for it.
struct ArtifactSigner {
    key: p256::ecdsa::SigningKey,
    cert_pem: Option<String>,
}

impl ArtifactSigner {
    fn with_key() -> Self {
        Self {
            key: p256::ecdsa::SigningKey::random(&mut rand_core::OsRng),
            cert_pem: None,
        }
    }

    fn with_certificate(email: &str) -> Self {
        let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.subject_alt_names = vec![rcgen::SanType::Rfc822Name(email.try_into().unwrap())];
        let cert = params.self_signed(&kp).unwrap();
        Self {
            key: p256::ecdsa::SigningKey::from_pkcs8_der(&kp.serialize_der()).unwrap(),
            cert_pem: Some(cert.pem()),
        }
    }

    fn verifier_pem(&self) -> String {
        self.cert_pem.clone().unwrap_or_else(|| {
            self.key
                .verifying_key()
                .to_public_key_pem(LineEnding::LF)
                .unwrap()
        })
    }

    fn hashedrekord(&self, artifact: &[u8]) -> Value {
        let sig: p256::ecdsa::DerSignature = self.key.sign(artifact);
        json!({
            "apiVersion": "0.0.1",
            "kind": "hashedrekord",
            "spec": {
                "data": {"hash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(artifact))}},
                "signature": {
                    "content": B64.encode(sig.as_bytes()),
                    "publicKey": {"content": B64.encode(self.verifier_pem())}
                }
            }
        })
    }

    fn hashedrekord_v2(&self, artifact: &[u8]) -> Value {
        let sig: p256::ecdsa::DerSignature = self.key.sign(artifact);
        let der = pem_to_der(
            self.cert_pem
                .as_ref()
                .expect("v2 entries here use a certificate"),
        );
        json!({"hashedRekordRequestV002": {
            "digest": B64.encode(Sha256::digest(artifact)),
            "signature": {
                "content": B64.encode(sig.as_bytes()),
                "verifier": {
                    "x509Certificate": {"rawBytes": B64.encode(der)},
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256"
                }
            }
        }})
    }
}

fn pem_to_der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    B64.decode(body).unwrap()
}

fn hash32(hex_str: &str) -> [u8; 32] {
    hex::decode(hex_str).unwrap().try_into().unwrap()
}

/// Checks a v1 `LogEntry` the way a client does: SET, inclusion proof, checkpoint.
fn check_v1_entry(server: &Server, entry: &Value) {
    check_v1_entry_signed_by(entry, server.rekor.v1_public_key_der());
}

/// [`check_v1_entry`] for an entry of a shard signed by the key `key_der`.
fn check_v1_entry_signed_by(entry: &Value, key_der: &[u8]) {
    let log_key = p256::ecdsa::VerifyingKey::from_public_key_der(key_der).unwrap();
    let body = B64.decode(entry["body"].as_str().unwrap()).unwrap();
    let log_id = entry["logID"].as_str().unwrap();
    assert_eq!(log_id, hex::encode(sigstack_keys::key_id(key_der)));
    // The SET: RFC 8785 JSON of four members, whose keys happen to be in sorted order here.
    let payload = format!(
        r#"{{"body":"{}","integratedTime":{},"logID":"{}","logIndex":{}}}"#,
        entry["body"].as_str().unwrap(),
        entry["integratedTime"],
        log_id,
        entry["logIndex"]
    );
    let set = B64
        .decode(
            entry["verification"]["signedEntryTimestamp"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    log_key
        .verify(
            payload.as_bytes(),
            &p256::ecdsa::DerSignature::try_from(set.as_slice()).unwrap(),
        )
        .expect("SET verifies");
    let proof = &entry["verification"]["inclusionProof"];
    let hashes: Vec<[u8; 32]> = proof["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| hash32(h.as_str().unwrap()))
        .collect();
    let root = hash32(proof["rootHash"].as_str().unwrap());
    let size = proof["treeSize"].as_u64().unwrap();
    merkle::verify_inclusion(
        &merkle::leaf_hash(&body),
        proof["logIndex"].as_u64().unwrap(),
        size,
        &hashes,
        &root,
    )
    .expect("inclusion proof verifies");
    let verifier = NoteVerifier::ecdsa_rekor(HOST, key_der).unwrap();
    let (checkpoint, _) = Checkpoint::open(
        proof["checkpoint"].as_str().unwrap().as_bytes(),
        &[verifier],
    )
    .expect("checkpoint verifies");
    assert_eq!(checkpoint.size(), size);
    assert_eq!(checkpoint.root_hash(), &root);
    assert!(checkpoint.origin().starts_with(&format!("{HOST} - ")));
}

fn only_value(v: &Value) -> (&String, &Value) {
    let obj = v.as_object().expect("an object keyed by entry ID");
    assert_eq!(obj.len(), 1, "{v}");
    obj.iter().next().unwrap()
}

#[tokio::test]
async fn v1_hashedrekord_roundtrip_reads_search_and_proofs() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(sqlite_store(&dir).await, &keys(), ShardLayout::new_random()).await;
    let by_key = ArtifactSigner::with_key();
    let by_cert = ArtifactSigner::with_certificate("Alice@Example.com");

    let mut ids = Vec::new();
    for (i, signer) in [&by_key, &by_cert, &by_key].into_iter().enumerate() {
        let artifact = format!("artifact {i}");
        let (status, body, headers) = server
            .post_raw(
                "/api/v1/log/entries",
                serde_json::to_vec(&signer.hashedrekord(artifact.as_bytes())).unwrap(),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let (id, entry) = only_value(&body);
        assert_eq!(id.len(), 80);
        assert_eq!(entry["logIndex"], i as u64);
        assert_eq!(
            headers["location"].to_str().unwrap(),
            format!("/api/v1/log/entries/{id}")
        );
        check_v1_entry(&server, entry);
        ids.push(id.clone());
    }

    // Duplicate: 409 with the existing entry's location; the tree does not grow.
    let again = by_key.hashedrekord(b"artifact 0");
    let (status, body, headers) = server
        .post_raw("/api/v1/log/entries", serde_json::to_vec(&again).unwrap())
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], 409);
    assert!(body["message"].as_str().unwrap().contains(&ids[0][16..]));
    assert_eq!(
        headers["location"].to_str().unwrap(),
        format!("/api/v1/log/entries/{}", ids[0])
    );
    assert_eq!(server.tree_size().await, 3);

    // Reads: by entry ID, by UUID, by index, and retrieve; each with a valid proof.
    for path in [
        format!("/api/v1/log/entries/{}", ids[1]),
        format!("/api/v1/log/entries/{}", &ids[1][16..]),
        "/api/v1/log/entries?logIndex=1".to_string(),
    ] {
        let (status, body) = server.get(&path).await;
        assert_eq!(status, 200, "{path}: {body}");
        let (id, entry) = only_value(&body);
        assert_eq!(id, &ids[1]);
        check_v1_entry(&server, entry);
    }
    let (status, body) = server
        .post(
            "/api/v1/log/entries/retrieve",
            &json!({"entryUUIDs": [&ids[0][16..]], "logIndexes": [2, 99], "entries": [again]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.as_array().unwrap().len(), 3);
    // Go clients send null for the lists they leave empty; upstream takes null as absent.
    let (status, body) = server
        .post(
            "/api/v1/log/entries/retrieve",
            &json!({"entryUUIDs": null, "logIndexes": null, "entries": [again]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.as_array().unwrap().len(), 1);
    let (status, body) = server
        .post(
            "/api/v1/log/entries/retrieve",
            &json!({"entryUUIDs": [&ids[0][16..]], "logIndexes": null, "entries": null}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.as_array().unwrap().len(), 1);

    // Search: by artifact hash, by key (both forms), by email (case-insensitive), and/or.
    let digest = |a: &str| format!("sha256:{}", hex::encode(Sha256::digest(a.as_bytes())));
    let search = |q: Value| {
        let server = &server;
        async move {
            let (status, body) = server.post("/api/v1/index/retrieve", &q).await;
            assert_eq!(status, 200, "{q}: {body}");
            let mut uuids: Vec<String> = body
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect();
            uuids.sort();
            uuids
        }
    };
    let uuid = |i: usize| ids[i][16..].to_string();
    assert_eq!(
        search(json!({"hash": digest("artifact 1")})).await,
        vec![uuid(1)]
    );
    // As Go clients send it: every criterion left unset is null.
    assert_eq!(
        search(json!({"hash": digest("artifact 1"), "email": null, "publicKey": null, "operator": null}))
            .await,
        vec![uuid(1)]
    );
    let bare = digest("artifact 2")[7..].to_uppercase();
    assert_eq!(search(json!({"hash": bare})).await, vec![uuid(2)]);
    let mut both = vec![uuid(0), uuid(2)];
    both.sort();
    assert_eq!(
        search(
            json!({"publicKey": {"format": "x509", "content": B64.encode(by_key.verifier_pem())}})
        )
        .await,
        both
    );
    assert_eq!(
        search(json!({"email": "alice@example.com"})).await,
        vec![uuid(1)]
    );
    // By the certificate's fingerprint (SHA-256 of its DER), as openssl prints it too; it is no
    // artifact digest, so a search by hash with it finds nothing.
    let fingerprint = hex::encode(Sha256::digest(pem_to_der(&by_cert.verifier_pem())));
    let openssl_style = fingerprint
        .to_uppercase()
        .as_bytes()
        .chunks(2)
        .map(|pair| std::str::from_utf8(pair).unwrap())
        .collect::<Vec<_>>()
        .join(":");
    for term in [
        fingerprint.clone(),
        format!("sha256:{fingerprint}"),
        openssl_style,
    ] {
        assert_eq!(
            search(json!({"certificateFingerprint": term})).await,
            vec![uuid(1)]
        );
    }
    assert!(search(json!({"hash": format!("sha256:{fingerprint}")}))
        .await
        .is_empty());
    assert_eq!(
        search(json!({"certificateFingerprint": fingerprint, "email": "alice@example.com", "operator": "and"}))
            .await,
        vec![uuid(1)]
    );
    assert_eq!(
        search(
            json!({"email": "alice@example.com", "hash": digest("artifact 0"), "operator": "and"})
        )
        .await,
        Vec::<String>::new()
    );
    assert_eq!(
        search(json!({"email": "alice@example.com", "hash": digest("artifact 0")}))
            .await
            .len(),
        2
    );

    // The log, its key, and consistency proofs that verify.
    let (status, info) = server.get("/api/v1/log").await;
    assert_eq!(status, 200);
    assert_eq!(info["treeSize"], 3);
    assert!(info.get("inactiveShards").is_none());
    let (status, pem) = server.get_bytes("/api/v1/log/publicKey").await;
    assert_eq!(status, 200);
    let key = p256::PublicKey::from_public_key_pem(std::str::from_utf8(&pem).unwrap()).unwrap();
    assert_eq!(
        key.to_public_key_der().unwrap().as_bytes(),
        server.rekor.v1_public_key_der()
    );
    let new_root = hash32(info["rootHash"].as_str().unwrap());
    for old in 1..=3u64 {
        let (status, proof) = server
            .get(&format!("/api/v1/log/proof?firstSize={old}&lastSize=3"))
            .await;
        assert_eq!(status, 200, "{proof}");
        assert_eq!(proof["rootHash"], info["rootHash"]);
        let old_root = server.rekor_root(old).await;
        let hashes: Vec<[u8; 32]> = proof["hashes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| hash32(h.as_str().unwrap()))
            .collect();
        merkle::verify_consistency(old, 3, &hashes, &old_root, &new_root)
            .expect("consistency proof verifies");
    }
}

impl Server {
    /// The root of the active v1 tree at `size`, through the API: the root of a one-element
    /// proof request (`lastSize=size`).
    async fn rekor_root(&self, size: u64) -> [u8; 32] {
        let (status, proof) = self
            .get(&format!(
                "/api/v1/log/proof?firstSize={size}&lastSize={size}"
            ))
            .await;
        assert_eq!(status, 200, "{proof}");
        hash32(proof["rootHash"].as_str().unwrap())
    }
}

#[tokio::test]
async fn locations_are_absolute_under_the_public_url() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_with(
        sqlite_store(&dir).await,
        &keys(),
        ShardLayout::new_random(),
        // A reverse proxy's path prefix, and a trailing slash that must not double.
        Some("https://transparency.example/rekor/"),
    )
    .await;
    let entry = ArtifactSigner::with_key().hashedrekord(b"located");
    for want in [201, 409] {
        let (status, body, headers) = server
            .post_raw("/api/v1/log/entries", serde_json::to_vec(&entry).unwrap())
            .await;
        assert_eq!(status, want, "{body}");
        let location = headers["location"].to_str().unwrap();
        assert!(
            location.starts_with("https://transparency.example/rekor/api/v1/log/entries/"),
            "{location}"
        );
    }
}

#[tokio::test]
async fn v1_bad_requests_are_precise_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(sqlite_store(&dir).await, &keys(), ShardLayout::new_random()).await;
    let signer = ArtifactSigner::with_key();
    let good = signer.hashedrekord(b"x");
    assert_eq!(server.post("/api/v1/log/entries", &good).await.0, 201);

    let mut wrong_sig = signer.hashedrekord(b"y");
    wrong_sig["spec"]["data"] = good["spec"]["data"].clone();
    let mut unknown_kind = good.clone();
    unknown_kind["kind"] = json!("rpm");
    let mut unknown_version = good.clone();
    unknown_version["apiVersion"] = json!("9.9.9");
    let mut short_digest = signer.hashedrekord(b"z");
    short_digest["spec"]["data"]["hash"]["value"] = json!("abcd");
    let mut not_a_key = signer.hashedrekord(b"w");
    not_a_key["spec"]["signature"]["publicKey"]["content"] = json!(B64.encode("hello"));
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("not JSON", b"{nope".to_vec(), 400),
        ("empty", Vec::new(), 400),
        (
            "signature over another artifact",
            serde_json::to_vec(&wrong_sig).unwrap(),
            400,
        ),
        (
            "unknown kind",
            serde_json::to_vec(&unknown_kind).unwrap(),
            400,
        ),
        (
            "unknown version",
            serde_json::to_vec(&unknown_version).unwrap(),
            400,
        ),
        (
            "short digest",
            serde_json::to_vec(&short_digest).unwrap(),
            400,
        ),
        ("not a key", serde_json::to_vec(&not_a_key).unwrap(), 400),
    ];
    for (what, body, want) in cases {
        let (status, err, _) = server.post_raw("/api/v1/log/entries", body).await;
        assert_eq!(status, want, "{what}: {err}");
        assert_eq!(err["code"], want, "{what}");
        assert!(!err["message"].as_str().unwrap().is_empty(), "{what}");
    }
    // Over the hashedrekord limit (16 KiB here) but under the transport limit: 413 naming it.
    let mut big = good.clone();
    big["spec"]["padding"] = json!("a".repeat(20 * 1024));
    let (status, err) = server.post("/api/v1/log/entries", &big).await;
    assert_eq!(status, 413, "{err}");
    assert!(err["message"].as_str().unwrap().contains("16384"), "{err}");
    // Over the transport limit: 413 too, as JSON.
    let (status, err, _) = server
        .post_raw("/api/v1/log/entries", vec![b' '; 5 * 1024 * 1024])
        .await;
    assert_eq!(status, 413, "{err}");

    // The framework's own rejections come in the same shape: v1 as go-swagger, v2 as
    // grpc-gateway (rekor-tiles).
    for (method, path, body, want, code) in [
        (
            "GET",
            "/api/v1/log/entries?logIndex=1&logIndex=2",
            None,
            400,
            400,
        ),
        ("GET", "/api/v1/log/entries?logIndex=x", None, 400, 400),
        ("DELETE", "/api/v1/log", None, 405, 405),
        ("PUT", "/api/v1/log/entries", None, 405, 405),
        ("GET", "/api/v2/log/entries", None, 405, 12),
        ("GET", "/nowhere", None, 404, 404),
        (
            "POST",
            "/api/v1/index/retrieve",
            Some(("text/plain", "{}")),
            415,
            415,
        ),
        (
            "POST",
            "/api/v1/log/entries/retrieve",
            Some(("application/json", "{")),
            400,
            400,
        ),
    ] {
        let mut request = server
            .client
            .request(method.parse().unwrap(), format!("{}{path}", server.url));
        if let Some((content_type, body)) = body {
            request = request.header("content-type", content_type).body(body);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), want, "{method} {path}");
        assert_eq!(
            response.headers()["content-type"],
            "application/json",
            "{method} {path}"
        );
        let err: Value = response.json().await.unwrap();
        assert_eq!(err["code"], code, "{method} {path}: {err}");
        assert!(
            !err["message"].as_str().unwrap().is_empty(),
            "{method} {path}"
        );
    }
    for (path, want) in [
        (format!("/api/v1/log/entries/{}", "ab".repeat(32)), 404),
        ("/api/v1/log/entries/xyz".to_string(), 400),
        ("/api/v1/log/entries?logIndex=7".to_string(), 404),
        ("/api/v1/log/entries?logIndex=-1".to_string(), 400),
        ("/api/v1/log/proof?firstSize=1&lastSize=5".to_string(), 400),
        ("/api/v1/log/proof?firstSize=2&lastSize=1".to_string(), 400),
        ("/api/v1/log/proof".to_string(), 400),
        ("/api/v1/log?treeID=x".to_string(), 200),
        ("/api/v1/log/publicKey?treeID=12".to_string(), 404),
        ("/api/v2/tile/0/001".to_string(), 404),
        ("/api/v2/tile/nonsense".to_string(), 404),
        ("/nowhere".to_string(), 404),
    ] {
        let (status, body) = server.get_bytes(&path).await;
        assert_eq!(status, want, "{path}: {}", String::from_utf8_lossy(&body));
    }
    for (q, want) in [
        (json!({}), 400),
        (json!({"hash": "md5:00"}), 400),
        (json!({"email": "nobody"}), 400),
        (json!({"email": "a@b", "operator": "xor"}), 400),
        (json!({"certificateFingerprint": "sha256:00"}), 400),
        (json!({"certificateFingerprint": "sha384:00"}), 400),
        (json!({"unknown": 1}), 400),
        (json!({"entryUUIDs": vec!["a"; 11]}), 400),
        // null criteria are absent criteria: none left is still a refusal.
        (json!({"hash": null, "email": null, "publicKey": null}), 400),
        // An array is no request object, even where serde would read it positionally.
        (json!(["a@example.com", null, null, null]), 400),
    ] {
        let path = if q.get("entryUUIDs").is_some() {
            "/api/v1/log/entries/retrieve"
        } else {
            "/api/v1/index/retrieve"
        };
        let (status, body) = server.post(path, &q).await;
        assert_eq!(status, want, "{q}: {body}");
    }
    assert_eq!(server.tree_size().await, 1, "nothing refused was logged");
    // Every write request is counted once, by API: the entry logged, each refusal by reason.
    let (_, metrics) = server.get_bytes("/metrics").await;
    let metrics = String::from_utf8(metrics).unwrap();
    for line in [
        r#"rekor_entries_total{api="v1",kind="hashedrekord"} 1"#,
        r#"rekor_integration_seconds_count{api="v1"} 1"#,
        r#"rekor_requests_refused_total{api="v1",reason="payload_too_large"} 2"#,
    ] {
        assert!(metrics.contains(line), "{line} missing from\n{metrics}");
    }
    assert!(
        metrics.contains(r#"rekor_requests_refused_total{api="v1",reason="bad_request"}"#),
        "{metrics}"
    );
    assert!(!metrics.contains(r#"api="v2""#), "{metrics}");
}

/// A v2 entry's inclusion proof, verified against the checkpoint the entry carries, itself
/// verified with the log's key: that checkpoint and its signed note.
fn verify_v2_entry(tle: &Value, verifier: &NoteVerifier) -> (Checkpoint, Vec<u8>) {
    let body = B64
        .decode(tle["canonicalizedBody"].as_str().unwrap())
        .unwrap();
    let proof = &tle["inclusionProof"];
    let hashes: Vec<[u8; 32]> = proof["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| B64.decode(h.as_str().unwrap()).unwrap().try_into().unwrap())
        .collect();
    let root: [u8; 32] = B64
        .decode(proof["rootHash"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let size: u64 = proof["treeSize"].as_str().unwrap().parse().unwrap();
    let index: u64 = tle["logIndex"].as_str().unwrap().parse().unwrap();
    merkle::verify_inclusion(&merkle::leaf_hash(&body), index, size, &hashes, &root)
        .expect("v2 inclusion proof verifies");
    let note = proof["checkpoint"]["envelope"]
        .as_str()
        .unwrap()
        .as_bytes()
        .to_vec();
    let (checkpoint, _) =
        Checkpoint::open(&note, std::slice::from_ref(verifier)).expect("v2 checkpoint verifies");
    assert_eq!(
        (checkpoint.size(), *checkpoint.root_hash()),
        (size, root),
        "the proof is against the checkpoint it carries"
    );
    (checkpoint, note)
}

#[tokio::test]
async fn v2_entries_verify_and_tiles_serve() {
    let dir = tempfile::tempdir().unwrap();
    let keys = keys();
    let server = start(sqlite_store(&dir).await, &keys, ShardLayout::new_random()).await;
    let signer = ArtifactSigner::with_certificate("bob@example.com");
    let raw_key: [u8; 32] = server.rekor.v2_public_key_der()[12..].try_into().unwrap();
    let verifier = NoteVerifier::ed25519(HOST, &raw_key).unwrap();
    for i in 0..3u64 {
        let req = signer.hashedrekord_v2(format!("v2 artifact {i}").as_bytes());
        let (status, tle) = server.post("/api/v2/log/entries", &req).await;
        assert_eq!(status, 201, "{tle}");
        assert_eq!(tle["logIndex"], i.to_string());
        assert_eq!(
            tle["kindVersion"],
            json!({"kind": "hashedrekord", "version": "0.0.2"})
        );
        assert_eq!(tle["logId"]["keyId"], B64.encode(server.rekor.v2_log_id()));
        let (checkpoint, _) = verify_v2_entry(&tle, &verifier);
        assert_eq!(checkpoint.origin(), HOST);
        // A duplicate is refused with 409.
        let (status, err) = server.post("/api/v2/log/entries", &req).await;
        assert_eq!(status, 409, "{err}");
    }
    let (status, note) = server.get_bytes("/api/v2/checkpoint").await;
    assert_eq!(status, 200);
    let (checkpoint, _) = Checkpoint::open(&note, &[verifier]).unwrap();
    assert_eq!(checkpoint.size(), 3);
    let (status, tile) = server.get_bytes("/api/v2/tile/0/000.p/3").await;
    assert_eq!(status, 200);
    assert_eq!(tile.len(), 3 * 32);
    let (status, bundle) = server.get_bytes("/api/v2/tile/entries/000.p/3").await;
    assert_eq!(status, 200);
    // C2SP tlog-tiles: length-prefixed entries whose leaf hashes are the level-0 tile's.
    let entries = tlog::tile::decode_bundle(&bundle).expect("a tlog-tiles entry bundle");
    assert_eq!(entries.len(), 3);
    for (i, entry) in entries.iter().enumerate() {
        assert_eq!(
            tlog::merkle::leaf_hash(entry).as_slice(),
            &tile[i * 32..(i + 1) * 32],
            "entry {i}"
        );
    }
    // Bad v2 requests.
    let mut wrong = signer.hashedrekord_v2(b"other");
    wrong["hashedRekordRequestV002"]["digest"] = json!(B64.encode([0u8; 32]));
    for (what, body) in [
        ("not JSON", b"[".to_vec()),
        ("no request", b"{}".to_vec()),
        ("wrong digest", serde_json::to_vec(&wrong).unwrap()),
    ] {
        let (status, err, _) = server.post_raw("/api/v2/log/entries", body).await;
        assert_eq!(status, 400, "{what}: {err}");
    }
    assert_eq!(checkpoint.size(), 3);
}

/// The checkpoint `path` serves once it has grown to `size`, each answer on the way verified
/// with the log's key, meeting `policy` and, if given, naming `origin` (503 while nothing
/// witnessed is there yet).
async fn wait_witnessed(
    server: &Server,
    path: &str,
    verifier: &NoteVerifier,
    policy: &witness::WitnessPolicy,
    origin: Option<&str>,
    size: u64,
) -> Checkpoint {
    let mut last = None;
    for _ in 0..250 {
        let (status, note) = server.get_bytes(path).await;
        if status == 200 {
            let parsed = tlog::note::Note::parse(&note).unwrap();
            let (checkpoint, _) = Checkpoint::open(&note, std::slice::from_ref(verifier)).unwrap();
            if let Some(origin) = origin {
                assert_eq!(checkpoint.origin(), origin);
            }
            assert_eq!(policy.check(&parsed), Ok(1));
            if checkpoint.size() == size {
                return checkpoint;
            }
            last = Some(checkpoint.size());
        } else {
            assert_eq!(status, 503);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{path} did not reach size {size} (last seen: {last:?})");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_of_both_apis_are_witnessed() {
    let dir = tempfile::tempdir().unwrap();
    let keys = keys();
    let raw_key: [u8; 32] = sigstack_keys::Signer::public_key_der(keys.v2.as_ref())[12..]
        .try_into()
        .unwrap();
    let log_verifier = NoteVerifier::ed25519(HOST, &raw_key).unwrap();
    // Our witness, following this log.
    let cosigner = witness::Cosigner::new(
        "witness.test.example",
        Arc::new(SoftwareKey::generate(Algorithm::Ed25519)),
    )
    .unwrap();
    // It follows the v2 log and, by the v1 key (ECDSA, named for the host), the v1 shard.
    let v1_verifier = NoteVerifier::ecdsa_rekor(
        HOST,
        sigstack_keys::Signer::public_key_der(keys.v1.as_ref()),
    )
    .unwrap();
    let layout = ShardLayout::new_random();
    let mut logs = vec![witness::Log::new(
        HOST,
        vec![witness::LogKey::from_note_verifier(log_verifier.clone())],
    )
    .unwrap()];
    logs.push(
        witness::Log::new(
            format!("{HOST} - {}", layout.active),
            vec![witness::LogKey::from_note_verifier(v1_verifier.clone())],
        )
        .unwrap(),
    );
    let logs = witness::LogList::new(logs).unwrap();
    let witness_store = Arc::new(
        witness_server::SqlWitnessStore::connect(&format!(
            "sqlite://{}",
            dir.path().join("witness.sqlite").display()
        ))
        .await
        .unwrap(),
    );
    let witness = witness_server::WitnessServer::new(
        witness::Witness::new(logs),
        cosigner.clone(),
        witness_store,
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let witness_url = format!("http://{}", listener.local_addr().unwrap());
    let router = witness_server::router(Arc::new(witness));
    tokio::spawn(async move { axum::serve(listener, router).await });

    let v1_origin = format!("{HOST} - {}", layout.active);
    let mut config = test_config(&keys, layout);
    let policy = witness::WitnessPolicy::new(vec![cosigner.verifier().clone()], 1).unwrap();
    config.v1_witnessing = Some(witness_client::Witnessing {
        witnesses: vec![witness_client::WitnessClient::new(
            &witness_url,
            cosigner.verifier().clone(),
        )
        .unwrap()],
        policy: policy.clone(),
        interval: Duration::from_millis(20),
        mode: witness_client::WitnessMode::FailOpen,
    });
    config.v2_witnessing = Some(witness_client::Witnessing {
        witnesses: vec![witness_client::WitnessClient::new(
            &witness_url,
            cosigner.verifier().clone(),
        )
        .unwrap()],
        policy: policy.clone(),
        interval: Duration::from_millis(20),
        mode: witness_client::WitnessMode::FailClosed {
            timeout: Duration::from_secs(30),
        },
    });
    let server = start_config(sqlite_store(&dir).await, config).await;
    let signer = ArtifactSigner::with_certificate("carol@example.com");
    // Fail-closed, v2 entries come with a cosigned checkpoint that contains them: the round's
    // or a later one (three at once make several rounds).
    let entries: Vec<Value> = (0..4u64)
        .map(|i| signer.hashedrekord_v2(format!("witnessed {i}").as_bytes()))
        .collect();
    let (a, b, c) = tokio::join!(
        server.post("/api/v2/log/entries", &entries[0]),
        server.post("/api/v2/log/entries", &entries[1]),
        server.post("/api/v2/log/entries", &entries[2]),
    );
    for (status, tle) in [
        a,
        b,
        c,
        server.post("/api/v2/log/entries", &entries[3]).await,
    ] {
        assert_eq!(status, 201, "{tle}");
        let (_, note) = verify_v2_entry(&tle, &log_verifier);
        assert_eq!(
            policy.check(&tlog::note::Note::parse(&note).unwrap()),
            Ok(1)
        );
    }
    // The witnessed checkpoint catches up with the log, cosigned, the log's signature kept.
    let checkpoint = wait_witnessed(
        &server,
        "/api/v2/checkpoint/witnessed",
        &log_verifier,
        &policy,
        None,
        4,
    )
    .await;
    assert_eq!(checkpoint.size(), 4);
    // The v1 shard too: two entries, witnessed.
    for i in 0..2u64 {
        let req = signer.hashedrekord(format!("witnessed v1 {i}").as_bytes());
        assert_eq!(server.post("/api/v1/log/entries", &req).await.0, 201);
    }
    let checkpoint = wait_witnessed(
        &server,
        "/api/v1/log/checkpoint/witnessed",
        &v1_verifier,
        &policy,
        Some(&v1_origin),
        2,
    )
    .await;
    assert_eq!(checkpoint.size(), 2);
    // The policies, as C2SP tlog-policy files; v1's names its key for the host its checkpoints
    // are signed under.
    for (path, log_vkey) in [
        ("/api/v2/witness-policy", log_verifier.to_vkey()),
        ("/api/v1/log/witness-policy", v1_verifier.to_vkey()),
    ] {
        let (status, policy_file) = server.get_bytes(path).await;
        assert_eq!(status, 200);
        assert_eq!(
            String::from_utf8(policy_file).unwrap(),
            format!(
                "log {log_vkey}\nwitness w1 {} {witness_url}\ngroup witnesses 1 w1\nquorum witnesses\n",
                cosigner.verifier().to_vkey()
            )
        );
    }
    // A Rekor without witnesses has no witnessed checkpoint.
    let plain_dir = tempfile::tempdir().unwrap();
    let plain = start(
        sqlite_store(&plain_dir).await,
        &keys,
        ShardLayout::new_random(),
    )
    .await;
    assert_eq!(plain.get_bytes("/api/v2/checkpoint/witnessed").await.0, 404);
    assert_eq!(plain.get_bytes("/api/v2/witness-policy").await.0, 404);
    assert_eq!(
        plain.get_bytes("/api/v1/log/checkpoint/witnessed").await.0,
        404
    );
    assert_eq!(plain.get_bytes("/api/v1/log/witness-policy").await.0, 404);
}

#[tokio::test]
async fn shards_freeze_and_global_indexes_continue() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(&dir).await;
    let keys = keys();
    let mut layout = ShardLayout::new_random();
    let first_tree = layout.active;
    let signer = ArtifactSigner::with_key();
    let mut first_ids = Vec::new();
    {
        let server = start(store.clone(), &keys, layout.clone()).await;
        for i in 0..3 {
            let (status, body) = server
                .post(
                    "/api/v1/log/entries",
                    &signer.hashedrekord(format!("shard one {i}").as_bytes()),
                )
                .await;
            assert_eq!(status, 201, "{body}");
            first_ids.push(only_value(&body).0.clone());
        }
    }
    let second_tree = layout.rotate();
    let server = start(store, &keys, layout).await;
    let (status, body) = server
        .post("/api/v1/log/entries", &signer.hashedrekord(b"shard two 0"))
        .await;
    assert_eq!(status, 201, "{body}");
    let (id, entry) = only_value(&body);
    assert_eq!(&id[..16], format!("{second_tree:016x}"));
    assert_eq!(entry["logIndex"], 3, "indexes are global across shards");
    assert_eq!(entry["verification"]["inclusionProof"]["logIndex"], 0);
    check_v1_entry(&server, entry);
    // The frozen shard still serves its entries and proofs, by index, UUID and entry ID.
    let (status, body) = server.get("/api/v1/log/entries?logIndex=1").await;
    assert_eq!(status, 200, "{body}");
    let (id, entry) = only_value(&body);
    assert_eq!(id, &first_ids[1]);
    assert_eq!(&id[..16], format!("{first_tree:016x}"));
    check_v1_entry(&server, entry);
    let (status, _) = server
        .get(&format!("/api/v1/log/entries/{}", first_ids[2]))
        .await;
    assert_eq!(status, 200);
    let (_, info) = server.get("/api/v1/log").await;
    assert_eq!(info["treeID"], second_tree.to_string());
    assert_eq!(info["treeSize"], 1);
    assert_eq!(info["inactiveShards"][0]["treeID"], first_tree.to_string());
    assert_eq!(info["inactiveShards"][0]["treeSize"], 3);
    let (status, proof) = server
        .get(&format!(
            "/api/v1/log/proof?firstSize=1&lastSize=3&treeID={first_tree}"
        ))
        .await;
    assert_eq!(status, 200, "{proof}");
    // Search spans shards.
    let (_, found) = server
        .post(
            "/api/v1/index/retrieve",
            &json!({"publicKey": {"format": "pkix", "content": B64.encode(signer.verifier_pem())}}),
        )
        .await;
    assert_eq!(found.as_array().unwrap().len(), 4, "{found}");
}

#[tokio::test]
async fn a_v1_key_rotation_freezes_the_shard_which_keeps_its_own_key() {
    use sigstack_keys::Signer as _;
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(&dir).await;
    let old = keys();
    let mut layout = ShardLayout::new_random();
    let first_tree = layout.active;
    let signer = ArtifactSigner::with_key();
    {
        let server = start(store.clone(), &old, layout.clone()).await;
        let (status, body) = server
            .post(
                "/api/v1/log/entries",
                &signer.hashedrekord(b"under the old key"),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    // The rotation: the active shard freezes with the old key; a new key signs the new shard.
    layout.rotate_key("retired-v1.pem".into());
    let new_v1 = Arc::new(SoftwareKey::generate(Algorithm::EcdsaP256Sha256));
    let mut config = RekorConfig::new(new_v1.clone(), old.v2.clone(), HOST, HOST, layout);
    config
        .v1_shard_keys
        .insert(first_tree, old.v1.clone() as Arc<dyn sigstack_keys::Signer>);
    let server = start_config(store, config).await;
    let (status, body) = server
        .post(
            "/api/v1/log/entries",
            &signer.hashedrekord(b"under the new key"),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (_, entry) = only_value(&body);
    check_v1_entry_signed_by(entry, new_v1.public_key_der());
    // The frozen shard's entry still carries, and is signed by, the old key's log ID.
    let (status, body) = server.get("/api/v1/log/entries?logIndex=0").await;
    assert_eq!(status, 200, "{body}");
    let (_, entry) = only_value(&body);
    check_v1_entry_signed_by(entry, old.v1.public_key_der());
    // Each shard's public key, as upstream serves it by treeID.
    let (status, pem) = server
        .get_text(&format!("/api/v1/log/publicKey?treeID={first_tree}"))
        .await;
    assert_eq!(status, 200);
    let old_pem = pem_rfc7468::encode_string(
        "PUBLIC KEY",
        pem_rfc7468::LineEnding::LF,
        old.v1.public_key_der(),
    )
    .unwrap();
    assert_eq!(pem, old_pem);
    // A key of another type for a frozen shard is refused at start.
    let dir = tempfile::tempdir().unwrap();
    let mut layout = ShardLayout::new_random();
    let frozen = layout.active;
    layout.rotate_key("x.pem".into());
    let mut config = RekorConfig::new(old.v1.clone(), old.v2.clone(), HOST, HOST, layout);
    config
        .v1_shard_keys
        .insert(frozen, old.v2.clone() as Arc<dyn sigstack_keys::Signer>);
    assert!(Rekor::open(sqlite_store(&dir).await, config).await.is_err());
}

#[tokio::test]
async fn a_v2_key_rotation_freezes_the_v2_log_which_keeps_serving_under_its_own_key() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(&dir).await;
    let old = keys();
    let mut layout = ShardLayout::new_random();
    let signer = ArtifactSigner::with_certificate("bob@example.com");
    let old_log_id = {
        let server = start(store.clone(), &old, layout.clone()).await;
        let (status, tle) = server
            .post(
                "/api/v2/log/entries",
                &signer.hashedrekord_v2(b"under the old key"),
            )
            .await;
        assert_eq!(status, 201, "{tle}");
        server.rekor.v2_log_id()
    };
    // The rotation: v2 generation 1 freezes with the old key; generation 2, at its own path and
    // origin, takes the new key.
    assert_eq!(layout.rotate_v2_key("retired-v2.pem".into()), 2);
    let new_v2 = Arc::new(SoftwareKey::generate(Algorithm::Ed25519));
    let mut config = RekorConfig::new(old.v1.clone(), new_v2.clone(), HOST, HOST, layout);
    config.v2_frozen_keys = vec![old.v2.clone() as Arc<dyn sigstack_keys::Signer>];
    let server = start_config(store, config).await;
    let new_origin = format!("{HOST}/v2-shards/2");
    assert_eq!(server.rekor.v2_origin(), new_origin);
    assert_eq!(server.rekor.v2_path(), "/v2-shards/2");
    assert_ne!(server.rekor.v2_log_id(), old_log_id);
    let raw = |key: &dyn sigstack_keys::Signer| -> [u8; 32] {
        key.public_key_der()[12..].try_into().unwrap()
    };
    let new_verifier = NoteVerifier::ed25519(&new_origin, &raw(new_v2.as_ref())).unwrap();
    let old_verifier = NoteVerifier::ed25519(HOST, &raw(old.v2.as_ref())).unwrap();
    let (status, tle) = server
        .post(
            "/v2-shards/2/api/v2/log/entries",
            &signer.hashedrekord_v2(b"under the new key"),
        )
        .await;
    assert_eq!(status, 201, "{tle}");
    assert_eq!(tle["logIndex"], "0");
    assert_eq!(tle["logId"]["keyId"], B64.encode(server.rekor.v2_log_id()));
    let envelope = tle["inclusionProof"]["checkpoint"]["envelope"]
        .as_str()
        .unwrap();
    let (checkpoint, _) =
        Checkpoint::open(envelope.as_bytes(), std::slice::from_ref(&new_verifier)).unwrap();
    assert_eq!(checkpoint.origin(), new_origin);
    // The frozen log refuses entries, precisely, in the v2 API's error shape, and does not grow.
    let (status, err) = server
        .post(
            "/api/v2/log/entries",
            &signer.hashedrekord_v2(b"too late for the old log"),
        )
        .await;
    assert_eq!(status, 403, "{err}");
    assert!(err["message"].as_str().unwrap().contains("frozen"), "{err}");
    assert_eq!(err["code"], 7, "{err}");
    // It keeps serving its checkpoint (signed by the old key under the old origin) and tiles.
    let (status, note) = server.get_bytes("/api/v2/checkpoint").await;
    assert_eq!(status, 200);
    let (checkpoint, _) = Checkpoint::open(&note, &[old_verifier]).unwrap();
    assert_eq!((checkpoint.origin(), checkpoint.size()), (HOST, 1));
    let (status, tile) = server.get_bytes("/api/v2/tile/0/000.p/1").await;
    assert_eq!((status, tile.len()), (200, 32));
    let (status, note) = server.get_bytes("/v2-shards/2/api/v2/checkpoint").await;
    assert_eq!(status, 200);
    assert_eq!(
        Checkpoint::open(&note, &[new_verifier]).unwrap().0.size(),
        1
    );
    // A shard that does not exist is not found.
    let (status, _) = server.get_bytes("/v2-shards/3/api/v2/checkpoint").await;
    assert_eq!(status, 404);
    // A frozen v2 key of another type is refused at start.
    let mut layout = ShardLayout::new_random();
    layout.rotate_v2_key("x.pem".into());
    let mut config = RekorConfig::new(old.v1.clone(), old.v2.clone(), HOST, HOST, layout);
    config.v2_frozen_keys = vec![old.v1.clone() as Arc<dyn sigstack_keys::Signer>];
    let dir = tempfile::tempdir().unwrap();
    assert!(Rekor::open(sqlite_store(&dir).await, config).await.is_err());
}
