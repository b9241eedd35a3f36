//! The HTTP half of the load generators (`rekor-loadgen`, `ct-loadgen`, `fulcio-loadgen`):
//! pre-made requests sent from many keep-alive connections for a while, every answer checked,
//! and the figures a comparison needs — throughput, latency, this process's CPU per request,
//! and that throughput as a share of what the machine's cores could sign and verify.
//!
//! Each generator can target any running service by URL, so the same harness measures ours
//! and another implementation side by side.

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::SendRequest;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A plain-HTTP endpoint requests are POSTed to.
#[derive(Debug, Clone)]
pub struct Target {
    /// `host:port`, to connect to and to send as `Host`.
    authority: String,
    /// The path, and `authority` as a header value, parsed once: every request clones them.
    uri: hyper::Uri,
    host: hyper::header::HeaderValue,
}

/// One pre-made request: its body and, for Fulcio, its bearer token.
#[derive(Debug, Clone)]
pub struct Request {
    pub body: Bytes,
    pub bearer: Option<Arc<str>>,
}

impl Request {
    pub fn json(body: impl Into<Bytes>) -> Self {
        Self {
            body: body.into(),
            bearer: None,
        }
    }
}

impl Target {
    /// `http://host:port/path` (the generators speak plain HTTP: TLS would measure the client).
    pub fn parse(url: &str) -> Result<Self, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("{url}: the load generator speaks plain http:// only"))?;
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        if authority.is_empty() {
            return Err(format!("{url}: no host"));
        }
        let path = if path.is_empty() { "/" } else { path };
        Ok(Self {
            uri: path
                .parse()
                .map_err(|e| format!("{url}: the path {path:?}: {e}"))?,
            host: authority
                .parse()
                .map_err(|e| format!("{url}: the host {authority:?}: {e}"))?,
            authority: authority.to_owned(),
        })
    }

    async fn connect(&self) -> std::io::Result<SendRequest<Full<Bytes>>> {
        let stream = tokio::net::TcpStream::connect(&self.authority).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(std::io::Error::other)?;
        tokio::spawn(connection);
        Ok(sender)
    }

    fn request(&self, request: &Request) -> hyper::Request<Full<Bytes>> {
        let mut builder = hyper::Request::post(self.uri.clone())
            .header(hyper::header::HOST, self.host.clone())
            .header(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("application/json"),
            );
        if let Some(token) = &request.bearer {
            builder = builder.header(hyper::header::AUTHORIZATION, format!("Bearer {token}"));
        }
        builder
            .body(Full::new(request.body.clone()))
            .expect("a valid request")
    }
}

/// An answer that passed the check: when it came (since the start) and, if asked for, its body.
#[derive(Debug)]
pub struct Acknowledged {
    pub at: Duration,
    pub body: Option<Bytes>,
}

/// How a run went.
#[derive(Debug)]
pub struct LoadReport {
    /// Latencies of the requests whose answer passed the check, sorted.
    pub latencies: Vec<Duration>,
    /// The answers that passed, in the order they came.
    pub acks: Vec<Acknowledged>,
    /// Requests refused, failed or whose answer did not pass the check.
    pub failures: usize,
    /// The first failure's status and body, to say why.
    pub first_failure: Option<String>,
    pub elapsed: Duration,
    /// CPU time of this process during the run (Linux).
    pub cpu: Option<Duration>,
    /// CPU time of the PostgreSQL server processes serving the run's database during the run,
    /// when the generator measured it ([`DatabaseCpu`]).
    pub database_cpu: Option<Duration>,
}

impl LoadReport {
    pub fn per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    pub fn p(&self, quantile: f64) -> f64 {
        crate::percentile_ms(&self.latencies, quantile)
    }

