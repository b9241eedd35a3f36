#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod entry;
mod error;
mod json;
mod sct;
mod static_ct;
mod temporal;
mod tls;
mod x509;

pub use der::asn1::ObjectIdentifier;
pub use entry::{
    Asn1Cert, CtExtensions, ExtraData, LogEntryType, MerkleTreeLeaf, SignedEntry, TimestampedEntry,
};
pub use error::{CtError, DerError};
pub use json::{AddChainRequest, SctJson};
pub use sct::{
    sct_signed_data, sign_sct, sign_tree_head, tree_head_signed_data, verify_sct, verify_tree_head,
    DigitallySigned, SignedCertificateTimestamp, SignedCertificateTimestampList,
};
pub use static_ct::{
    encode_leaf_index_extension, open_rfc6962_checkpoint, parse_data_tile,
    parse_leaf_index_extension, rfc6962_note_key_hash, sign_rfc6962_checkpoint,
    Rfc6962NoteSignature, TileLeaf, MAX_LEAF_INDEX, RFC6962_NOTE_SIGNATURE_TYPE, TILE_WIDTH,
};
pub use temporal::{ExpiryWindow, NoShardForExpiry, ShardWindowError, TemporalShards};
pub use x509::{
    final_tbs, final_tbs_from_precert, has_poison, issuer_key_hash, precert_tbs_from_final_cert,
    precert_tbs_from_precert, tbs_and_signature, verify_embedded_scts, verify_issued_by,
    CertificateSignature, IssuerCertificate, ParsedCertificate, CT_POISON_OID,
    ECDSA_WITH_SHA256_OID, ECDSA_WITH_SHA384_OID, ED25519_OID, POISON_EXTENSION_VALUE,
    SCT_LIST_OID,
};

/// RFC 6962 `Version::v1`, the only version of SCTs, tree heads and Merkle leaves.
pub(crate) const VERSION_V1: u8 = 0;
