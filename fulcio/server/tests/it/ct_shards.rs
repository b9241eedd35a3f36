//! Temporal CT shards open side by side: each certificate is logged in the shard whose expiry
//! window holds its notAfter; with no such shard, nothing is logged and nothing issued.

use crate::common::{csr, email_config, pem_certificates, serve, Issuer};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// A CT log shard on `store` accepting certificates expiring in `window`, served on loopback:
/// its URL and key (DER SPKI).
async fn ct_shard(
    store: &Arc<dyn tlog_store::LogStore>,
    origin: &str,
    window: ctlog::ExpiryWindow,
    root: &[u8],
) -> (String, Vec<u8>) {
    let key = Arc::new(sigstack_keys::SoftwareKey::generate(
        sigstack_keys::Algorithm::EcdsaP256Sha256,
    ));
    let key_der = sigstack_keys::Signer::public_key_der(key.as_ref()).to_vec();
    let mut config = ctlog::CtLogConfig::new(origin, key, vec![root.to_vec()]);
    config.not_after = Some(window);
    let log = ctlog::CtLog::open(store.clone(), config).await.unwrap();
    (serve(ctlog::router(log)).await, key_der)
}

async fn tree_size(client: &reqwest::Client, ct_url: &str) -> u64 {
    let sth: Value = client
        .get(format!("{ct_url}/ct/v1/get-sth"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    sth["tree_size"].as_u64().unwrap()
}

#[tokio::test]
async fn each_certificate_goes_to_the_ct_shard_whose_window_holds_its_not_after() {
    let issuer = Issuer::start().await;
    let ca = fulcio::CertificateAuthority::ephemeral("sigstack test CA", 1_700_000_000).unwrap();
    let root = ca.chain().last().unwrap().clone();
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn tlog_store::LogStore> = Arc::new(
        tlog_store::SqlStore::connect(&format!(
            "sqlite://{}",
            dir.path().join("ct.sqlite").display()
        ))
        .await
        .unwrap(),
    );
    // Certificates live ten minutes; the shard of this year ends in five, so they belong to
    // the next one, already open beside it.
    let now = SystemTime::now();
    let day = Duration::from_secs(86_400);
    let boundary = now + Duration::from_secs(300);
    let ending = ctlog::ExpiryWindow::new(now - day, boundary).unwrap();
    let next = ctlog::ExpiryWindow::new(boundary, now + day).unwrap();
    let (ending_url, ending_key) = ct_shard(&store, "ct.test/ending", ending, &root).await;
    let (next_url, next_key) = ct_shard(&store, "ct.test/next", next, &root).await;
    let shards = ctlog::TemporalShards::new(vec![
        (Some(ending), ending_url.clone()),
        (Some(next), next_url.clone()),
    ])
    .unwrap();
    let config = email_config(&issuer.url);
    let server = fulcio_server::FulcioServer::with_ct_shards(
        config.clone(),
        ca.clone(),
        shards,
        fulcio_server::ServerOptions::default(),
    );
    let fulcio = serve(fulcio_server::router(server)).await;
    let client = reqwest::Client::new();
    let sign = |fulcio: String| {
        let (client, token) = (client.clone(), issuer.token("alice@example.com"));
        async move {
            let answer = client
                .post(format!("{fulcio}/api/v2/signingCert"))
                .bearer_auth(token)
                .json(&json!({"certificateSigningRequest": csr().0}))
                .send()
                .await
                .unwrap();
            (
                answer.status().as_u16(),
                answer.json::<Value>().await.unwrap(),
            )
        }
    };
    let (status, answer) = sign(fulcio).await;
    assert_eq!(status, 200, "{answer}");
    let chain = pem_certificates(&answer["signedCertificateEmbeddedSct"]["chain"]["certificates"]);
    ct::verify_embedded_scts(&chain[0], &root, &next_key).unwrap();
    assert!(ct::verify_embedded_scts(&chain[0], &root, &ending_key).is_err());
    assert_eq!(tree_size(&client, &next_url).await, 1);
    assert_eq!(tree_size(&client, &ending_url).await, 0);

    // Only the ending shard open: no shard holds the notAfter, so nothing is logged anywhere
    // and no certificate issued; the refusal is counted.
    let server = fulcio_server::FulcioServer::with_ct_shards(
        config,
        ca,
        ctlog::TemporalShards::new(vec![(Some(ending), ending_url.clone())]).unwrap(),
        fulcio_server::ServerOptions::default(),
    );
    let fulcio = serve(
        fulcio_server::router(server.clone()).merge(sigstack_http::metrics_router(vec![server
            .metrics()
            .clone()])),
    )
    .await;
    let (status, answer) = sign(fulcio.clone()).await;
    assert_eq!(status, 503, "{answer}");
    let message = answer["message"].as_str().unwrap();
    assert!(
        message.contains("no certificate was issued")
            && message.contains("no CT log shard accepts certificates expiring at"),
        "{message}"
    );
    assert_eq!(tree_size(&client, &ending_url).await, 0);
    let metrics = client
        .get(format!("{fulcio}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("fulcio_ct_no_shard_total 1"), "{metrics}");
}
