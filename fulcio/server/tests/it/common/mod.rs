//! The in-process stack the service tests run over real HTTP: a test OIDC issuer (discovery +
//! JWKS, ES256), our CT log on SQLite, and the CA, each on a loopback port.
#![allow(dead_code)]

use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use base64::Engine;
use p256::ecdsa::signature::Signer as _;
use serde_json::{json, Value};
use std::sync::Arc;
use x509_cert::der::{Decode, DecodePem, Encode};

/// A test OIDC issuer: discovery document and a one-key (ES256, kid `k1`) JWKS.
pub(crate) struct Issuer {
    pub(crate) url: String,
    key: p256::ecdsa::SigningKey,
}

impl Issuer {
    pub(crate) async fn start() -> Issuer {
        let key = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let point = key.verifying_key().to_encoded_point(false);
        let jwks = json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1", "alg": "ES256", "use": "sig",
            "x": B64URL.encode(point.x().unwrap()), "y": B64URL.encode(point.y().unwrap())}]});
        let discovery = json!({"issuer": url, "jwks_uri": format!("{url}/jwks")});
        let app = Router::new()
            .route(
                "/.well-known/openid-configuration",
                get(move || async move { Json(discovery) }),
            )
            .route("/jwks", get(move || async move { Json(jwks) }));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Issuer { url, key }
    }

    pub(crate) fn token_with(&self, header: Value, claims: Value) -> String {
        let signing_input = format!(
            "{}.{}",
            B64URL.encode(header.to_string()),
            B64URL.encode(claims.to_string())
        );
        let sig: p256::ecdsa::Signature = self.key.sign(signing_input.as_bytes());
        format!("{signing_input}.{}", B64URL.encode(sig.to_bytes()))
    }

    /// `claims` signed with the issuer's key (ES256, kid `k1`).
    pub(crate) fn sign(&self, claims: Value) -> String {
        self.token_with(json!({"alg": "ES256", "kid": "k1", "typ": "JWT"}), claims)
    }

    pub(crate) fn claims(&self, email: &str) -> Value {
        let now = now();
        json!({"iss": self.url, "sub": email, "aud": "sigstore", "iat": now, "exp": now + 300,
               "email": email, "email_verified": true})
    }

    pub(crate) fn token(&self, email: &str) -> String {
        self.sign(self.claims(email))
    }
}

pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// What to start; [`Setup::default`] is an email issuer, an ephemeral CA, embedded SCTs.
pub(crate) struct Setup {
    /// Whether the CT log answers (else the CA is pointed at a closed port).
    pub(crate) ct_up: bool,
    /// The issuer configuration, given the test issuer's URL.
    pub(crate) config: fn(&str) -> fulcio::FulcioConfig,
    /// The CA; an ephemeral one if `None`.
    pub(crate) ca: Option<fulcio::CertificateAuthority>,
    /// More roots the CT log accepts, besides the CA's (a CA reloaded later).
    pub(crate) extra_ct_roots: Vec<Vec<u8>>,
    pub(crate) options: fulcio_server::ServerOptions,
}

pub(crate) fn email_config(url: &str) -> fulcio::FulcioConfig {
    fulcio::FulcioConfig::parse(
        format!("oidc-issuers:\n  {url}:\n    issuer-url: {url}\n    client-id: sigstore\n    type: email\n").as_bytes(),
    )
    .unwrap()
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            ct_up: true,
            config: email_config,
            ca: None,
            extra_ct_roots: Vec::new(),
            options: fulcio_server::ServerOptions::default(),
        }
    }
}

pub(crate) struct Stack {
    pub(crate) fulcio: String,
    pub(crate) issuer: Issuer,
    pub(crate) ct_key_der: Vec<u8>,
    /// The CA's root at start (DER).
    pub(crate) root: Vec<u8>,
    pub(crate) server: Arc<fulcio_server::FulcioServer>,
    pub(crate) client: reqwest::Client,
    _dir: tempfile::TempDir,
}

