//! Load generator for Fulcio: certificates issued per second over real HTTP, end to end (the
//! token's check, the proof of possession, the CT log's SCT, both signatures), every answer
//! checked to be a certificate chain with an embedded SCT or a detached one.
//!
//! ```text
//! # ours, in-process with its own OIDC issuer and CT log on a fresh database (PostgreSQL
//! # when SIGSTACK_TEST_DATABASE_URL is set):
//! cargo run --release -p sigstack-fulcio-server --features loadgen --bin fulcio-loadgen
//! # any Fulcio: a command that prints an identity token its configuration accepts
//! fulcio-loadgen --url http://127.0.0.1:5555 --token-command 'sigstack dev-token …'
//! ```
//!
//! Tokens and CSRs are made before the clock starts; each request still gets a certificate
//! of its own (a fresh serial and SCT), as a signing client's would.

use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use base64::Engine;
use clap::Parser;
use p256::ecdsa::signature::Signer as _;
use serde_json::json;
use sigstack_bench_support::{load, BenchDatabase};
use std::sync::Arc;
use std::time::{Duration, Instant};

// The allocator `sigstack` itself runs with, so the in-process services are measured as
// deployed.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(about = "Certificate issuance load generator for Fulcio")]
struct Args {
    /// A running Fulcio (its base URL); without it, ours is started in-process with an OIDC
    /// issuer and a CT log of its own.
    #[arg(long, requires = "token_command")]
    url: Option<String>,
    /// With `--url`: a shell command printing one identity token the Fulcio accepts; run
    /// `--tokens` times before the clock starts.
    #[arg(long)]
    token_command: Option<String>,
    /// Distinct tokens (identities) to spread the requests over.
    #[arg(long, default_value_t = 16)]
    tokens: usize,
    /// Certificate requests to make beforehand (the run stops early when they are used up).
    #[arg(long, default_value_t = 100_000)]
    requests: usize,
    /// How long to send, in seconds.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Requests in flight.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Also print the run's share of the crypto bound: the cores divided by what one
    /// certificate costs in P-256 operations on this machine with the CT log in the same
    /// process (Fulcio: the token's and the CSR's verification, the precertificate's and the
    /// certificate's signature; the CT log: the precertificate's verification, the SCT's
    /// signature).
    #[arg(long)]
    crypto_bound: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // Keep the in-process services' database alive for the run.
    let mut database = None;
    let (base, tokens, backend) = match (&args.url, &args.token_command) {
        (Some(url), Some(command)) => {
            let tokens = (0..args.tokens)
                .map(|_| run_token_command(command))
                .collect::<anyhow::Result<Vec<_>>>()?;
            (
                url.trim_end_matches('/').to_owned(),
                tokens,
                "external".to_owned(),
            )
        }
        _ => {
            let db = BenchDatabase::fresh("sigstack_bench_fulcio").await;
            let backend = db.backend().to_string();
            let (base, tokens) = in_process(&db.url, args.tokens).await?;
            database = Some(db);
            (base, tokens, backend)
        }
    };
    let requests = make_requests(&tokens, args.requests);
    let target =
        load::Target::parse(&format!("{base}/api/v2/signingCert")).map_err(anyhow::Error::msg)?;
    let report = load::run(
        &target,
        Arc::new(requests),
        args.concurrency,
        Duration::from_secs(args.seconds),
        is_certificate,
        false,
        database.as_ref(),
    )
    .await;
    let per_second = report.per_second();
    println!(
        "signingCert ({backend}, {} keys): {} certificates in {:.1}s = {per_second:.0} certificates/s, p50 {:.1} ms, p99 {:.1} ms, concurrency {}, failures {}",
        sigstack_bench_support::bench_keys_label(),
        report.latencies.len(),
        report.elapsed.as_secs_f64(),
        report.p(0.50),
        report.p(0.99),
        args.concurrency,
        report.failures,
    );
    for line in report.cost_lines("certificate", args.crypto_bound.then_some((3, 3))) {
        println!("{line}");
    }
    if let Some(why) = &report.first_failure {
        anyhow::bail!("{} requests failed; the first: {why}", report.failures);
    }
    Ok(())
}

