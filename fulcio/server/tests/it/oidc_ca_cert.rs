//! An identity provider behind an internal CA: its discovery document and JWKS are served over
//! HTTPS with a certificate from a private CA. With the issuer's `ca-cert` the keys are fetched;
//! without it (only the public web PKI) the fetch fails, and a wrong `ca-cert` is reported.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A private CA and an HTTPS server (certificate for 127.0.0.1 from that CA) answering GETs of
/// fixed paths with fixed JSON. Returns the base URL and the CA certificate (PEM).
async fn https_issuer() -> (String, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    let jwks = json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "internal-1", "alg": "ES256",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]});
    let routes: Arc<HashMap<String, String>> = Arc::new(HashMap::from([
        (
            "/.well-known/openid-configuration".to_owned(),
            json!({"issuer": url, "jwks_uri": format!("{url}/keys")}).to_string(),
        ),
        ("/keys".to_owned(), jwks.to_string()),
    ]));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    )
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, routes) = (acceptor.clone(), routes.clone());
            tokio::spawn(async move {
                // A handshake refused by a client that does not trust the CA ends here.
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                // Just enough HTTP/1.1: read the head, answer one JSON document, close.
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16_384 {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&head);
                let path = text.split_whitespace().nth(1).unwrap_or("");
                let (status, body) = match routes.get(path) {
                    Some(b) => ("200 OK", b.clone()),
                    None => ("404 Not Found", "{}".to_owned()),
                };
                let response = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(response.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (url, ca.pem())
}

fn issuer(url: &str, ca_cert: Option<&str>) -> fulcio::IssuerConfig {
    let mut v = json!({"issuer-url": url, "client-id": "sigstore", "type": "email"});
    if let Some(pem) = ca_cert {
        v["ca-cert"] = json!(pem);
    }
    serde_json::from_value(v).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issuer_behind_an_internal_ca_is_reached_with_its_ca_cert_only() {
    let (url, ca_pem) = https_issuer().await;
    let refresh = std::time::Duration::from_secs(30);

    let keys = fulcio_server::oidc::KeyCache::new(refresh)
        .keys(&issuer(&url, Some(&ca_pem)))
        .await
        .unwrap();
    assert_eq!(keys.keys.len(), 1);

    // Without the ca-cert, the TLS handshake fails: no keys, and the error names the issuer.
    let err = fulcio_server::oidc::KeyCache::new(refresh)
        .keys(&issuer(&url, None))
        .await
        .unwrap_err();
    assert!(err.to_string().contains(&url), "{err}");

    // Another CA's certificate does not help either.
    let (_, other_ca) = https_issuer().await;
    assert!(fulcio_server::oidc::KeyCache::new(refresh)
        .keys(&issuer(&url, Some(&other_ca)))
        .await
        .is_err());
    // And a ca-cert that is not PEM is reported as such.
    let err = fulcio_server::oidc::KeyCache::new(refresh)
        .keys(&issuer(&url, Some("not a certificate")))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("ca-cert"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ca_files_given_to_the_server_are_trusted_for_every_issuer() {
    use fulcio_server::{ExtraRoots, ExtraRootsError};
    let (url, ca_pem) = https_issuer().await;
    let refresh = std::time::Duration::from_secs(30);

    // The operator's CA file (`sigstack fulcio --https-ca-file`), no ca-cert on the issuer.
    let roots = ExtraRoots::from_pem(ca_pem.as_bytes()).unwrap();
    assert_eq!(roots.len(), 1);
    let keys = fulcio_server::oidc::KeyCache::with_roots(refresh, roots)
        .keys(&issuer(&url, None))
        .await
        .unwrap();
    assert_eq!(keys.keys.len(), 1);

    // Without it the system's store does not know the CA, and the error says so.
    let err = fulcio_server::oidc::KeyCache::with_roots(refresh, ExtraRoots::default())
        .keys(&issuer(&url, None))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("invalid peer certificate") && err.contains("UnknownIssuer"),
        "{err}"
    );

    // Files that are not CA certificates are refused when loaded, not at the first fetch.
    assert!(matches!(
        ExtraRoots::from_pem(b"hello"),
        Err(ExtraRootsError::NoCertificate)
    ));
    assert!(matches!(
        ExtraRoots::from_pem(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
        Err(ExtraRootsError::NotPem(_))
    ));
}
