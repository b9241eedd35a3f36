//! How the log store's errors reach clients (feature `tlog-store`).
//!
//! A database that cannot be reached (a restart, a failover, a network cut) is a 503 with
//! `Retry-After`, never a 500: the request did not take effect, or (a commit whose answer was
//! lost) took effect and is found again when the client retries.

use crate::ApiError;
use tlog_store::{AppendError, ReadError, StoreError};

/// The message a client reads while the database is unreachable.
const DATABASE_UNAVAILABLE: &str = "the log's database is unavailable; retry later";

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Database(_) => ApiError::unavailable_from(DATABASE_UNAVAILABLE, e),
            other => ApiError::internal_from("the log store failed", other),
        }
    }
}

impl From<ReadError> for ApiError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::OutOfRange(msg) => ApiError::bad_request(msg),
            ReadError::Store(store) => store.into(),
            other => ApiError::internal_from("reading the log failed", other),
        }
    }
}

impl From<AppendError> for ApiError {
    fn from(e: AppendError) -> Self {
        match e {
            AppendError::Pushback | AppendError::ShuttingDown => {
                ApiError::unavailable(e.to_string())
            }
            AppendError::EntryTooLarge { .. } | AppendError::Invalid(_) => {
                ApiError::bad_request(e.to_string())
            }
            AppendError::RoundFailed(ref store) if matches!(**store, StoreError::Database(_)) => {
                ApiError::unavailable_from(DATABASE_UNAVAILABLE, e)
            }
            AppendError::Read(read) => read.into(),
            other => ApiError::internal_from("appending to the log failed", other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::response::IntoResponse as _;

    fn database_down() -> StoreError {
        StoreError::Database(Box::new(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "connection refused",
        )))
    }

    #[test]
    fn an_unreachable_database_is_503_with_retry_after_everywhere() {
        let errors: Vec<ApiError> = vec![
            database_down().into(),
            ReadError::Store(database_down()).into(),
            AppendError::RoundFailed(std::sync::Arc::new(database_down())).into(),
            AppendError::Read(ReadError::Store(database_down())).into(),
        ];
        for error in errors {
            assert_eq!(error.client_message(), DATABASE_UNAVAILABLE);
            let response = error.into_response();
            assert_eq!(response.status(), 503);
            assert_eq!(response.headers()["retry-after"], "1");
        }
    }

    #[test]
    fn a_corrupt_store_is_still_an_internal_error() {
        let response = ApiError::from(StoreError::Corrupt("short tile".into())).into_response();
        assert_eq!(response.status(), 500);
    }
}
