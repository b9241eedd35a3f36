//! One error type for every service: a kind (which fixes the HTTP status, the gRPC code and the
//! metric label), the message the client reads, and what some kinds carry in headers.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::fmt;

/// What went wrong, in the few classes that clients and dashboards tell apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request is malformed or refused (400).
    BadRequest,
    /// The identity token is missing or invalid (401).
    Unauthenticated,
    /// The request is well formed but its signer is not trusted (403).
    Forbidden,
    /// The thing asked for does not exist (404).
    NotFound,
    /// The endpoint exists but not with this method (405).
    MethodNotAllowed,
    /// The entry already exists (409); the error may carry its `Location`.
    Conflict,
    /// The body is larger than the limit that applies to it (413).
    PayloadTooLarge,
    /// The body's `Content-Type` is not one the endpoint reads (415).
    UnsupportedMediaType,
    /// The request is well formed but its content is refused, such as a Merkle proof that does
    /// not verify (422).
    UnprocessableEntity,
    /// Overloaded, shutting down, or a dependency failed: retry later (503 with `Retry-After`).
    Unavailable,
    /// A failure on our side; the details go to the log, never to the client (500).
    Internal,
}

impl ErrorKind {
    /// The HTTP status of this kind.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
            ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorKind::UnprocessableEntity => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The kind of a response some other layer (the framework's router or extractors) produced.
    pub fn from_status(status: StatusCode) -> Self {
        match status {
            StatusCode::UNAUTHORIZED => ErrorKind::Unauthenticated,
            StatusCode::FORBIDDEN => ErrorKind::Forbidden,
            StatusCode::NOT_FOUND => ErrorKind::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => ErrorKind::MethodNotAllowed,
            StatusCode::CONFLICT => ErrorKind::Conflict,
            StatusCode::PAYLOAD_TOO_LARGE => ErrorKind::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorKind::UnsupportedMediaType,
            StatusCode::UNPROCESSABLE_ENTITY => ErrorKind::UnprocessableEntity,
            StatusCode::SERVICE_UNAVAILABLE => ErrorKind::Unavailable,
            s if s.is_server_error() => ErrorKind::Internal,
            _ => ErrorKind::BadRequest,
        }
    }

    /// The gRPC status code grpc-gateway maps to this kind's HTTP status (what Fulcio and
    /// Rekor v2 clients read from `code`); see grpc-gateway's `HTTPStatusFromCode`.
    pub fn grpc_code(self) -> u16 {
        match self {
            ErrorKind::BadRequest => 3,           // INVALID_ARGUMENT
            ErrorKind::Unauthenticated => 16,     // UNAUTHENTICATED
            ErrorKind::Forbidden => 7,            // PERMISSION_DENIED
            ErrorKind::NotFound => 5,             // NOT_FOUND
            ErrorKind::MethodNotAllowed => 12,    // UNIMPLEMENTED
            ErrorKind::Conflict => 6,             // ALREADY_EXISTS
            ErrorKind::PayloadTooLarge => 8,      // RESOURCE_EXHAUSTED
            ErrorKind::UnsupportedMediaType => 3, // INVALID_ARGUMENT
            ErrorKind::UnprocessableEntity => 3,  // INVALID_ARGUMENT (grpc-gateway has no 422)
            ErrorKind::Unavailable => 14,         // UNAVAILABLE
            ErrorKind::Internal => 13,            // INTERNAL
        }
    }

    /// A fixed, low-cardinality label for metrics.
    pub fn category(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "bad_request",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound => "not_found",
            ErrorKind::MethodNotAllowed => "method_not_allowed",
            ErrorKind::Conflict => "duplicate",
            ErrorKind::PayloadTooLarge => "payload_too_large",
            ErrorKind::UnsupportedMediaType => "unsupported_media_type",
            ErrorKind::UnprocessableEntity => "unprocessable",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Internal => "internal",
        }
    }
}

