//! `monitor-bench`: how many entries per second the monitor's core checks on one core: each
//! entry's Rekor v2 body read for its facts (certificate parsed: SANs, issuer, extensions,
//! fingerprints), matched against a watch list of four items, hashed and pushed into a
//! [`monitor::Growth`], which then verifies the whole run against the signed root. What a
//! round costs beyond the network. The figure in README's Performance section comes from
//! `cargo run --release -p sigstack-monitor --bin monitor-bench -- 200000`.

use std::time::Instant;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use monitor::follow::{observe, Observation};
use monitor::watch::MonitorConfig;
use monitor::{Growth, Verified, WatchList};
use tlog::checkpoint::Checkpoint;
use tlog::merkle::{leaf_hash, MemoryTree};
use tlog::note::NoteSigner;
use tlog::tile::TreeEdge;

/// A Fulcio-shaped leaf certificate (SAN bench@example.com, issuer extensions .1.1 and .1.8),
/// made once for this benchmark with Python's `cryptography`.
const CERT_PEM: &str = "
-----BEGIN CERTIFICATE-----
MIIBfzCCASagAwIBAgIBATAKBggqhkjOPQQDAjAgMR4wHAYDVQQDDBVzaWdzdG9y
ZS1pbnRlcm1lZGlhdGUwHhcNMjYxMjA2MDAwMDAwWhcNMjYxMjA2MDAxMDAwWjAA
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEN0o5odrah61g1tvBW/GvVXWJ4Sch
3yaO1r/Ydo3gZYa/VCQ+VDLSAUB+g95Qhc540r/NP8zzHGk+l4Y+qj9gUqNxMG8w
HwYDVR0RAQH/BBUwE4ERYmVuY2hAZXhhbXBsZS5jb20wJAYKKwYBBAGDvzABAQQW
aHR0cHM6Ly9pc3N1ZXIuZXhhbXBsZTAmBgorBgEEAYO/MAEIBBgMFmh0dHBzOi8v
aXNzdWVyLmV4YW1wbGUwCgYIKoZIzj0EAwIDRwAwRAIgCjoGYOlThNdXdMY11p80
9lNvO93Dw7uECJZ7EYosKGECIGOe1d5oVWFJg9s3hRRla8waTRHjrg2lHl2Eunry
ptqO
-----END CERTIFICATE-----
";

const SKEY: &str =
    "PRIVATE+KEY+example.com/log/testdata+33d7b496+AeymY/SZAX0jZcJ8enZ5FY1Dz+wTML2yWSkK+9DSF3eg";

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let (_, cert_der) = der::pem::decode_vec(CERT_PEM.trim().as_bytes()).expect("the PEM");
    let cert_b64 = BASE64.encode(&cert_der);
    let bodies: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            let digest = BASE64.encode(sha256(&i.to_be_bytes()));
            format!(
                r#"{{"apiVersion":"0.0.2","kind":"hashedrekord","spec":{{"hashedRekordV002":{{"data":{{"algorithm":"SHA2_256","digest":"{digest}"}},"signature":{{"content":"MEUCIQ==","verifier":{{"keyDetails":"PKIX_ECDSA_P256_SHA_256","x509Certificate":{{"rawBytes":"{cert_b64}"}}}}}}}}}}}}"#
            )
            .into_bytes()
        })
        .collect();
    let watch = WatchList::new(
        MonitorConfig::parse(
            "monitoredValues:\n  certIdentities:\n    - certSubject: alice@example\\.com\n      issuers: [\"https://accounts\\\\.example\"]\n  subjects: [\"carol@.*\"]\n  fingerprints: [\"00ff\"]\n  artifactDigests: [\"sha256:00\"]\n",
        )
        .expect("the watch list")
        .monitored_values,
    )
    .expect("the watch list");
    let signer = NoteSigner::from_skey(SKEY).expect("the key");
    let log = witness::Log::new(
        "example.com/log/testdata",
        vec![witness::LogKey::from_note_verifier(
            signer.verifier().clone(),
        )],
    )
    .expect("the log");
    let tree = MemoryTree::from_leaf_hashes(bodies.iter().map(|b| leaf_hash(b)));
    let note = Checkpoint::new("example.com/log/testdata", n, tree.root())
        .and_then(|c| c.sign(&[&signer]).map_err(Into::into))
        .expect("a checkpoint")
        .to_bytes();

    let started = Instant::now();
    let Ok(Observation::Grew { checkpoint, note }) =
        observe(&log, "bench", Some(&Verified::empty()), &note)
    else {
        panic!("the checkpoint verifies")
    };
    let mut growth = Growth::start(
        "bench",
        &Verified::empty(),
        TreeEdge::empty(),
        checkpoint,
        note,
    )
    .expect("the empty edge");
    let mut matches = 0usize;
    for body in &bodies {
        let facts = monitor::facts::rekor_body(body).expect("JSON");
        matches += watch.matches(&facts).len();
        growth.push(leaf_hash(body));
    }
    let verified = growth.finish().expect("the entries lead to the root");
    let elapsed = started.elapsed();
    assert_eq!(verified.size(), n);
    assert_eq!(matches, 0);
    println!(
        "monitor-bench: {n} entries checked in {:.2} s: {:.0} entries/s on one core",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64()
    );
}

fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(data).into()
}
