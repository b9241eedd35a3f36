//! Prometheus metrics as every service keeps them: one registry per service value (no process
//! globals, so tests and `sigstack up` can run several services in one process), metrics
//! registered as they are made, and the text exposition at `/metrics`.
//!
//! Where upstream has a metric, ours has its name, type, labels and unit, so that upstream's
//! dashboards and alerts work unchanged; [`HttpMetricNames`] says which service's names a
//! router's per-request metrics take.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use prometheus::core::Collector;
use prometheus::proto::MetricFamily;
use prometheus::{
    Encoder as _, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// The content type of the Prometheus text exposition format.
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4";

/// Buckets of request durations in seconds, for the services upstream has no metric for: 1 ms
/// (a cached read) to 10 s (a write waiting out a slow round).
const REQUEST_SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A service's metrics registry.
///
/// The constructors panic on an invalid or duplicate metric: names and labels are constants
/// of the program, so that is a bug found by the first test that builds the service.
#[derive(Clone, Default)]
pub struct MetricsRegistry {
    registry: Registry,
    /// The prefix of the service's names (`rekor`, …), empty for a registry of no service.
    prefix: &'static str,
}

impl std::fmt::Debug for MetricsRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsRegistry")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl MetricsRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// The registry of a service whose metric names start with `prefix` (upstream's: `rekor`,
    /// `fulcio`, `timestamp_authority`; ours: `ctlog`, `tuf`). Its `<prefix>_build_info` is
    /// added by whoever knows the build ([`MetricsRegistry::add_build_info`]).
    pub fn for_service(prefix: &'static str) -> Self {
        Self {
            registry: Registry::new(),
            prefix,
        }
    }

    /// Adds `<prefix>_build_info{version,revision}` = 1, as upstream's services have it
    /// (upstream also labels the Go version and build date, which a Rust build does not have).
    /// Once per registry: a second call panics.
    pub fn add_build_info(&self, revision: &str) {
        let opts = Opts::new(
            format!("{}_build_info", self.prefix),
            "A metric with a constant '1' value labeled by the version and revision the service was built from",
        )
        .const_label("version", env!("CARGO_PKG_VERSION"))
        .const_label("revision", revision);
        self.register(prometheus::IntGauge::with_opts(opts).expect("valid metric"))
            .set(1);
    }

    /// Registers a collector made elsewhere (a log's sequencer metrics, the process
    /// collector). Panics if one of its names is already registered here.
    pub fn register_collector(&self, collector: Box<dyn Collector>) {
        self.registry
            .register(collector)
            .expect("each metric is registered once");
    }

    fn register<C: Collector + Clone + 'static>(&self, metric: C) -> C {
        self.register_collector(Box::new(metric.clone()));
        metric
    }

    /// A counter with labels.
    pub fn counter_vec(&self, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
        self.register(IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric"))
    }

    /// A gauge with labels.
    pub fn gauge_vec(&self, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
        self.register(IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric"))
    }

    /// A histogram with the given bucket bounds (seconds, for latencies).
    pub fn histogram(&self, name: &str, help: &str, buckets: &[f64]) -> Histogram {
        let opts = HistogramOpts::new(name, help).buckets(buckets.to_vec());
        self.register(Histogram::with_opts(opts).expect("valid metric"))
    }

    /// A histogram with labels.
    pub fn histogram_vec(
        &self,
        name: &str,
        help: &str,
        labels: &[&str],
        buckets: &[f64],
    ) -> HistogramVec {
        let opts = HistogramOpts::new(name, help).buckets(buckets.to_vec());
        self.register(HistogramVec::new(opts, labels).expect("valid metric"))
    }

    /// The per-request metrics of a router, under `names`; recorded by the access-log layer
    /// ([`crate::with_access_log`]). Once per registry: a second call panics.
    pub fn http_metrics(&self, names: HttpMetricNames) -> HttpMetrics {
        // Upstream's ExponentialBucketsRange(1 ms, 4 s, 10), in nanoseconds.
        let ns_buckets = || {
            let factor = (4_000.0f64).powf(1.0 / 9.0);
            (0..10).map(|i| 1e6 * factor.powi(i)).collect::<Vec<f64>>()
        };
        let swagger = |prefix: &str, counter: &str| Swagger {
            requests: self.counter_vec(
                counter,
                "Api QPS by path, method, and response code",
                &["path", "method", "code"],
            ),
            latency_ns: self.histogram_vec(
                &format!("{prefix}_latency_by_api"),
                "Api Latency (in ns) by path and method",
                &["path", "method"],
                &ns_buckets(),
            ),
            latency_legacy_ns: self.histogram_vec(
                &format!("{prefix}_api_latency"),
                "Api Latency on calls (in ns, in the default buckets, as upstream records it)",
                &["path", "code"],
                prometheus::DEFAULT_BUCKETS,
            ),
        };
        let kind = match names {
            HttpMetricNames::Rekor => Kind::Swagger(swagger("rekor", "rekor_qps_by_api")),
            HttpMetricNames::TimestampAuthority => Kind::Swagger(swagger(
                "timestamp_authority",
                "timestamp_authority_http_requests_total",
            )),
            HttpMetricNames::Fulcio => Kind::Fulcio {
                requests: self.counter_vec(
                    "http_requests_total",
                    "Count all HTTP requests",
                    &["code", "method"],
                ),
                latency: self.histogram_vec(
                    "fulcio_api_latency",
                    "API Latency on calls",
                    &["code", "method"],
                    prometheus::DEFAULT_BUCKETS,
                ),
            },
            HttpMetricNames::Ours(prefix) => Kind::Ours {
                requests: self.counter_vec(
                    &format!("{prefix}_http_requests_total"),
                    "HTTP requests by route, method and status code",
                    &["path", "method", "code"],
                ),
                duration: self.histogram_vec(
                    &format!("{prefix}_http_request_duration_seconds"),
                    "HTTP request duration by route and method, in seconds",
                    &["path", "method"],
                    REQUEST_SECONDS_BUCKETS,
                ),
            },
        };
        HttpMetrics(std::sync::Arc::new(kind))
    }

    /// Every metric of the registry, gathered.
    fn gather(&self) -> Vec<MetricFamily> {
        self.registry.gather()
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> Vec<u8> {
        render(std::slice::from_ref(self))
    }
}

/// The text exposition of several registries as one: families of the same name (the sequencer
/// metrics of two services in one process, labelled by log) are merged. Registries must not
/// hold the same series twice.
fn render(registries: &[MetricsRegistry]) -> Vec<u8> {
    let mut families: Vec<MetricFamily> = registries
        .iter()
        .flat_map(MetricsRegistry::gather)
        .collect();
    families.sort_by(|a, b| a.name().cmp(b.name()));
    families.dedup_by(|later, kept| {
        if later.name() != kept.name() {
            return false;
        }
        let metrics = later.take_metric();
        kept.mut_metric().extend(metrics);
        true
    });
    let mut out = Vec::new();
    TextEncoder::new()
        .encode(&families, &mut out)
        .expect("the text encoding of gathered metrics into a Vec cannot fail");
    out
}

fn metrics_response(registries: &[MetricsRegistry]) -> Response {
    (
        [(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)],
        render(registries),
    )
        .into_response()
}

/// A router serving `GET /metrics`: the registries as one exposition, families of the same
/// name merged (the logs' metrics of two services in one process). A service merges it into
/// its own router, or it is served on a listener of its own (upstream's `:2112`). Scrapes are
/// not requests to the service: they are neither logged nor counted.
pub fn metrics_router(registries: Vec<MetricsRegistry>) -> Router {
    let registries: std::sync::Arc<[MetricsRegistry]> = registries.into();
    Router::new().route(
        "/metrics",
        get(move || {
            let registries = registries.clone();
            async move { metrics_response(&registries) }
        }),
    )
}

/// Which names a router's per-request metrics take: upstream's, for the services upstream has
/// (each upstream service names and labels them differently), else ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HttpMetricNames {
    /// Rekor's: `rekor_qps_by_api{path,method,code}` (requests),
    /// `rekor_latency_by_api{path,method}` (nanoseconds, buckets 1 ms to 4 s) and
    /// `rekor_api_latency{path,code}` (nanoseconds, as upstream observes it, in the default
    /// buckets, so only its `_sum` and `_count` mean anything).
    Rekor,
    /// The timestamp authority's: as Rekor's, with the counter named
    /// `timestamp_authority_http_requests_total{code,path,method}`.
    TimestampAuthority,
    /// Fulcio's, from Go's `promhttp` middleware: `http_requests_total{code,method}` and
    /// `fulcio_api_latency{code,method}` (seconds, default buckets), the method in lower case.
    Fulcio,
    /// Ours, for a service upstream does not have: `<prefix>_http_requests_total{path,method,code}`
    /// and `<prefix>_http_request_duration_seconds{path,method}`.
    Ours(&'static str),
}

/// Per-request HTTP metrics, recorded by the access-log layer
/// ([`crate::with_access_log`]); made by [`MetricsRegistry::http_metrics`].
#[derive(Clone)]
pub struct HttpMetrics(std::sync::Arc<Kind>);

/// Rekor's and the timestamp authority's shape (both go-swagger servers).
struct Swagger {
    requests: IntCounterVec,
    latency_ns: HistogramVec,
    latency_legacy_ns: HistogramVec,
}

enum Kind {
    Swagger(Swagger),
    Fulcio {
        requests: IntCounterVec,
        latency: HistogramVec,
    },
    Ours {
        requests: IntCounterVec,
        duration: HistogramVec,
    },
}

impl std::fmt::Debug for HttpMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpMetrics").finish_non_exhaustive()
    }
}

