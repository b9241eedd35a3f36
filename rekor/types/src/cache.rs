//! Parsed verifiers remembered by the exact text a client sent, so that entries signed with the
//! same key or certificate do not pay for PEM, DER and key parsing, nor for the canonical PEM
//! and its hash, again.

use lru::LruCache;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use crate::pki::Verifier;
use crate::util::{b64, b64_std_decode};
use crate::EntryError;

/// Default number of verifiers a [`VerifierCache`] holds.
pub const DEFAULT_VERIFIER_CACHE: usize = 1024;

/// Longest `publicKey.content` (base64 text) that is cached; bigger ones are parsed every time,
/// so the cache holds at most `capacity * 8 KiB` of keys whatever clients send.
const MAX_CACHED_KEY_BYTES: usize = 8 * 1024;

/// A verifier with what every entry signed by it needs, computed once.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub(crate) verifier: Verifier,
    /// base64 of the canonical PEM (what the canonical body holds).
    pub(crate) canonical_pem_b64: String,
    /// The public-key search key (hex SHA-256 of the canonical PEM).
    pub(crate) index_hash: String,
}

impl Prepared {
    fn new(verifier: Verifier) -> Self {
        Self {
            canonical_pem_b64: b64(verifier.canonical_pem().as_bytes()),
            index_hash: verifier.index_hash(),
            verifier,
        }
    }

    /// Parses `content` (base64 of a PEM certificate or public key, as Rekor v1 carries it).
    pub(crate) fn parse_b64_pem(field: &'static str, content: &str) -> Result<Self, EntryError> {
        let pem = b64_std_decode(field, content)?;
        Ok(Self::new(Verifier::from_pem(field, &pem)?))
    }
}

/// A bounded, least-recently-used cache of parsed verifiers, keyed by the exact base64 text of
/// a v1 entry's `publicKey.content`. Only successful parses are cached, so every refusal is
/// computed (and worded) exactly as without the cache. Safe to share between threads.
pub struct VerifierCache {
    entries: Mutex<LruCache<Box<str>, Arc<Prepared>>>,
}

impl std::fmt::Debug for VerifierCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifierCache").finish_non_exhaustive()
    }
}

impl Default for VerifierCache {
    fn default() -> Self {
        Self::new(DEFAULT_VERIFIER_CACHE)
    }
}

impl VerifierCache {
    /// A cache of at most `capacity` verifiers (at least one).
    pub fn new(capacity: usize) -> Self {
        let capacity = NonZeroUsize::new(capacity.max(1)).expect("non-zero");
        Self {
            entries: Mutex::new(LruCache::new(capacity)),
        }
    }

    /// The verifier of `content`, parsed now or remembered.
    pub(crate) fn get_or_parse(
        &self,
        field: &'static str,
        content: &str,
    ) -> Result<Arc<Prepared>, EntryError> {
        if let Some(hit) = self.lock().get(content) {
            return Ok(hit.clone());
        }
        let prepared = Arc::new(Prepared::parse_b64_pem(field, content)?);
        if content.len() <= MAX_CACHED_KEY_BYTES {
            self.lock().put(content.into(), prepared.clone());
        }
        Ok(prepared)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<Box<str>, Arc<Prepared>>> {
        // The cache holds no invariant a panic could break: use it even if poisoned.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
