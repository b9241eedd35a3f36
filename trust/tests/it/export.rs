//! containers policy shape and the exported directory.

use crate::common;

use serde_json::{json, Value};
use trust::{
    containers_policy, containers_registries_d, export, files, Instance, PolicyIdentity, Timestamp,
    TrustHistory,
};

fn history() -> TrustHistory {
    TrustHistory::from_instance(
        &common::instance(),
        Timestamp::from_unix_seconds(1_800_000_000),
    )
}

#[test]
fn policy_matches_containers_policy_json_5() {
    let id = PolicyIdentity::new("dev@example.com", "https://issuer.example");
    let p: Value = serde_json::from_slice(&containers_policy(
        &id,
        "/etc/sig/fulcio_ca.pem",
        "/etc/sig/rekor.pub",
    ))
    .unwrap();
    assert_eq!(
        p,
        json!({
            "default": [{"type": "reject"}],
            "transports": {
                "docker": {
                    "": [{
                        "type": "sigstoreSigned",
                        "fulcio": {
                            "caPath": "/etc/sig/fulcio_ca.pem",
                            "oidcIssuer": "https://issuer.example",
                            "subjectEmail": "dev@example.com"
                        },
                        "rekorPublicKeyPath": "/etc/sig/rekor.pub",
                        "signedIdentity": {"type": "matchRepository"}
                    }]
                }
            }
        })
    );
    assert_eq!(
        containers_registries_d(&id),
        b"default-docker:\n  use-sigstore-attachments: true\n"
    );

    let scoped = id.with_docker_scope("registry.example.com/team");
    let p: Value = serde_json::from_slice(&containers_policy(&scoped, "/a", "/b")).unwrap();
    let docker = p["transports"]["docker"].as_object().unwrap();
    assert_eq!(docker.len(), 1);
    assert_eq!(
        docker["registry.example.com/team"][0]["type"],
        "sigstoreSigned"
    );
    assert_eq!(
        String::from_utf8(containers_registries_d(&scoped)).unwrap(),
        "docker:\n  \"registry.example.com/team\":\n    use-sigstore-attachments: true\n"
    );
}

