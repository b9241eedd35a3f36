//! The explorer's router against a stand-in upstream on a loopback port: what it serves itself,
//! what its proxy forwards (and what never reaches the upstream), and what the page reads when a
//! service is down.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::http::{header, Request, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use explorer::{Explorer, Upstreams};
use tower::ServiceExt as _;

/// A stand-in Rekor recording every request it gets (`METHOD path?query body`).
async fn upstream() -> (url::Url, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = |seen: Arc<Mutex<Vec<String>>>| {
        move |req: Request<Body>| async move {
            let line = format!("{} {}", req.method(), req.uri());
            let body = to_bytes(req.into_body(), 1 << 20).await.unwrap();
            seen.lock()
                .unwrap()
                .push(format!("{line} {}", String::from_utf8_lossy(&body)));
            (
                [(header::CONTENT_TYPE, "application/json")],
                "{\"treeSize\":3}",
            )
        }
    };
    let app = Router::new()
        .route("/api/v1/log", get(record(seen.clone())))
        .route("/api/v1/index/retrieve", post(record(seen.clone())))
        .route("/api/v1/log/entries", post(record(seen.clone())));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/").parse().unwrap(), seen)
}

fn explorer(upstreams: Upstreams) -> Router {
    explorer::router(Arc::new(
        Explorer::new(upstreams, Duration::from_secs(2)).unwrap(),
    ))
}

async fn call(
    router: &Router,
    method: &str,
    uri: &str,
    body: &str,
) -> (StatusCode, String, String) {
    let response = router
        .clone()
        .oneshot(
            Request::builder()
                .method(method)
                .uri(uri)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_owned()))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status();
    let csp = response
        .headers()
        .get(header::CONTENT_SECURITY_POLICY)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, csp, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn serves_the_page_and_its_assets_from_the_binary() {
    let router = explorer(Upstreams::default());
    let (status, csp, body) = call(&router, "GET", "/", "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("/assets/app.js"));
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"));
    let (status, _, body) = call(&router, "GET", "/assets/merkle.js", "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("verifyInclusion"));
    let (status, csp, body) = call(&router, "GET", "/assets/nope.js", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("no asset") && !csp.is_empty());
    // Without a pinned trusted root the page reads the TUF repository's.
    assert_eq!(
        call(&router, "GET", "/trusted_root.json", "").await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn forwards_reads_and_nothing_else() {
    let (rekor, seen) = upstream().await;
    let router = explorer(Upstreams {
        rekor: Some(rekor),
        ..Upstreams::default()
    });
    let (status, _, body) = call(&router, "GET", "/proxy/rekor/api/v1/log?x=1", "").await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, "{\"treeSize\":3}")
    );
    let search = "{\"hash\":\"sha256:00\"}";
    let (status, _, _) = call(
        &router,
        "POST",
        "/proxy/rekor/api/v1/index/retrieve",
        search,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    for (method, uri, want) in [
        (
            "POST",
            "/proxy/rekor/api/v1/log/entries",
            StatusCode::FORBIDDEN,
        ),
        (
            "PUT",
            "/proxy/rekor/api/v1/log",
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            "GET",
            "/proxy/rekor/api/%2e%2e/secret",
            StatusCode::FORBIDDEN,
        ),
        ("GET", "/proxy/nosuch/api/v1/log", StatusCode::NOT_FOUND),
        ("GET", "/proxy/ctlog/ct/v1/get-sth", StatusCode::NOT_FOUND),
    ] {
        let (status, _, body) = call(&router, method, uri, "{}").await;
        assert_eq!(status, want, "{method} {uri}: {body}");
    }
    assert_eq!(
        *seen.lock().unwrap(),
        vec![
            "GET /api/v1/log?x=1 ".to_owned(),
            format!("POST /api/v1/index/retrieve {search}"),
        ],
        "only the reads reached the log"
    );
    let (_, _, config) = call(&router, "GET", "/config.json", "").await;
    let config: serde_json::Value = serde_json::from_str(&config).unwrap();
    assert!(config["services"]["rekor"].is_string());
    assert!(config["services"].get("ctlog").is_none());
}

#[tokio::test]
async fn a_service_that_is_down_is_named_in_a_503() {
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let router = explorer(Upstreams {
        ctlog: Some(format!("http://{addr}").parse().unwrap()),
        ..Upstreams::default()
    });
    let (status, _, body) = call(&router, "GET", "/proxy/ctlog/ct/v1/get-sth", "").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("ctlog at") && message.contains("did not answer"),
        "{message}"
    );
}
