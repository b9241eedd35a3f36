//! The HTTP layer every service of the stack shares. It holds no storage, so the CA and the
//! timestamp authority link no database driver.
//!
//! - [`ApiError`]: one error type for every service, classified by [`ErrorKind`] (status, gRPC
//!   code, metric label); internal details are logged with their source chain, never sent.
//! - [`with_error_shape`]: renders every error response of a router — ours and the framework's
//!   own rejections — in the [`ErrorShape`] of the upstream API the service speaks.
//! - [`JsonBody`], [`RawBody`]: body extractors whose rejections are [`ApiError`]s, limited by
//!   the service's [`BodyPolicy`].
//! - [`null_as_default`]: JSON `null` taken as an absent field, as upstream's Go servers do.
//! - [`with_access_log`]: one access line per request, and a request id (`X-Request-Id`, taken
//!   from the request or made) on every line the request logs and on the response.
//! - [`Readiness`]: the `/readyz` answer from a service's checks.
//! - [`MetricsRegistry`]: a service's Prometheus registry, its per-request metrics under
//!   upstream's names ([`HttpMetricNames`]), and [`metrics_router`], the `/metrics` route.
//! - [`bytes_response`], [`IMMUTABLE`], [`NO_CACHE`]: raw responses with a cache policy.

mod access;
mod body;
mod error;
mod metrics;
mod ready;
mod shape;
#[cfg(feature = "tlog-store")]
mod store;

pub use access::{with_access_log, ACCESS_TARGET, REQUEST_ID_HEADER};
pub use body::{media_type, parse_json, BodyPolicy, JsonBody, RawBody};
pub use error::{error_chain, error_kind, ApiError, ErrorKind};
pub use metrics::{
    metrics_router, HttpMetricNames, HttpMetrics, MetricsRegistry, METRICS_CONTENT_TYPE,
};
pub use ready::Readiness;
pub use shape::{
    unknown_path, with_error_content_type, with_error_shape, with_error_shape_by_path, ErrorShape,
};

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// `Cache-Control` of what never changes: full tiles, entry bundles, issuers, and partial tiles
/// (a partial tile of width W never changes either).
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of what changes with every round: checkpoints.
pub const NO_CACHE: &str = "no-cache";

/// A response of raw bytes with a content type and a cache policy.
pub fn bytes_response(content_type: &'static str, cache: &'static str, body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, cache),
        ],
        body,
    )
        .into_response()
}

/// The answer to a log's `…/checkpoint/witnessed`: `witnessed` is `None` for a log without
/// witnesses (404), `Some(None)` before any checkpoint met its witness policy (503), else the
/// latest checkpoint that did, with the witnesses' cosignatures.
pub fn witnessed_checkpoint_response(
    witnessed: Option<Option<std::sync::Arc<Vec<u8>>>>,
) -> Result<Response, ApiError> {
    let latest = witnessed
        .ok_or_else(|| ApiError::not_found("this log has no witnesses configured"))?
        .ok_or_else(|| {
            ApiError::unavailable("no checkpoint has met the witness policy yet; retry")
        })?;
    Ok(bytes_response(
        "text/plain; charset=utf-8",
        NO_CACHE,
        latest.to_vec(),
    ))
}

/// The answer to a log's `…/witness-policy`: its C2SP tlog-policy file, or 404 for a log
/// without witnesses.
pub fn witness_policy_response(policy: Option<&str>) -> Result<Response, ApiError> {
    let policy =
        policy.ok_or_else(|| ApiError::not_found("this log has no witnesses configured"))?;
    Ok(bytes_response(
        "text/plain; charset=utf-8",
        NO_CACHE,
        policy.as_bytes().to_vec(),
    ))
}

/// A field that may be absent or JSON `null`, both meaning its default. Go clients generated
/// from upstream's API documents send `null` for every list they leave empty, and upstream's
/// servers accept it; use as `#[serde(default, deserialize_with = "null_as_default")]`.
pub fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + serde::Deserialize<'de>,
{
    use serde::Deserialize as _;
    Option::<T>::deserialize(deserializer).map(Option::unwrap_or_default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Lists {
        #[serde(default, deserialize_with = "null_as_default")]
        items: Vec<u32>,
    }

    #[test]
    fn null_absent_and_present_lists() {
        let parse = |s: &str| serde_json::from_str::<Lists>(s).unwrap().items;
        assert_eq!(parse(r#"{"items":null}"#), Vec::<u32>::new());
        assert_eq!(parse("{}"), Vec::<u32>::new());
        assert_eq!(parse(r#"{"items":[1,2]}"#), vec![1, 2]);
        assert!(serde_json::from_str::<Lists>(r#"{"items":"x"}"#).is_err());
    }
}