    /// The CPU this process spent per counted request (`unit` names it), and with
    /// `crypto_bound` the run's share of the cores' P-256 bound at `signs` signatures and
    /// `verifies` verifications per request: the lines every generator prints after its own.
    pub fn cost_lines(&self, unit: &str, crypto_bound: Option<(u32, u32)>) -> Vec<String> {
        let mut lines = Vec::new();
        let per_request =
            |cpu: Duration| cpu.as_secs_f64() * 1e6 / self.latencies.len().max(1) as f64;
        if let Some(cpu) = self.cpu {
            // On a shared machine throughput is noisy; the CPU spent per request (client and,
            // when in-process, server; the database not included) is the steadier figure.
            lines.push(format!(
                "cpu of this process: {:.2}s = {:.0} µs per {unit}",
                cpu.as_secs_f64(),
                per_request(cpu)
            ));
        }
        if let Some(cpu) = self.database_cpu {
            lines.push(format!(
                "cpu of the database's server processes: {:.2}s = {:.0} µs per {unit}",
                cpu.as_secs_f64(),
                per_request(cpu)
            ));
        }
        if let Some((signs, verifies)) = crypto_bound {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            let spent = self
                .cpu
                .map(|own| per_request(own + self.database_cpu.unwrap_or_default()));
            let spender = if self.database_cpu.is_some() {
                "this process and the database"
            } else {
                "this process"
            };
            // The CPU share: what the throughput share would be with the cores to this run
            // alone, which a shared machine does not give.
            let cpu_share = |speed: &EcdsaSpeed| {
                spent.map(|spent| {
                    let crypto = speed.seconds_per_request(signs, verifies) * 1e6;
                    format!(
                        "; {crypto:.0} µs of P-256 work per {unit} / {spent:.0} µs of cpu per {unit} ({spender}) = {:.1}% of the cpu spent",
                        100.0 * crypto / spent
                    )
                })
                .unwrap_or_default()
            };
            match EcdsaSpeed::measure() {
                Ok(speed) => lines.push(format!(
                    "{}{}",
                    crypto_bound_line(&speed, cores, self.per_second(), signs, verifies),
                    cpu_share(&speed)
                )),
                Err(e) => lines.push(format!("crypto bound: not measured ({e})")),
            }
            // The same with the services' own P-256 (aws-lc through sigstack-keys) as the
            // yardstick, timed in this process right after the run: on this project's machine
            // it signs and verifies a fifth faster than `openssl speed` says the cores can.
            let own = EcdsaSpeed::measure_in_process(2.0);
            let bound = own.bound(cores, signs, verifies);
            lines.push(format!(
                "crypto bound with aws-lc in this process ({:.0} sign/s, {:.0} verify/s per core): {bound:.0}/s; this run reached {:.1}% of it{}",
                own.sign_per_sec,
                own.verify_per_sec,
                100.0 * self.per_second() / bound,
                cpu_share(&own)
            ));
        }
        lines
    }

    /// The longest time without an acknowledgement, and when it began (since the start): the
    /// write gap of a database failover.
    pub fn longest_gap(&self) -> Option<(Duration, Duration)> {
        self.acks
            .windows(2)
            .map(|w| (w[1].at - w[0].at, w[0].at))
            .max_by_key(|(gap, _)| *gap)
    }
}

/// Sends `requests` in order (each once) from `concurrency` connections for `duration`, or
/// until they are used up; `check` decides whether an answer counts (its status and body).
/// With `keep_bodies` the answers that count are kept in the report; with the `database` of
/// an in-process service, the CPU its PostgreSQL server processes spent.
pub async fn run(
    target: &Target,
    requests: Arc<Vec<Request>>,
    concurrency: usize,
    duration: Duration,
    check: fn(u16, &[u8]) -> bool,
    keep_bodies: bool,
    database: Option<&crate::BenchDatabase>,
) -> LoadReport {
    let target = Arc::new(target.clone());
    let next = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + duration;
    let cpu_before = process_cpu();
    let database_before = match database {
        Some(db) => Some(db.server_cpu().await),
        None => None,
    };
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (requests, next, target) = (requests.clone(), next.clone(), target.clone());
        tasks.push(tokio::spawn(async move {
            // One keep-alive connection per task, straight on hyper: the client shares the
            // machine with the server, so it should cost as little as it can.
            let mut sender = None;
            let (mut latencies, mut acks) = (Vec::new(), Vec::new());
            let (mut failures, mut first_failure) = (0usize, None);
            while Instant::now() < deadline {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(request) = requests.get(i) else {
                    break;
                };
                let t = Instant::now();
                let outcome = send(&target, &mut sender, request).await;
                match outcome {
                    Ok((status, body)) if check(status, &body) => {
                        latencies.push(t.elapsed());
                        acks.push(Acknowledged {
                            at: started.elapsed(),
                            body: keep_bodies.then_some(body),
                        });
                    }
                    Ok((status, body)) => {
                        failures += 1;
                        first_failure.get_or_insert_with(|| {
                            format!("{status}: {}", String::from_utf8_lossy(&body))
                        });
                    }
                    Err(e) => {
                        failures += 1;
                        first_failure.get_or_insert(e);
                    }
                }
            }
            (latencies, acks, failures, first_failure)
        }));
    }
    let mut report = LoadReport {
        latencies: Vec::new(),
        acks: Vec::new(),
        failures: 0,
        first_failure: None,
        elapsed: Duration::ZERO,
        cpu: None,
        database_cpu: None,
    };
    for task in tasks {
        let (latencies, acks, failures, first) = task.await.expect("load task");
        report.latencies.extend(latencies);
        report.acks.extend(acks);
        report.failures += failures;
        if report.first_failure.is_none() {
            report.first_failure = first;
        }
    }
    report.elapsed = started.elapsed();
    report.cpu = process_cpu()
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before));
    if let (Some(db), Some(before)) = (database, database_before) {
        report.database_cpu = before.until(&db.server_cpu().await);
    }
    report.latencies.sort();
    report.acks.sort_by_key(|ack| ack.at);
    report
}

