//! How the log store's errors reach clients (feature `tlog-store`).

use crate::ApiError;
use tlog_store::{AppendError, ReadError, StoreError};

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::internal_from("the log store failed", e)
    }
}

impl From<ReadError> for ApiError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::OutOfRange(msg) => ApiError::bad_request(msg),
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
            other => ApiError::internal_from("appending to the log failed", other),
        }
    }
}
