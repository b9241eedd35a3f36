//! The CT log's errors: the shared [`ApiError`], rendered as ctfe does (plain text).

pub use sigstack_http::ApiError;
