//! Load generator: end-to-end certificate issuance over real HTTP on loopback (token check,
//! proof of possession, CT submission to our CT log, signing), against a CT log on PostgreSQL
//! (`SIGSTACK_TEST_DATABASE_URL`, a fresh database per run) or SQLite.
//!
//! `scripts/with-postgres.sh cargo bench -p sigstack-fulcio-server --bench issue`
//! Environment: `BENCH_SECONDS` (10), `BENCH_CONCURRENCY` (64), `BENCH_BACKEND` (postgres|sqlite).

use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use base64::Engine;
use p256::ecdsa::signature::Signer as _;
use serde_json::json;
use sigstack_bench_support::{env_or, percentile_ms, BenchDatabase};
use std::sync::Arc;
use std::time::{Duration, Instant};

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::main]
async fn main() {
    let seconds: u64 = env_or("BENCH_SECONDS", 10);
    let concurrency: usize = env_or("BENCH_CONCURRENCY", 64);

    // The OIDC issuer.
    let issuer_key = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let point = issuer_key.verifying_key().to_encoded_point(false);
    let jwks = json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1", "alg": "ES256",
        "x": B64URL.encode(point.x().unwrap()), "y": B64URL.encode(point.y().unwrap())}]});
    let discovery = json!({"issuer": issuer, "jwks_uri": format!("{issuer}/jwks")});
    let app = Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(move || async move { Json(discovery) }),
        )
        .route("/jwks", get(move || async move { Json(jwks) }));
    tokio::spawn(async move { axum::serve(listener, app).await });

    // The CA and the CT log.
    let ca = fulcio::CertificateAuthority::self_signed(
        sigstack_bench_support::bench_signer(
            "fulcio-ca",
            sigstack_keys::Algorithm::EcdsaP256Sha256,
        ),
        "bench CA",
        1_700_000_000,
    )
    .unwrap();
    let root = ca.chain().last().unwrap().clone();
    let db = BenchDatabase::fresh("sigstack_bench_fulcio").await;
    let url = db.url.clone();
    let store: Arc<dyn tlog_store::LogStore> =
        Arc::new(tlog_store::SqlStore::connect(&url).await.unwrap());
    let ct_key =
        sigstack_bench_support::bench_signer("ctlog", sigstack_keys::Algorithm::EcdsaP256Sha256);
    let log = ctlog::CtLog::open(
        store,
        ctlog::CtLogConfig::new("bench/ct", ct_key, vec![root]),
    )
    .await
    .unwrap();
    let ct_url = serve(ctlog::router(log)).await;
    let config = fulcio::FulcioConfig::parse(
        format!("oidc-issuers:\n  {issuer}:\n    issuer-url: {issuer}\n    type: email\n")
            .as_bytes(),
    )
    .unwrap();
    let fulcio = serve(fulcio_server::router(fulcio_server::FulcioServer::new(
        config, ca, &ct_url,
    )))
    .await;

    // Requests: a pool of tokens and CSRs made beforehand (each certificate is still unique).
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let bodies: Vec<(String, String)> = (0..256)
        .map(|i| {
            let email = format!("user{i}@example.com");
            let claims = json!({"iss": issuer, "sub": email, "aud": "sigstore", "iat": now,
                "exp": now + 3600, "email": email, "email_verified": true});
            let input = format!(
                "{}.{}",
                B64URL.encode(json!({"alg": "ES256", "kid": "k1"}).to_string()),
                B64URL.encode(claims.to_string())
            );
            let sig: p256::ecdsa::Signature = issuer_key.sign(input.as_bytes());
            let token = format!("{input}.{}", B64URL.encode(sig.to_bytes()));
            let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
            let csr = rcgen::CertificateParams::new(Vec::<String>::new())
                .unwrap()
                .serialize_request(&key)
                .unwrap()
                .pem()
                .unwrap();
            (
                token,
                json!({"certificateSigningRequest": B64.encode(csr)}).to_string(),
            )
        })
        .collect();
    let bodies = Arc::new(bodies);
    let endpoint = format!("{fulcio}/api/v2/signingCert");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..concurrency {
        let (bodies, client, endpoint) = (bodies.clone(), client.clone(), endpoint.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0usize;
            let mut i = t;
            while Instant::now() < deadline {
                let (token, body) = &bodies[i % bodies.len()];
                i += concurrency;
                let t0 = Instant::now();
                let r = client
                    .post(&endpoint)
                    .bearer_auth(token)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        latencies.push(t0.elapsed());
                    }
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let (mut all, mut errors) = (Vec::new(), 0);
    for t in tasks {
        let (l, e) = t.await.unwrap();
        all.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    let pct = |p: f64| percentile_ms(&all, p);
    println!(
        "signingCert ({} keys): {} certificates, {} errors in {:.1}s = {:.0} certificates/s; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} concurrent, CT log on {})",
        sigstack_bench_support::bench_keys_label(),
        all.len(),
        errors,
        elapsed,
        all.len() as f64 / elapsed,
        pct(0.5),
        pct(0.99),
        pct(1.0),
        concurrency,
        db.backend()
    );
}
