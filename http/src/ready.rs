//! `/readyz`: whether a service can do its work now (its database answers, its keys sign, its
//! sequencer runs), as opposed to `/healthz`, which only says the process serves. Load
//! balancers and orchestrators stop sending requests to an unready instance.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

/// The outcome of a service's readiness checks, answered as `200 {"status":"ready",…}` or
/// `503 {"status":"unready",…}` with each check's result (`"ok"` or why not).
#[derive(Debug, Default)]
pub struct Readiness {
    checks: Map<String, Value>,
    ready: bool,
}

impl Readiness {
    /// No checks yet (ready).
    pub fn new() -> Self {
        Self {
            checks: Map::new(),
            ready: true,
        }
    }

    /// Adds the result of the check `name`.
    pub fn check<E: std::fmt::Display>(mut self, name: &str, result: Result<(), E>) -> Self {
        let value = match result {
            Ok(()) => Value::from("ok"),
            Err(e) => {
                self.ready = false;
                Value::from(e.to_string())
            }
        };
        self.checks.insert(name.to_owned(), value);
        self
    }

    /// Whether every check passed.
    pub fn is_ready(&self) -> bool {
        self.ready
    }
}

impl IntoResponse for Readiness {
    fn into_response(self) -> Response {
        let (status, word) = if self.ready {
            (StatusCode::OK, "ready")
        } else {
            let checks = Value::Object(self.checks.clone());
            tracing::warn!(%checks, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "unready")
        };
        let body = serde_json::json!({"status": word, "checks": self.checks});
        let mut response = (
            status,
            [(header::CACHE_CONTROL, "no-store")],
            axum::Json(body),
        )
            .into_response();
        // The body is the answer, not an error to render in the API's error shape.
        response.extensions_mut().insert(crate::shape::Shaped);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(response: Response) -> Value {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn ready_only_when_every_check_passes() {
        let ready = Readiness::new()
            .check::<String>("database", Ok(()))
            .check::<String>("signer", Ok(()));
        assert!(ready.is_ready());
        let response = ready.into_response();
        assert_eq!(response.status(), 200);
        assert_eq!(
            body(response).await,
            serde_json::json!({"status": "ready", "checks": {"database": "ok", "signer": "ok"}})
        );

        let unready = Readiness::new()
            .check::<String>("database", Err("connection refused".into()))
            .check::<String>("signer", Ok(()));
        let response = unready.into_response();
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()["cache-control"], "no-store");
        assert_eq!(
            body(response).await,
            serde_json::json!({"status": "unready", "checks": {"database": "connection refused", "signer": "ok"}})
        );
    }

    #[tokio::test]
    async fn the_error_shape_leaves_it_alone() {
        use tower::ServiceExt as _;
        let router: axum::Router = crate::with_error_shape(
            axum::Router::new().route(
                "/readyz",
                axum::routing::get(|| async { Readiness::new().check("database", Err("down")) }),
            ),
            crate::ErrorShape::GrpcGateway,
        );
        let response = router
            .oneshot(
                axum::http::Request::get("/readyz")
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), 503);
        assert_eq!(body(response).await["status"], "unready");
    }
}
