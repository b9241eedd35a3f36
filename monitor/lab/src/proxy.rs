//! The lab's HTTP side: fetch the real log's answer, serve what the plan makes of it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use sigstack_keys::Signer;
use tlog::checkpoint::Checkpoint;
use tlog::merkle::{nodes_of, root, Hash, LeafRange};
use tlog::note::{Note, NoteSigner};
use tlog::tile::{tiles_for, TileId, TilePath, TileSet, TreeEdge, TILE_WIDTH};

use crate::plan::{
    corrupt_inclusion_proof, corrupt_tile, forked_leaves, held_back, tamper_bundle, EntryFormat,
};
use crate::{Fault, FaultPlan, View};

/// The read API of the log the lab stands in front of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabApi {
    /// Rekor v2 (`sigstack rekor`): `/api/v2/checkpoint`, tiles under `/api/v2/tile/`, Ed25519
    /// checkpoint signatures.
    RekorV2,
    /// A static-ct-api CT log (`sigstack ctlog`): `/checkpoint`, `/tile/…`, entries in
    /// `/tile/data/…`, RFC 6962 tree head signatures.
    Ct,
}

impl LabApi {
    fn prefix(self) -> &'static str {
        match self {
            LabApi::RekorV2 => "/api/v2",
            LabApi::Ct => "",
        }
    }

    fn entries(self) -> EntryFormat {
        match self {
            LabApi::RekorV2 => EntryFormat::Bundle,
            LabApi::Ct => EntryFormat::CtData,
        }
    }

    /// The URL path of tile `path` (the static-ct-api names entry tiles `tile/data/…`).
    fn path(self, path: TilePath) -> String {
        let p = path.to_path();
        let p = match (self, p.strip_prefix("tile/entries/")) {
            (LabApi::Ct, Some(rest)) => format!("tile/data/{rest}"),
            _ => p,
        };
        format!("{}/{p}", self.prefix())
    }

    /// Parses the part of a tile URL after `tile/`.
    fn parse_tile(self, rest: &str) -> Option<TilePath> {
        let rest = match (self, rest.strip_prefix("data/")) {
            (LabApi::Ct, Some(data)) => format!("entries/{data}"),
            _ => rest.to_string(),
        };
        TilePath::parse(&format!("tile/{rest}")).ok()
    }
}

/// Why an answer could not be made (a 502 to the client: the lab is a test tool).
#[derive(Debug, thiserror::Error)]
enum LabError {
    #[error("the real log: {0}")]
    Upstream(String),
    #[error("forging: {0}")]
    Forge(String),
}

impl IntoResponse for LabError {
    fn into_response(self) -> Response {
        (StatusCode::BAD_GATEWAY, self.to_string()).into_response()
    }
}

/// View b's tree of a split view, for one real size.
struct Forked {
    real_size: u64,
    tiles: TileSet,
    note: Vec<u8>,
}

/// The lab: the real log's URL, the plan, the keys it signs with.
pub struct Lab {
    api: LabApi,
    upstream: String,
    http: reqwest::Client,
    plan: FaultPlan,
    log_key: Arc<dyn Signer>,
    stranger_key: Arc<dyn Signer>,
    /// Checkpoint requests answered, per view.
    served: Mutex<HashMap<View, u64>>,
    forked: tokio::sync::Mutex<Option<Forked>>,
    /// The real checkpoints, oldest first, with when the lab first saw each (late integration).
    seen: Mutex<Vec<(Instant, Vec<u8>)>>,
}

impl Lab {
    /// A lab in front of the log at `upstream` speaking `api`, whose checkpoints `log_key`
    /// signs; `stranger_key` (of the same algorithm, not in any trust root) signs for the
    /// wrong-key fault.
    pub fn new(
        api: LabApi,
        upstream: &str,
        plan: FaultPlan,
        log_key: Arc<dyn Signer>,
        stranger_key: Arc<dyn Signer>,
    ) -> Result<Self, reqwest::Error> {
        Ok(Lab {
            api,
            upstream: upstream.trim_end_matches('/').to_string(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()?,
            plan,
            log_key,
            stranger_key,
            served: Mutex::new(HashMap::new()),
            forked: tokio::sync::Mutex::new(None),
            seen: Mutex::new(Vec::new()),
        })
    }

    /// The faults active for `view` once `checkpoints` checkpoint requests were answered.
    fn active(&self, view: View, checkpoints: u64) -> Vec<&Fault> {
        self.plan
            .faults
            .iter()
            .filter(|f| f.active(view, checkpoints))
            .collect()
    }

    fn served(&self, view: View) -> u64 {
        *self
            .served
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&view)
            .unwrap_or(&0)
    }

