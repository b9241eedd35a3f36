//! The request both integration tests start from: a GitHub Actions token (the claims behind the
//! real staging certificate in the vectors), signed with EdDSA by a test issuer key.
#![allow(dead_code)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::Signer as _;
use serde_json::json;

/// A GitHub Actions request: the upstream config, the issuer's JWKS, the token, and the time
/// (Unix seconds) at which the token is valid.
pub(crate) struct GithubActionsRequest {
    pub(crate) config: fulcio::FulcioConfig,
    pub(crate) jwks: fulcio::Jwks,
    pub(crate) token: String,
    pub(crate) now: i64,
}

pub(crate) fn github_actions_request() -> GithubActionsRequest {
    let config = fulcio::FulcioConfig::parse(
        &std::fs::read(sigstack_test_vectors::dir().join("fulcio/config/identity-config.yaml"))
            .unwrap(),
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
    GithubActionsRequest {
        config,
        jwks,
        token,
        now,
    }
}
