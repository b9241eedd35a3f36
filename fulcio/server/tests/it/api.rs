//! The CA end to end, in process but over real HTTP: a test OIDC issuer (discovery + JWKS), our
//! CT log on SQLite, and the CA. Certificates are checked with the `ct` crate's embedded-SCT
//! verification against the CT log key, and by parsing them with `x509-cert`.

use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use base64::Engine;
use p256::ecdsa::signature::Signer as _;
use p256::pkcs8::EncodePublicKey;
use serde_json::{json, Value};
use x509_cert::der::{Decode, DecodePem};

use crate::common;

use common::{start, Stack};

impl Stack {
    /// Checks a returned chain: leaf issued by our root, embedded SCT from our CT log.
    fn check_chain(&self, answer: &Value, email: &str, spki: &[u8]) {
        let certs: Vec<x509_cert::Certificate> = answer["signedCertificateEmbeddedSct"]["chain"]
            ["certificates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| x509_cert::Certificate::from_pem(p.as_str().unwrap()).unwrap())
            .collect();
        assert_eq!(certs.len(), 2);
        use x509_cert::der::Encode;
        let leaf = certs[0].to_der().unwrap();
        assert_eq!(certs[1].to_der().unwrap(), self.root);
        ct::verify_issued_by(&leaf, &self.root).unwrap();
        ct::verify_embedded_scts(&leaf, &self.root, &self.ct_key_der).unwrap();
        assert_eq!(
            certs[0]
                .tbs_certificate
                .subject_public_key_info
                .to_der()
                .unwrap(),
            spki
        );
        let san = certs[0]
            .tbs_certificate
            .extensions
            .as_ref()
            .unwrap()
            .iter()
            .find(|e| e.extn_id.to_string() == "2.5.29.17")
            .unwrap();
        assert!(san.critical);
        assert!(san
            .extn_value
            .as_bytes()
            .windows(email.len())
            .any(|w| w == email.as_bytes()));
        let v = &certs[0].tbs_certificate.validity;
        assert_eq!(
            v.not_after.to_unix_duration() - v.not_before.to_unix_duration(),
            std::time::Duration::from_secs(600)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csr_and_public_key_requests_get_logged_certificates() {
    let stack = start(true).await;
    // sigstore-python's shape: bearer token, base64 of a PEM CSR with an empty subject.
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let csr = rcgen::CertificateParams::new(Vec::<String>::new())
        .unwrap()
        .serialize_request(&key)
        .unwrap()
        .pem()
        .unwrap();
    let (status, answer) = stack
        .sign(
            Some(&stack.issuer.token("alice@example.com")),
            json!({"certificateSigningRequest": B64.encode(csr)}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    stack.check_chain(&answer, "alice@example.com", &key.public_key_der());

    // sigstore-js's shape: token in the body, PEM public key, signature over the email.
    let signing = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    let pem = signing
        .verifying_key()
        .to_public_key_pem(p256::pkcs8::LineEnding::LF)
        .unwrap();
    let pop: p256::ecdsa::DerSignature = signing.sign(b"bob@example.com");
    let body = json!({"credentials": {"oidcIdentityToken": stack.issuer.token("bob@example.com")},
        "publicKeyRequest": {"publicKey": {"algorithm": "ECDSA", "content": pem}, "proofOfPossession": B64.encode(pop.as_bytes())}});
    let (status, answer) = stack.sign(None, body).await;
    assert_eq!(status, 200, "{answer}");
    let spki = signing.verifying_key().to_public_key_der().unwrap();
    stack.check_chain(&answer, "bob@example.com", spki.as_bytes());

    // Read endpoints.
    let bundle: Value = stack
        .client
        .get(format!("{}/api/v2/trustBundle", stack.fulcio))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        bundle["chains"][0]["certificates"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let config: Value = stack
        .client
        .get(format!("{}/api/v2/configuration", stack.fulcio))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config["issuers"][0]["issuerUrl"], stack.issuer.url);
    assert_eq!(config["issuers"][0]["challengeClaim"], "email");
    let root = stack
        .client
        .get(format!("{}/api/v1/rootCert", stack.fulcio))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        x509_cert::Certificate::load_pem_chain(root.as_bytes())
            .unwrap()
            .len(),
        1
    );
    let _ = x509_cert::Certificate::from_der(&stack.root).unwrap();
    let metrics = stack
        .client
        .get(format!("{}/metrics", stack.fulcio))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("fulcio_certificates_issued_total{issuer_type=\"email\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("fulcio_ct_submission_seconds_count 2"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tokens_and_proofs_are_refused_precisely() {
    let stack = start(true).await;
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let csr = B64.encode(
        rcgen::CertificateParams::new(Vec::<String>::new())
            .unwrap()
            .serialize_request(&key)
            .unwrap()
            .pem()
            .unwrap(),
    );
    let body = json!({"certificateSigningRequest": csr});
    let iss = &stack.issuer;
    let mut expired = iss.claims("a@example.com");
    expired["exp"] = json!(1_000_000_000);
    expired["iat"] = json!(999_999_000);
    let mut wrong_aud = iss.claims("a@example.com");
    wrong_aud["aud"] = json!("someone-else");
    let mut unverified = iss.claims("a@example.com");
    unverified["email_verified"] = json!(false);
    let mut other_issuer = iss.claims("a@example.com");
    other_issuer["iss"] = json!("https://issuer.invalid");
    let es256 = json!({"alg": "ES256", "kid": "k1"});
    let none_token = format!(
        "{}.{}.",
        B64URL.encode(json!({"alg": "none"}).to_string()),
        B64URL.encode(iss.claims("a@example.com").to_string())
    );
    let hs_token = format!(
        "{}.{}.c2ln",
        B64URL.encode(json!({"alg": "HS256"}).to_string()),
        B64URL.encode(iss.claims("a@example.com").to_string())
    );
    // Flip one character well inside the signature (the last one may carry only padding bits).
    let good = iss.token("a@example.com");
    let at = good.rfind('.').unwrap() + 10;
    let flipped = if &good[at..at + 1] == "A" { "B" } else { "A" };
    let tampered = format!("{}{flipped}{}", &good[..at], &good[at + 1..]);
    let cases: Vec<(Option<String>, &str)> = vec![
        (None, "no identity token"),
        (Some(iss.token_with(es256.clone(), expired)), "exp"),
        (Some(iss.token_with(es256.clone(), wrong_aud)), "aud"),
        (Some(iss.token_with(es256.clone(), unverified)), "email"),
        (
            Some(iss.token_with(es256.clone(), other_issuer)),
            "not configured",
        ),
        (
            Some(iss.token_with(
                json!({"alg": "ES256", "kid": "nope"}),
                iss.claims("a@example.com"),
            )),
            "nope",
        ),
        (Some(none_token), "none"),
        (Some(hs_token), "HS256"),
        (Some("garbage".into()), "refused"),
        (Some(tampered), "signature"),
    ];
    for (token, want) in cases {
        let (status, err) = stack.sign(token.as_deref(), body.clone()).await;
        assert_eq!(status, 401, "{want}: {err}");
        // grpc-gateway's shape: the gRPC code (UNAUTHENTICATED), the message, no details.
        assert_eq!(err["code"], 16, "{want}: {err}");
        assert_eq!(err["details"], json!([]), "{want}: {err}");
        let message = err["message"].as_str().unwrap();
        assert!(
            message.to_lowercase().contains(&want.to_lowercase()),
            "{want}: {message}"
        );
    }
    // Proofs of possession.
    let token = iss.token("a@example.com");
    let signing = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    let pem = signing
        .verifying_key()
        .to_public_key_pem(p256::pkcs8::LineEnding::LF)
        .unwrap();
    let wrong: p256::ecdsa::DerSignature = signing.sign(b"mallory@example.com");
    let bad_pop = json!({"publicKeyRequest": {"publicKey": {"content": pem}, "proofOfPossession": B64.encode(wrong.as_bytes())}});
    for (body, want) in [
        (bad_pop, "proof of possession refused"),
        (
            json!({"certificateSigningRequest": B64.encode("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n")}),
            "certificate signing request refused",
        ),
        (json!({"certificateSigningRequest": "%%%"}), "not base64"),
        (json!({}), "missing certificateSigningRequest"),
        (json!({"certificateSigningRequest": 7}), "expected JSON"),
    ] {
        let (status, err) = stack.sign(Some(&token), body).await;
        assert_eq!(status, 400, "{want}: {err}");
        assert_eq!(err["code"], 3, "{want}: {err}"); // INVALID_ARGUMENT
        assert!(
            err["message"].as_str().unwrap().contains(want),
            "{want}: {err}"
        );
    }
    let big = json!({"certificateSigningRequest": "A".repeat(100_000)});
    let (status, err) = stack.sign(Some(&token), big).await;
    assert_eq!(status, 413);
    assert_eq!(err["code"], 8, "{err}"); // RESOURCE_EXHAUSTED
                                         // The framework's own refusals are in the same shape.
    for (method, path, status, code) in [
        ("GET", "/api/v2/signingCert", 405, 12),
        ("GET", "/api/v2/nowhere", 404, 5),
    ] {
        let response = stack
            .client
            .request(method.parse().unwrap(), format!("{}{path}", stack.fulcio))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status, "{method} {path}");
        let err: serde_json::Value = response.json().await.unwrap();
        assert_eq!(err["code"], code, "{method} {path}: {err}");
        assert_eq!(err["details"], json!([]), "{method} {path}: {err}");
    }
    let metrics = stack
        .client
        .get(format!("{}/metrics", stack.fulcio))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("fulcio_requests_refused_total{reason=\"unauthenticated\"} 10"),
        "{metrics}"
    );
    assert!(
        metrics.contains("fulcio_requests_refused_total{reason=\"payload_too_large\"} 1"),
        "{metrics}"
    );
    assert!(
        !metrics.contains("fulcio_certificates_issued_total{"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_sct_no_certificate() {
    let stack = start(false).await;
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let csr = B64.encode(
        rcgen::CertificateParams::new(Vec::<String>::new())
            .unwrap()
            .serialize_request(&key)
            .unwrap()
            .pem()
            .unwrap(),
    );
    let (status, err) = stack
        .sign(
            Some(&stack.issuer.token("a@example.com")),
            json!({"certificateSigningRequest": csr}),
        )
        .await;
    assert_eq!(status, 503, "{err}");
    assert!(err["message"].as_str().unwrap().contains("CT log"), "{err}");
}
