//! The pure core of a transparency-log witness ([c2sp.org/tlog-witness]): no I/O, no async, no
//! database, no clock.
//!
//! A witness follows logs it is configured with (each log's origin and verifier keys: a
//! [`LogList`]), keeps the latest checkpoint it cosigned for each, and cosigns a new checkpoint
//! only when the log signed it and it is consistent with the one it holds. That is how clients
//! learn that the log shows everyone the same tree.
//!
//! - [`AddCheckpoint`]: parses an `add-checkpoint` request body (old size, consistency proof,
//!   checkpoint note), strictly.
//! - [`Witness::verify`]: the checks that need no stored state: the origin is followed (404
//!   otherwise), the log signed the checkpoint (403), the old size is not above the new one (400).
//! - [`VerifiedCheckpoint::advance`]: the checks against the checkpoint held for the log: the old
//!   size is the held size (409 with the held size otherwise), and the proof, the empty-tree rule
//!   and equal-size roots hold (422). It returns what to store; the caller stores it with a
//!   compare-and-swap on what it read, so that two submissions cannot both win.
//! - [`Cosigner`]: signs `cosignature/v1` Ed25519 cosignatures ([c2sp.org/tlog-cosignature],
//!   signature type `0x04`), and [`CosignatureVerifier`] checks them.
//! - The log's side: [`cosignature_in_answer`] and [`size_in_conflict`] read a witness's
//!   answers, and [`WitnessPolicy`] says whether a checkpoint carries cosignatures from at least
//!   N of M witnesses.
//!
//! Signed notes, checkpoints and Merkle proofs are the log core's ([`tlog`]); RFC 6962 tree head
//! signatures (type `0x05`, static-ct-api logs) are the CT crate's ([`ct`]). This crate only
//! decides.
//!
//! [c2sp.org/tlog-witness]: https://c2sp.org/tlog-witness
//! [c2sp.org/tlog-cosignature]: https://c2sp.org/tlog-cosignature

mod cosign;
mod error;
mod logs;
mod policy;
mod request;
mod witness;

pub use cosign::{
    cosignature_key_hash, cosigned_message, CosignatureVerifier, Cosigner, COSIGNATURE_TYPE,
};
pub use error::{ConfigError, CosignError, Refusal};
pub use logs::{origin_hash, Log, LogConfig, LogKey, LogList, WitnessConfig};
pub use policy::{
    cosignature_in_answer, size_in_conflict, AnswerError, PolicyError, WitnessPolicy,
};
pub use request::{AddCheckpoint, MAX_PROOF_LINES};
pub use witness::{Held, VerifiedCheckpoint, Witness};
