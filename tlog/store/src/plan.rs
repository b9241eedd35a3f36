//! The pure part of an integration round: given the tree edge and the entries already in the
//! log with the same identities, decide each submission's index, encode the new entries, and
//! grow the tree. No I/O: the store runs this inside its transaction.

use std::collections::HashMap;
use tlog::merkle::{self, Hash};
use tlog::tile::{Appended, TreeEdge};

/// The largest entry a log stores: tlog-tiles entry bundles prefix entries with a `uint16`.
pub const MAX_ENTRY_BYTES: usize = u16::MAX as usize;

/// A key under which an entry can be looked up later (Rekor: artifact digest, email, key).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IndexKey {
    /// What the key is (`"sha256"`, `"email"`, …), chosen by the service.
    pub kind: String,
    /// The key itself.
    pub key: String,
}

/// An entry submitted for appending.
#[derive(Debug, Clone)]
pub struct Submission {
    /// What makes two submissions the same entry: a resubmission gets the existing entry back.
    pub identity: Hash,
    /// The service's entry, handed to the log's [`EntryEncoder`] with the index it gets.
    pub payload: Vec<u8>,
    /// Secondary index keys, written in the same transaction as the entry.
    pub index_keys: Vec<IndexKey>,
}

impl Submission {
    /// A submission whose identity is the RFC 6962 leaf hash of its payload (Rekor's rule).
    pub fn by_leaf_hash(payload: Vec<u8>) -> Self {
        Self {
            identity: merkle::leaf_hash(&payload),
            payload,
            index_keys: Vec::new(),
        }
    }
}

/// An entry as the log holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    /// Position in the log.
    pub index: u64,
    /// Deduplication identity.
    pub identity: Hash,
    /// The RFC 6962 leaf hash the tree commits to.
    pub leaf_hash: Hash,
    /// The entry as it appears in entry bundles.
    pub data: Vec<u8>,
    /// When the round that integrated it committed, in milliseconds since the Unix epoch.
    pub integrated_at_ms: u64,
}

/// Turns a payload into the stored entry and its leaf hash, given the index it will have.
///
/// Most logs store the payload as is ([`PlainEntries`]). A static-ct-api log needs the index
/// inside the entry (the SCT `leaf_index` extension), which is why the index is passed in.
pub trait EntryEncoder: Send + Sync {
    /// Returns the bytes stored (and served in entry bundles) and the RFC 6962 leaf hash, or
    /// why this payload cannot be logged (it is then rejected alone, not its round).
    fn encode(&self, index: u64, payload: &[u8]) -> Result<(Vec<u8>, Hash), String>;
}

/// Stores payloads unchanged; leaf hash = SHA-256(0x00 || payload).
#[derive(Debug, Clone, Copy, Default)]
pub struct PlainEntries;

impl EntryEncoder for PlainEntries {
    fn encode(&self, _index: u64, payload: &[u8]) -> Result<(Vec<u8>, Hash), String> {
        Ok((payload.to_vec(), merkle::leaf_hash(payload)))
    }
}

/// What happened to one submission of a round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Appended (or found already present, `duplicate`) at `entry.index`.
    Sequenced {
        /// The entry as stored.
        entry: StoredEntry,
        /// True when the log already held an entry with this identity.
        duplicate: bool,
    },
    /// Rejected: the encoded entry is too large for an entry bundle.
    TooLarge(usize),
    /// Rejected by the log's encoder.
    Invalid(String),
}

/// The result of planning a round: what to write and what to answer.
#[derive(Debug, Clone)]
pub struct RoundPlan {
    /// One outcome per submission, in submission order.
    pub outcomes: Vec<Outcome>,
    /// The entries new to the log, in index order.
    pub new_entries: Vec<StoredEntry>,
    /// Index keys of the new entries: `(index, key)`.
    pub new_index_keys: Vec<(u64, IndexKey)>,
    /// The grown tree edge and the tiles to write.
    pub appended: Appended,
}