/// One request on the task's connection, reconnecting when it was closed.
async fn send(
    target: &Target,
    sender: &mut Option<SendRequest<Full<Bytes>>>,
    request: &Request,
) -> Result<(u16, Bytes), String> {
    if sender.as_mut().is_none_or(|s| s.is_closed()) {
        *sender = Some(
            target
                .connect()
                .await
                .map_err(|e| format!("connecting to {}: {e}", target.authority))?,
        );
    }
    let connection = sender.as_mut().expect("connected above");
    if connection.ready().await.is_err() {
        *sender = None;
        return Err("the connection closed".to_owned());
    }
    let response = connection
        .send_request(target.request(request))
        .await
        .map_err(|e| {
            *sender = None;
            e.to_string()
        })?;
    let status = response.status().as_u16();
    // Read the whole answer, also a refusal, so the connection stays usable.
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, body))
}

/// `make(0) … make(count - 1)` computed on every core, in order: the requests a generator signs
/// before the clock starts, which should not take longer than the run.
pub fn make_on_every_core<T: Send>(count: usize, make: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_thread = count.div_ceil(threads).max(1);
    let make = &make;
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..count)
            .step_by(per_thread)
            .map(|start| {
                scope.spawn(move || {
                    (start..(start + per_thread).min(count))
                        .map(make)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a worker thread"))
            .collect()
    })
}

/// CPU time (user + system) of this process so far, where `/proc` tells it (Linux).
pub fn process_cpu() -> Option<Duration> {
    cpu_of("self")
}

/// CPU time (user + system) of process `pid` (or `self`) so far, from `/proc/PID/stat`.
fn cpu_of(pid: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces): utime is field 14, stime 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux platform Rust supports.
    Some(Duration::from_millis(ticks * 10))
}

/// The CPU time of the PostgreSQL server processes serving one database, when the server runs
/// on this machine where `/proc` shows its processes: what a request costs the database.
/// Sampled before and after a run; a server process seen only afterwards counts in full.
#[derive(Debug, Clone, Default)]
pub struct DatabaseCpu(std::collections::HashMap<i64, Duration>);

impl DatabaseCpu {
    /// The CPU so far of each server process connected to database `name`, asked of the
    /// server at `admin_url`; empty when they cannot be seen.
    pub async fn sample(admin_url: &str, name: &str) -> Self {
        use sqlx::{Connection, Row};
        sqlx::any::install_default_drivers();
        let Ok(mut conn) = sqlx::AnyConnection::connect(admin_url).await else {
            return Self::default();
        };
        let rows = sqlx::query("SELECT pid::bigint FROM pg_stat_activity WHERE datname = $1")
            .bind(name.to_owned())
            .fetch_all(&mut conn)
            .await
            .unwrap_or_default();
        let _ = conn.close().await;
        Self(
            rows.iter()
                .filter_map(|r| r.try_get::<i64, _>(0).ok())
                .filter_map(|pid| Some((pid, cpu_of(&pid.to_string())?)))
                .collect(),
        )
    }

    /// The CPU spent between `self` and the later sample `after`; `None` when no server
    /// process was seen.
    pub fn until(&self, after: &Self) -> Option<Duration> {
        (!after.0.is_empty()).then(|| {
            after
                .0
                .iter()
                .map(|(pid, cpu)| cpu.saturating_sub(self.0.get(pid).copied().unwrap_or_default()))
                .sum()
        })
    }
}

/// P-256 signatures and verifications per second on one core, as `openssl speed` measures
/// them: the yardstick the load generators' throughput is compared with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EcdsaSpeed {
    pub sign_per_sec: f64,
    pub verify_per_sec: f64,
}

impl EcdsaSpeed {
    /// Runs `openssl speed -seconds 3 ecdsap256` (one process: one core's figure).
    pub fn measure() -> Result<Self, String> {
        let output = std::process::Command::new("openssl")
            .args(["speed", "-seconds", "3", "ecdsap256"])
            .output()
            .map_err(|e| format!("running openssl speed: {e}"))?;
        Self::parse(&String::from_utf8_lossy(&output.stdout))
            .ok_or_else(|| "openssl speed printed no nistp256 line".to_owned())
    }