impl HttpMetrics {
    /// Records one request: its route (`unmatched` for none), method, status and duration.
    pub(crate) fn record(
        &self,
        route: &str,
        method: &str,
        status: u16,
        elapsed: std::time::Duration,
    ) {
        let mut buffer = [0u8; 3];
        let code = format_status(status, &mut buffer);
        match &*self.0 {
            Kind::Swagger(m) => {
                // Label order is each family's own: `with_label_values` follows it.
                m.requests.with_label_values(&[route, method, code]).inc();
                let ns = elapsed.as_nanos() as f64;
                m.latency_ns.with_label_values(&[route, method]).observe(ns);
                m.latency_legacy_ns
                    .with_label_values(&[route, code])
                    .observe(ns);
            }
            Kind::Fulcio { requests, latency } => {
                let method = promhttp_method(method);
                requests.with_label_values(&[code, method]).inc();
                latency
                    .with_label_values(&[code, method])
                    .observe(elapsed.as_secs_f64());
            }
            Kind::Ours { requests, duration } => {
                requests.with_label_values(&[route, method, code]).inc();
                duration
                    .with_label_values(&[route, method])
                    .observe(elapsed.as_secs_f64());
            }
        }
    }
}

/// The method label Go's `promhttp` gives: the standard methods in lower case, any other
/// `unknown` (which also bounds the label's values).
fn promhttp_method(method: &str) -> &'static str {
    match method {
        "GET" => "get",
        "PUT" => "put",
        "HEAD" => "head",
        "POST" => "post",
        "DELETE" => "delete",
        "CONNECT" => "connect",
        "OPTIONS" => "options",
        "PATCH" => "patch",
        "TRACE" => "trace",
        _ => "unknown",
    }
}