type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An error answered to a client. Its body takes the shape of the API that answers it (see
/// [`crate::ErrorShape`]); internal details are logged with their source chain and never sent.
#[derive(Debug)]
pub struct ApiError {
    kind: ErrorKind,
    message: String,
    location: Option<String>,
    /// A body the protocol fixes (content type, bytes), sent as is instead of a shaped one.
    body: Option<(&'static str, String)>,
    source: Option<Source>,
}

/// What an [`ApiError`] leaves in the response's extensions for the shaping layer.
#[derive(Debug, Clone)]
pub(crate) struct ErrorInfo {
    pub(crate) kind: ErrorKind,
    pub(crate) message: String,
}

/// What clients read instead of an internal error's details.
const INTERNAL_MESSAGE: &str = "internal error";

impl ApiError {
    /// An error of `kind` whose message the client reads.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ApiError {
            kind,
            message: message.into(),
            location: None,
            body: None,
            source: None,
        }
    }

    /// 400: the request is malformed or refused.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadRequest, message)
    }

    /// 401: no valid identity token.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unauthenticated, message)
    }

    /// 403: the request is well formed but not signed by a key trusted for it.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, message)
    }

    /// 422: the request is well formed but its content is refused.
    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::UnprocessableEntity, message)
    }

    /// This error answered with exactly `body` of `content_type`, where the protocol fixes the
    /// error body (C2SP tlog-witness's 409 carries the size the witness holds as
    /// `text/x.tlog.size`); no shaping layer re-renders it. The message is still what logs and
    /// metrics see.
    pub fn with_body(mut self, content_type: &'static str, body: impl Into<String>) -> Self {
        self.body = Some((content_type, body.into()));
        self
    }

    /// 404: no such thing.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// 409: the thing exists already, at `location` where the API has one.
    pub fn conflict(message: impl Into<String>, location: Option<String>) -> Self {
        ApiError {
            location,
            ..Self::new(ErrorKind::Conflict, message)
        }
    }

    /// 413: `what` is larger than `limit` bytes.
    pub fn payload_too_large(what: impl fmt::Display, limit: usize) -> Self {
        Self::new(
            ErrorKind::PayloadTooLarge,
            format!("{what} is larger than the limit of {limit} bytes"),
        )
    }

    /// 415: the body's content type is not one the endpoint reads.
    pub fn unsupported_media_type(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::UnsupportedMediaType, message)
    }

    /// 503: retry later.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, message)
    }

    /// 503 caused by `source` (a dependency that cannot be reached, such as the database): the
    /// client reads `message` and retries; the whole chain is logged as a warning.
    pub fn unavailable_from(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        ApiError {
            source: Some(Box::new(source)),
            ..Self::new(ErrorKind::Unavailable, message)
        }
    }

    /// 500 described by `context` alone (logged, never sent).
    pub fn internal(context: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, context)
    }

    /// 500 caused by `source`, whose whole chain is logged (and never sent).
    pub fn internal_from(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        ApiError {
            source: Some(Box::new(source)),
            ..Self::new(ErrorKind::Internal, context)
        }
    }

    /// What went wrong, in class.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The fixed label for metrics.
    pub fn category(&self) -> &'static str {
        self.kind.category()
    }

    /// The message the client reads (for internal errors, not the details).
    pub fn client_message(&self) -> &str {
        match self.kind {
            ErrorKind::Internal => INTERNAL_MESSAGE,
            _ => &self.message,
        }
    }

    /// The context and every source, `a: b: c`, for the log.
    fn chain(&self) -> String {
        match &self.source {
            Some(source) => format!("{}: {}", self.message, error_chain(source.as_ref())),
            None => self.message.clone(),
        }
    }
}

/// An error and every one of its sources on one line, `a: b: c`: what a log line or a message
/// to a client needs when the outermost error alone says too little.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut next = error.source();
    while let Some(e) = next {
        out.push_str(": ");
        out.push_str(&e.to_string());
        next = e.source();
    }
    out
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|s| s as _)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.kind == ErrorKind::Internal {
            tracing::error!(error = %self.chain(), "internal error");
        } else if self.kind == ErrorKind::Unavailable && self.source.is_some() {
            tracing::warn!(error = %self.chain(), "request refused: a dependency is unavailable");
        } else {
            tracing::debug!(error = %self.message, category = self.category(), "request refused");
        }
        let info = ErrorInfo {
            kind: self.kind,
            message: self.client_message().to_string(),
        };
        // Rendered here in the Rekor/go-swagger shape; a service's shaping layer re-renders it
        // in its own API's shape from `info`, unless the protocol fixes the body.
        let fixed = self.body.is_some();
        let mut response = match self.body {
            Some((content_type, body)) => (
                self.kind.status(),
                [(header::CONTENT_TYPE, content_type)],
                body,
            )
                .into_response(),
            None => crate::shape::render(crate::ErrorShape::Swagger, &info),
        };
        if fixed {
            response.extensions_mut().insert(crate::shape::Shaped);
        }
        let headers = response.headers_mut();
        if self.kind == ErrorKind::Unavailable {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if let Some(Ok(v)) = self.location.as_deref().map(HeaderValue::from_str) {
            headers.insert(header::LOCATION, v);
        }
        response.extensions_mut().insert(info);
        response
    }
}

/// The kind of error `response` answers, where an [`ApiError`] or a shaping layer made it:
/// for metrics and access logs in layers around the handlers.
pub fn error_kind(response: &Response) -> Option<ErrorKind> {
    response
        .extensions()
        .get::<ErrorInfo>()
        .map(|info| info.kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Inner;
    impl fmt::Display for Inner {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("disk on fire")
        }
    }
    impl std::error::Error for Inner {}

    #[test]
    fn internal_errors_keep_their_chain_but_do_not_tell_it() {
        let e = ApiError::internal_from("storing the entry", Inner);
        assert_eq!(e.chain(), "storing the entry: disk on fire");
        assert_eq!(e.client_message(), "internal error");
        assert!(std::error::Error::source(&e).is_some());
    }

    #[test]
    fn a_fixed_body_is_sent_as_is() {
        let response = ApiError::conflict("old size 3 does not match", None)
            .with_body("text/x.tlog.size", "7\n")
            .into_response();
        assert_eq!(response.status(), StatusCode::CONFLICT);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "text/x.tlog.size");
        assert!(response
            .extensions()
            .get::<crate::shape::Shaped>()
            .is_some());
        assert_eq!(error_kind(&response), Some(ErrorKind::Conflict));
    }

    #[test]
    fn every_kind_round_trips_through_its_status() {
        for kind in [
            ErrorKind::BadRequest,
            ErrorKind::Unauthenticated,
            ErrorKind::Forbidden,
            ErrorKind::NotFound,
            ErrorKind::MethodNotAllowed,
            ErrorKind::Conflict,
            ErrorKind::PayloadTooLarge,
            ErrorKind::UnsupportedMediaType,
            ErrorKind::UnprocessableEntity,
            ErrorKind::Unavailable,
            ErrorKind::Internal,
        ] {
            assert_eq!(ErrorKind::from_status(kind.status()), kind);
        }
    }
}
