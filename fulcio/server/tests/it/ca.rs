//! The CA's key material and SCT delivery, over HTTP: a CA loaded from PEM files (root alone,
//! and root + intermediate), reloaded when the files change, kept when a change does not load;
//! and the detached-SCT mode.

use crate::common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use common::{csr, pem_certificates, start_with, Setup};
use fulcio_server::ca_files::{spawn_reloader, CaFiles, CaFilesError, CaWatcher, ReloadOutcome};
use serde_json::{json, Value};
use sigstack_keys::{Algorithm, Signer, SoftwareKey};

fn pem(der: &[u8]) -> String {
    der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, der).unwrap()
}

/// A self-signed CA: (key PKCS#8 PEM, root PEM, root DER).
fn self_signed(name: &str) -> (String, String, Vec<u8>) {
    let key = SoftwareKey::generate(Algorithm::EcdsaP256Sha256);
    let key_pem = key.to_pkcs8_pem().unwrap();
    let signer: Arc<dyn Signer> = Arc::new(key);
    let ca = fulcio::CertificateAuthority::self_signed(signer, name, common::now() - 3600).unwrap();
    let root = ca.root_certificate().to_vec();
    (key_pem, pem(&root), root)
}

/// Writes through a temporary file and a rename, as an operator replacing a file should.
fn replace(path: &Path, contents: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, contents).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

async fn trust_bundle(stack: &common::Stack) -> Vec<Vec<u8>> {
    let bundle: Value = stack
        .client
        .get(format!("{}/api/v2/trustBundle", stack.fulcio))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    pem_certificates(&bundle["chains"][0]["certificates"])
}

