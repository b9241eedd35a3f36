//! Identity mapping through the service, over HTTP: a GitHub-Actions-shaped token (the claims of
//! a real GitHub Actions token, under upstream Fulcio's own `ci-issuer-metadata` for GitHub) and
//! a Kubernetes service-account token (under a meta-issuer, one per cluster), each turned into
//! a certificate whose SAN and every Sigstore extension (1.3.6.1.4.1.57264.1.1–.1.24, see
//! upstream `docs/oid-info.md`) is read back and compared with the value the claims must give.
//! The values are decoded here (DER UTF8String, raw bytes for the deprecated .1.1–.1.6)
//! independently of the encoder in `fulcio::profile`.

use crate::common;

use std::collections::BTreeMap;

use common::{extensions, now, start_with, Setup};
use serde_json::json;
use x509_cert::der::asn1::Utf8StringRef;
use x509_cert::der::Decode;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::SubjectAltName;

const GITHUB: &str = "https://token.actions.githubusercontent.com";

/// Upstream's production config (the vectors' copy), with its GitHub Actions issuer moved to the
/// test issuer's URL: the same `ci-provider` type and the same templates.
fn github_config(url: &str) -> fulcio::FulcioConfig {
    let mut config = fulcio::FulcioConfig::parse(
        &std::fs::read(sigstack_test_vectors::dir().join("fulcio/config/identity-config.yaml"))
            .unwrap(),
    )
    .unwrap();
    let mut github = config.oidc_issuers[GITHUB].clone();
    github.issuer_url = url.to_owned();
    config.oidc_issuers = BTreeMap::from([(url.to_owned(), github)]);
    config.meta_issuers.clear();
    config.validate().unwrap();
    config
}

/// A meta-issuer for every loopback port, as a deployment lists one pattern for its clusters.
fn kubernetes_config(_url: &str) -> fulcio::FulcioConfig {
    fulcio::FulcioConfig::parse(
        b"meta-issuers:\n  http://127.0.0.1:*:\n    client-id: sigstore\n    type: kubernetes\n",
    )
    .unwrap()
}

fn san(exts: &BTreeMap<String, (bool, Vec<u8>)>) -> Vec<String> {
    let (critical, value) = &exts["2.5.29.17"];
    assert!(critical, "the SAN must be critical: the subject is empty");
    SubjectAltName::from_der(value)
        .unwrap()
        .0
        .iter()
        .map(|n| match n {
            GeneralName::UniformResourceIdentifier(u) => format!("URI:{}", u.as_str()),
            GeneralName::Rfc822Name(e) => format!("email:{}", e.as_str()),
            other => format!("other:{other:?}"),
        })
        .collect()
}

