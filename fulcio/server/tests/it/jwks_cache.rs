//! The issuer key cache fetches once for many: concurrent requests for an issuer's keys, or for
//! a refresh after an unknown `kid`, share one round trip to the issuer, and so does a failure.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use serde_json::json;

/// An issuer whose JWKS endpoint answers slowly (so that requests overlap) and counts its hits;
/// `healthy` false makes it answer 500.
async fn counting_issuer(healthy: bool) -> (fulcio::IssuerConfig, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let discovery = json!({"issuer": url, "jwks_uri": format!("{url}/keys")}).to_string();
    let counter = hits.clone();
    let app = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(move || async move { discovery }),
        )
        .route(
            "/keys",
            get(move || {
                let counter = counter.clone();
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    let status = if healthy {
                        axum::http::StatusCode::OK
                    } else {
                        axum::http::StatusCode::INTERNAL_SERVER_ERROR
                    };
                    (status, json!({"keys": []}).to_string())
                }
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });
    let issuer = serde_json::from_value(
        json!({"issuer-url": url, "client-id": "sigstore", "type": "email"}),
    )
    .unwrap();
    (issuer, hits)
}

/// Runs `n` calls of `call` at once and returns how many succeeded.
async fn concurrently<F, Fut>(n: usize, call: F) -> usize
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    let tasks: Vec<_> = (0..n).map(|_| tokio::spawn(call())).collect();
    let mut ok = 0;
    for task in tasks {
        ok += usize::from(task.await.unwrap());
    }
    ok
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_uses_and_refreshes_share_one_fetch() {
    let (issuer, hits) = counting_issuer(true).await;
    // No minimum interval: every refresh may fetch, so only sharing keeps the count down.
    let cache = Arc::new(fulcio_server::oidc::KeyCache::new(Duration::ZERO));

    let ok = concurrently(32, || {
        let (cache, issuer) = (cache.clone(), issuer.clone());
        async move { cache.keys(&issuer).await.is_ok() }
    })
    .await;
    assert_eq!(ok, 32);
    assert_eq!(hits.load(Ordering::SeqCst), 1, "first uses");

    let ok = concurrently(32, || {
        let (cache, issuer) = (cache.clone(), issuer.clone());
        async move { cache.refresh(&issuer).await.is_ok() }
    })
    .await;
    assert_eq!(ok, 32);
    assert_eq!(hits.load(Ordering::SeqCst), 2, "refreshes");

    // A refresh asked after the last fetch finished fetches again.
    cache.refresh(&issuer).await.unwrap();
    assert_eq!(hits.load(Ordering::SeqCst), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_issuer_is_asked_once_per_burst() {
    let (issuer, hits) = counting_issuer(false).await;
    let cache = Arc::new(fulcio_server::oidc::KeyCache::new(Duration::ZERO));
    let ok = concurrently(16, || {
        let (cache, issuer) = (cache.clone(), issuer.clone());
        async move { cache.keys(&issuer).await.is_ok() }
    })
    .await;
    assert_eq!(ok, 0);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    let err = cache.keys(&issuer).await.unwrap_err();
    assert!(err.to_string().contains("HTTP 500"), "{err}");
}