    async fn get(&self, path: &str) -> Result<(StatusCode, Vec<u8>), LabError> {
        let r = self
            .http
            .get(format!("{}{path}", self.upstream))
            .send()
            .await
            .map_err(|e| LabError::Upstream(sigstack_http::error_chain(&e)))?;
        let status = StatusCode::from_u16(r.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
        let body = r
            .bytes()
            .await
            .map_err(|e| LabError::Upstream(sigstack_http::error_chain(&e)))?;
        Ok((status, body.to_vec()))
    }

    async fn get_ok(&self, path: &str) -> Result<Vec<u8>, LabError> {
        match self.get(path).await? {
            (StatusCode::OK, body) => Ok(body),
            (status, _) => Err(LabError::Upstream(format!("{path}: {status}"))),
        }
    }

    async fn real_checkpoint(&self) -> Result<(Vec<u8>, Checkpoint), LabError> {
        let note = self
            .get_ok(&format!("{}/checkpoint", self.api.prefix()))
            .await?;
        let parsed = Note::parse(&note).map_err(|e| LabError::Upstream(e.to_string()))?;
        let checkpoint =
            Checkpoint::parse_body(parsed.text()).map_err(|e| LabError::Upstream(e.to_string()))?;
        Ok((note, checkpoint))
    }

    fn sign(
        &self,
        key: &Arc<dyn Signer>,
        origin: &str,
        size: u64,
        root_hash: Hash,
    ) -> Result<Vec<u8>, LabError> {
        let forge = |e: &dyn std::fmt::Display| LabError::Forge(e.to_string());
        let checkpoint = Checkpoint::new(origin, size, root_hash).map_err(|e| forge(&e))?;
        match self.api {
            LabApi::RekorV2 => {
                let signer = NoteSigner::ed25519(origin, key.clone()).map_err(|e| forge(&e))?;
                checkpoint
                    .sign(&[&signer])
                    .map(|n| n.to_bytes())
                    .map_err(|e| forge(&e))
            }
            LabApi::Ct => {
                // A tree head signature of now, as a CT log signs each checkpoint it publishes.
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64);
                let signature = ct::sign_rfc6962_checkpoint(key.as_ref(), &checkpoint, now)
                    .map_err(|e| forge(&e))?;
                Note::new(checkpoint.to_body(), vec![signature])
                    .map(|n| n.to_bytes())
                    .map_err(|e| forge(&e))
            }
        }
    }

    /// The real hash tiles `wanted`, read at their widths in the tree of `size`.
    async fn real_tiles(&self, wanted: &[(TileId, u64)]) -> Result<TileSet, LabError> {
        let mut set = TileSet::new();
        for (id, width) in wanted {
            let path = TilePath::Hashes {
                tile: *id,
                width: (*width < TILE_WIDTH).then_some(*width as u8),
            };
            let body = self.get_ok(&self.api.path(path)).await?;
            let hashes = body
                .chunks_exact(32)
                .map(|c| c.try_into().expect("chunks of 32"))
                .collect();
            set.insert(*id, hashes);
        }
        Ok(set)
    }