    /// P-256 signatures and verifications per second on one core through `sigstack-keys`
    /// (aws-lc), in this process, as the services sign and verify: for `seconds` each.
    pub fn measure_in_process(seconds: f64) -> Self {
        use sigstack_keys::Signer as _;
        let key = sigstack_keys::SoftwareKey::generate(sigstack_keys::Algorithm::EcdsaP256Sha256);
        let public =
            sigstack_keys::PublicKey::from_spki_der(key.public_key_der()).expect("a P-256 key");
        let message = b"the P-256 yardstick";
        let signature = key.sign(message).expect("signing");
        let per_second = |op: &dyn Fn()| {
            let (started, mut done) = (Instant::now(), 0u32);
            while started.elapsed().as_secs_f64() < seconds {
                op();
                done += 1;
            }
            f64::from(done) / started.elapsed().as_secs_f64()
        };
        Self {
            sign_per_sec: per_second(&|| {
                key.sign(message).expect("signing");
            }),
            verify_per_sec: per_second(&|| {
                public.verify(message, &signature).expect("verifying");
            }),
        }
    }

    /// The last two numbers of the `… ecdsa (nistp256) … sign/s verify/s` line.
    pub fn parse(output: &str) -> Option<Self> {
        let line = output.lines().find(|l| l.contains("(nistp256)"))?;
        let numbers: Vec<f64> = line
            .split_whitespace()
            .filter_map(|w| w.parse::<f64>().ok())
            .collect();
        let [.., sign, verify] = numbers[..] else {
            return None;
        };
        Some(Self {
            sign_per_sec: sign,
            verify_per_sec: verify,
        })
    }

    /// Requests per second the machine's `cores` could serve if each cost exactly `signs`
    /// signatures and `verifies` verifications and nothing else.
    pub fn bound(&self, cores: usize, signs: u32, verifies: u32) -> f64 {
        cores as f64 / self.seconds_per_request(signs, verifies)
    }

    /// One core's time for `signs` signatures and `verifies` verifications.
    pub fn seconds_per_request(&self, signs: u32, verifies: u32) -> f64 {
        f64::from(signs) / self.sign_per_sec + f64::from(verifies) / self.verify_per_sec
    }
}

/// The line comparing a run's throughput with the crypto bound of `cores` at `speed`.
pub fn crypto_bound_line(
    speed: &EcdsaSpeed,
    cores: usize,
    per_second: f64,
    signs: u32,
    verifies: u32,
) -> String {
    let bound = speed.bound(cores, signs, verifies);
    format!(
        "crypto bound: {cores} cores / ({signs} P-256 signature(s) + {verifies} verification(s)) = {bound:.0}/s (openssl speed: {:.0} sign/s, {:.0} verify/s per core); this run reached {:.1}% of it",
        speed.sign_per_sec,
        speed.verify_per_sec,
        100.0 * per_second / bound
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_on_every_core_in_order() {
        assert_eq!(
            make_on_every_core(1000, |i| i * 2),
            (0..1000).map(|i| i * 2).collect::<Vec<_>>()
        );
        assert!(make_on_every_core(0, |i| i).is_empty());
    }

    #[test]
    fn targets_are_plain_http_urls() {
        let t = Target::parse("http://127.0.0.1:3000/api/v1/log/entries").unwrap();
        assert_eq!(t.authority, "127.0.0.1:3000");
        assert_eq!(t.uri, "/api/v1/log/entries");
        assert_eq!(t.host, "127.0.0.1:3000");
        assert_eq!(Target::parse("http://h:1").unwrap().uri, "/");
        assert!(Target::parse("https://h/x").is_err());
        assert!(Target::parse("http:///x").is_err());
    }

    #[test]
    fn database_cpu_counts_what_each_server_process_spent_between_samples() {
        let secs = Duration::from_secs;
        let before = DatabaseCpu([(1, secs(1)), (2, secs(2))].into_iter().collect());
        // Process 1 spent 2 s more; 2 is gone; 3 is new and counts in full.
        let after = DatabaseCpu([(1, secs(3)), (3, secs(1))].into_iter().collect());
        assert_eq!(before.until(&after), Some(secs(3)));
        assert_eq!(before.until(&DatabaseCpu::default()), None);
    }

    #[test]
    fn openssl_speed_output_is_read() {
        let output = "Doing 256 bits sign ecdsa's for 3s: 120000 256 bits ECDSA signs in 3.00s\n\
                      \x20                             sign    verify    sign/s verify/s\n\
                      \x20256 bits ecdsa (nistp256)   0.0000s   0.0001s  40000.0  13000.5\n";
        let speed = EcdsaSpeed::parse(output).unwrap();
        assert_eq!(speed.sign_per_sec, 40000.0);
        assert_eq!(speed.verify_per_sec, 13000.5);
        assert_eq!(EcdsaSpeed::parse("nothing"), None);
        // One signature and one verification per request on two cores.
        let speed = EcdsaSpeed {
            sign_per_sec: 30000.0,
            verify_per_sec: 10000.0,
        };
        assert!((speed.bound(2, 1, 1) - 15000.0).abs() < 1e-6);
        assert!((speed.seconds_per_request(3, 3) - 0.0004).abs() < 1e-12);
    }
}
