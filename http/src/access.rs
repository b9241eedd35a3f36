//! The access log: one line per request, and a request id that ties it to every other line the
//! request logged (an internal error's source chain, above all) and to the client, which gets
//! it back in `X-Request-Id`.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use tracing::Instrument as _;

use crate::HttpMetrics;

/// The header a request id arrives in (from a load balancer or client that set one) and is
/// returned in.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The tracing target of access lines, so that a filter can select them
/// (`RUST_LOG=info,access=off` silences them).
pub const ACCESS_TARGET: &str = "access";

/// Longest request id taken from a request; longer ones are replaced by ours.
const MAX_REQUEST_ID: usize = 128;

/// `router` with an access log: every request runs inside a `request` span carrying its id,
/// and ends with one `access` line: method, path, route (the pattern that matched), status,
/// error kind, response bytes (where the length is known up front), remote address (where the
/// server was made with connect info) and milliseconds.
///
/// With `metrics`, the same layer records the per-request metrics, under upstream's names
/// where upstream has the service ([`crate::MetricsRegistry::http_metrics`]).
pub fn with_access_log<S>(
    router: Router<S>,
    service: &'static str,
    metrics: Option<HttpMetrics>,
) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    router.layer(axum::middleware::from_fn_with_state(
        AccessState { service, metrics },
        access_log,
    ))
}

/// What the access-log layer knows of its service.
#[derive(Clone)]
struct AccessState {
    service: &'static str,
    metrics: Option<HttpMetrics>,
}

/// The id the request came with, if it is one we can log as it is (it ends up in log lines, so
/// only a bounded run of token characters is taken), else a new random one.
fn request_id(request: &Request) -> HeaderValue {
    let given = request
        .headers()
        .get(&REQUEST_ID_HEADER)
        .filter(|v| {
            let bytes = v.as_bytes();
            !bytes.is_empty()
                && bytes.len() <= MAX_REQUEST_ID
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
        })
        .cloned();
    given.unwrap_or_else(|| {
        // 16 hex digits, as `{:016x}` writes them, without formatting a `String` first.
        let mut id = [0u8; 16];
        hex::encode_to_slice(rand::random::<u64>().to_be_bytes(), &mut id)
            .expect("the buffer is twice as long");
        HeaderValue::from_bytes(&id).expect("hex is a valid header value")
    })
}

async fn access_log(State(state): State<AccessState>, request: Request, next: Next) -> Response {
    let id = request_id(&request);
    let span = tracing::info_span!(
        "request",
        service = state.service,
        id = id.to_str().unwrap_or_default(),
    );
    // What the access line and the metrics need is taken only when one of them is wanted.
    let log_access = tracing::enabled!(target: ACCESS_TARGET, tracing::Level::INFO);
    let seen = (log_access || state.metrics.is_some()).then(|| Seen {
        method: request.method().clone(),
        route: request.extensions().get::<MatchedPath>().cloned(),
        started: Instant::now(),
    });
    let line = log_access.then(|| AccessLine {
        // The path only: query strings may carry what does not belong in a log.
        path: request.uri().path().to_owned(),
        remote: request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0),
    });
    let mut response = next.run(request).instrument(span.clone()).await;
    if let Some(seen) = seen {
        let elapsed = seen.started.elapsed();
        if let Some(metrics) = &state.metrics {
            let route = seen.route.as_ref().map_or("unmatched", MatchedPath::as_str);
            metrics.record(
                route,
                seen.method.as_str(),
                response.status().as_u16(),
                elapsed,
            );
        }
        if let Some(line) = line {
            span.in_scope(|| line.log(&seen, elapsed, &response));
        }
    }
    response.headers_mut().insert(REQUEST_ID_HEADER, id);
    response
}

/// What the access line and the metrics both need of a request.
struct Seen {
    method: axum::http::Method,
    route: Option<MatchedPath>,
    started: Instant,
}

/// What only the access line needs.
struct AccessLine {
    path: String,
    remote: Option<SocketAddr>,
}