/// The 1.3.6.1.4.1.57264.1.N extensions, decoded: raw bytes for N <= 6, UTF8String from 8 on.
/// All must be non-critical.
fn sigstore_values(exts: &BTreeMap<String, (bool, Vec<u8>)>) -> BTreeMap<u32, String> {
    exts.iter()
        .filter_map(|(oid, (critical, value))| {
            let arc: u32 = oid.strip_prefix("1.3.6.1.4.1.57264.1.")?.parse().unwrap();
            assert!(!critical, "{oid} must not be critical");
            let text = if arc <= 6 {
                String::from_utf8(value.clone()).unwrap()
            } else {
                Utf8StringRef::from_der(value)
                    .unwrap_or_else(|e| panic!("{oid} is not a DER UTF8String: {e}"))
                    .as_str()
                    .to_owned()
            };
            Some((arc, text))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_actions_token_fills_every_extension() {
    let stack = start_with(Setup {
        config: github_config,
        ..Setup::default()
    })
    .await;
    let iss = stack.issuer.url.clone();
    let now = now();
    let repo = "sigstore/root-signing-staging";
    let job_workflow_ref =
        "sigstore/root-signing-staging/.github/workflows/custom-test.yml@refs/heads/main";
    let workflow_ref = "sigstore/root-signing-staging/.github/workflows/test.yml@refs/heads/main";
    let sub = "repo:sigstore/root-signing-staging:environment:production";
    // A GitHub Actions ID token's claims (shape and values of a real one; `environment` set so
    // that .1.23 is filled too, `run_id` a JSON number as some issuers send it).
    let claims = json!({
        "iss": iss, "aud": "sigstore", "exp": now + 300, "iat": now - 5, "nbf": now - 5,
        "jti": "7c5e0b2c-1b8b-4f6f-9d8c-0e6d3b1f2a11", "sub": sub,
        "ref": "refs/heads/main", "ref_type": "branch", "ref_protected": "true",
        "sha": "1e0a247d769aabbd10e21c3456c51fc801fe8b26",
        "repository": repo, "repository_owner": "sigstore",
        "repository_owner_id": "71096353", "repository_id": "709918736",
        "repository_visibility": "public", "run_id": 28919686714u64, "run_number": "312",
        "run_attempt": "2", "actor": "octocat", "actor_id": "583231",
        "workflow": "TUF-on-CI repository tests", "event_name": "workflow_dispatch",
        "head_ref": "", "base_ref": "", "environment": "production",
        "workflow_ref": workflow_ref,
        "workflow_sha": "2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e",
        "job_workflow_ref": job_workflow_ref,
        "job_workflow_sha": "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432",
        "runner_environment": "github-hosted"
    });
    let (chain, spki) = stack.issue(&stack.issuer.sign(claims)).await;
    assert_eq!(chain.len(), 2);
    ct::verify_embedded_scts(&chain[0], &stack.root, &stack.ct_key_der).unwrap();
    let cert = x509_cert::Certificate::from_der(&chain[0]).unwrap();
    use x509_cert::der::Encode;
    assert_eq!(
        cert.tbs_certificate
            .subject_public_key_info
            .to_der()
            .unwrap(),
        spki
    );

    let exts = extensions(&chain[0]);
    assert_eq!(
        san(&exts),
        vec![format!("URI:https://github.com/{job_workflow_ref}")]
    );
    let s = |v: &str| v.to_owned();
    let want: BTreeMap<u32, String> = BTreeMap::from([
        (1, s(&iss)),                                          // Issuer (deprecated, raw)
        (2, s("workflow_dispatch")),                           // GitHub Workflow Trigger
        (3, s("1e0a247d769aabbd10e21c3456c51fc801fe8b26")),    // GitHub Workflow SHA
        (4, s("TUF-on-CI repository tests")),                  // GitHub Workflow Name
        (5, s(repo)),                                          // GitHub Workflow Repository
        (6, s("refs/heads/main")),                             // GitHub Workflow Ref
        (8, s(&iss)),                                          // Issuer (V2)
        (9, format!("https://github.com/{job_workflow_ref}")), // Build Signer URI
        (10, s("9f8e7d6c5b4a39281706f5e4d3c2b1a098765432")),   // Build Signer Digest
        (11, s("github-hosted")),                              // Runner Environment
        (12, format!("https://github.com/{repo}")),            // Source Repository URI
        (13, s("1e0a247d769aabbd10e21c3456c51fc801fe8b26")),   // Source Repository Digest
        (14, s("refs/heads/main")),                            // Source Repository Ref
        (15, s("709918736")),                                  // Source Repository Identifier
        (16, s("https://github.com/sigstore")),                // Source Repository Owner URI
        (17, s("71096353")),                                   // Source Repository Owner Identifier
        (18, format!("https://github.com/{workflow_ref}")),    // Build Config URI
        (19, s("2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e")),   // Build Config Digest
        (20, s("workflow_dispatch")),                          // Build Trigger
        (
            21,
            format!("https://github.com/{repo}/actions/runs/28919686714/attempts/2"),
        ), // Run Invocation URI
        (22, s("public")),     // Source Repository Visibility At Signing
        (23, s("production")), // Deployment Environment
        (24, s(sub)),          // Token subject
    ]);
    assert_eq!(sigstore_values(&exts), want);
    // And the profile around them.
    assert!(exts["2.5.29.15"].0, "KeyUsage critical");
    assert!(exts.contains_key("2.5.29.37") && exts.contains_key("2.5.29.35"));
    assert!(!exts.contains_key("1.3.6.1.4.1.11129.2.4.3"), "no poison");

    // The proof of possession for a CI token signs `sub`: a signature over anything else fails.
    let key = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    use p256::ecdsa::signature::Signer as _;
    use p256::pkcs8::EncodePublicKey as _;
    let pem = key
        .verifying_key()
        .to_public_key_pem(p256::pkcs8::LineEnding::LF)
        .unwrap();
    let token = stack.issuer.sign(json!({
        "iss": iss, "aud": "sigstore", "exp": now + 300, "iat": now - 5, "sub": sub,
        "ref": "refs/heads/main", "sha": "1e0a247d769aabbd10e21c3456c51fc801fe8b26",
        "repository": repo, "repository_owner": "sigstore", "repository_owner_id": "71096353",
        "repository_id": "709918736", "repository_visibility": "public", "run_id": "1",
        "run_attempt": "1", "workflow": "w", "event_name": "push", "workflow_ref": workflow_ref,
        "workflow_sha": "ab", "job_workflow_ref": job_workflow_ref, "job_workflow_sha": "cd",
        "runner_environment": "self-hosted"
    }));
    for (signed, want_status) in [(sub, 200), (repo, 400)] {
        let pop: p256::ecdsa::DerSignature = key.sign(signed.as_bytes());
        let body = json!({"publicKeyRequest": {"publicKey": {"algorithm": "ECDSA", "content": pem},
            "proofOfPossession": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, pop.as_bytes())}});
        let (status, answer) = stack.sign(Some(&token), body).await;
        assert_eq!(status, want_status, "PoP over {signed:?}: {answer}");
        if status == 200 {
            let chain = common::pem_certificates(
                &answer["signedCertificateEmbeddedSct"]["chain"]["certificates"],
            );
            let values = sigstore_values(&extensions(&chain[0]));
            // No `environment` claim: the default "" leaves .1.23 out.
            assert!(!values.contains_key(&23), "{values:?}");
            assert_eq!(values[&11], "self-hosted");
            assert_eq!(values[&24], sub);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubernetes_token_maps_to_its_service_account() {
    let stack = start_with(Setup {
        config: kubernetes_config,
        ..Setup::default()
    })
    .await;
    let iss = stack.issuer.url.clone();
    let now = now();
    // A projected service-account token as the API server issues it (audience a list).
    let claims = json!({
        "aud": ["sigstore"], "exp": now + 600, "iat": now - 5, "nbf": now - 5, "iss": iss,
        "jti": "0f4b8a3e-8c36-4a47-9f2c-6b3f0b5a9d10",
        "kubernetes.io": {
            "namespace": "build-system",
            "node": {"name": "node-1", "uid": "8d1b7e4e-35d3-4c6f-9f4b-2a6b1c2d3e4f"},
            "pod": {"name": "signer-7d9f8c6b5-x2x4z", "uid": "c6a0b9e2-6b7f-4a43-8f0b-3e2d1c0b9a87"},
            "serviceaccount": {"name": "release-signer", "uid": "5e4d3c2b-1a09-4f8e-9d7c-6b5a4f3e2d1c"},
            "warnafter": now + 300
        },
        "sub": "system:serviceaccount:build-system:release-signer"
    });
    let (chain, _) = stack.issue(&stack.issuer.sign(claims.clone())).await;
    ct::verify_embedded_scts(&chain[0], &stack.root, &stack.ct_key_der).unwrap();
    let exts = extensions(&chain[0]);
    assert_eq!(
        san(&exts),
        vec!["URI:https://kubernetes.io/namespaces/build-system/serviceaccounts/release-signer"]
    );
    // The issuer in both encodings and the token subject; no CI extensions.
    assert_eq!(
        sigstore_values(&exts),
        BTreeMap::from([
            (1, iss.clone()),
            (8, iss.clone()),
            (
                24,
                "system:serviceaccount:build-system:release-signer".to_owned()
            ),
        ])
    );

    // A service-account token without the kubernetes.io claims is refused, naming the claim.
    let mut bare = claims;
    bare.as_object_mut().unwrap().remove("kubernetes.io");
    let (csr, _) = common::csr();
    let (status, err) = stack
        .sign(
            Some(&stack.issuer.sign(bare)),
            json!({"certificateSigningRequest": csr}),
        )
        .await;
    assert_eq!(status, 401, "{err}");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("kubernetes.io.namespace"),
        "{err}"
    );
}
