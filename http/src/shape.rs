//! Error bodies in the shape of the upstream API a service speaks. Clients generated from
//! upstream's API documents (go-swagger for Rekor v1 and the timestamp authority, grpc-gateway
//! for Fulcio and Rekor v2) decode error bodies by those shapes, and CT monitors expect ctfe's
//! plain text. One layer per router re-renders every error response — ours, and the framework's
//! own (unknown path, wrong method, bad query string) — so a service never answers an error in
//! another shape.

use crate::error::{ErrorInfo, ErrorKind};
use crate::ApiError;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderValue, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use axum::Router;

/// The error-body conventions of the upstream APIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorShape {
    /// go-swagger (Rekor v1, the timestamp authority): `{"code": <HTTP status>, "message": …}`.
    Swagger,
    /// grpc-gateway (Fulcio's v2 and legacy APIs, Rekor v2):
    /// `{"code": <gRPC status code>, "message": …, "details": []}`.
    GrpcGateway,
    /// certificate-transparency-go's ctfe (RFC 6962 logs): `text/plain`, the status text and
    /// the reason on two lines, as Go's `http.Error` writes them.
    CtText,
}

/// The most of a framework-made error body read back to quote it as the message.
const MAX_QUOTED_BODY: usize = 16 * 1024;

/// An error response for `info` in `shape`.
pub(crate) fn render(shape: ErrorShape, info: &ErrorInfo) -> Response {
    let status = info.kind.status();
    match shape {
        ErrorShape::Swagger => json_response(
            status,
            serde_json::json!({ "code": status.as_u16(), "message": info.message }),
        ),
        ErrorShape::GrpcGateway => json_response(
            status,
            serde_json::json!({
                "code": info.kind.grpc_code(),
                "message": info.message,
                "details": [],
            }),
        ),
        ErrorShape::CtText => {
            let text = format!(
                "{}\n{}\n",
                status.canonical_reason().unwrap_or("Error"),
                info.message
            );
            let mut response = (status, text).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            headers.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            response
        }
    }
}

fn json_response(status: axum::http::StatusCode, body: serde_json::Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// The content type an endpoint's error bodies are labelled with, where it is not JSON: go-swagger
/// writes an operation's error model with that operation's producer, so Rekor's
/// `GET /api/v1/log/publicKey` answers its JSON error as `application/x-pem-file` and the
/// timestamp authority's as `application/timestamp-reply`. Clients decode the body as JSON all
/// the same.
pub fn with_error_content_type<S>(
    route: MethodRouter<S>,
    content_type: &'static str,
) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    route.layer(axum::middleware::map_response_with_state(
        ErrorContentType(content_type),
        label_error_content_type,
    ))
}

/// See [`with_error_content_type`].
#[derive(Debug, Clone, Copy)]
struct ErrorContentType(&'static str);

async fn label_error_content_type(
    State(label): State<ErrorContentType>,
    mut response: Response,
) -> Response {
    let status = response.status();
    if status.is_client_error() || status.is_server_error() {
        response.extensions_mut().insert(label);
    }
    response
}

/// The fallback of every service's router: a 404 that names the path (as go-swagger's does).
pub async fn unknown_path(uri: Uri) -> ApiError {
    ApiError::not_found(unknown_path_message(&uri))
}

fn unknown_path_message(uri: &Uri) -> String {
    format!("path {} was not found", uri.path())
}

/// `router` with every error response (4xx, 5xx) rendered in `shape`.
pub fn with_error_shape<S>(router: Router<S>, shape: ErrorShape) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    router.layer(axum::middleware::map_response_with_state(
        ShapeChoice::Fixed(shape),
        reshape,
    ))
}

/// `router` with every error response rendered in the shape `shape_of` gives the request's
/// path: for a service that speaks two upstream APIs on one listener (Rekor v1 and v2), one
/// layer instead of one per API (each layer costs every request a hop).
pub fn with_error_shape_by_path<S>(router: Router<S>, shape_of: fn(&str) -> ErrorShape) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    router.layer(axum::middleware::map_response_with_state(
        ShapeChoice::ByPath(shape_of),
        reshape,
    ))
}

/// How a shaping layer picks the shape.
#[derive(Clone, Copy)]
enum ShapeChoice {
    Fixed(ErrorShape),
    ByPath(fn(&str) -> ErrorShape),
}

