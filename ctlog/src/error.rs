use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

/// Every error the CT API returns, mapped to HTTP in one place. Bodies are JSON:
/// `{"error": "<what is wrong>", "code": "<fixed label>"}`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed or refused (RFC 6962: 400).
    #[error("{0}")]
    BadRequest(String),
    /// The thing asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The body is larger than the configured limit.
    #[error("request body is larger than the limit of {0} bytes")]
    PayloadTooLarge(usize),
    /// Overloaded or shutting down: retry later (503 with Retry-After).
    #[error("{0}")]
    Unavailable(String),
    /// A failure on our side; details go to the log, not to the client.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// A fixed label for metrics and clients.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::NotFound(_) => "not_found",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(detail) = &self {
            tracing::error!(error = %detail, "internal error");
        } else {
            tracing::debug!(error = %self, code = self.code(), "request refused");
        }
        let status = self.status();
        let body = serde_json::json!({ "error": self.to_string(), "code": self.code() });
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

impl From<tlog_store::StoreError> for ApiError {
    fn from(e: tlog_store::StoreError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl From<tlog_store::ReadError> for ApiError {
    fn from(e: tlog_store::ReadError) -> Self {
        match e {
            tlog_store::ReadError::OutOfRange(msg) => ApiError::BadRequest(msg),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<tlog_store::AppendError> for ApiError {
    fn from(e: tlog_store::AppendError) -> Self {
        use tlog_store::AppendError as A;
        match e {
            A::Pushback => ApiError::Unavailable(e.to_string()),
            A::ShuttingDown => ApiError::Unavailable(e.to_string()),
            A::EntryTooLarge { .. } | A::Invalid(_) => ApiError::BadRequest(e.to_string()),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<tlog_http::BodyRejection> for ApiError {
    fn from(e: tlog_http::BodyRejection) -> Self {
        match e {
            tlog_http::BodyRejection::TooLarge(limit) => ApiError::PayloadTooLarge(limit),
            other => ApiError::BadRequest(other.to_string()),
        }
    }
}
