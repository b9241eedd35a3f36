//! The C2SP tlog-tiles read path over a [`tlog_store::Log`], shared by the CT log
//! (static-ct-api) and Rekor v2. The rest of the HTTP layer is in `sigstack-http`.

use tlog::tile::TilePath;
use tlog_store::{Log, ReadError};

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
