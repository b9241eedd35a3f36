//! Reading a log over HTTP: its checkpoint, hash tiles and entry bundles (C2SP tlog-tiles; the
//! static-ct-api names its bundles `tile/data/…`), or Rekor v1's checkpoint, consistency proofs
//! and entries by index; each answer bounded in size.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use monitor::watch::LogApi;
use monitor::EntryFacts;
use serde_json::Value;
use tlog::merkle::{consistency_proof, consistency_proof_ranges, leaf_hash, nodes_of, Hash};
use tlog::tile::{tiles_for, TileId, TilePath, TileSet, TILE_WIDTH};

/// Longest wait for one answer.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Largest checkpoint accepted (a note with a few signatures is well under 1 KiB).
const MAX_CHECKPOINT_BYTES: usize = 64 * 1024;
/// Largest hash tile: 256 hashes.
const MAX_TILE_BYTES: usize = TILE_WIDTH as usize * 32;
/// Largest entry bundle: 256 entries of at most 64 KiB each, with their length prefixes (CT
/// data tiles hold a certificate and a chain of fingerprints per entry, within the same bound).
const MAX_BUNDLE_BYTES: usize = TILE_WIDTH as usize * (64 * 1024 + 2);
/// Rekor v1's `/api/v1/log`: the checkpoint and a few lines per inactive shard.
const MAX_V1_LOG_INFO_BYTES: usize = 1024 * 1024;
/// Rekor v1 entries asked for in one `retrieve` request (upstream's `maxItems`).
const V1_RETRIEVE_BATCH: u64 = 10;
/// One `retrieve` answer: ten entries with their proofs, each body within Rekor's bound.
const MAX_V1_RETRIEVE_BYTES: usize = V1_RETRIEVE_BATCH as usize * 1024 * 1024;
/// A consistency proof: at most 2·64 hashes in hex, in JSON.
const MAX_V1_PROOF_BYTES: usize = 64 * 1024;

/// Why an answer could not be used. All are transient as far as the state goes: nothing read
/// is trusted before the core has verified it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// No answer (connection, timeout, TLS).
    #[error("fetching {url}")]
    Http {
        /// What was fetched.
        url: String,
        /// Why it failed.
        #[source]
        source: reqwest::Error,
    },
    /// An answer with a status other than 200.
    #[error("{url} answered {status}")]
    Status {
        /// What was fetched.
        url: String,
        /// The status.
        status: u16,
    },
    /// A larger answer than such a resource can be.
    #[error("{url} answered more than {limit} bytes")]
    TooLarge {
        /// What was fetched.
        url: String,
        /// The bound.
        limit: usize,
    },
    /// An answer that is not what was asked for.
    #[error("{url}: {reason}")]
    Malformed {
        /// What was fetched.
        url: String,
        /// What is wrong.
        reason: String,
    },
}

/// One entry as the log served it.
#[derive(Debug, Clone)]
pub struct ServedEntry {
    /// Its Merkle leaf hash.
    pub leaf_hash: Hash,
    /// What it reveals (`None`: the entry is not of a kind the watch list can read).
    pub facts: Option<EntryFacts>,
    /// A CT entry's SCT timestamp (milliseconds since the Unix epoch).
    pub sct_time: Option<u64>,
}

fn rekor_entry(body: &[u8]) -> ServedEntry {
    ServedEntry {
        leaf_hash: leaf_hash(body),
        facts: monitor::facts::rekor_body(body).ok(),
        sct_time: None,
    }
}

/// A log's read API.
#[derive(Debug, Clone)]
pub struct LogSource {
    http: reqwest::Client,
    url: String,
    api: LogApi,
}

impl LogSource {
    /// Reads the log at `url` (no trailing slash needed) speaking `api`.
    pub fn new(url: &str, api: LogApi) -> Result<Self, reqwest::Error> {
        Ok(LogSource {
            http: reqwest::Client::builder().timeout(TIMEOUT).build()?,
            url: url.trim_end_matches('/').to_string(),
            api,
        })
    }