async fn metrics(stack: &common::Stack) -> String {
    stack
        .client
        .get(format!("{}/metrics", stack.fulcio))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pem_file_ca_reloads_on_change_and_keeps_the_old_ca_on_a_broken_change() {
    let dir = tempfile::tempdir().unwrap();
    let (key_path, chain_path) = (dir.path().join("ca-key.pem"), dir.path().join("chain.pem"));
    let (key_a, root_a_pem, root_a) = self_signed("CA A");
    let (key_b, root_b_pem, root_b) = self_signed("CA B");
    replace(&key_path, &key_a);
    replace(&chain_path, &root_a_pem);

    let (ca, mut watcher) = CaWatcher::start(CaFiles::new(&key_path, &chain_path)).unwrap();
    let stack = start_with(Setup {
        ca: Some(ca),
        extra_ct_roots: vec![root_b.clone()], // the CT log accepts both roots
        ..Setup::default()
    })
    .await;
    let server = stack.server.clone();
    let token = stack.issuer.token("a@example.com");
    let (chain, _) = stack.issue(&token).await;
    assert_eq!(chain[1], root_a);
    ct::verify_embedded_scts(&chain[0], &root_a, &stack.ct_key_der).unwrap();
    assert!(matches!(watcher.poll(&server), ReloadOutcome::Unchanged));

    // A broken chain file: refused once, the CA in force kept, still issuing.
    replace(
        &chain_path,
        "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
    );
    assert!(matches!(
        watcher.poll(&server),
        ReloadOutcome::Refused(CaFilesError::Chain { .. })
    ));
    assert!(matches!(watcher.poll(&server), ReloadOutcome::Unchanged));
    assert_eq!(trust_bundle(&stack).await, vec![root_a.clone()]);
    let (chain, _) = stack.issue(&token).await;
    ct::verify_issued_by(&chain[0], &root_a).unwrap();

    // An empty chain file, then a key that is not PEM.
    replace(&chain_path, "");
    assert!(matches!(
        watcher.poll(&server),
        ReloadOutcome::Refused(CaFilesError::Chain { .. })
    ));
    replace(&key_path, "garbage");
    assert!(matches!(
        watcher.poll(&server),
        ReloadOutcome::Refused(CaFilesError::Key { .. })
    ));
    // Half-way through a rotation: B's key, A's chain. The pair does not fit: refused.
    replace(&key_path, &key_b);
    replace(&chain_path, &root_a_pem);
    let refused = watcher.poll(&server);
    assert!(
        matches!(
            refused,
            ReloadOutcome::Refused(CaFilesError::Ca {
                source: fulcio::CertError::KeyMismatch,
                ..
            })
        ),
        "{refused:?}"
    );
    assert_eq!(server.chain(), vec![root_a.clone()]);
    // A missing file is reported and the CA kept too.
    std::fs::remove_file(&chain_path).unwrap();
    assert!(matches!(
        watcher.poll(&server),
        ReloadOutcome::Refused(CaFilesError::Read { .. })
    ));
    assert_eq!(server.chain(), vec![root_a.clone()]);

    // Rotation complete: B in force, for the trust bundle and new certificates.
    replace(&chain_path, &root_b_pem);
    assert!(matches!(watcher.poll(&server), ReloadOutcome::Reloaded));
    assert_eq!(trust_bundle(&stack).await, vec![root_b.clone()]);
    let (chain, _) = stack.issue(&token).await;
    assert_eq!(chain[1], root_b);
    ct::verify_issued_by(&chain[0], &root_b).unwrap();
    ct::verify_embedded_scts(&chain[0], &root_b, &stack.ct_key_der).unwrap();
    let m = metrics(&stack).await;
    assert!(
        m.contains("fulcio_ca_reloads_total{result=\"loaded\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("fulcio_ca_reloads_total{result=\"refused\"} 5"),
        "{m}"
    );

    // The background reloader: back to A by writing the files, noticed within a few polls.
    let reloader = spawn_reloader(server.clone(), watcher, Duration::from_millis(50));
    replace(&key_path, &key_a);
    replace(&chain_path, &root_a_pem);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while server.chain() != vec![root_a.clone()] {
        assert!(
            std::time::Instant::now() < deadline,
            "no reload within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (chain, _) = stack.issue(&token).await;
    ct::verify_issued_by(&chain[0], &root_a).unwrap();
    reloader.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pem_file_ca_with_an_intermediate_issues_a_three_certificate_chain() {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
    let ca_params = |name: &str| {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name.push(DnType::CommonName, name);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        p
    };
    let root_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let root = ca_params("test root").self_signed(&root_key).unwrap();
    let inter_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let inter = ca_params("test intermediate")
        .signed_by(&inter_key, &root, &root_key)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (key_path, chain_path) = (dir.path().join("ca-key.pem"), dir.path().join("chain.pem"));
    replace(&key_path, &inter_key.serialize_pem());
    replace(&chain_path, &format!("{}{}", inter.pem(), root.pem()));

    let ca = CaFiles::new(&key_path, &chain_path).load().unwrap();
    assert_eq!(ca.chain().len(), 2);
    let stack = start_with(Setup {
        ca: Some(ca),
        ..Setup::default()
    })
    .await;
    assert_eq!(stack.root, root.der().to_vec());
    let (chain, _) = stack.issue(&stack.issuer.token("a@example.com")).await;
    assert_eq!(chain.len(), 3, "leaf, intermediate, root");
    assert_eq!(chain[1], inter.der().to_vec());
    assert_eq!(chain[2], root.der().to_vec());
    ct::verify_issued_by(&chain[0], &chain[1]).unwrap();
    ct::verify_issued_by(&chain[1], &chain[2]).unwrap();
    // The SCT's issuer key hash is the intermediate's: verified against it, not the root.
    ct::verify_embedded_scts(&chain[0], &chain[1], &stack.ct_key_der).unwrap();
    assert!(ct::verify_embedded_scts(&chain[0], &chain[2], &stack.ct_key_der).is_err());
    assert_eq!(trust_bundle(&stack).await, chain[1..].to_vec());

    // A chain file whose first certificate is not the key's (root first) is refused.
    replace(&chain_path, &format!("{}{}", root.pem(), inter.pem()));
    assert!(matches!(
        CaFiles::new(&key_path, &chain_path).load(),
        Err(CaFilesError::Ca {
            source: fulcio::CertError::KeyMismatch,
            ..
        })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detached_sct_mode_returns_the_sct_beside_a_certificate_without_one() {
    let stack = start_with(Setup {
        options: fulcio_server::ServerOptions::default()
            .with_sct_mode(fulcio_server::SctMode::Detached),
        ..Setup::default()
    })
    .await;
    let (csr, spki) = csr();
    let (status, answer) = stack
        .sign(
            Some(&stack.issuer.token("a@example.com")),
            json!({"certificateSigningRequest": csr}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let detached = &answer["signedCertificateDetachedSct"];
    assert!(
        answer.get("signedCertificateEmbeddedSct").is_none(),
        "{answer}"
    );
    let chain = pem_certificates(&detached["chain"]["certificates"]);
    assert_eq!(chain.len(), 2);
    assert_eq!(chain[1], stack.root);
    let leaf = &chain[0];
    ct::verify_issued_by(leaf, &stack.root).unwrap();
    let exts = common::extensions(leaf);
    assert!(!exts.contains_key("1.3.6.1.4.1.11129.2.4.2"), "no SCT list");
    assert!(!exts.contains_key("1.3.6.1.4.1.11129.2.4.3"), "no poison");
    assert!(exts["2.5.29.17"].0 && exts.contains_key("1.3.6.1.4.1.57264.1.8"));
    {
        use x509_cert::der::{Decode, Encode};
        let cert = x509_cert::Certificate::from_der(leaf).unwrap();
        assert_eq!(
            cert.tbs_certificate
                .subject_public_key_info
                .to_der()
                .unwrap(),
            spki
        );
    }

    // signedCertificateTimestamp: base64 of the log's add-chain JSON, an x509_entry SCT.
    let sct_json: Value = serde_json::from_slice(
        &B64.decode(detached["signedCertificateTimestamp"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(sct_json["sct_version"], 0);
    assert_eq!(
        B64.decode(sct_json["id"].as_str().unwrap()).unwrap(),
        sigstack_keys::key_id(&stack.ct_key_der).to_vec()
    );
    let field = |name: &str| B64.decode(sct_json[name].as_str().unwrap()).unwrap();
    let sct = ct::SignedCertificateTimestamp {
        log_id: sigstack_keys::key_id(&stack.ct_key_der),
        timestamp: sct_json["timestamp"].as_u64().unwrap(),
        extensions: ct::CtExtensions::new(field("extensions")).unwrap(),
        signature: ct::DigitallySigned::parse(&field("signature")).unwrap(),
    };
    let entry = ct::SignedEntry::X509(ct::Asn1Cert::new(leaf.clone()).unwrap());
    ct::verify_sct(&sct, &stack.ct_key_der, &entry).unwrap();
    // Not an SCT for some other certificate.
    let other = ct::SignedEntry::X509(ct::Asn1Cert::new(stack.root.clone()).unwrap());
    assert!(ct::verify_sct(&sct, &stack.ct_key_der, &other).is_err());

    // The legacy API hands the same kind of SCT over in its `SCT` header.
    let key = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    use p256::ecdsa::signature::Signer as _;
    use p256::pkcs8::EncodePublicKey as _;
    let pop: p256::ecdsa::DerSignature = key.sign(b"a@example.com");
    let response = stack
        .client
        .post(format!("{}/api/v1/signingCert", stack.fulcio))
        .bearer_auth(stack.issuer.token("a@example.com"))
        .json(&json!({"publicKey": {"content": B64.encode(key.verifying_key().to_public_key_der().unwrap().as_bytes())},
            "signedEmailAddress": B64.encode(pop.as_bytes())}))
        .send()
        .await
        .unwrap();
    // 201, as upstream's legacy API: Go clients refuse any other status.
    assert_eq!(response.status(), 201);
    assert_eq!(
        response.headers()["content-type"],
        "application/pem-certificate-chain"
    );
    let header: Value = serde_json::from_slice(
        &B64.decode(response.headers()["SCT"].to_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["sct_version"], 0);
    let pem_chain = response.text().await.unwrap();
    let leaf = x509_cert::Certificate::load_pem_chain(pem_chain.as_bytes()).unwrap();
    assert_eq!(leaf.len(), 2);

    // The legacy API's other request: a CSR alone (base64 of its PEM), as in upstream's document.
    let csr = rcgen::CertificateParams::new(Vec::<String>::new())
        .unwrap()
        .serialize_request(&rcgen::KeyPair::generate().unwrap())
        .unwrap()
        .pem()
        .unwrap();
    let response = stack
        .client
        .post(format!("{}/api/v1/signingCert", stack.fulcio))
        .bearer_auth(stack.issuer.token("a@example.com"))
        .json(&json!({"certificateSigningRequest": B64.encode(csr), "publicKey": null, "signedEmailAddress": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let chain = response.text().await.unwrap();
    assert_eq!(
        x509_cert::Certificate::load_pem_chain(chain.as_bytes())
            .unwrap()
            .len(),
        2
    );
    // Neither a key nor a CSR: 400 in grpc-gateway's shape.
    let response = stack
        .client
        .post(format!("{}/api/v1/signingCert", stack.fulcio))
        .bearer_auth(stack.issuer.token("a@example.com"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let err: Value = response.json().await.unwrap();
    assert_eq!(err["code"], 3, "{err}");
}