async fn reshape(
    State(choice): State<ShapeChoice>,
    method: Method,
    uri: Uri,
    response: Response,
) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let shape = match choice {
        ShapeChoice::Fixed(shape) => shape,
        ShapeChoice::ByPath(shape_of) => shape_of(uri.path()),
    };
    if response.extensions().get::<Shaped>().is_some() {
        // An inner router (Rekor v2 inside Rekor) already rendered it in its own shape.
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let info = match parts.extensions.get::<ErrorInfo>().cloned() {
        Some(info) => info,
        None => {
            // The framework's own rejection: quote its (short, plain-text) reason.
            let bytes = axum::body::to_bytes(body, MAX_QUOTED_BODY)
                .await
                .unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes).trim().to_string();
            let kind = ErrorKind::from_status(status);
            let message = match kind {
                _ if !text.is_empty() => text,
                ErrorKind::NotFound => unknown_path_message(&uri),
                ErrorKind::MethodNotAllowed => {
                    format!("method {method} is not allowed on {}", uri.path())
                }
                _ => status.canonical_reason().unwrap_or("error").to_string(),
            };
            ErrorInfo { kind, message }
        }
    };
    let rendered = render(shape, &info);
    let (rendered_parts, rendered_body) = rendered.into_parts();
    // Keep what the handler set (Retry-After, Location, Allow); replace the body's headers.
    parts.headers.remove(header::CONTENT_LENGTH);
    for (name, value) in &rendered_parts.headers {
        parts.headers.insert(name.clone(), value.clone());
    }
    if let Some(ErrorContentType(label)) = parts.extensions.get::<ErrorContentType>() {
        parts
            .headers
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(label));
    }
    parts.status = status;
    // Outer layers (metrics, access logs) read the kind from the response.
    parts.extensions.insert(info);
    parts.extensions.insert(Shaped);
    Response::from_parts(parts, Body::new(rendered_body))
}

/// Marks a response already rendered by a shaping layer, or one whose body must stay as it is.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shaped;

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::to_bytes;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use tower::ServiceExt;

    #[derive(serde::Deserialize)]
    struct N {
        #[allow(dead_code)]
        n: u64,
    }

    async fn call(shape: ErrorShape, req: Request<Body>) -> (StatusCode, String, String) {
        let router: Router = with_error_shape(
            Router::new()
                .route("/ok", get(|| async { "fine" }))
                .route(
                    "/bad",
                    get(|| async { ApiError::bad_request("logIndex is required") }),
                )
                .route(
                    "/pem",
                    with_error_content_type(
                        get(|| async { ApiError::not_found("no shard 7") }),
                        "application/x-pem-file",
                    ),
                )
                .route(
                    "/query",
                    get(|axum::extract::Query(_q): axum::extract::Query<N>| async { "fine" }),
                )
                .fallback(unknown_path),
            shape,
        );
        let response = router.oneshot(req).await.unwrap();
        let status = response.status();
        let ct = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (status, ct, String::from_utf8(body.to_vec()).unwrap())
    }

    fn get_req(uri: &str) -> Request<Body> {
        Request::get(uri).body(Body::empty()).unwrap()
    }

    #[tokio::test]
    async fn handler_errors_take_the_shape() {
        let (s, ct, body) = call(ErrorShape::Swagger, get_req("/bad")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert_eq!(ct, "application/json");
        assert_eq!(body, r#"{"code":400,"message":"logIndex is required"}"#);

        let (_, _, body) = call(ErrorShape::GrpcGateway, get_req("/bad")).await;
        assert_eq!(
            body,
            r#"{"code":3,"details":[],"message":"logIndex is required"}"#
        );

        let (_, ct, body) = call(ErrorShape::CtText, get_req("/bad")).await;
        assert_eq!(ct, "text/plain; charset=utf-8");
        assert_eq!(body, "Bad Request\nlogIndex is required\n");
    }

    #[tokio::test]
    async fn the_shape_can_follow_the_path() {
        fn by_path(path: &str) -> ErrorShape {
            if path.starts_with("/v2/") {
                ErrorShape::GrpcGateway
            } else {
                ErrorShape::Swagger
            }
        }
        let router: Router = with_error_shape_by_path(
            Router::new().route(
                "/{api}/bad",
                get(|| async { Err::<(), _>(ApiError::bad_request("no")) }),
            ),
            by_path,
        );
        let body_of = |uri: &'static str| {
            let router = router.clone();
            async move {
                let response = router.oneshot(get_req(uri)).await.unwrap();
                let bytes = to_bytes(response.into_body(), 1 << 16).await.unwrap();
                String::from_utf8(bytes.to_vec()).unwrap()
            }
        };
        assert_eq!(body_of("/v1/bad").await, r#"{"code":400,"message":"no"}"#);
        assert_eq!(
            body_of("/v2/bad").await,
            r#"{"code":3,"details":[],"message":"no"}"#
        );
    }

    #[tokio::test]
    async fn framework_rejections_take_the_shape() {
        let (s, ct, body) = call(ErrorShape::Swagger, get_req("/query?n=1&n=2")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert_eq!(ct, "application/json");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["code"], 400);
        assert!(v["message"].as_str().unwrap().contains("query string"));

        let req = Request::post("/ok").body(Body::empty()).unwrap();
        let (s, _, body) = call(ErrorShape::GrpcGateway, req).await;
        assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(
            body,
            r#"{"code":12,"details":[],"message":"method POST is not allowed on /ok"}"#
        );

        let (s, _, body) = call(ErrorShape::Swagger, get_req("/nowhere")).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert_eq!(
            body,
            r#"{"code":404,"message":"path /nowhere was not found"}"#
        );
    }

    #[tokio::test]
    async fn error_content_type_follows_the_operation() {
        let (s, ct, body) = call(ErrorShape::Swagger, get_req("/pem")).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert_eq!(ct, "application/x-pem-file");
        assert_eq!(body, r#"{"code":404,"message":"no shard 7"}"#);
    }

    #[tokio::test]
    async fn successes_pass_untouched() {
        let (s, _, body) = call(ErrorShape::CtText, get_req("/ok")).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(body, "fine");
    }
}