    /// The log's URL as configured.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn prefix(&self) -> String {
        match self.api {
            LogApi::RekorV2 => format!("{}/api/v2", self.url),
            LogApi::RekorV1 => format!("{}/api/v1/log", self.url),
            LogApi::Ct | LogApi::Tiles => self.url.clone(),
        }
    }

    /// GET `url`: `Ok(None)` on 404, the body if it is at most `limit` bytes.
    pub(crate) async fn get(
        http: &reqwest::Client,
        url: &str,
        limit: usize,
    ) -> Result<Option<Vec<u8>>, FetchError> {
        Self::send(http.get(url), url, limit).await
    }

    /// Sends `request` (to `url`): `Ok(None)` on 404, the body if it is at most `limit` bytes.
    async fn send(
        request: reqwest::RequestBuilder,
        url: &str,
        limit: usize,
    ) -> Result<Option<Vec<u8>>, FetchError> {
        let http_err = |source| FetchError::Http {
            url: url.to_string(),
            source,
        };
        let mut response = request.send().await.map_err(http_err)?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !response.status().is_success() {
            return Err(FetchError::Status {
                url: url.to_string(),
                status: response.status().as_u16(),
            });
        }
        let too_large = || FetchError::TooLarge {
            url: url.to_string(),
            limit,
        };
        if response.content_length().is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(http_err)? {
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Some(body))
    }

    async fn require(&self, url: &str, limit: usize) -> Result<Vec<u8>, FetchError> {
        Self::get(&self.http, url, limit)
            .await?
            .ok_or_else(|| FetchError::Status {
                url: url.to_string(),
                status: 404,
            })
    }

    /// The API the log speaks.
    pub fn api(&self) -> LogApi {
        self.api
    }

    /// The latest checkpoint note.
    pub async fn checkpoint(&self) -> Result<Vec<u8>, FetchError> {
        if self.api == LogApi::RekorV1 {
            return Ok(self.v1_log_info().await?.0);
        }
        self.require(
            &format!("{}/checkpoint", self.prefix()),
            MAX_CHECKPOINT_BYTES,
        )
        .await
    }

    fn malformed(url: &str, reason: impl Into<String>) -> FetchError {
        FetchError::Malformed {
            url: url.to_string(),
            reason: reason.into(),
        }
    }

    /// Rekor v1's `/api/v1/log`: the active shard's signed checkpoint, and the global index of
    /// its first entry (the sizes of the inactive shards before it, as upstream numbers
    /// entries across shards).
    async fn v1_log_info(&self) -> Result<(Vec<u8>, u64), FetchError> {
        let url = self.prefix();
        let body = self.require(&url, MAX_V1_LOG_INFO_BYTES).await?;
        let info: Value =
            serde_json::from_slice(&body).map_err(|e| Self::malformed(&url, e.to_string()))?;
        let note = info["signedTreeHead"]
            .as_str()
            .ok_or_else(|| Self::malformed(&url, "no signedTreeHead"))?;
        let mut offset = 0u64;
        for shard in info["inactiveShards"].as_array().into_iter().flatten() {
            let size = shard["treeSize"]
                .as_u64()
                .ok_or_else(|| Self::malformed(&url, "an inactive shard without treeSize"))?;
            offset = offset
                .checked_add(size)
                .ok_or_else(|| Self::malformed(&url, "inactive shards too large"))?;
        }
        Ok((note.as_bytes().to_vec(), offset))
    }

    /// The consistency proof from size `small` to `large` (`0 < small < large`): from the
    /// hash tiles, or from Rekor v1's `/api/v1/log/proof`.
    pub async fn consistency_proof(&self, small: u64, large: u64) -> Result<Vec<Hash>, FetchError> {
        if self.api == LogApi::RekorV1 {
            let url = format!("{}/proof?firstSize={small}&lastSize={large}", self.prefix());
            let body = self.require(&url, MAX_V1_PROOF_BYTES).await?;
            let doc: Value =
                serde_json::from_slice(&body).map_err(|e| Self::malformed(&url, e.to_string()))?;
            return doc["hashes"]
                .as_array()
                .ok_or_else(|| Self::malformed(&url, "no hashes"))?
                .iter()
                .map(|h| {
                    let mut hash = [0u8; 32];
                    h.as_str()
                        .and_then(|h| hex::decode_to_slice(h, &mut hash).ok())
                        .map(|()| hash)
                        .ok_or_else(|| Self::malformed(&url, "a hash that is not 64 hex digits"))
                })
                .collect();
        }
        let tiles_error = |e: tlog::merkle::ProofError| Self::malformed(&self.url, e.to_string());
        let ranges = consistency_proof_ranges(small, large).map_err(tiles_error)?;
        let tiles = self.tiles(&tiles_for(&nodes_of(&ranges), large)).await?;
        consistency_proof(small, large, &tiles).map_err(tiles_error)
    }

    /// Rekor v1's entries `from..to` of the active shard (its own indexes), in order, read by
    /// global index through `/api/v1/log/entries/retrieve`, ten at a time.
    pub async fn v1_entries(&self, from: u64, to: u64) -> Result<Vec<ServedEntry>, FetchError> {
        let offset = self.v1_log_info().await?.1;
        let url = format!("{}/entries/retrieve", self.prefix());
        let mut entries = Vec::new();
        let mut next = from;
        while next < to {
            let batch: Vec<u64> = (next..to.min(next + V1_RETRIEVE_BATCH))
                .map(|i| i + offset)
                .collect();
            let request = self
                .http
                .post(&url)
                .json(&serde_json::json!({ "logIndexes": batch }));
            let body = Self::send(request, &url, MAX_V1_RETRIEVE_BYTES)
                .await?
                .ok_or_else(|| FetchError::Status {
                    url: url.clone(),
                    status: 404,
                })?;
            let items: Vec<Value> =
                serde_json::from_slice(&body).map_err(|e| Self::malformed(&url, e.to_string()))?;
            // Each item is `{ "<entry ID>": entry }`; find each index's entry by its logIndex.
            let by_index: std::collections::HashMap<u64, &Value> = items
                .iter()
                .filter_map(Value::as_object)
                .flat_map(|m| m.values())
                .filter_map(|e| Some((e["logIndex"].as_u64()?, e)))
                .collect();
            for index in &batch {
                // A missing entry is not refused here: the check reports it (one short).
                let Some(entry) = by_index.get(index) else {
                    continue;
                };
                let body = entry["body"]
                    .as_str()
                    .and_then(|b| BASE64.decode(b).ok())
                    .ok_or_else(|| {
                        Self::malformed(&url, format!("entry {index} without a base64 body"))
                    })?;
                entries.push(rekor_entry(&body));
            }
            next += V1_RETRIEVE_BATCH;
        }
        Ok(entries)
    }

    /// Fetches `path` of the tile tree; a partial tile of an older width may be gone once the
    /// tile grew (tlog-tiles lets logs delete them), so a missing partial tile is read from the
    /// full one and cut.
    async fn tile_bytes(&self, path: TilePath, limit: usize) -> Result<Vec<u8>, FetchError> {
        let url = |p: &TilePath| {
            let p = p.to_path();
            let p = match (self.api, p.strip_prefix("tile/entries/")) {
                (LogApi::Ct, Some(rest)) => format!("tile/data/{rest}"),
                _ => p,
            };
            format!("{}/{p}", self.prefix())
        };
        let first = url(&path);
        if let Some(body) = Self::get(&self.http, &first, limit).await? {
            return Ok(body);
        }
        let full = match path {
            TilePath::Hashes {
                tile,
                width: Some(_),
            } => TilePath::Hashes { tile, width: None },
            TilePath::Entries {
                index,
                width: Some(_),
            } => TilePath::Entries { index, width: None },
            _ => {
                return Err(FetchError::Status {
                    url: first,
                    status: 404,
                })
            }
        };
        self.require(&url(&full), limit).await
    }

    /// The first `width` hashes of hash tile `id`.
    pub async fn tile(&self, id: TileId, width: u64) -> Result<Vec<Hash>, FetchError> {
        let partial = (width < TILE_WIDTH).then_some(width as u8);
        let path = TilePath::Hashes {
            tile: id,
            width: partial,
        };
        let body = self.tile_bytes(path, MAX_TILE_BYTES).await?;
        if body.len() % 32 != 0 || (body.len() as u64) < width * 32 {
            return Err(FetchError::Malformed {
                url: format!("{}/{}", self.prefix(), path.to_path()),
                reason: format!("{} bytes for a tile of {width} hashes", body.len()),
            });
        }
        Ok(body
            .chunks_exact(32)
            .take(width as usize)
            .map(|c| c.try_into().expect("chunks of 32 bytes"))
            .collect())
    }

    /// The tiles `wanted` lists, each at (at least) its width.
    pub async fn tiles(&self, wanted: &[(TileId, u64)]) -> Result<TileSet, FetchError> {
        let mut set = TileSet::new();
        for (id, width) in wanted {
            set.insert(*id, self.tile(*id, *width).await?);
        }
        Ok(set)
    }

    /// The entries of bundle `index` in a tree of `size`, each hashed and read.
    pub async fn bundle(&self, index: u64, size: u64) -> Result<Vec<ServedEntry>, FetchError> {
        let width = (size - index * TILE_WIDTH).min(TILE_WIDTH);
        let path = TilePath::Entries {
            index,
            width: (width < TILE_WIDTH).then_some(width as u8),
        };
        let body = self.tile_bytes(path, MAX_BUNDLE_BYTES).await?;
        let malformed = |reason: String| FetchError::Malformed {
            url: format!("{}/{}", self.prefix(), path.to_path()),
            reason,
        };
        let mut entries: Vec<ServedEntry> = match self.api {
            LogApi::RekorV2 | LogApi::Tiles => tlog::tile::decode_bundle(&body)
                .map_err(|e| malformed(e.to_string()))?
                .into_iter()
                .map(rekor_entry)
                .collect(),
            LogApi::Ct => ct::parse_data_tile(&body)
                .map_err(|e| malformed(e.to_string()))?
                .into_iter()
                .map(|leaf| ServedEntry {
                    leaf_hash: leaf.leaf_hash(),
                    facts: Some(monitor::facts::ct_leaf(&leaf)),
                    sct_time: Some(leaf.timestamped_entry().timestamp),
                })
                .collect(),
            LogApi::RekorV1 => {
                return Err(malformed("Rekor v1 has no entry bundles".into()));
            }
        };
        // A bundle with fewer entries than the tree holds is not refused here: the growth
        // check reports it (an entry dropped), as evidence rather than as a fetch failure.
        entries.truncate(width as usize);
        Ok(entries)
    }
}
