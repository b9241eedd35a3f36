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
    #[should_panic(expected = "registered once")]
    fn a_name_registered_twice_is_a_bug() {
        let metrics = MetricsRegistry::new();
        metrics.counter_vec("x_total", "X", &[]);
        metrics.counter_vec("x_total", "X", &[]);
    }
}
