//! Every service's `/metrics`, as an operator's Prometheus scrapes it from `sigstack up`:
//! upstream's names (so upstream's dashboards work), `build_info`, the process's metrics and the
//! logs'; `--metrics-listen` moving them; and the Grafana dashboard in `deploy/grafana/`
//! asking only for what the services export.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A free loopback port (free when asked: good enough for a test).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `sigstack up` on free loopback ports, killed when dropped.
struct Up {
    child: Child,
    _dir: tempfile::TempDir,
    /// Service name → base URL.
    urls: BTreeMap<&'static str, String>,
}

impl Up {
    /// Starts `sigstack up`, again on other ports when one of the ports picked was taken
    /// before `up` bound it (another test's process can take a port between `free_port`
    /// releasing it and `up` binding it).
    fn start(extra: &[&str]) -> Self {
        for _ in 0..5 {
            match Self::try_start(extra) {
                Ok(up) => return up,
                Err(log) if log.contains("in use") => continue,
                Err(log) => panic!("sigstack up exited:\n{log}"),
            }
        }
        panic!("sigstack up found no free ports in five tries");
    }

    /// `Err` holds what `up` wrote to stderr before it exited.
    fn try_start(extra: &[&str]) -> Result<Self, String> {
        let dir = tempfile::tempdir().unwrap();
        let mut args = vec![
            "up".to_owned(),
            "--data-dir".to_owned(),
            dir.path().join("data").to_string_lossy().into_owned(),
        ];
        let mut urls = BTreeMap::new();
        for (service, flag) in [
            ("ctlog", "--ctlog-listen"),
            ("rekor", "--rekor-listen"),
            ("fulcio", "--fulcio-listen"),
            ("tsa", "--tsa-listen"),
            ("tuf", "--tuf-listen"),
            ("dev-issuer", "--dev-issuer-listen"),
            ("explorer", "--explorer-listen"),
            ("witness", "--witness-listen"),
        ] {
            let addr = format!("127.0.0.1:{}", free_port());
            urls.insert(service, format!("http://{addr}"));
            args.extend([flag.to_owned(), addr]);
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let log_path = dir.path().join("up.log");
        let child = Command::new(env!("CARGO_BIN_EXE_sigstack"))
            .args(&args)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log_path).unwrap())
            .spawn()
            .expect("start sigstack up");
        urls.remove("dev-issuer");
        // Its own port, so that tests running side by side do not share one; its metrics are
        // checked in the explorer's crate.
        urls.remove("explorer");
        // The witness's metrics are checked in its crate.
        urls.remove("witness");
        let mut up = Up {
            child,
            _dir: dir,
            urls,
        };
        if up.wait_ready() {
            Ok(up)
        } else {
            Err(std::fs::read_to_string(&log_path).unwrap_or_default())
        }
    }

    /// True once every service is ready; false if `up` exited first.
    fn wait_ready(&mut self) -> bool {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let client = reqwest::Client::new();
        for _ in 0..600 {
            if self.child.try_wait().unwrap().is_some() {
                return false;
            }
            let ready = runtime.block_on(async {
                for url in self.urls.values() {
                    match client.get(format!("{url}/readyz")).send().await {
                        Ok(r) if r.status() == 200 => {}
                        _ => return false,
                    }
                }
                true
            });
            if ready {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("sigstack up did not become ready");
    }

    fn url(&self, service: &str) -> &str {
        &self.urls[service]
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One request of each service's API, so that the labelled series exist, and a Rekor entry
/// written and read back (the sequencer's and the proof reads' metrics).
async fn traffic(up: &Up) {
    use base64::Engine as _;
    use sha2::Digest as _;
    use sigstack_keys::Signer as _;
    let client = reqwest::Client::new();
    for (service, path) in [
        ("ctlog", "/ct/v1/get-sth"),
        ("rekor", "/api/v1/log"),
        ("fulcio", "/api/v2/configuration"),
        ("tsa", "/api/v1/timestamp/certchain"),
        ("tuf", "/root.json"),
    ] {
        let response = client
            .get(format!("{}{path}", up.url(service)))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{service} {path}");
    }
    let key = sigstack_keys::SoftwareKey::generate(sigstack_keys::Algorithm::EcdsaP256Sha256);
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let artifact = b"metrics";
    // A timestamp (sigstore-js's JSON request).
    let response = client
        .post(format!("{}/api/v1/timestamp", up.url("tsa")))
        .json(&serde_json::json!({
            "artifactHash": b64(&sha2::Sha256::digest(artifact)),
            "hashAlgorithm": "sha256",
        }))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        b64(key.public_key_der())
    );
    let entry = serde_json::json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "signature": {
                "content": b64(&key.sign(artifact).unwrap()),
                "publicKey": {"content": b64(pem.as_bytes())},
            },
            "data": {"hash": {"algorithm": "sha256", "value": hex::encode(sha2::Sha256::digest(artifact))}},
        },
    });
    let response = client
        .post(format!("{}/api/v1/log/entries", up.url("rekor")))
        .json(&entry)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let body: serde_json::Value = response.json().await.unwrap();
    let uuid = body.as_object().unwrap().keys().next().unwrap().clone();
    let response = client
        .get(format!("{}/api/v1/log/entries/{uuid}", up.url("rekor")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

/// GET `url` → (status, body).
async fn get(url: &str) -> (u16, String) {
    let response = reqwest::get(url).await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// The families of a text exposition: name → type (from the `# TYPE` lines), and the names of
/// every sample (`x_bucket`, `x_sum`, `x_count` for a histogram).
struct Exposition {
    types: BTreeMap<String, String>,
    samples: BTreeSet<String>,
    text: String,
}

impl Exposition {
    fn parse(text: String) -> Self {
        let mut types = BTreeMap::new();
        let mut samples = BTreeSet::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                assert!(
                    types.insert(name.to_owned(), kind.to_owned()).is_none(),
                    "{name} twice in\n{text}"
                );
            } else if !line.starts_with('#') && !line.is_empty() {
                let end = line.find(['{', ' ']).unwrap();
                samples.insert(line[..end].to_owned());
            }
        }
        Exposition {
            types,
            samples,
            text,
        }
    }

    /// Asserts that `name` is exported, as a `kind`, with at least one sample.
    fn has(&self, name: &str, kind: &str) {
        assert_eq!(
            self.types.get(name).map(String::as_str),
            Some(kind),
            "{name} is not a {kind} in\n{}",
            self.text
        );
        let sample = if kind == "histogram" {
            format!("{name}_count")
        } else {
            name.to_owned()
        };
        assert!(
            self.samples.contains(&sample),
            "no {sample} in\n{}",
            self.text
        );
    }
}

/// What each service must export: upstream's names where upstream has the service.
const REQUIRED: &[(&str, &[(&str, &str)])] = &[
    (
        "rekor",
        &[
            ("rekor_build_info", "gauge"),
            ("rekor_new_entries", "counter"),
            ("rekor_qps_by_api", "counter"),
            ("rekor_latency_by_api", "histogram"),
            ("rekor_api_latency", "histogram"),
            ("tlog_sequencer_round_entries", "histogram"),
            ("tlog_sequencer_round_seconds", "histogram"),
            ("tlog_sequencer_queue_depth", "gauge"),
            ("tlog_tree_size", "gauge"),
            ("tlog_proof_seconds", "histogram"),
        ],
    ),
    (
        "fulcio",
        &[
            ("fulcio_build_info", "gauge"),
            ("fulcio_new_certs", "counter"),
            ("fulcio_api_latency", "histogram"),
            ("http_requests_total", "counter"),
        ],
    ),
    (
        "tsa",
        &[
            ("timestamp_authority_build_info", "gauge"),
            ("timestamp_authority_api_latency", "histogram"),
            ("timestamp_authority_latency_by_api", "histogram"),
            ("timestamp_authority_http_requests_total", "counter"),
            (
                "timestamp_authority_certificate_valid_days_remaining",
                "gauge",
            ),
        ],
    ),
    (
        "ctlog",
        &[
            ("ctlog_build_info", "gauge"),
            ("ctlog_http_requests_total", "counter"),
            ("ctlog_http_request_duration_seconds", "histogram"),
            ("tlog_tree_size", "gauge"),
        ],
    ),
    (
        "tuf",
        &[
            ("tuf_build_info", "gauge"),
            ("tuf_http_requests_total", "counter"),
            ("tuf_http_request_duration_seconds", "histogram"),
        ],
    ),
];

/// The process's metrics, with every service (Linux only: they are read from `/proc`).
const PROCESS: &[(&str, &str)] = &[
    ("process_cpu_seconds_total", "counter"),
    ("process_resident_memory_bytes", "gauge"),
    ("process_virtual_memory_bytes", "gauge"),
    ("process_open_fds", "gauge"),
    ("process_max_fds", "gauge"),
    ("process_start_time_seconds", "gauge"),
];

fn check_process(exposition: &Exposition) {
    if cfg!(target_os = "linux") {
        for (name, kind) in PROCESS {
            exposition.has(name, kind);
        }
    }
}

#[test]
fn every_service_serves_upstreams_names_build_info_and_the_process() {
    let up = Up::start(&[]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        traffic(&up).await;
        for (service, required) in REQUIRED {
            let (status, text) = get(&format!("{}/metrics", up.url(service))).await;
            assert_eq!(status, 200, "{service}");
            let exposition = Exposition::parse(text);
            for (name, kind) in *required {
                exposition.has(name, kind);
            }
            check_process(&exposition);
            // Each service's own build info, with the revision, as upstream's.
            assert!(
                exposition
                    .text
                    .contains(&format!("version=\"{}\"", env!("CARGO_PKG_VERSION")))
                    && exposition.text.contains("revision=\""),
                "{}",
                exposition.text
            );
        }
        // Upstream's labels: Fulcio's promhttp method in lower case, Rekor's route patterns.
        let (_, fulcio) = get(&format!("{}/metrics", up.url("fulcio"))).await;
        assert!(
            fulcio.contains(r#"http_requests_total{code="200",method="get"} "#),
            "{fulcio}"
        );
        let (_, tsa) = get(&format!("{}/metrics", up.url("tsa"))).await;
        let days: f64 = tsa
            .lines()
            .find_map(|l| l.strip_prefix("timestamp_authority_certificate_valid_days_remaining "))
            .unwrap()
            .parse()
            .unwrap();
        assert!(days > 1.0, "{days}");
        let (_, rekor) = get(&format!("{}/metrics", up.url("rekor"))).await;
        for series in [
            r#"rekor_new_entries 1"#,
            r#"rekor_qps_by_api{code="201",method="POST",path="/api/v1/log/entries"} 1"#,
            r#"rekor_qps_by_api{code="200",method="GET",path="/api/v1/log/entries/{entryUUID}"} 1"#,
        ] {
            assert!(rekor.contains(series), "{series} not in\n{rekor}");
        }
    });
}

#[test]
fn metrics_listen_serves_every_service_on_one_address_and_the_dashboard_asks_only_for_those() {
    let metrics = format!("127.0.0.1:{}", free_port());
    let up = Up::start(&["--metrics-listen", &metrics]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let exposition = runtime.block_on(async {
        traffic(&up).await;
        // Not on the public listeners any more.
        for url in up.urls.values() {
            let (status, _) = get(&format!("{url}/metrics")).await;
            assert_eq!(status, 404, "{url}/metrics");
        }
        let (status, text) = get(&format!("http://{metrics}/metrics")).await;
        assert_eq!(status, 200);
        Exposition::parse(text)
    });
    // Every service's, the process's once (`parse` refuses a family twice), and the logs of
    // both Rekor and the CT log in one family.
    for (_, required) in REQUIRED {
        for (name, kind) in *required {
            exposition.has(name, kind);
        }
    }
    check_process(&exposition);
    assert!(exposition
        .text
        .contains("tlog_tree_size{log=\"sigstack.local/ctlog\"} 0"));
    assert!(exposition
        .text
        .contains("tlog_tree_size{log=\"127.0.0.1\"} 0"));

    let dashboard = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../deploy/grafana/sigstack.json"
    ))
    .unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&dashboard).unwrap();
    let mut expressions = Vec::new();
    collect_expressions(&dashboard, &mut expressions);
    assert!(expressions.len() >= 10, "{expressions:?}");
    for expr in &expressions {
        let names = metric_names(expr);
        assert!(!names.is_empty(), "no metric in {expr}");
        for name in names {
            assert!(
                exposition.samples.contains(&name),
                "the dashboard asks for {name} ({expr}), which no service exports"
            );
        }
    }
}

