//! sigstack's TUF repository: the offline root ceremony, online signing of timestamp, snapshot
//! and targets, HTTP serving and static export.
//!
//! The metadata itself (types, canonical JSON, signature and consistency checks) is the pure
//! `tuf` crate; this crate adds the disk, the clock, the lock and the network.
//!
//! # Layout
//!
//! One directory with consistent snapshots, served as is (see [`layout`]): `N.root.json`,
//! `root.json`, `timestamp.json`, `N.snapshot.json`, `N.targets.json`,
//! `targets/<sha256>.<name>`; plus `staged/root.json` (a root collecting signatures) and the
//! default online key `private/online.pem`, which are never served or exported.
//!
//! # Keys
//!
//! - Root keys are offline PKCS#8 PEM files (`sigstack tuf keygen`), `threshold` of them must
//!   sign each root; a new root is signed by the old root's threshold and its own.
//! - One online key signs **timestamp, snapshot and targets**. Targets is online too so that the
//!   stack can publish a new `trusted_root.json` when a key rotates without a ceremony; the root
//!   keys still decide which online key is trusted.
//!
//! # The launcher's API
//!
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use sigstack_keys::{Algorithm, SoftwareKey};
//! use tuf_repo::{NewTarget, RepoOptions, Repository};
//!
//! let dir = std::path::Path::new("data/tuf");
//! let root_key = SoftwareKey::load_or_generate(&dir.join("private/root.pem"), Algorithm::EcdsaP256Sha256)?;
//! let online = Arc::new(SoftwareKey::load_or_generate(
//!     &tuf_repo::default_online_key_path(dir),
//!     Algorithm::EcdsaP256Sha256,
//! )?);
//! let repo = Arc::new(Repository::open_or_init(dir, &[&root_key], 1, online, RepoOptions::default())?);
//! // Publishes a new targets version only if something changed.
//! repo.set_targets(&[
//!     NewTarget::sigstore("trusted_root.json", b"{}".to_vec(), "Unknown"),
//!     NewTarget::sigstore("signing_config.v0.2.json", b"{}".to_vec(), "Unknown"),
//! ])?;
//! let _refresher = tuf_repo::spawn_refresher(repo.clone());
//! // Requests are counted in `metrics`; serve it at `/metrics` here or on a listener of its own.
//! let metrics = sigstack_http::MetricsRegistry::for_service("tuf");
//! let app = tuf_repo::router(repo.dir().to_owned(), &metrics)
//!     .merge(sigstack_http::metrics_router(vec![metrics.clone()]));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8081").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```
//!
//! Clients are bootstrapped with [`Repository::root_bytes`] (or `1.root.json`) and pointed at
//! `metadata_base_url = URL`, `target_base_url = URL + "/targets/"`.

mod ceremony;
mod error;
pub mod layout;
mod repo;
mod serve;
mod store;

pub use ceremony::{
    publish_staged_root, sign_staged_root, stage_initial_root, stage_root, staged_root_path,
    staged_root_status, RootChange, StagedStatus,
};
pub use error::RepoError;
pub use repo::{
    default_online_key_path, describe, export, is_due, now, verify_dir, NewTarget, Refreshed,
    RepoOptions, Repository, DEFAULT_ROOT_EXPIRY, DEFAULT_SNAPSHOT_EXPIRY, DEFAULT_TARGETS_EXPIRY,
    DEFAULT_TIMESTAMP_EXPIRY, ROOT_EXPIRY_WARNING,
};
pub use serve::{
    router, spawn_refresher, CACHE_IMMUTABLE, CACHE_ROOT, CACHE_TIMESTAMP, MAX_REFRESH_SLEEP,
    REFRESH_RETRY,
};