impl AccessLine {
    fn log(self, seen: &Seen, elapsed: std::time::Duration, response: &Response) {
        use axum::body::HttpBody as _;
        let millis = elapsed.as_secs_f64() * 1000.0;
        let bytes = response
            .headers()
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .or_else(|| response.body().size_hint().exact());
        tracing::info!(
            target: ACCESS_TARGET,
            method = %seen.method,
            path = self.path,
            route = seen.route.as_ref().map(MatchedPath::as_str),
            status = response.status().as_u16(),
            error = crate::error_kind(response).map(|k| k.category()),
            bytes,
            remote = self.remote.map(tracing::field::display),
            ms = format_args!("{millis:.1}"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::get;
    use std::sync::{Arc, Mutex};
    use tower::ServiceExt as _;

    /// Log lines written while `f` runs, as text.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn app() -> Router {
        let router = Router::new().route("/ok", get(|| async { "fine" })).route(
            "/broken",
            get(|| async {
                Err::<(), _>(crate::ApiError::internal_from(
                    "reading the head",
                    std::io::Error::other("disk on fire"),
                ))
            }),
        );
        with_access_log(router, "test", None)
    }

    async fn call(uri: &str, id: Option<&str>) -> Response {
        let mut request = Request::get(uri);
        if let Some(id) = id {
            request = request.header("x-request-id", id);
        }
        // What `into_make_service_with_connect_info` puts in every request.
        let remote: SocketAddr = "192.0.2.7:40000".parse().unwrap();
        let request = request.extension(ConnectInfo(remote));
        app()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    #[test]
    fn fresh_ids_are_16_lowercase_hex_digits() {
        let request = Request::get("/").body(axum::body::Body::empty()).unwrap();
        for _ in 0..100 {
            let id = request_id(&request);
            let id = id.to_str().unwrap();
            assert_eq!(id.len(), 16);
            assert!(id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
            assert_eq!(format!("{:016x}", u64::from_str_radix(id, 16).unwrap()), id);
        }
    }

    // One test, not two: tracing caches per call site whether anyone listens, and a test
    // running without a subscriber on another thread could make this one's lines vanish.
    #[tokio::test]
    async fn ids_are_returned_and_logged_on_the_access_line_and_with_internal_errors() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);

        let fresh = call("/ok", None).await;
        let id = fresh.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_eq!(id.len(), 16);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));

        let kept = call("/ok", Some("lb-7f3a:42")).await;
        assert_eq!(kept.headers()["x-request-id"], "lb-7f3a:42");

        for bad in ["two words", "x".repeat(MAX_REQUEST_ID + 1).as_str(), "a;b"] {
            let replaced = call("/ok", Some(bad)).await;
            let id = replaced.headers()["x-request-id"]
                .to_str()
                .unwrap()
                .to_owned();
            assert_ne!(id, bad);
            assert_eq!(id.len(), 16, "{bad:?}");
        }

        *captured.0.lock().unwrap() = Vec::new();
        let response = call("/broken?secret=1", Some("req-1")).await;
        assert_eq!(response.status(), 500);
        call("/ok", Some("req-2")).await;

        let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = log.lines().collect();
        let internal = lines.iter().find(|l| l.contains("disk on fire")).unwrap();
        assert!(internal.contains("id=\"req-1\""), "{internal}");
        let access: Vec<&&str> = lines.iter().filter(|l| l.contains(" access:")).collect();
        assert_eq!(access.len(), 2, "{log}");
        assert!(access[0].contains("method=GET"), "{log}");
        assert!(
            access[1].contains("route=\"/ok\"") && access[1].contains("bytes=4"),
            "{log}"
        );
        assert!(access[1].contains("remote=192.0.2.7:40000"), "{log}");
        assert!(access[0].contains("id=\"req-1\"") && access[0].contains("status=500"));
        assert!(access[0].contains("error=\"internal\"") && access[0].contains("path=\"/broken\""));
        assert!(!log.contains("secret"), "{log}");
        assert!(access[1].contains("id=\"req-2\"") && access[1].contains("status=200"));
    }
}
