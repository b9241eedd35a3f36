//! C2SP static-ct-api (<https://c2sp.org/static-ct-api>): the `leaf_index` SCT extension,
//! data tile entries (`TileLeaf`), and checkpoints signed with RFC 6962 note signatures.

use sha2::{Digest, Sha256};
use sigstack_keys::Signer;
use tlog::checkpoint::Checkpoint;
use tlog::note::{KeyHash, Note, NoteSignature};

use crate::entry::{Asn1Cert, MerkleTreeLeaf, SignedEntry, TimestampedEntry};
use crate::sct::{sign_tree_head, verify_tree_head, DigitallySigned};
use crate::tls::{self, Reader, MAX_U16};
use crate::CtError;

/// static-ct-api `ExtensionType::leaf_index`.
const EXTENSION_LEAF_INDEX: u8 = 0;

/// The largest leaf index a static-ct-api `uint40` can carry.
pub const MAX_LEAF_INDEX: u64 = (1 << 40) - 1;

/// The most entries a data tile holds (a full tile).
pub const TILE_WIDTH: usize = 256;

/// The signed-note signature type of an RFC 6962 tree head signature (static-ct-api).
pub const RFC6962_NOTE_SIGNATURE_TYPE: u8 = 0x05;

/// The `extensions` bytes of a static-ct-api SCT: one `leaf_index` extension (type 0, 5-byte
/// big-endian index), 8 bytes in all.
///
/// Fails with [`CtError::LeafIndexOutOfRange`] above [`MAX_LEAF_INDEX`].
pub fn encode_leaf_index_extension(index: u64) -> Result<Vec<u8>, CtError> {
    if index > MAX_LEAF_INDEX {
        return Err(CtError::LeafIndexOutOfRange { index });
    }
    let mut out = vec![EXTENSION_LEAF_INDEX];
    tls::put_opaque(&mut out, 2, &index.to_be_bytes()[3..]);
    Ok(out)
}

/// The `leaf_index` in an SCT's `extensions` bytes, parsed as a static-ct-api `CtExtensions`
/// list.
///
/// Other extension types are skipped (the spec allows future ones), but the list must be well
/// formed, no type may repeat, and the `leaf_index` data must be exactly 5 bytes.
pub fn parse_leaf_index_extension(extensions: &[u8]) -> Result<u64, CtError> {
    let mut r = Reader::new(extensions);
    let mut seen = [false; 256];
    let mut index = None;
    while !r.is_empty() {
        let extension_type = r.u8("Extension.extension_type")?;
        let data = r.opaque(2, 0, MAX_U16, "Extension.extension_data")?;
        if std::mem::replace(&mut seen[usize::from(extension_type)], true) {
            return Err(CtError::DuplicateCtExtension { extension_type });
        }
        if extension_type == EXTENSION_LEAF_INDEX {
            let mut d = Reader::new(data);
            tls::check_len("leaf_index", data.len(), 5, 5)?;
            index = Some(d.uint(5, "leaf_index")?);
        }
    }
    index.ok_or(CtError::MissingLeafIndex)
}

/// One entry of a static-ct-api data tile: the `TimestampedEntry` that was hashed into the
/// tree, the submitted precertificate (precert entries only) and the SHA-256 fingerprints of
/// the submitted issuer chain.
///
/// The constructor enforces that a precertificate is present exactly for precert entries, so
/// every value encodes to a well-formed entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TileLeaf {
    timestamped_entry: TimestampedEntry,
    pre_certificate: Option<Asn1Cert>,
    certificate_chain: Vec<[u8; 32]>,
}

impl TileLeaf {
    /// The most fingerprints a `certificate_chain<0..2^16-1>` holds.
    pub const MAX_CHAIN_LEN: usize = MAX_U16 / 32;

    /// Builds a tile entry. `pre_certificate` must be `Some` exactly when the entry is a
    /// precert entry, and the chain must hold at most [`TileLeaf::MAX_CHAIN_LEN`] fingerprints.
    pub fn new(
        timestamped_entry: TimestampedEntry,
        pre_certificate: Option<Asn1Cert>,
        certificate_chain: Vec<[u8; 32]>,
    ) -> Result<Self, CtError> {
        match (&timestamped_entry.entry, &pre_certificate) {
            (SignedEntry::X509(_), None) | (SignedEntry::Precert { .. }, Some(_)) => {}
            (SignedEntry::X509(_), Some(_)) => {
                return Err(CtError::InvalidTileLeaf {
                    reason: "an x509_entry has no pre_certificate",
                })
            }
            (SignedEntry::Precert { .. }, None) => {
                return Err(CtError::InvalidTileLeaf {
                    reason: "a precert_entry needs its pre_certificate",
                })
            }
        }
        tls::check_len(
            "certificate_chain",
            certificate_chain.len(),
            0,
            Self::MAX_CHAIN_LEN,
        )?;
        Ok(TileLeaf {
            timestamped_entry,
            pre_certificate,
            certificate_chain,
        })
    }