pub(crate) async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

pub(crate) async fn start(ct_up: bool) -> Stack {
    start_with(Setup {
        ct_up,
        ..Setup::default()
    })
    .await
}

pub(crate) async fn start_with(setup: Setup) -> Stack {
    let issuer = Issuer::start().await;
    let ca = setup.ca.unwrap_or_else(|| {
        fulcio::CertificateAuthority::ephemeral("sigstack test CA", 1_700_000_000).unwrap()
    });
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
    let ct_key = Arc::new(sigstack_keys::SoftwareKey::generate(
        sigstack_keys::Algorithm::EcdsaP256Sha256,
    ));
    let ct_key_der = sigstack_keys::Signer::public_key_der(ct_key.as_ref()).to_vec();
    let mut roots = vec![root.clone()];
    roots.extend(setup.extra_ct_roots);
    let ctlog = ctlog::CtLog::open(store, ctlog::CtLogConfig::new("ct.test/log", ct_key, roots))
        .await
        .unwrap();
    let ct_url = if setup.ct_up {
        serve(ctlog::router(ctlog)).await
    } else {
        "http://127.0.0.1:9".to_string()
    };
    let config = (setup.config)(&issuer.url);
    let server = fulcio_server::FulcioServer::with_options(config, ca, &ct_url, setup.options);
    // `/metrics` beside the API, as the binary serves it without `--metrics-listen`.
    let fulcio = serve(
        fulcio_server::router(server.clone()).merge(sigstack_http::metrics_router(vec![server
            .metrics()
            .clone()])),
    )
    .await;
    Stack {
        fulcio,
        issuer,
        ct_key_der,
        root,
        server,
        client: reqwest::Client::new(),
        _dir: dir,
    }
}

/// A P-256 CSR as sigstore-python sends it (base64 of the PEM), and its SPKI (DER).
pub(crate) fn csr() -> (String, Vec<u8>) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let pem = rcgen::CertificateParams::new(Vec::<String>::new())
        .unwrap()
        .serialize_request(&key)
        .unwrap()
        .pem()
        .unwrap();
    (B64.encode(pem), key.public_key_der())
}

impl Stack {
    pub(crate) async fn sign(&self, token: Option<&str>, body: Value) -> (u16, Value) {
        let mut req = self
            .client
            .post(format!("{}/api/v2/signingCert", self.fulcio))
            .json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    /// Requests a certificate for a fresh CSR with `token`; returns the chain (leaf first,
    /// DER) and the CSR key's SPKI. Panics unless the answer is 200 with embedded SCTs.
    pub(crate) async fn issue(&self, token: &str) -> (Vec<Vec<u8>>, Vec<u8>) {
        let (csr, spki) = csr();
        let (status, answer) = self
            .sign(Some(token), json!({"certificateSigningRequest": csr}))
            .await;
        assert_eq!(status, 200, "{answer}");
        (
            pem_certificates(&answer["signedCertificateEmbeddedSct"]["chain"]["certificates"]),
            spki,
        )
    }
}

/// The DER of each PEM string in a JSON array.
pub(crate) fn pem_certificates(list: &Value) -> Vec<Vec<u8>> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a certificate list: {list}"))
        .iter()
        .map(|p| {
            x509_cert::Certificate::from_pem(p.as_str().unwrap())
                .unwrap()
                .to_der()
                .unwrap()
        })
        .collect()
}

/// Every extension of a certificate: OID (dotted) → (critical, extnValue contents).
pub(crate) fn extensions(der: &[u8]) -> std::collections::BTreeMap<String, (bool, Vec<u8>)> {
    let cert = x509_cert::Certificate::from_der(der).unwrap();
    cert.tbs_certificate
        .extensions
        .unwrap_or_default()
        .into_iter()
        .map(|e| {
            (
                e.extn_id.to_string(),
                (e.critical, e.extn_value.as_bytes().to_vec()),
            )
        })
        .collect()
}