#[test]
fn metrics_listen_moves_a_single_services_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let (listen, metrics) = (
        format!("127.0.0.1:{}", free_port()),
        format!("127.0.0.1:{}", free_port()),
    );
    let key = dir.path().join("tsa-key.pem");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sigstack"))
        .args([
            "--insecure-plaintext-key",
            "tsa",
            "--dev",
            "--listen",
            &listen,
            "--metrics-listen",
            &metrics,
        ])
        .arg("--key")
        .arg(&key)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let result = runtime.block_on(async {
        for _ in 0..200 {
            if reqwest::get(format!("http://{listen}/healthz"))
                .await
                .is_ok()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let public = get(&format!("http://{listen}/metrics")).await;
        let moved = get(&format!("http://{metrics}/metrics")).await;
        (public, moved)
    });
    let _ = child.kill();
    let _ = child.wait();
    let ((public, _), (status, text)) = result;
    assert_eq!(public, 404);
    assert_eq!(status, 200);
    let exposition = Exposition::parse(text);
    exposition.has("timestamp_authority_build_info", "gauge");
    check_process(&exposition);
}

/// Every `expr` of the dashboard's panels and templating queries.
fn collect_expressions(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("expr", serde_json::Value::String(expr)) => out.push(expr.clone()),
                    _ => collect_expressions(value, out),
                }
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                collect_expressions(item, out);
            }
        }
        _ => {}
    }
}