    /// The logged entry.
    pub fn timestamped_entry(&self) -> &TimestampedEntry {
        &self.timestamped_entry
    }

    /// The submitted precertificate (precert entries only).
    pub fn pre_certificate(&self) -> Option<&Asn1Cert> {
        self.pre_certificate.as_ref()
    }

    /// SHA-256 fingerprints of the submitted issuers, leaf's issuer first; each is served at
    /// `<monitoring prefix>/issuer/<hex fingerprint>`.
    pub fn certificate_chain(&self) -> &[[u8; 32]] {
        &self.certificate_chain
    }

    /// The Merkle tree leaf of this entry.
    pub fn merkle_tree_leaf(&self) -> MerkleTreeLeaf {
        MerkleTreeLeaf {
            timestamped_entry: self.timestamped_entry.clone(),
        }
    }

    /// The entry's Merkle leaf hash: the matching hash in the level-0 tile.
    pub fn leaf_hash(&self) -> [u8; 32] {
        let mut leaf = vec![crate::VERSION_V1, 0];
        self.timestamped_entry.encode_into(&mut leaf);
        tlog::merkle::leaf_hash(&leaf)
    }

    /// The TLS encoding; a data tile is the concatenation of its entries' encodings.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    /// Appends the TLS encoding to `out` (to build a data tile).
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        self.timestamped_entry.encode_into(out);
        if let Some(pre) = &self.pre_certificate {
            pre.encode_into(out);
        }
        tls::put_uint(out, 2, 32 * self.certificate_chain.len() as u64);
        for fingerprint in &self.certificate_chain {
            out.extend_from_slice(fingerprint);
        }
    }

    /// Parses exactly one entry; trailing bytes are an error (see [`parse_data_tile`] for a
    /// whole tile).
    pub fn parse(bytes: &[u8]) -> Result<Self, CtError> {
        let mut r = Reader::new(bytes);
        let leaf = Self::parse_from(&mut r)?;
        r.finish("TileLeaf")?;
        Ok(leaf)
    }

    fn parse_from(r: &mut Reader<'_>) -> Result<Self, CtError> {
        let timestamped_entry = TimestampedEntry::parse_from(r)?;
        let pre_certificate = match timestamped_entry.entry {
            SignedEntry::X509(_) => None,
            SignedEntry::Precert { .. } => {
                Some(Asn1Cert::parse_from(r, "TileLeaf.pre_certificate")?)
            }
        };
        let chain = r.opaque(2, 0, MAX_U16, "TileLeaf.certificate_chain")?;
        if chain.len() % 32 != 0 {
            return Err(CtError::InvalidTileLeaf {
                reason: "certificate_chain length is not a multiple of 32",
            });
        }
        let certificate_chain = chain
            .chunks_exact(32)
            .map(|c| {
                let mut f = [0u8; 32];
                f.copy_from_slice(c);
                f
            })
            .collect();
        Ok(TileLeaf {
            timestamped_entry,
            pre_certificate,
            certificate_chain,
        })
    }
}

/// Parses a whole data tile (`tile/data/<N>[.p/<W>]`): 1 to [`TILE_WIDTH`] concatenated
/// [`TileLeaf`]s. The caller checks the count against the width the path promises.
pub fn parse_data_tile(bytes: &[u8]) -> Result<Vec<TileLeaf>, CtError> {
    let mut r = Reader::new(bytes);
    let mut leaves = Vec::new();
    while !r.is_empty() {
        if leaves.len() == TILE_WIDTH {
            return Err(CtError::LengthOutOfRange {
                what: "data tile entries",
                len: TILE_WIDTH + 1,
                min: 1,
                max: TILE_WIDTH,
            });
        }
        leaves.push(TileLeaf::parse_from(&mut r)?);
    }
    if leaves.is_empty() {
        return Err(CtError::LengthOutOfRange {
            what: "data tile entries",
            len: 0,
            min: 1,
            max: TILE_WIDTH,
        });
    }
    debug_assert_eq!(r.remaining(), 0);
    Ok(leaves)
}