/// Plans a round. `existing` maps identities already in the log to their entries.
pub fn plan_round(
    edge: &TreeEdge,
    batch: &[Submission],
    existing: &HashMap<Hash, StoredEntry>,
    encoder: &dyn EntryEncoder,
    now_ms: u64,
) -> RoundPlan {
    let mut next = edge.size();
    let mut in_round: HashMap<Hash, usize> = HashMap::new();
    let mut new_entries: Vec<StoredEntry> = Vec::new();
    let mut new_index_keys = Vec::new();
    let mut outcomes = Vec::with_capacity(batch.len());
    for sub in batch {
        if let Some(entry) = existing.get(&sub.identity) {
            outcomes.push(Outcome::Sequenced {
                entry: entry.clone(),
                duplicate: true,
            });
            continue;
        }
        if let Some(&pos) = in_round.get(&sub.identity) {
            // Submitted twice in the same round: both callers get the one new entry. The second
            // is a duplicate of the first as far as the log is concerned.
            outcomes.push(Outcome::Sequenced {
                entry: new_entries[pos].clone(),
                duplicate: true,
            });
            continue;
        }
        let (data, leaf_hash) = match encoder.encode(next, &sub.payload) {
            Ok(encoded) => encoded,
            Err(reason) => {
                outcomes.push(Outcome::Invalid(reason));
                continue;
            }
        };
        if data.len() > MAX_ENTRY_BYTES {
            outcomes.push(Outcome::TooLarge(data.len()));
            continue;
        }
        let entry = StoredEntry {
            index: next,
            identity: sub.identity,
            leaf_hash,
            data,
            integrated_at_ms: now_ms,
        };
        // Each (key, entry) pair once: the store inserts them without ON CONFLICT.
        let first_key = new_index_keys.len();
        for key in &sub.index_keys {
            if !new_index_keys[first_key..]
                .iter()
                .any(|(_, k): &(u64, IndexKey)| k == key)
            {
                new_index_keys.push((next, key.clone()));
            }
        }
        in_round.insert(sub.identity, new_entries.len());
        new_entries.push(entry.clone());
        outcomes.push(Outcome::Sequenced {
            entry,
            duplicate: false,
        });
        next += 1;
    }
    let leaf_hashes: Vec<Hash> = new_entries.iter().map(|e| e.leaf_hash).collect();
    let appended = edge.append(&leaf_hashes);
    RoundPlan {
        outcomes,
        new_entries,
        new_index_keys,
        appended,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(x: &[u8]) -> Submission {
        Submission::by_leaf_hash(x.to_vec())
    }

    #[test]
    fn assigns_consecutive_indexes_and_deduplicates() {
        let edge = TreeEdge::empty().append(&[merkle::leaf_hash(b"old")]).edge;
        let old = StoredEntry {
            index: 0,
            identity: merkle::leaf_hash(b"old"),
            leaf_hash: merkle::leaf_hash(b"old"),
            data: b"old".to_vec(),
            integrated_at_ms: 1,
        };
        let existing = HashMap::from([(old.identity, old.clone())]);
        let batch = [sub(b"a"), sub(b"old"), sub(b"b"), sub(b"a")];
        let plan = plan_round(&edge, &batch, &existing, &PlainEntries, 7);
        let indexes: Vec<(u64, bool)> = plan
            .outcomes
            .iter()
            .map(|o| match o {
                Outcome::Sequenced { entry, duplicate } => (entry.index, *duplicate),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(indexes, [(1, false), (0, true), (2, false), (1, true)]);
        assert_eq!(plan.new_entries.len(), 2);
        assert_eq!(plan.appended.edge.size(), 3);
        assert_eq!(
            plan.appended.edge.root(),
            merkle::MemoryTree::from_leaf_hashes(
                [b"old".as_slice(), b"a", b"b"].map(merkle::leaf_hash)
            )
            .root()
        );
    }

    #[test]
    fn oversized_entries_are_rejected_alone() {
        let big = vec![0u8; MAX_ENTRY_BYTES + 1];
        let batch = [sub(b"a"), sub(&big), sub(b"b")];
        let plan = plan_round(
            &TreeEdge::empty(),
            &batch,
            &HashMap::new(),
            &PlainEntries,
            0,
        );
        assert!(matches!(plan.outcomes[1], Outcome::TooLarge(n) if n == MAX_ENTRY_BYTES + 1));
        assert_eq!(plan.new_entries.len(), 2);
        assert_eq!(plan.new_entries[1].index, 1);
    }

    #[test]
    fn an_entry_files_each_search_key_once() {
        let key = |k: &str| IndexKey {
            kind: "hash".into(),
            key: k.into(),
        };
        let mut a = sub(b"a");
        a.index_keys = vec![key("x"), key("y"), key("x")];
        let mut b = sub(b"b");
        b.index_keys = vec![key("x")];
        let plan = plan_round(
            &TreeEdge::empty(),
            &[a, b],
            &HashMap::new(),
            &PlainEntries,
            0,
        );
        assert_eq!(
            plan.new_index_keys,
            [(0, key("x")), (0, key("y")), (1, key("x"))]
        );
    }
}
