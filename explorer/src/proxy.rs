//! The read-only proxy: `/proxy/<service>/<path>` forwards to the service's public API what
//! [`check`] allows (a `GET` of any path, the two Rekor v1 `POST` searches), and nothing else.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use sigstack_http::ApiError;
use url::Url;

use crate::{Explorer, MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES};

/// A service the explorer reads, as named in `/proxy/<service>/…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// Rekor's v1 API (`/api/v1/…`).
    Rekor,
    /// Rekor's v2 API (`/api/v2/…`): the checkpoint and the tiles.
    RekorV2,
    /// The CT log: RFC 6962 `/ct/v1/…`.
    Ctlog,
    /// The TUF repository, where `trusted_root.json` comes from.
    Tuf,
    /// A monitor's `GET /findings`.
    Monitor,
}

impl Service {
    const ALL: [Service; 5] = [
        Service::Rekor,
        Service::RekorV2,
        Service::Ctlog,
        Service::Tuf,
        Service::Monitor,
    ];

    /// The name in the proxy's paths and in `/config.json`.
    pub fn name(self) -> &'static str {
        match self {
            Service::Rekor => "rekor",
            Service::RekorV2 => "rekor-v2",
            Service::Ctlog => "ctlog",
            Service::Tuf => "tuf",
            Service::Monitor => "monitor",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// The base URL of each service the explorer reads; a service left out is not offered.
#[derive(Debug, Clone, Default)]
pub struct Upstreams {
    /// Rekor (its v1 API).
    pub rekor: Option<Url>,
    /// Rekor's v2 API (usually the same server as `rekor`).
    pub rekor_v2: Option<Url>,
    /// The CT log.
    pub ctlog: Option<Url>,
    /// The TUF repository.
    pub tuf: Option<Url>,
    /// A monitor serving `GET /findings`.
    pub monitor: Option<Url>,
}

impl Upstreams {
    fn get(&self, service: Service) -> Option<&Url> {
        match service {
            Service::Rekor => self.rekor.as_ref(),
            Service::RekorV2 => self.rekor_v2.as_ref(),
            Service::Ctlog => self.ctlog.as_ref(),
            Service::Tuf => self.tuf.as_ref(),
            Service::Monitor => self.monitor.as_ref(),
        }
    }

    /// `{"services": {"rekor": "<url>", …}}`: the services configured, with their public URL
    /// (shown in the page, never fetched from it).
    pub(crate) fn describe(&self) -> serde_json::Value {
        let services: serde_json::Map<String, serde_json::Value> = Service::ALL
            .into_iter()
            .filter_map(|s| Some((s.name().to_owned(), self.get(s)?.as_str().into())))
            .collect();
        serde_json::json!({ "services": services })
    }
}

/// Why the proxy refused a request without forwarding it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProxyRefusal {
    /// No such service name.
    #[error("no service {0:?} (rekor, rekor-v2, ctlog, tuf, monitor)")]
    UnknownService(String),
    /// The service exists but the explorer was not given its URL.
    #[error("the explorer was not given the URL of {0}")]
    NotConfigured(&'static str),
    /// A method or path that could change something, or leave the service's API.
    #[error("the explorer is read-only: {method} /{path} is not forwarded to {service}")]
    NotForwarded {
        /// The service asked for.
        service: &'static str,
        /// The method.
        method: String,
        /// The path asked for.
        path: String,
    },
}

/// The Rekor v1 endpoints that take a `POST` but only read: search by hash, key or email, and
/// fetch entries by UUID or index.
const REKOR_READ_POSTS: [&str; 2] = ["api/v1/index/retrieve", "api/v1/log/entries/retrieve"];

/// Whether the proxy forwards `method path` to `service`: `GET` of a plain relative path (no
/// `.`/`..`/empty segment, no backslash or percent-escape that could turn into one), and
/// `POST` only to Rekor v1's read-only searches. The monitor is read at `findings` only.
pub fn check(service: Service, method: &Method, path: &str) -> Result<(), ProxyRefusal> {
    let refused = || ProxyRefusal::NotForwarded {
        service: service.name(),
        method: method.to_string(),
        path: path.to_owned(),
    };
    let plain = !path.is_empty()
        && !path.contains(['\\', '%', '?', '#'])
        && path
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != "..");
    if !plain {
        return Err(refused());
    }
    let allowed = match (service, method) {
        (Service::Monitor, &Method::GET) => path == "findings",
        (_, &Method::GET) => true,
        (Service::Rekor, &Method::POST) => REKOR_READ_POSTS.contains(&path),
        _ => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(refused())
    }
}

fn refusal_error(refusal: ProxyRefusal) -> ApiError {
    match refusal {
        ProxyRefusal::UnknownService(_) => ApiError::not_found(refusal.to_string()),
        ProxyRefusal::NotConfigured(_) => ApiError::not_found(refusal.to_string()),
        ProxyRefusal::NotForwarded { .. } => ApiError::forbidden(refusal.to_string()),
    }
}

/// `/proxy/<service>/<path>?<query>`: forwards an allowed request and relays the answer's
/// status, content type and body (at most [`MAX_RESPONSE_BYTES`]); a service that cannot be
/// reached is a 503 whose message names it.
pub(crate) async fn forward(
    State(explorer): State<Arc<Explorer>>,
    Path((service_name, path)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    method: Method,
    body: Bytes,
) -> Result<Response, ApiError> {
    let service = Service::from_name(&service_name)
        .ok_or_else(|| refusal_error(ProxyRefusal::UnknownService(service_name)))?;
    check(service, &method, &path).map_err(refusal_error)?;
    let base = explorer
        .upstreams
        .get(service)
        .ok_or_else(|| refusal_error(ProxyRefusal::NotConfigured(service.name())))?;
    if body.len() > MAX_REQUEST_BYTES {
        return Err(ApiError::payload_too_large(
            "the request",
            MAX_REQUEST_BYTES,
        ));
    }
    let mut url = base.clone();
    {
        let mut segments = url
            .path_segments_mut()
            .map_err(|()| ApiError::internal(format!("{base} cannot be a base URL")))?;
        segments.pop_if_empty();
        segments.extend(path.split('/'));
    }
    url.set_query(query.as_deref());
    let unreachable = |e: reqwest::Error| {
        ApiError::unavailable(format!(
            "{} at {base} did not answer: {}",
            service.name(),
            sigstack_http::error_chain(&e)
        ))
    };
    let mut request = explorer.client.request(method.clone(), url);
    if method == Method::POST {
        request = request
            .header(header::CONTENT_TYPE, "application/json")
            .body(body);
    }
    let mut upstream = request.send().await.map_err(unreachable)?;
    let status = StatusCode::from_u16(upstream.status().as_u16())
        .map_err(|e| ApiError::internal_from("an upstream status", e))?;
    let content_type = upstream
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_owned();
    let too_large = || {
        ApiError::unavailable(format!(
            "{} answered more than {MAX_RESPONSE_BYTES} bytes",
            service.name()
        ))
    };
    if upstream
        .content_length()
        .is_some_and(|n| n > MAX_RESPONSE_BYTES as u64)
    {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = upstream.chunk().await.map_err(unreachable)? {
        if bytes.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok((
        status,
        [
            (header::CONTENT_TYPE, content_type),
            // Each view asks for what it shows now: a checkpoint must never come from a cache.
            (header::CACHE_CONTROL, sigstack_http::NO_CACHE.to_owned()),
        ],
        bytes,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_forwarded() {
        for (service, path) in [
            (Service::Rekor, "api/v1/log"),
            (Service::Rekor, "api/v1/log/entries/abcd"),
            (Service::RekorV2, "api/v2/tile/0/x001/002.p/3"),
            (Service::Ctlog, "ct/v1/get-entries"),
            (Service::Tuf, "targets/ab.trusted_root.json"),
            (Service::Monitor, "findings"),
        ] {
            assert_eq!(check(service, &Method::GET, path), Ok(()), "{path}");
        }
        for path in REKOR_READ_POSTS {
            assert_eq!(check(Service::Rekor, &Method::POST, path), Ok(()));
        }
    }

    #[test]
    fn writes_and_escapes_are_refused() {
        for (service, method, path) in [
            (Service::Rekor, Method::POST, "api/v1/log/entries"),
            (Service::RekorV2, Method::POST, "api/v2/log/entries"),
            (Service::Ctlog, Method::POST, "ct/v1/add-chain"),
            (Service::Rekor, Method::PUT, "api/v1/log"),
            (Service::Rekor, Method::DELETE, "api/v1/log"),
            (Service::Rekor, Method::GET, "api/../../etc"),
            (Service::Rekor, Method::GET, "./api"),
            (Service::Rekor, Method::GET, "api//log"),
            (Service::Rekor, Method::GET, "api/%2e%2e/x"),
            (Service::Rekor, Method::GET, "api\\x"),
            (Service::Rekor, Method::GET, ""),
            (Service::Monitor, Method::GET, "metrics"),
        ] {
            assert!(
                matches!(
                    check(service, &method, path),
                    Err(ProxyRefusal::NotForwarded { .. })
                ),
                "{method} {path}"
            );
        }
    }

    #[test]
    fn config_names_only_configured_services() {
        let upstreams = Upstreams {
            rekor: Some("http://127.0.0.1:3000".parse().unwrap()),
            ..Upstreams::default()
        };
        assert_eq!(
            upstreams.describe(),
            serde_json::json!({"services": {"rekor": "http://127.0.0.1:3000/"}})
        );
    }
}
