//! The pure core of a transparency log: no I/O, no async, no database.
//!
//! - [`merkle`]: RFC 6962 / RFC 9162 Merkle tree hashing, inclusion and consistency proofs in the
//!   order RFC 6962 section 2.1 defines, and their verifiers.
//! - [`tile`]: C2SP tlog-tiles addressing (`tile/L/N[.p/W]`, `tile/entries/N`), and computing any
//!   root or proof from tiles alone.
//! - [`note`]: C2SP signed notes, signed and verified with Ed25519 (type 0x01) and ECDSA keys
//!   (Rekor style: key hint = first 4 bytes of SHA-256 of the DER SPKI).
//! - [`checkpoint`]: C2SP tlog-checkpoint bodies carried in signed notes.
//!
//! The storage and sequencing that drive this core live in the `tlog-store` crate.

pub mod checkpoint;
pub mod merkle;
pub mod note;
pub mod tile;