/// static-ct-api `RFC6962NoteSignature`: the body of a checkpoint's note signature (after the
/// 4-byte key ID): the tree head timestamp and the RFC 6962 tree head signature.
///
/// It lets a static-ct-api checkpoint carry exactly the signature a `get-sth` response would,
/// so either can be converted into the other without the private key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rfc6962NoteSignature {
    /// The `TreeHeadSignature.timestamp`, milliseconds since the Unix epoch.
    pub timestamp: u64,
    /// The `TreeHeadSignature` digitally-signed value.
    pub signature: DigitallySigned,
}

impl Rfc6962NoteSignature {
    /// The encoding: `uint64 timestamp` then the TLS `DigitallySigned`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + 4 + self.signature.signature().len());
        tls::put_uint(&mut out, 8, self.timestamp);
        self.signature.encode_into(&mut out);
        out
    }

    /// Parses exactly one signature body.
    pub fn parse(bytes: &[u8]) -> Result<Self, CtError> {
        let mut r = Reader::new(bytes);
        let timestamp = r.u64("RFC6962NoteSignature.timestamp")?;
        let signature = DigitallySigned::parse_from(&mut r)?;
        r.finish("RFC6962NoteSignature")?;
        Ok(Rfc6962NoteSignature {
            timestamp,
            signature,
        })
    }
}

/// The note key ID of a static-ct-api log: `SHA-256(origin || 0x0A || 0x05 || log_id)[:4]`.
pub fn rfc6962_note_key_hash(origin: &str, log_id: &[u8; 32]) -> KeyHash {
    let mut h = Sha256::new();
    h.update(origin.as_bytes());
    h.update([b'\n', RFC6962_NOTE_SIGNATURE_TYPE]);
    h.update(log_id);
    let digest = h.finalize();
    KeyHash::new([digest[0], digest[1], digest[2], digest[3]])
}

/// Signs `checkpoint` as a static-ct-api log: a tree head signature at `timestamp`, wrapped
/// as a note signature line named after the checkpoint's origin.
///
/// Build the published note with `Note::new(checkpoint.to_body(), vec![signature, …])`. Fails
/// if the checkpoint has extension lines (the tree head signature cannot cover them) or the
/// origin is not a valid key name.
pub fn sign_rfc6962_checkpoint(
    signer: &dyn Signer,
    checkpoint: &Checkpoint,
    timestamp: u64,
) -> Result<NoteSignature, CtError> {
    if !checkpoint.extensions().is_empty() {
        return Err(CtError::CheckpointHasExtensions);
    }
    let signature = sign_tree_head(signer, timestamp, checkpoint.size(), checkpoint.root_hash())?;
    let log_id = sigstack_keys::key_id(signer.public_key_der());
    let body = Rfc6962NoteSignature {
        timestamp,
        signature,
    };
    NoteSignature::new(
        checkpoint.origin(),
        rfc6962_note_key_hash(checkpoint.origin(), &log_id),
        body.encode(),
    )
    .map_err(CtError::Note)
}

/// Opens a static-ct-api checkpoint: parses the signed note, checks that its origin is
/// `origin`, and verifies the RFC 6962 note signature(s) by the log whose DER
/// `SubjectPublicKeyInfo` is `log_spki_der`. Returns the checkpoint and its tree head
/// timestamp.
///
/// Signatures by other keys (witnesses, other key types) are ignored, as the signed-note spec
/// requires; every signature whose name and key ID are this log's must verify.
pub fn open_rfc6962_checkpoint(
    note: &[u8],
    origin: &str,
    log_spki_der: &[u8],
) -> Result<(Checkpoint, u64), CtError> {
    let note = Note::parse(note).map_err(CtError::Note)?;
    let checkpoint = Checkpoint::parse_body(note.text()).map_err(CtError::Checkpoint)?;
    if checkpoint.origin() != origin {
        return Err(CtError::OriginMismatch {
            expected: origin.to_string(),
            found: checkpoint.origin().to_string(),
        });
    }
    let key_hash = rfc6962_note_key_hash(origin, &sigstack_keys::key_id(log_spki_der));
    let mut timestamp = None;
    for sig in note.signatures() {
        if sig.name() != origin || sig.key_hash() != key_hash {
            continue;
        }
        let body = Rfc6962NoteSignature::parse(sig.signature())?;
        verify_tree_head(
            log_spki_der,
            body.timestamp,
            checkpoint.size(),
            checkpoint.root_hash(),
            &body.signature,
        )?;
        timestamp.get_or_insert(body.timestamp);
    }
    let timestamp = timestamp.ok_or(CtError::NoLogSignature)?;
    if !checkpoint.extensions().is_empty() {
        return Err(CtError::CheckpointHasExtensions);
    }
    Ok((checkpoint, timestamp))
}
