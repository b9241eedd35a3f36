//! How CT entries enter the log: the sequencer gives each entry its index, which static-ct-api
//! puts into the entry itself (the SCT `leaf_index` extension), and signs each new tree head
//! as a static-ct-api checkpoint whose note signature is an RFC 6962 tree head signature, so
//! one signature serves both `get-sth` and `checkpoint`.

use ct::{CtExtensions, TileLeaf, TimestampedEntry};
use sigstack_keys::Signer;
use std::sync::Arc;
use tlog::checkpoint::Checkpoint;
use tlog::note::Note;
use tlog_store::{CheckpointSigner, EntryEncoder};

/// Builds the stored entry (a static-ct-api `TileLeaf`) from a submitted one (the same, with
/// empty extensions) by adding the `leaf_index` extension.
pub(crate) struct CtEntryEncoder;

impl EntryEncoder for CtEntryEncoder {
    fn encode(&self, index: u64, payload: &[u8]) -> Result<(Vec<u8>, [u8; 32]), String> {
        let submitted = TileLeaf::parse(payload).map_err(|e| e.to_string())?;
        let mut entry: TimestampedEntry = submitted.timestamped_entry().clone();
        entry.extensions = CtExtensions::with_leaf_index(index).map_err(|e| e.to_string())?;
        let leaf = TileLeaf::new(
            entry,
            submitted.pre_certificate().cloned(),
            submitted.certificate_chain().to_vec(),
        )
        .map_err(|e| e.to_string())?;
        Ok((leaf.encode(), leaf.leaf_hash()))
    }
}

/// Signs checkpoints with the log key as static-ct-api requires.
pub(crate) struct CtCheckpointSigner {
    pub(crate) key: Arc<dyn Signer>,
}

impl CheckpointSigner for CtCheckpointSigner {
    fn sign(
        &self,
        origin: &str,
        size: u64,
        root: &[u8; 32],
        timestamp_ms: u64,
    ) -> Result<Vec<u8>, String> {
        let checkpoint = Checkpoint::new(origin, size, *root).map_err(|e| e.to_string())?;
        let signature = ct::sign_rfc6962_checkpoint(self.key.as_ref(), &checkpoint, timestamp_ms)
            .map_err(|e| e.to_string())?;
        let note = Note::new(checkpoint.to_body(), vec![signature]).map_err(|e| e.to_string())?;
        Ok(note.to_bytes())
    }
}
