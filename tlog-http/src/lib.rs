//! HTTP plumbing written once for every service of the stack.
//!
//! - [`JsonBody`]: a JSON request body whose rejections become the service's own JSON error
//!   (a 413 that names the limit instead of axum's plain-text rejection).
//! - [`read_tile`], [`bytes_response`], [`IMMUTABLE`]: the C2SP tlog-tiles read path over a
//!   [`tlog_store::Log`], shared by the CT log (static-ct-api) and Rekor v2.

use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::marker::PhantomData;
use tlog::tile::TilePath;
use tlog_store::{Log, ReadError};

/// `Cache-Control` of what never changes: full tiles, entry bundles, issuers.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of what changes with every round: checkpoints, partial tiles are served
/// immutable too (a partial tile of width W never changes either).
pub const NO_CACHE: &str = "no-cache";

/// What a service's state tells the JSON extractor: its body limit, named in 413 errors.
pub trait BodyLimit {
    /// The limit on request bodies, in bytes (also enforced by `DefaultBodyLimit`).
    fn max_body_bytes(&self) -> usize;
}

impl<T: BodyLimit> BodyLimit for std::sync::Arc<T> {
    fn max_body_bytes(&self) -> usize {
        T::max_body_bytes(self)
    }
}

/// Why a JSON body was refused; each service turns it into its own error type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyRejection {
    /// Larger than the limit (bytes).
    TooLarge(usize),
    /// Not JSON, not the expected shape, or the wrong content type: axum's precise reason.
    Malformed(String),
}

impl std::fmt::Display for BodyRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BodyRejection::TooLarge(limit) => {
                write!(f, "request body is larger than the limit of {limit} bytes")
            }
            BodyRejection::Malformed(reason) => {
                write!(f, "request body is not the expected JSON: {reason}")
            }
        }
    }
}

/// A JSON request body of type `T`; a refused body is answered with `E::from(BodyRejection)`.
pub struct JsonBody<T, E>(pub T, pub PhantomData<E>);

impl<T, E> JsonBody<T, E> {
    /// The decoded body.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T, E, S> FromRequest<S> for JsonBody<T, E>
where
    T: serde::de::DeserializeOwned,
    E: From<BodyRejection> + IntoResponse,
    S: BodyLimit + Send + Sync,
{
    type Rejection = E;

    async fn from_request(req: Request, state: &S) -> Result<Self, E> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(JsonBody(v, PhantomData)),
            Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(BodyRejection::TooLarge(state.max_body_bytes()).into())
            }
            Err(r) => Err(BodyRejection::Malformed(r.body_text()).into()),
        }
    }
}

/// A raw request body (for services that parse it themselves, e.g. to apply a per-kind limit
/// after reading the kind); a refused body is answered with `E::from(BodyRejection)`.
pub struct RawBody<E>(pub axum::body::Bytes, pub PhantomData<E>);

impl<E, S> FromRequest<S> for RawBody<E>
where
    E: From<BodyRejection> + IntoResponse,
    S: BodyLimit + Send + Sync,
{
    type Rejection = E;

    async fn from_request(req: Request, state: &S) -> Result<Self, E> {
        match axum::body::Bytes::from_request(req, state).await {
            Ok(bytes) => Ok(RawBody(bytes, PhantomData)),
            Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(BodyRejection::TooLarge(state.max_body_bytes()).into())
            }
            Err(r) => Err(BodyRejection::Malformed(r.body_text()).into()),
        }
    }
}

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

/// The bytes of a hash tile or entry bundle, or `None` when the log has no such tile (yet).
pub async fn read_tile(log: &Log, path: &TilePath) -> Result<Option<Vec<u8>>, ReadError> {
    Ok(match *path {
        TilePath::Hashes { tile, width } => log.tile(tile, width).await?,
        TilePath::Entries { index, width } => log
            .bundle_entries(index, width)
            .await?
            .map(|entries| entries.into_iter().flat_map(|e| e.data).collect()),
    })
}
