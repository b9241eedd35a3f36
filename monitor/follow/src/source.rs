//! Reading a log over HTTP: its checkpoint, hash tiles and entry bundles (C2SP tlog-tiles; the
//! static-ct-api names its bundles `tile/data/…`), each answer bounded in size.

use std::time::Duration;

use monitor::watch::LogApi;
use monitor::EntryFacts;
use tlog::merkle::{leaf_hash, Hash};
use tlog::tile::{TileId, TilePath, TileSet, TILE_WIDTH};

/// Longest wait for one answer.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Largest checkpoint accepted (a note with a few signatures is well under 1 KiB).
const MAX_CHECKPOINT_BYTES: usize = 64 * 1024;
/// Largest hash tile: 256 hashes.
const MAX_TILE_BYTES: usize = TILE_WIDTH as usize * 32;
/// Largest entry bundle: 256 entries of at most 64 KiB each, with their length prefixes (CT
/// data tiles hold a certificate and a chain of fingerprints per entry, within the same bound).
const MAX_BUNDLE_BYTES: usize = TILE_WIDTH as usize * (64 * 1024 + 2);

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
            LogApi::Ct | LogApi::Tiles => self.url.clone(),
        }
    }

    /// GET `url`: `Ok(None)` on 404, the body if it is at most `limit` bytes.
    pub(crate) async fn get(
        http: &reqwest::Client,
        url: &str,
        limit: usize,
    ) -> Result<Option<Vec<u8>>, FetchError> {
        let http_err = |source| FetchError::Http {
            url: url.to_string(),
            source,
        };
        let mut response = http.get(url).send().await.map_err(http_err)?;
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

    /// The latest checkpoint note.
    pub async fn checkpoint(&self) -> Result<Vec<u8>, FetchError> {
        self.require(
            &format!("{}/checkpoint", self.prefix()),
            MAX_CHECKPOINT_BYTES,
        )
        .await
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
                .map(|data| ServedEntry {
                    leaf_hash: leaf_hash(data),
                    facts: monitor::facts::rekor_body(data).ok(),
                })
                .collect(),
            LogApi::Ct => ct::parse_data_tile(&body)
                .map_err(|e| malformed(e.to_string()))?
                .into_iter()
                .map(|leaf| ServedEntry {
                    leaf_hash: leaf.leaf_hash(),
                    facts: Some(monitor::facts::ct_leaf(&leaf)),
                })
                .collect(),
        };
        // A bundle with fewer entries than the tree holds is not refused here: the growth
        // check reports it (an entry dropped), as evidence rather than as a fetch failure.
        entries.truncate(width as usize);
        Ok(entries)
    }
}
