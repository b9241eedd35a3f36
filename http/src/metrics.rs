//! Prometheus metrics as every service keeps them: one registry per service value (no process
//! globals, so tests and `sigstack up` can run several services in one process), metrics
//! registered as they are made, and the text exposition at `/metrics`.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use prometheus::core::Collector;
use prometheus::{
    Encoder as _, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// The content type of the Prometheus text exposition format.
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4";

/// A service's metrics registry.
///
/// The constructors panic on an invalid or duplicate metric: names and labels are constants
/// of the program, so that is a bug found by the first test that builds the service.
#[derive(Clone, Default)]
pub struct MetricsRegistry {
    registry: Registry,
}

impl std::fmt::Debug for MetricsRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsRegistry").finish_non_exhaustive()
    }
}

impl MetricsRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// The registry of a service whose metric names start with `prefix` (upstream's: `rekor`,
    /// `fulcio`, `timestamp_authority`), holding `<prefix>_build_info{version}` = 1 as
    /// upstream's services do.
    pub fn for_service(prefix: &str) -> Self {
        let registry = Self::new();
        let opts = Opts::new(
            format!("{prefix}_build_info"),
            "A metric with a constant '1' value labeled by the version the service was built from",
        )
        .const_label("version", env!("CARGO_PKG_VERSION"));
        registry
            .register(prometheus::IntGauge::with_opts(opts).expect("valid metric"))
            .set(1);
        registry
    }

    fn register<C: Collector + Clone + 'static>(&self, metric: C) -> C {
        self.registry
            .register(Box::new(metric.clone()))
            .expect("each metric is registered once");
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

    /// The per-request metrics of upstream's HTTP middleware, named with `prefix`:
    /// `<prefix>_qps_by_api{path,method,code}` (requests), `<prefix>_latency_by_api{path,method}`
    /// (nanoseconds, as upstream records it, buckets 1 ms to 4 s) and
    /// `<prefix>_api_latency{path,code}` (seconds). `path` is the route pattern that matched.
    pub fn http_metrics(&self, prefix: &str) -> HttpMetrics {
        // Upstream's ExponentialBucketsRange(1 ms, 4 s, 10), in nanoseconds.
        let factor = (4_000.0f64).powf(1.0 / 9.0);
        let ns_buckets: Vec<f64> = (0..10).map(|i| 1e6 * factor.powi(i)).collect();
        HttpMetrics(std::sync::Arc::new(HttpMetricsInner {
            requests: self.counter_vec(
                &format!("{prefix}_qps_by_api"),
                "Api QPS by path, method, and response code",
                &["path", "method", "code"],
            ),
            latency_ns: self.histogram_vec(
                &format!("{prefix}_latency_by_api"),
                "Api Latency (in ns) by path and method",
                &["path", "method"],
                &ns_buckets,
            ),
            latency: self.histogram_vec(
                &format!("{prefix}_api_latency"),
                "Api Latency on calls",
                &["path", "code"],
                prometheus::DEFAULT_BUCKETS,
            ),
        }))
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("the text encoding of gathered metrics into a Vec cannot fail");
        out
    }

    /// The `/metrics` response.
    pub fn response(&self) -> Response {
        (
            [(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)],
            self.render(),
        )
            .into_response()
    }
}

/// Per-request HTTP metrics, recorded by the access-log layer
/// ([`crate::with_access_log`]); made by [`MetricsRegistry::http_metrics`].
#[derive(Clone)]
pub struct HttpMetrics(std::sync::Arc<HttpMetricsInner>);

struct HttpMetricsInner {
    requests: IntCounterVec,
    latency_ns: HistogramVec,
    latency: HistogramVec,
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
        self.0
            .requests
            .with_label_values(&[route, method, code])
            .inc();
        self.0
            .latency_ns
            .with_label_values(&[route, method])
            .observe(elapsed.as_nanos() as f64);
        self.0
            .latency
            .with_label_values(&[route, code])
            .observe(elapsed.as_secs_f64());
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
        let response = metrics.response();
        assert_eq!(response.headers()["content-type"], METRICS_CONTENT_TYPE);
    }

    #[test]
    fn a_service_registry_has_build_info_and_upstreams_request_metrics() {
        let metrics = MetricsRegistry::for_service("rekor");
        let http = metrics.http_metrics("rekor");
        http.record(
            "/api/v1/log",
            "GET",
            200,
            std::time::Duration::from_millis(3),
        );
        let text = String::from_utf8(metrics.render()).unwrap();
        assert!(
            text.contains(&format!(
                "rekor_build_info{{version=\"{}\"}} 1",
                env!("CARGO_PKG_VERSION")
            )),
            "{text}"
        );
        assert!(
            text.contains("rekor_qps_by_api{code=\"200\",method=\"GET\",path=\"/api/v1/log\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("rekor_latency_by_api_count{method=\"GET\",path=\"/api/v1/log\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("rekor_latency_by_api_sum{method=\"GET\",path=\"/api/v1/log\"} 3000000"),
            "{text}"
        );
        assert!(
            text.contains("rekor_api_latency_count{code=\"200\",path=\"/api/v1/log\"} 1"),
            "{text}"
        );
    }

    #[test]
    #[should_panic(expected = "registered once")]
    fn a_name_registered_twice_is_a_bug() {
        let metrics = MetricsRegistry::new();
        metrics.counter_vec("x_total", "X", &[]);
        metrics.counter_vec("x_total", "X", &[]);
    }
}