/// A three-digit status code as text, without allocating.
fn format_status(status: u16, buffer: &mut [u8; 3]) -> &str {
    let status = status.min(999);
    buffer[0] = b'0' + (status / 100) as u8;
    buffer[1] = b'0' + (status / 10 % 10) as u8;
    buffer[2] = b'0' + (status % 10) as u8;
    std::str::from_utf8(buffer).expect("ASCII digits")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn metrics_are_rendered_as_registered() {
        let metrics = MetricsRegistry::new();
        let issued = metrics.counter_vec("x_issued_total", "Issued", &["kind"]);
        let latency = metrics.histogram("x_seconds", "Latency", &[0.1, 1.0]);
        issued.with_label_values(&["email"]).inc();
        latency.observe(0.5);
        let text = String::from_utf8(metrics.render()).unwrap();
        assert!(text.contains("x_issued_total{kind=\"email\"} 1"), "{text}");
        assert!(text.contains("x_seconds_bucket{le=\"1\"} 1"), "{text}");
    }

    fn exposition(registry: &MetricsRegistry) -> String {
        String::from_utf8(registry.render()).unwrap()
    }

    #[test]
    fn rekors_names_labels_and_units_are_upstreams() {
        let metrics = MetricsRegistry::for_service("rekor");
        metrics.add_build_info("abc1234");
        let http = metrics.http_metrics(HttpMetricNames::Rekor);
        http.record("/api/v1/log", "GET", 200, Duration::from_millis(3));
        let text = exposition(&metrics);
        let version = env!("CARGO_PKG_VERSION");
        for line in [
            format!("rekor_build_info{{revision=\"abc1234\",version=\"{version}\"}} 1"),
            "rekor_qps_by_api{code=\"200\",method=\"GET\",path=\"/api/v1/log\"} 1".into(),
            "rekor_latency_by_api_count{method=\"GET\",path=\"/api/v1/log\"} 1".into(),
            "rekor_latency_by_api_sum{method=\"GET\",path=\"/api/v1/log\"} 3000000".into(),
            // Nanoseconds in seconds-scale buckets, as upstream observes it.
            "rekor_api_latency_sum{code=\"200\",path=\"/api/v1/log\"} 3000000".into(),
            "rekor_api_latency_bucket{code=\"200\",path=\"/api/v1/log\",le=\"10\"} 0".into(),
        ] {
            assert!(text.contains(&line), "{line} not in\n{text}");
        }
    }

    #[test]
    fn fulcio_and_the_timestamp_authority_have_their_own_shapes() {
        let fulcio = MetricsRegistry::for_service("fulcio");
        fulcio.http_metrics(HttpMetricNames::Fulcio).record(
            "/api/v2/signingCert",
            "POST",
            201,
            Duration::from_millis(250),
        );
        let text = exposition(&fulcio);
        assert!(
            text.contains("http_requests_total{code=\"201\",method=\"post\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("fulcio_api_latency_bucket{code=\"201\",method=\"post\",le=\"0.25\"} 1"),
            "{text}"
        );
        assert!(!text.contains("path="), "{text}");

        let tsa = MetricsRegistry::for_service("timestamp_authority");
        tsa.http_metrics(HttpMetricNames::TimestampAuthority)
            .record("/api/v1/timestamp", "POST", 200, Duration::from_millis(1));
        let text = exposition(&tsa);
        for name in [
            "timestamp_authority_http_requests_total{code=\"200\",method=\"POST\",path=\"/api/v1/timestamp\"} 1",
            "timestamp_authority_latency_by_api_count{method=\"POST\",path=\"/api/v1/timestamp\"} 1",
            "timestamp_authority_api_latency_count{code=\"200\",path=\"/api/v1/timestamp\"} 1",
        ] {
            assert!(text.contains(name), "{name} not in\n{text}");
        }
    }

    #[test]
    fn ours_have_units_in_their_names() {
        let metrics = MetricsRegistry::for_service("ctlog");
        metrics.http_metrics(HttpMetricNames::Ours("ctlog")).record(
            "/ct/v1/get-sth",
            "GET",
            200,
            Duration::from_millis(2),
        );
        let text = exposition(&metrics);
        assert!(
            text.contains(
                "ctlog_http_requests_total{code=\"200\",method=\"GET\",path=\"/ct/v1/get-sth\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains("ctlog_http_request_duration_seconds_bucket{method=\"GET\",path=\"/ct/v1/get-sth\",le=\"0.0025\"} 1"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn registries_are_served_as_one_with_same_named_families_merged() {
        use tower::ServiceExt as _;
        let (a, b) = (MetricsRegistry::new(), MetricsRegistry::new());
        a.gauge_vec("x_tree_size", "Size", &["log"])
            .with_label_values(&["one"])
            .set(3);
        b.gauge_vec("x_tree_size", "Size", &["log"])
            .with_label_values(&["two"])
            .set(4);
        b.counter_vec("y_total", "Y", &[])
            .with_label_values::<&str>(&[])
            .inc();
        let response = metrics_router(vec![a, b])
            .oneshot(
                axum::extract::Request::get("/metrics")
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.headers()["content-type"], METRICS_CONTENT_TYPE);
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let text = String::from_utf8(body.to_vec()).unwrap();
        assert_eq!(
            text.matches("# TYPE x_tree_size gauge").count(),
            1,
            "{text}"
        );
        assert!(text.contains("x_tree_size{log=\"one\"} 3"), "{text}");
        assert!(text.contains("x_tree_size{log=\"two\"} 4"), "{text}");
        assert!(text.contains("y_total 1"), "{text}");
    }

    #[test]
    #[should_panic(expected = "registered once")]
    fn a_name_registered_twice_is_a_bug() {
        let metrics = MetricsRegistry::new();
        metrics.counter_vec("x_total", "X", &[]);
        metrics.counter_vec("x_total", "X", &[]);
    }
}
