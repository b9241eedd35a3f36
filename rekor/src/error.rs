use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

/// Every error the Rekor APIs return, mapped to HTTP in one place. Bodies have upstream
/// Rekor's error shape, `{"code": <HTTP status>, "message": "<what is wrong>"}`, which
/// go-openapi clients (cosign) and sigstore-python parse.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed or refused.
    #[error("{0}")]
    BadRequest(String),
    /// The thing asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The entry is already in the log; `location` is its URL path.
    #[error("an equivalent entry already exists in the transparency log with UUID {uuid}")]
    Conflict {
        /// The existing entry's UUID.
        uuid: String,
        /// The existing entry's URL path, where the API has one.
        location: Option<String>,
    },
    /// The body is larger than the limit that applies to it.
    #[error("{what} is larger than the limit of {limit} bytes")]
    PayloadTooLarge {
        /// What was too large (`request body`, `hashedrekord entry`, …).
        what: String,
        /// The limit.
        limit: usize,
    },
    /// Overloaded or shutting down: retry later (503 with Retry-After).
    #[error("{0}")]
    Unavailable(String),
    /// A failure on our side; details go to the log, not to the client.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// A fixed label for metrics.
    pub fn category(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict { .. } => "duplicate",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
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
            tracing::debug!(error = %self, category = self.category(), "request refused");
        }
        let status = self.status();
        let body = serde_json::json!({ "code": status.as_u16(), "message": self.to_string() });
        let mut response = (status, Json(body)).into_response();
        match &self {
            ApiError::Unavailable(_) => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            ApiError::Conflict { location, .. } => {
                if let Some(Ok(v)) = location.as_deref().map(HeaderValue::from_str) {
                    response.headers_mut().insert(header::LOCATION, v);
                }
            }
            _ => {}
        }
        response
    }
}

impl From<rekor_types::EntryError> for ApiError {
    fn from(e: rekor_types::EntryError) -> Self {
        ApiError::BadRequest(e.to_string())
    }
}

impl From<tlog_http::BodyRejection> for ApiError {
    fn from(e: tlog_http::BodyRejection) -> Self {
        match e {
            tlog_http::BodyRejection::TooLarge(limit) => ApiError::PayloadTooLarge {
                what: "request body".into(),
                limit,
            },
            other => ApiError::BadRequest(other.to_string()),
        }
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
            A::Pushback | A::ShuttingDown => ApiError::Unavailable(e.to_string()),
            A::EntryTooLarge { .. } | A::Invalid(_) => ApiError::BadRequest(e.to_string()),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<sigstack_keys::KeyError> for ApiError {
    fn from(e: sigstack_keys::KeyError) -> Self {
        ApiError::Internal(format!("signing: {e}"))
    }
}
