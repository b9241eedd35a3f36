//! Rekor's errors: the shared [`ApiError`], rendered as go-swagger does for v1
//! (`{"code": <HTTP status>, "message": …}`) and as grpc-gateway does for v2 (rekor-tiles).

pub use sigstack_http::ApiError;

/// A proposed entry refused by its parser or signature check (400).
pub(crate) fn refused(e: rekor_types::EntryError) -> ApiError {
    ApiError::bad_request(e.to_string())
}

/// A signing key that failed (500).
pub(crate) fn signing(e: sigstack_keys::KeyError) -> ApiError {
    ApiError::internal_from("signing", e)
}
