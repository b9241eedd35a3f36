//! End to end through the public API: a GitHub Actions style token signed with EdDSA, verified
//! against the upstream config, mapped to a principal, proven with an OpenSSL-made signature
//! over its subject, and rendered to the exact extensions of the real staging certificate.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::Signer as _;
use serde_json::json;
use std::path::PathBuf;

fn vectors() -> PathBuf {
    sigstack_test_vectors::dir()
}

#[test]
fn github_actions_request_end_to_end() {
    let config = fulcio::FulcioConfig::parse(
        &std::fs::read(vectors().join("fulcio/config/identity-config.yaml")).unwrap(),
    )
    .unwrap();
    let now = 1_783_500_000;
    let key = ed25519_dalek::SigningKey::from_bytes(&[42; 32]);
    let jwks = fulcio::Jwks::from_json(
        json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "k1", "use": "sig",
            "x": URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes())}]})
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    let claims = json!({
        "iss": "https://token.actions.githubusercontent.com", "aud": "sigstore",
        "exp": now + 300, "iat": now - 5, "nbf": now - 5,
        "sub": "repo:sigstore/root-signing-staging:ref:refs/heads/main",
        "ref": "refs/heads/main", "sha": "1e0a247d769aabbd10e21c3456c51fc801fe8b26",
        "repository": "sigstore/root-signing-staging", "repository_owner": "sigstore",
        "repository_owner_id": "71096353", "repository_id": "709918736",
        "repository_visibility": "public", "run_id": "28919686714", "run_attempt": "1",
        "workflow": "TUF-on-CI repository tests", "event_name": "schedule",
        "workflow_ref": "sigstore/root-signing-staging/.github/workflows/test.yml@refs/heads/main",
        "workflow_sha": "1e0a247d769aabbd10e21c3456c51fc801fe8b26",
        "job_workflow_ref": "sigstore/root-signing-staging/.github/workflows/custom-test.yml@refs/heads/main",
        "job_workflow_sha": "1e0a247d769aabbd10e21c3456c51fc801fe8b26",
        "runner_environment": "github-hosted"
    });
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(json!({"alg": "EdDSA", "kid": "k1"}).to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let token = format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(key.sign(input.as_bytes()).to_bytes())
    );

    let iss = fulcio::unverified_issuer(&token).unwrap();
    let issuer = config.issuer(&iss).unwrap();
    let verified = fulcio::verify_token(&token, &issuer, &jwks, now).unwrap();
    // Unknown kid after key rotation is distinguishable, so the server can refresh its JWKS.
    let rotated = fulcio::Jwks::default();
    assert!(matches!(
        fulcio::verify_token(&token, &issuer, &rotated, now),
        Err(fulcio::TokenError::UnknownKeyId(_))
    ));
    let principal = fulcio::principal_from_token(&verified, &issuer, &config).unwrap();
    assert_eq!(
        principal.challenge,
        "repo:sigstore/root-signing-staging:ref:refs/heads/main"
    );

    // Proof of possession by a CSR (OpenSSL-made, P-256).
    let td = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let k = fulcio::verify_csr(&std::fs::read(td.join("p256.csr.pem")).unwrap()).unwrap();
    assert_eq!(k.key_type, fulcio::KeyType::EcdsaP256);
    // A signed challenge over another subject is refused.
    let e = fulcio::verify_signed_challenge(
        &std::fs::read(td.join("p256.pub.pem")).unwrap(),
        &std::fs::read(td.join("p256.challenge.sig")).unwrap(),
        &principal.challenge,
    )
    .unwrap_err();
    assert!(matches!(
        e,
        fulcio::PopError::ChallengeSignatureInvalid { .. }
    ));

    let got: Vec<(String, bool, String)> = std::iter::once(fulcio::subject_alt_name(&principal))
        .chain(fulcio::sigstore_extensions(&principal))
        .map(|e| (e.oid.to_string(), e.critical, hex::encode(e.value)))
        .collect();
    let leaf: serde_json::Value = serde_json::from_slice(
        &std::fs::read(vectors().join("fulcio/staging/leaf-github-actions-token-subject.json"))
            .unwrap(),
    )
    .unwrap();
    let want: Vec<(String, bool, String)> = leaf["extensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["oid"].as_str().unwrap().to_owned(),
                e["critical"].as_bool().unwrap(),
                e["value_der_hex"].as_str().unwrap().to_owned(),
            )
        })
        .filter(|(oid, ..)| oid == "2.5.29.17" || oid.starts_with("1.3.6.1.4.1.57264."))
        .collect();
    assert_eq!(got, want);
}