/// The metric names a PromQL expression selects: identifiers that are not functions (followed
/// by `(`), keywords or aggregation operators, label names (inside `{}` or after `by`/`without`), strings, durations
/// (inside `[]`), numbers or Grafana variables.
fn metric_names(expr: &str) -> BTreeSet<String> {
    // Keywords, and the aggregation operators (`sum by (le) (…)` puts a word between the
    // operator and its parenthesis).
    const KEYWORDS: &[&str] = &[
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "offset",
        "bool",
        "and",
        "or",
        "unless",
        "sum",
        "min",
        "max",
        "avg",
        "group",
        "stddev",
        "stdvar",
        "count",
        "count_values",
        "bottomk",
        "topk",
        "quantile",
    ];
    let chars: Vec<char> = expr.chars().collect();
    let mut names = BTreeSet::new();
    let (mut braces, mut brackets) = (0, 0);
    let mut after_grouping = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' | '\'' | '`' => {
                i += 1;
                while i < chars.len() && chars[i] != c {
                    i += if chars[i] == '\\' { 2 } else { 1 };
                }
            }
            '{' => braces += 1,
            '}' => braces -= 1,
            '[' => brackets += 1,
            ']' => brackets -= 1,
            '$' => {
                i += 1;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                continue;
            }
            '(' if after_grouping => {
                // `by (label, …)`: skip to the closing parenthesis.
                while i < chars.len() && chars[i] != ')' {
                    i += 1;
                }
                after_grouping = false;
            }
            c if c.is_ascii_alphabetic() || c == '_' || c == ':' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let next = chars[i..].iter().find(|c| !c.is_whitespace());
                if word == "by" || word == "without" || word == "on" || word == "ignoring" {
                    after_grouping = true;
                } else if braces == 0
                    && brackets == 0
                    && next != Some(&'(')
                    && !KEYWORDS.contains(&word.as_str())
                {
                    names.insert(word);
                }
                continue;
            }
            c if c.is_ascii_digit() || c == '.' => {
                // A number (and its exponent or unit, as in `1e3` or `5m`): not a name.
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                    i += 1;
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    names
}

#[test]
fn names_are_read_out_of_promql() {
    let names = metric_names(
        r#"histogram_quantile(0.99, sum by (le, path) (rate(rekor_latency_by_api_bucket{path!~"/(healthz|readyz)", job="$job"}[$__rate_interval]))) / 1e9 + on(instance) group_left max without (job) (process_open_fds offset 5m)"#,
    );
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        ["process_open_fds", "rekor_latency_by_api_bucket"]
    );
}
