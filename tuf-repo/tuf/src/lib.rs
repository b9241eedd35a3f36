//! TUF 1.0 metadata for sigstack's trust repository — no I/O.
//!
//! Sigstore clients (sigstore-python, sigstore-js, sigstore-go, cosign) bootstrap their trust in
//! a Sigstore instance from a [TUF](https://theupdateframework.github.io/specification/latest/)
//! repository: a `root.json` they ship, then `timestamp.json` → `N.snapshot.json` →
//! `N.targets.json` → target files such as `trusted_root.json`. This crate is the pure part of
//! that repository:
//!
//! - typed metadata for the four top-level roles ([`Root`], [`Targets`], [`Snapshot`],
//!   [`Timestamp`]) inside a signed envelope ([`Metadata`]) that keeps the exact canonical
//!   bytes signatures cover, so real upstream metadata verifies byte-exactly;
//! - keys in the securesystemslib encoding python-tuf reads ([`Key`]: ECDSA P-256/P-384 PEM,
//!   Ed25519 hex; key id = SHA-256 of the key's canonical JSON);
//! - OLPC canonical JSON ([`canonical_json`], spec §4.2 "Document formats") — not RFC 8785;
//! - the checks run before publishing: threshold signatures ([`Root::verify_role`]), root
//!   rotation signed by the old and the new root ([`verify_root_rotation`]), expiry
//!   ([`check_not_expired`]), rollback ([`check_advances`], [`RepositoryView::check_no_rollback`]),
//!   and snapshot/timestamp hash, length and version consistency ([`RepositoryView::verify`]);
//! - the next online metadata of a repository — new targets, a re-signed snapshot, a new
//!   timestamp — built, signed and put through those checks in one call ([`next_metadata`],
//!   taking a [`NextMetadataRequest`]); the caller writes the files it returns.
//!
//! Signing goes through [`sigstack_keys::Signer`], so the online key can live in an HSM. Time is
//! always passed in ([`Time`]); nothing here reads the clock, the disk or the network. The
//! repository on disk, the ceremony commands and the HTTP server are in `tuf-repo`.

mod canonical;
mod check;
mod error;
mod key;
mod metadata;
mod next;
mod time;

pub use canonical::canonical_json;
pub use check::{PublishedVersions, RepositoryView, SNAPSHOT_META, TARGETS_META};
pub use error::TufError;
pub use key::{Key, KeyId, KeyVal, SCHEME_ECDSA_P256, SCHEME_ECDSA_P384, SCHEME_ED25519};
pub use metadata::{
    check_advances, check_not_expired, sigstore_custom, verify_root_rotation, DelegatedRole,
    Delegations, MetaFile, Metadata, Role, RoleKeys, RoleName, Root, Signature, Snapshot,
    TargetFile, Targets, Timestamp, SPEC_VERSION,
};
pub use next::{
    next_metadata, NextMetadata, NextMetadataError, NextMetadataRequest, VersionedFile,
};
pub use time::Time;