/// An answer counts when it is 200 with a certificate chain (embedded or detached SCT).
fn is_certificate(status: u16, body: &[u8]) -> bool {
    let Ok(answer) = serde_json::from_slice::<serde_json::Value>(body) else {
        return false;
    };
    status == 200
        && [
            "signedCertificateEmbeddedSct",
            "signedCertificateDetachedSct",
        ]
        .iter()
        .any(|kind| answer[kind]["chain"]["certificates"].is_array())
}

/// The token the command prints (its last non-empty line).
fn run_token_command(command: &str) -> anyhow::Result<String> {
    let output = std::process::Command::new("sh")
        .args(["-c", command])
        .output()?;
    anyhow::ensure!(
        output.status.success(),
        "the token command failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)?
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.trim().to_owned())
        .ok_or_else(|| anyhow::anyhow!("the token command printed nothing"))
}

/// `count` requests spread over the tokens, each with a CSR of its own key, made on every core.
fn make_requests(tokens: &[String], count: usize) -> Vec<load::Request> {
    let made = Instant::now();
    let tokens: Vec<Arc<str>> = tokens.iter().map(|t| Arc::from(t.as_str())).collect();
    let requests: Vec<load::Request> = load::make_on_every_core(count, |i| {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("P-256 key");
        let csr = rcgen::CertificateParams::new(Vec::<String>::new())
            .expect("params")
            .serialize_request(&key)
            .expect("CSR")
            .pem()
            .expect("PEM");
        load::Request {
            body: json!({"certificateSigningRequest": B64.encode(csr)})
                .to_string()
                .into(),
            bearer: Some(tokens[i % tokens.len()].clone()),
        }
    });
    eprintln!(
        "made {count} certificate requests in {:.1}s",
        made.elapsed().as_secs_f64()
    );
    requests
}

async fn serve(app: axum::Router) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

/// Our Fulcio, with an OIDC issuer (discovery and JWKS) and a CT log of its own on `db_url`,
/// served on loopback ports: Fulcio's base URL and `count` tokens of that issuer.
async fn in_process(db_url: &str, count: usize) -> anyhow::Result<(String, Vec<String>)> {
    use axum::routing::get;
    use axum::Json;
    let issuer_key = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let issuer = format!("http://{}", listener.local_addr()?);
    let point = issuer_key.verifying_key().to_encoded_point(false);
    let jwks = json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1", "alg": "ES256",
        "x": B64URL.encode(point.x().expect("x")), "y": B64URL.encode(point.y().expect("y"))}]});
    let discovery = json!({"issuer": issuer, "jwks_uri": format!("{issuer}/jwks")});
    let app = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(move || async move { Json(discovery) }),
        )
        .route("/jwks", get(move || async move { Json(jwks) }));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let ca = fulcio::CertificateAuthority::self_signed(
        sigstack_bench_support::bench_signer(
            "fulcio-ca",
            sigstack_keys::Algorithm::EcdsaP256Sha256,
        ),
        "bench CA",
        1_700_000_000,
    )?;
    let root = ca.chain().last().expect("a root").clone();
    let store: Arc<dyn tlog_store::LogStore> =
        Arc::new(tlog_store::SqlStore::connect(db_url).await?);
    let ct_key =
        sigstack_bench_support::bench_signer("ctlog", sigstack_keys::Algorithm::EcdsaP256Sha256);
    let log = ctlog::CtLog::open(
        store,
        ctlog::CtLogConfig::new("bench/ct", ct_key, vec![root]),
    )
    .await?;
    let ct_url = serve(ctlog::router(log)).await?;
    let config = fulcio::FulcioConfig::parse(
        format!("oidc-issuers:\n  {issuer}:\n    issuer-url: {issuer}\n    type: email\n")
            .as_bytes(),
    )?;
    let fulcio = serve(fulcio_server::router(fulcio_server::FulcioServer::new(
        config, ca, &ct_url,
    )))
    .await?;

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let tokens = (0..count)
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
            format!("{input}.{}", B64URL.encode(sig.to_bytes()))
        })
        .collect();
    Ok((fulcio, tokens))
}
