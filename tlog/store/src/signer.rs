use tlog::checkpoint::Checkpoint;
use tlog::merkle::Hash;
use tlog::note::NoteSigner;

/// Signs a log's tree head into the checkpoint the log stores and serves.
///
/// Implementations MUST produce a checkpoint for exactly the `size` and `root` given. They may
/// add signatures of other kinds (a static-ct-api log adds an RFC 6962 tree head signature).
pub trait CheckpointSigner: Send + Sync {
    /// The signed checkpoint bytes, e.g. a C2SP signed note.
    fn sign(
        &self,
        origin: &str,
        size: u64,
        root: &Hash,
        timestamp_ms: u64,
    ) -> Result<Vec<u8>, String>;
}

/// Signs C2SP tlog-checkpoints as signed notes, with one or more note signers.
pub struct NoteCheckpointSigner {
    signers: Vec<NoteSigner>,
}

impl NoteCheckpointSigner {
    /// A signer using every one of `signers` (at least one).
    pub fn new(signers: Vec<NoteSigner>) -> Self {
        assert!(
            !signers.is_empty(),
            "a checkpoint needs at least one signer"
        );
        Self { signers }
    }
}

impl CheckpointSigner for NoteCheckpointSigner {
    fn sign(
        &self,
        origin: &str,
        size: u64,
        root: &Hash,
        _timestamp_ms: u64,
    ) -> Result<Vec<u8>, String> {
        let checkpoint = Checkpoint::new(origin, size, *root).map_err(|e| e.to_string())?;
        let signers: Vec<&NoteSigner> = self.signers.iter().collect();
        let note = checkpoint.sign(&signers).map_err(|e| e.to_string())?;
        Ok(note.to_bytes())
    }
}
