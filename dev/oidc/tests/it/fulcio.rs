//! THE REAL CHECK: tokens from the development issuer are accepted by our Fulcio, found through
//! the issuer's own discovery document and JWKS, and a certificate is issued for the e-mail.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use dev_oidc::fulcio_issuer_yaml;
use p256::pkcs8::EncodePublicKey as _;
use serde_json::{json, Value};
use x509_cert::der::{Decode as _, DecodePem as _};

fn fulcio_config(issuer_url: &str) -> fulcio::FulcioConfig {
    fulcio::FulcioConfig::parse(fulcio_issuer_yaml(issuer_url).as_bytes())
        .expect("Fulcio parses the development issuer's config snippet")
}

#[test]
fn fulcio_parses_the_config_snippet() {
    for url in [
        "http://127.0.0.1:5556",
        "http://localhost:5556/",
        "http://[::1]:5556",
    ] {
        let config = fulcio_config(url);
        let issuer = config.issuer(url).expect("issuer configured");
        assert_eq!(issuer.issuer_url, url);
        assert_eq!(issuer.client_id, "sigstore");
        assert_eq!(issuer.issuer_type, fulcio::IssuerType::Email);
        assert!(!issuer.skip_email_verification_unsafe);
        assert_eq!(issuer.challenge_claim(), "email");
    }
}

#[tokio::test]
async fn fulcio_token_verification_accepts_dev_tokens() {
    let run = common::start().await;
    let config = fulcio_config(&run.url);
    let issuer = config.issuer(&run.url).unwrap();
    // Fulcio's own key discovery: discovery document, issuer check, jwks_uri.
    let cache = fulcio_server::oidc::KeyCache::new(Duration::from_secs(30));
    let jwks = cache.keys(&issuer).await.expect("Fulcio fetches the JWKS");

    let token = dev_oidc::fetch_token(&run.url, "alice@example.com", "sigstore")
        .await
        .unwrap();
    let now = common::now();
    let verified = fulcio::verify_token(&token, &issuer, &jwks, now).expect("Fulcio verifies");
    assert_eq!(verified.algorithm, "ES256");
    assert_eq!(verified.subject, "alice@example.com");
    let principal = fulcio::principal_from_token(&verified, &issuer, &config).unwrap();
    assert_eq!(
        principal.san,
        fulcio::SubjectAltName::Email("alice@example.com".into())
    );
    assert_eq!(principal.issuer, run.url);
    assert_eq!(principal.challenge, "alice@example.com");

    // What Fulcio must refuse: another audience, and an expired token.
    let other = run.issuer.mint("alice@example.com", "other", now).unwrap();
    assert!(matches!(
        fulcio::verify_token(&other, &issuer, &jwks, now),
        Err(fulcio::TokenError::WrongAudience { .. })
    ));
    let old = run
        .issuer
        .mint("alice@example.com", "sigstore", now - 3600)
        .unwrap();
    assert!(matches!(
        fulcio::verify_token(&old, &issuer, &jwks, now),
        Err(fulcio::TokenError::Expired { .. })
    ));
    // Another issuer's token (another key, another URL) is not this issuer's.
    let stranger = common::start().await;
    let foreign = stranger
        .issuer
        .mint("alice@example.com", "sigstore", now)
        .unwrap();
    assert!(matches!(
        fulcio::verify_token(&foreign, &issuer, &jwks, now),
        Err(fulcio::TokenError::WrongIssuer { .. })
    ));
}

/// Our Fulcio service, its CT log on SQLite, and the development issuer, each on a loopback
/// port; a sigstore-js style request (public key + proof of possession over the e-mail).
#[tokio::test]
async fn fulcio_server_issues_a_certificate_for_a_dev_token() {
    let run = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let ca = fulcio::CertificateAuthority::ephemeral("sigstack dev-oidc test CA", 1_700_000_000)
        .unwrap();
    let root = ca.chain().last().unwrap().clone();
    let store: Arc<dyn tlog_store::LogStore> = Arc::new(
        tlog_store::SqlStore::connect(&format!(
            "sqlite://{}",
            dir.path().join("ct.sqlite").display()
        ))
        .await
        .unwrap(),
    );
    let ct_key = Arc::new(sigstack_keys::SoftwareKey::generate(
        sigstack_keys::Algorithm::EcdsaP256Sha256,
    ));
    let ctlog = ctlog::CtLog::open(
        store,
        ctlog::CtLogConfig::new("ct.test/log", ct_key, vec![root]),
    )
    .await
    .unwrap();
    let ct_url = serve(ctlog::router(ctlog)).await;
    let server = fulcio_server::FulcioServer::new(fulcio_config(&run.url), ca, &ct_url);
    let fulcio_url = serve(fulcio_server::router(server)).await;

    let email = "alice@example.com";
    let token = dev_oidc::fetch_token(&run.url, email, "sigstore")
        .await
        .unwrap();
    let key = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    let pem = key
        .verifying_key()
        .to_public_key_pem(p256::pkcs8::LineEnding::LF)
        .unwrap();
    let proof: p256::ecdsa::Signature =
        p256::ecdsa::signature::Signer::sign(&key, email.as_bytes());
    let answer = reqwest::Client::new()
        .post(format!("{fulcio_url}/api/v2/signingCert"))
        .json(&json!({
            "credentials": {"oidcIdentityToken": token},
            "publicKeyRequest": {
                "publicKey": {"algorithm": "ECDSA", "content": pem},
                "proofOfPossession": B64.encode(proof.to_der().as_bytes()),
            }
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let body: Value = answer.json().await.unwrap();
    let chain = body["signedCertificateEmbeddedSct"]["chain"]["certificates"]
        .as_array()
        .unwrap_or_else(|| panic!("no chain in {body}"));
    assert!(chain.len() >= 2);
    let leaf = x509_cert::Certificate::from_pem(chain[0].as_str().unwrap()).unwrap();
    let extensions = leaf.tbs_certificate.extensions.unwrap();
    let san = extensions
        .iter()
        .find(|e| e.extn_id == const_oid_san())
        .expect("SAN extension");
    let names = x509_cert::ext::pkix::SubjectAltName::from_der(san.extn_value.as_bytes()).unwrap();
    assert_eq!(names.0.len(), 1);
    match &names.0[0] {
        x509_cert::ext::pkix::name::GeneralName::Rfc822Name(n) => assert_eq!(n.as_str(), email),
        other => panic!("SAN is {other:?}, not an rfc822Name"),
    }
    // The issuer extension (1.3.6.1.4.1.57264.1.1, raw string) names the development issuer.
    let issuer_ext = extensions
        .iter()
        .find(|e| e.extn_id.to_string() == "1.3.6.1.4.1.57264.1.1")
        .expect("issuer extension");
    assert_eq!(issuer_ext.extn_value.as_bytes(), run.url.as_bytes());
}

fn const_oid_san() -> x509_cert::der::oid::ObjectIdentifier {
    x509_cert::der::oid::ObjectIdentifier::new_unwrap("2.5.29.17")
}

async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}
