//! Load generator: `add-pre-chain` requests per second over real HTTP on loopback, against a CT
//! log on PostgreSQL (`SIGSTACK_TEST_DATABASE_URL`, a fresh database per run) or SQLite.
//!
//! `scripts/with-postgres.sh cargo bench -p sigstack-ctlog --bench add_pre_chain`
//! Environment: `BENCH_SECONDS` (default 10), `BENCH_CONCURRENCY` (default 128),
//! `BENCH_BACKEND` = `postgres` | `sqlite` (default: postgres when a server is configured).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ctlog::{CtLog, CtLogConfig};
use rcgen::{BasicConstraints, CertificateParams, CustomExtension, DnType, IsCa, KeyPair};
use sigstack_bench_support::{env_or, percentile_ms, BenchDatabase};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tlog_store::{LogStore, SqlStore};

#[tokio::main]
async fn main() {
    let seconds: u64 = env_or("BENCH_SECONDS", 10);
    let concurrency: usize = env_or("BENCH_CONCURRENCY", 128);
    let count: usize = env_or("BENCH_CERTS", 60_000);

    // A CA and precertificates, made before the clock starts.
    let root_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "bench CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let root = params.self_signed(&root_key).unwrap();
    let leaf_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let root_b64 = B64.encode(root.der());
    let made = Instant::now();
    let bodies: Vec<String> = (0..count as u64)
        .map(|serial| {
            let mut p = CertificateParams::new(vec![format!("user{serial}@example.com")]).unwrap();
            p.serial_number = Some(rcgen::SerialNumber::from(
                (serial + 1).to_be_bytes().to_vec(),
            ));
            let now = time::OffsetDateTime::now_utc();
            p.not_before = now - time::Duration::minutes(1);
            p.not_after = now + time::Duration::minutes(30);
            let mut poison =
                CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 11129, 2, 4, 3], vec![5, 0]);
            poison.set_criticality(true);
            p.custom_extensions = vec![poison];
            let der = p
                .signed_by(&leaf_key, &root, &root_key)
                .unwrap()
                .der()
                .to_vec();
            format!(r#"{{"chain":["{}","{}"]}}"#, B64.encode(der), root_b64)
        })
        .collect();
    eprintln!(
        "made {count} precertificates in {:.1}s",
        made.elapsed().as_secs_f64()
    );

    let db = BenchDatabase::fresh("sigstack_bench_ct").await;
    let url = db.url.clone();
    let store: Arc<dyn LogStore> = Arc::new(SqlStore::connect(&url).await.unwrap());
    let key = Arc::new(sigstack_keys::SoftwareKey::generate(
        sigstack_keys::Algorithm::EcdsaP256Sha256,
    ));
    let mut config = CtLogConfig::new("bench.example/ct", key, vec![root.der().to_vec()]);
    config.log_options.sequencer.max_delay = Duration::from_millis(env_or(
        "BENCH_MAX_DELAY_MS",
        config.log_options.sequencer.max_delay.as_millis() as u64,
    ));
    let log = CtLog::open(store, config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!(
        "http://{}/ct/v1/add-pre-chain",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, ctlog::router(log)).await });

    let bodies = Arc::new(bodies);
    let next = Arc::new(AtomicUsize::new(0));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (bodies, next, client, endpoint) = (
            bodies.clone(),
            next.clone(),
            client.clone(),
            endpoint.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0usize;
            while Instant::now() < deadline {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(i) else { break };
                let t0 = Instant::now();
                let r = client
                    .post(&endpoint)
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
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.unwrap();
        all.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    let pct = |p: f64| percentile_ms(&all, p);
    println!(
        "add-pre-chain: {} ok, {} errors in {:.1}s = {:.0} req/s; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} concurrent, backend {})",
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