    async fn checkpoint(&self, view: View) -> Result<Response, LabError> {
        let n = {
            let mut served = self.served.lock().unwrap_or_else(|p| p.into_inner());
            let n = served.entry(view).or_insert(0);
            *n += 1;
            *n - 1
        };
        let (note, real) = self.real_checkpoint().await?;
        let origin = real.origin().to_string();
        let mut body = note;
        for fault in self.active(view, n) {
            match fault {
                Fault::Garbage { .. } => {
                    return Ok((
                        StatusCode::OK,
                        [("content-type", "text/html")],
                        "<html><body>Service temporarily overloaded</body></html>",
                    )
                        .into_response())
                }
                Fault::WrongKey { .. } => {
                    body =
                        self.sign(&self.stranger_key, &origin, real.size(), *real.root_hash())?;
                }
                Fault::Rollback { to_size, .. } if *to_size < real.size() => {
                    let range = LeafRange {
                        start: 0,
                        end: *to_size,
                    };
                    let tiles = self
                        .real_tiles(&tiles_for(&nodes_of(&[range]), real.size()))
                        .await?;
                    let old_root =
                        root(*to_size, &tiles).map_err(|e| LabError::Forge(e.to_string()))?;
                    body = self.sign(&self.log_key, &origin, *to_size, old_root)?;
                }
                Fault::LateIntegration { delay, .. } => {
                    body = self.held_back(&body, *delay);
                    if self.api == LabApi::Ct {
                        // A CT log signs a fresh tree head of the tree it still shows.
                        let held = Note::parse(&body)
                            .ok()
                            .and_then(|n| Checkpoint::parse_body(n.text()).ok())
                            .ok_or_else(|| LabError::Forge("a held-back checkpoint".into()))?;
                        body = self.sign(&self.log_key, &origin, held.size(), *held.root_hash())?;
                    }
                }
                Fault::SplitView { at_size } if real.size() > *at_size => {
                    body = self.fork(&origin, real.size(), *at_size).await?;
                }
                _ => {}
            }
        }
        Ok(([("content-type", "text/plain; charset=utf-8")], body).into_response())
    }

    /// The real checkpoint `note` as a late-integrating log shows it: recorded if new, and the
    /// newest one seen at least `delay` ago served instead.
    fn held_back(&self, note: &[u8], delay: Duration) -> Vec<u8> {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.last().is_none_or(|(_, last)| last != note) {
            seen.push((Instant::now(), note.to_vec()));
        }
        let ages: Vec<Duration> = seen.iter().map(|(at, _)| at.elapsed()).collect();
        seen[held_back(&ages, delay)].1.clone()
    }

    /// View b's checkpoint for the real size, its tree built (once per size) from the real
    /// leaves before `at_size` and the forked entries after.
    async fn fork(&self, origin: &str, real_size: u64, at_size: u64) -> Result<Vec<u8>, LabError> {
        let mut forked = self.forked.lock().await;
        if let Some(f) = forked.as_ref().filter(|f| f.real_size == real_size) {
            return Ok(f.note.clone());
        }
        let level0: Vec<(TileId, u64)> = (0..at_size.div_ceil(TILE_WIDTH))
            .map(|i| {
                let id = TileId::new(0, i);
                (id, id.width_at(real_size))
            })
            .collect();
        let tiles = self.real_tiles(&level0).await?;
        let mut real_leaves = Vec::new();
        for (id, _) in &level0 {
            real_leaves.extend_from_slice(tiles.get(*id).unwrap_or_default());
        }
        let mut entries = Vec::new();
        for bundle in at_size / TILE_WIDTH..real_size.div_ceil(TILE_WIDTH) {
            let width = (real_size - bundle * TILE_WIDTH).min(TILE_WIDTH);
            let path = TilePath::Entries {
                index: bundle,
                width: (width < TILE_WIDTH).then_some(width as u8),
            };
            let body = self.get_ok(&self.api.path(path)).await?;
            let format = self.api.entries();
            let decoded = format
                .decode(&body)
                .map_err(|e| LabError::Upstream(e.to_string()))?;
            for (k, e) in decoded.into_iter().enumerate() {
                if bundle * TILE_WIDTH + k as u64 >= at_size {
                    entries.push(format.forked(&e));
                }
            }
        }
        let leaves = forked_leaves(self.api.entries(), &real_leaves, &entries, at_size);
        let appended = TreeEdge::empty().append(&leaves);
        let mut set = TileSet::new();
        for (id, hashes) in appended.tiles {
            set.insert(id, hashes);
        }
        let note = self.sign(
            &self.log_key,
            origin,
            leaves.len() as u64,
            appended.edge.root(),
        )?;
        *forked = Some(Forked {
            real_size,
            tiles: set,
            note: note.clone(),
        });
        Ok(note)
    }