#[test]
fn export_writes_every_file_and_the_policy_points_at_real_ones() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("trust");
    let h = history();
    let id = PolicyIdentity::new("dev@example.com", "https://issuer.example");
    let written = export(&out, &h, Some(&id)).unwrap();
    let names: Vec<String> = written
        .iter()
        .map(|p| {
            p.strip_prefix(out.canonicalize().unwrap())
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(
        names,
        [
            files::TRUSTED_ROOT,
            files::SIGNING_CONFIG,
            files::TRUST_CONFIG,
            files::POLICY,
            files::FULCIO_CA,
            files::REKOR_PUB,
            files::REGISTRIES_D,
            files::POLICY_CONTROLLER,
            files::KYVERNO,
            files::README
        ]
    );
    let read = |n: &str| std::fs::read(out.join(n)).unwrap();
    assert_eq!(read(files::TRUSTED_ROOT), h.trusted_root().to_json());
    assert_eq!(read(files::SIGNING_CONFIG), h.signing_config().to_json());
    assert_eq!(
        read(files::TRUST_CONFIG),
        h.client_trust_config().unwrap().to_json()
    );

    let policy: Value = serde_json::from_slice(&read(files::POLICY)).unwrap();
    let req = &policy["transports"]["docker"][""][0];
    let ca_path = std::path::Path::new(req["fulcio"]["caPath"].as_str().unwrap());
    let rekor_path = std::path::Path::new(req["rekorPublicKeyPath"].as_str().unwrap());
    assert!(ca_path.is_absolute() && rekor_path.is_absolute());
    let ca = std::fs::read_to_string(ca_path).unwrap();
    assert_eq!(ca.matches("-----BEGIN CERTIFICATE-----").count(), 2);
    let rekor = std::fs::read_to_string(rekor_path).unwrap();
    assert!(rekor.starts_with("-----BEGIN PUBLIC KEY-----\n"));
    // rekor.pub is the Rekor v1 key of the trusted root.
    let body: String = rekor.lines().filter(|l| !l.starts_with("-----")).collect();
    assert_eq!(body, h.trusted_root().tlogs[0].public_key.raw_bytes);
    assert!(rekor.lines().all(|l| l.len() <= 64));

    let readme = String::from_utf8(read(files::README)).unwrap();
    for needle in [
        "--trust-config trust_config.json",
        "--trusted-root trusted_root.json",
        "root.json",
        "policy.json",
        "podman",
    ] {
        assert!(readme.contains(needle), "README lacks {needle}");
    }

    // Exporting again gives identical bytes; no temporary files are left behind.
    let again = export(&out, &h, Some(&id)).unwrap();
    assert_eq!(again, written);
    assert_eq!(read(files::TRUSTED_ROOT), h.trusted_root().to_json());
    let leftovers: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn admission_policies_trust_the_current_keys_and_the_signer() {
    let h = history();
    let id = PolicyIdentity::new(
        "https://kubernetes.io/namespaces/ci/serviceaccounts/builder",
        "https://kubernetes.default.svc.cluster.local",
    )
    .with_docker_scope("registry.example.com/team");
    let pc: Value =
        serde_json::from_slice(&trust::admission::policy_controller(&h, &id).unwrap()).unwrap();
    assert_eq!(
        (pc["apiVersion"].as_str(), pc["kind"].as_str()),
        (Some("v1"), Some("List"))
    );
    let (root, cip) = (&pc["items"][0], &pc["items"][1]);
    assert_eq!(root["kind"], "TrustRoot");
    let keys = &root["spec"]["sigstoreKeys"];
    let tr = h.trusted_root();
    // certChain: base64 of the PEM chain, whose last certificate is the root.
    let chain = String::from_utf8(
        base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            keys["certificateAuthorities"][0]["certChain"]
                .as_str()
                .unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    let root_der = &tr.certificate_authorities[0]
        .cert_chain
        .certificates
        .last()
        .unwrap()
        .raw_bytes;
    let flat: String = chain.lines().filter(|l| !l.starts_with("-----")).collect();
    assert!(flat.ends_with(root_der.as_str()));
    assert_eq!(keys["tLogs"].as_array().unwrap().len(), tr.tlogs.len());
    assert_eq!(keys["ctLogs"][0]["baseURL"], tr.ctlogs[0].base_url);
    assert_eq!(cip["kind"], "ClusterImagePolicy");
    assert_eq!(
        cip["spec"]["images"][0]["glob"],
        "registry.example.com/team/**"
    );
    let authority = &cip["spec"]["authorities"][0];
    assert_eq!(
        authority["keyless"]["url"],
        tr.certificate_authorities[0].uri
    );
    assert_eq!(authority["keyless"]["identities"][0]["subject"], id.email);
    assert_eq!(authority["keyless"]["identities"][0]["issuer"], id.issuer);
    assert_eq!(
        authority["keyless"]["trustRootRef"],
        root["metadata"]["name"]
    );

    let ky: Value = serde_json::from_slice(&trust::admission::kyverno(&h, &id).unwrap()).unwrap();
    let rule = &ky["items"][0]["spec"]["rules"][0]["verifyImages"][0];
    assert_eq!(rule["imageReferences"][0], "registry.example.com/team/*");
    let keyless = &rule["attestors"][0]["entries"][0]["keyless"];
    assert_eq!(keyless["roots"], h.fulcio_ca_pem().unwrap());
    assert_eq!(
        keyless["rekor"]["pubkey"],
        h.rekor_v1_public_key_pem().unwrap()
    );
    assert_eq!(
        keyless["ctlog"]["pubkey"],
        h.ctlog_public_key_pem().unwrap()
    );
    assert_eq!(keyless["subject"], id.email);
}

#[test]
fn export_without_identity_skips_the_policy_and_refuses_unusable_instances() {
    let dir = tempfile::tempdir().unwrap();
    let written = export(dir.path(), &history(), None).unwrap();
    assert_eq!(written.len(), 4);
    assert!(!dir.path().join(files::POLICY).exists());

    let empty = tempfile::tempdir().unwrap();
    let target = empty.path().join("out");
    let h = TrustHistory::from_instance(&Instance::default(), Timestamp::from_unix_seconds(0));
    let err = export(&target, &h, None).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(!target.exists(), "nothing written on refusal");

    // A policy needs a Rekor v1 key.
    let mut v2_only = common::instance();
    v2_only.tlogs.retain(|t| t.api() == trust::RekorApi::V2);
    let h = TrustHistory::from_instance(&v2_only, Timestamp::from_unix_seconds(0));
    let id = PolicyIdentity::new("a@b.c", "https://i.example");
    assert!(export(&target, &h, Some(&id)).is_err());
    assert!(!target.exists());
}

/// `SIGSTACK_TRUST_SAMPLE_DIR=/some/dir cargo test -p sigstack-trust --test it export::sample`
/// leaves a sample export there to look at.
#[test]
fn sample_export_on_request() {
    if let Some(dir) = std::env::var_os("SIGSTACK_TRUST_SAMPLE_DIR") {
        let id = PolicyIdentity::new("dev@example.com", "https://issuer.example");
        export(std::path::Path::new(&dir), &history(), Some(&id)).unwrap();
    }
}
