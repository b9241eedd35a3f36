//! Request bodies whose rejections are [`ApiError`]s: a 413 that names the limit, a 415 for a
//! content type the API does not read, a 400 that says where the JSON went wrong.

use crate::{ApiError, ErrorKind};
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};

/// What a service's state tells its body extractors.
pub trait BodyPolicy {
    /// The limit on request bodies, in bytes (also enforced by `DefaultBodyLimit`), named in 413s.
    fn max_body_bytes(&self) -> usize;

    /// Whether a JSON body must say `Content-Type: application/json`. go-swagger servers (Rekor
    /// v1) refuse other types with 415; grpc-gateway (Fulcio) and ctfe (CT) read the body as
    /// JSON whatever the header says, and so do we there.
    fn requires_json_content_type(&self) -> bool {
        true
    }
}

impl<T: BodyPolicy> BodyPolicy for std::sync::Arc<T> {
    fn max_body_bytes(&self) -> usize {
        T::max_body_bytes(self)
    }

    fn requires_json_content_type(&self) -> bool {
        T::requires_json_content_type(self)
    }
}

/// A raw request body, for endpoints that parse it themselves (a per-kind limit read from the
/// parsed request, a DER body).
pub struct RawBody(pub axum::body::Bytes);

impl<S> FromRequest<S> for RawBody
where
    S: BodyPolicy + Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::body::Bytes::from_request(req, state).await {
            Ok(bytes) => Ok(RawBody(bytes)),
            Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(
                ApiError::payload_too_large("request body", state.max_body_bytes()),
            ),
            Err(r) => Err(ApiError::bad_request(format!(
                "request body could not be read: {}",
                r.body_text()
            ))),
        }
    }
}

/// A JSON request body of type `T`.
pub struct JsonBody<T>(pub T);

/// The media type of a `Content-Type` value, lower-case and without parameters
/// (`Application/JSON; charset=utf-8` is `application/json`).
pub fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

fn is_json(content_type: &str) -> bool {
    let essence = media_type(content_type);
    essence == "application/json" || essence.ends_with("+json")
}

impl<T, S> FromRequest<S> for JsonBody<T>
where
    T: serde::de::DeserializeOwned,
    S: BodyPolicy + Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if state.requires_json_content_type() {
            let content_type = req
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !is_json(content_type) {
                return Err(ApiError::unsupported_media_type(format!(
                    "unsupported media type {content_type:?}: send application/json"
                )));
            }
        }
        let RawBody(bytes) = RawBody::from_request(req, state).await?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// `bytes` as a JSON object of type `T`, refused with a 400 that says what is wrong and where.
///
/// Every request body of the stack's JSON APIs is an object. A top-level array is refused before
/// serde sees it: serde's derived structs would otherwise read an array positionally
/// (`["a@example.com", null]` as `{"email": …}`), which upstream's Go servers never accept.
pub fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => {}
        Some(_) => {
            return Err(ApiError::bad_request(
                "request body is not the expected JSON: expected a JSON object",
            ))
        }
        None => {
            return Err(ApiError::bad_request(
                "request body is empty: expected a JSON object",
            ))
        }
    }
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::new(
            ErrorKind::BadRequest,
            format!("request body is not the expected JSON: {e}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::{is_json, parse_json};

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Query {
        email: Option<String>,
        hash: Option<String>,
    }

    #[test]
    fn only_objects_are_request_bodies() {
        assert!(parse_json::<Query>(br#" {"email": "a@example.com"}"#).is_ok());
        for body in [
            &br#"["a@example.com", null]"#[..],
            b"[]",
            b"null",
            b"7",
            b"",
            b"  ",
        ] {
            let e = parse_json::<Query>(body).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::BadRequest, "{body:?}");
            assert!(e.to_string().contains("JSON object"), "{e}");
        }
    }

    #[test]
    fn json_content_types() {
        assert!(is_json("application/json"));
        assert!(is_json("application/json; charset=utf-8"));
        assert!(is_json("Application/JSON"));
        assert!(is_json("application/vnd.dev.sigstore.bundle+json"));
        assert!(!is_json(""));
        assert!(!is_json("text/plain"));
    }
}