    async fn tile(&self, view: View, rest: &str) -> Result<Response, LabError> {
        let checkpoint_index = self.served(view).saturating_sub(1);
        let faults = self.active(view, checkpoint_index);
        let parsed = self.api.parse_tile(rest);
        if let (Some(TilePath::Hashes { tile, width }), Some(_)) = (
            parsed,
            faults.iter().find(|f| matches!(f, Fault::SplitView { .. })),
        ) {
            if let Some(f) = self.forked.lock().await.as_ref() {
                if let Some(hashes) = f.tiles.get(tile) {
                    let want = width.map_or(TILE_WIDTH, u64::from) as usize;
                    if hashes.len() >= want {
                        let body: Vec<u8> = hashes[..want].iter().flatten().copied().collect();
                        return Ok(bytes(body));
                    }
                }
            }
        }
        let (status, body) = self
            .get(&format!("{}/tile/{rest}", self.api.prefix()))
            .await?;
        if status != StatusCode::OK {
            return Ok((status, body).into_response());
        }
        let body = match parsed {
            Some(TilePath::Hashes { .. }) => {
                if faults.iter().any(|f| matches!(f, Fault::WrongProof { .. })) {
                    corrupt_tile(&body)
                } else {
                    body
                }
            }
            Some(TilePath::Entries { index, .. }) => {
                tamper_bundle(self.api.entries(), &body, index, &faults)
                    .map_err(|e| LabError::Upstream(e.to_string()))?
            }
            None => body,
        };
        Ok(bytes(body))
    }

    /// Whether a wrong-proof fault holds for `view` now.
    fn wrong_proof_now(&self, view: View) -> bool {
        self.active(view, self.served(view))
            .iter()
            .any(|f| matches!(f, Fault::WrongProof { .. }))
    }

    async fn forward(
        &self,
        view: View,
        method: Method,
        path_and_query: &str,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Result<Response, LabError> {
        let method = reqwest::Method::from_bytes(method.as_str().as_bytes())
            .map_err(|e| LabError::Upstream(e.to_string()))?;
        let mut request = self
            .http
            .request(method, format!("{}{path_and_query}", self.upstream))
            .body(body.to_vec());
        if let Some(ct) = headers.get("content-type").and_then(|v| v.to_str().ok()) {
            request = request.header("content-type", ct);
        }
        let r = request
            .send()
            .await
            .map_err(|e| LabError::Upstream(sigstack_http::error_chain(&e)))?;
        let status = StatusCode::from_u16(r.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
        let ct = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/octet-stream")
            .to_string();
        let mut body = r
            .bytes()
            .await
            .map_err(|e| LabError::Upstream(sigstack_http::error_chain(&e)))?
            .to_vec();
        let new_entry = self.api == LabApi::RekorV2 && path_and_query == "/api/v2/log/entries";
        if new_entry && status.is_success() && self.wrong_proof_now(view) {
            body = corrupt_inclusion_proof(&body).unwrap_or(body);
        }
        Ok((status, [("content-type", ct)], body).into_response())
    }
}

fn bytes(body: Vec<u8>) -> Response {
    ([("content-type", "application/octet-stream")], body).into_response()
}

async fn handle(
    State(lab): State<Arc<Lab>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, LabError> {
    let path = uri.path();
    let (view, rest) = match path.strip_prefix("/b/") {
        Some(rest) => (View::B, format!("/{rest}")),
        None => (View::A, path.to_string()),
    };
    if method == Method::GET {
        if rest == format!("{}/checkpoint", lab.api.prefix()) {
            return lab.checkpoint(view).await;
        }
        if let Some(tile) = rest.strip_prefix(&format!("{}/tile/", lab.api.prefix())) {
            return lab.tile(view, tile).await;
        }
    }
    let path_and_query = match uri.query() {
        Some(q) => format!("{rest}?{q}"),
        None => rest,
    };
    lab.forward(view, method, &path_and_query, &headers, body)
        .await
}

/// The lab's router: every path, planned or passed through.
pub fn router(lab: Arc<Lab>) -> Router {
    Router::new().fallback(handle).with_state(lab)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_api_names_its_tiles() {
        let entries = LabApi::Ct.parse_tile("data/001.p/5").unwrap();
        assert_eq!(
            entries,
            TilePath::Entries {
                index: 1,
                width: Some(5)
            }
        );
        assert_eq!(LabApi::Ct.path(entries), "/tile/data/001.p/5");
        assert_eq!(
            LabApi::RekorV2.path(entries),
            "/api/v2/tile/entries/001.p/5"
        );
        assert_eq!(LabApi::RekorV2.parse_tile("entries/001.p/5"), Some(entries));
        // Hash tiles are named alike; a data tile path must be one.
        let hashes = LabApi::Ct.parse_tile("0/000").unwrap();
        assert_eq!(LabApi::Ct.path(hashes), "/tile/0/000");
        assert_eq!(LabApi::Ct.parse_tile("data/x"), None);
    }
}
