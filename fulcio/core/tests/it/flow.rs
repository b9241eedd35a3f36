//! End to end through the public API: a GitHub Actions style token signed with EdDSA, verified
//! against the upstream config, mapped to a principal, proven with an OpenSSL-made signature
//! over its subject, and rendered to the exact extensions of the real staging certificate.

use crate::common;

use std::path::PathBuf;

fn vectors() -> PathBuf {
    sigstack_test_vectors::dir()
}

#[test]
fn github_actions_request_end_to_end() {
    let common::GithubActionsRequest {
        config,
        jwks,
        token,
        now,
    } = common::github_actions_request();

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
