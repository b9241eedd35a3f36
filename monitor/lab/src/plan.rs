//! The fault plan (a YAML file) and the pure transformations it applies.
//!
//! ```yaml
//! faults:
//!   - fault: split-view      # view b sees entries from atSize on rewritten: another tree
//!     atSize: 4
//!   - fault: rewrite-entry   # entry 2 is served altered (its leaf no longer the tree's)
//!     index: 2
//!   - fault: drop-entry      # entry 2 is left out of its bundle
//!     index: 2
//!   - fault: wrong-proof     # hash tiles served corrupted (every proof from them is wrong)
//!     afterCheckpoints: 1
//!   - fault: rollback        # a checkpoint of size toSize, signed by the log's key
//!     toSize: 2
//!     afterCheckpoints: 1
//!   - fault: wrong-key       # checkpoints signed by a key not in the trust root
//!   - fault: garbage         # the checkpoint endpoint answers HTML
//!   - fault: late-integration # readers see each tree only `delay` after the log made it
//!     delay: 30s
//! ```
//!
//! `afterCheckpoints: N` (every fault but split-view) lets the first N checkpoint requests of
//! each view through honestly, so that a client first verifies the honest log; the fault holds
//! from then on. `views: [a, b]` restricts a fault to views (default: both).

use std::time::Duration;

use serde::{Deserialize, Deserializer};
use tlog::merkle::Hash;
use tlog::tile::{decode_bundle, encode_bundle, BundleError};

/// A client population: `a` reads the lab at `/`, `b` at `/b/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum View {
    /// The default view.
    A,
    /// The other one.
    B,
}

fn both_views() -> Vec<View> {
    vec![View::A, View::B]
}

/// One fault.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "fault", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Fault {
    /// View b sees every entry from `atSize` on rewritten (the real ones to view a): two trees
    /// that agree up to `atSize` and differ after, both signed by the log's key.
    #[serde(rename_all = "camelCase")]
    SplitView {
        /// The first index that differs.
        at_size: u64,
    },
    /// Entry `index` is served altered.
    #[serde(rename_all = "camelCase")]
    RewriteEntry {
        /// The entry.
        index: u64,
        /// Honest checkpoint requests first, per view.
        #[serde(default)]
        after_checkpoints: u64,
        /// The views it applies to.
        #[serde(default = "both_views")]
        views: Vec<View>,
    },
    /// Entry `index` is left out of its bundle.
    #[serde(rename_all = "camelCase")]
    DropEntry {
        /// The entry.
        index: u64,
        /// Honest checkpoint requests first, per view.
        #[serde(default)]
        after_checkpoints: u64,
        /// The views it applies to.
        #[serde(default = "both_views")]
        views: Vec<View>,
    },
    /// Hash tiles are served with their first hash altered, and so is the inclusion proof in
    /// the answer to a new entry (what a signing client verifies).
    #[serde(rename_all = "camelCase")]
    WrongProof {
        /// Honest checkpoint requests first, per view.
        #[serde(default)]
        after_checkpoints: u64,
        /// The views it applies to.
        #[serde(default = "both_views")]
        views: Vec<View>,
    },
    /// The checkpoint of size `toSize` (root from the real tiles, signed by the log's key) is
    /// served instead of the latest.
    #[serde(rename_all = "camelCase")]
    Rollback {
        /// The size served.
        to_size: u64,
        /// Honest checkpoint requests first, per view.
        #[serde(default)]
        after_checkpoints: u64,
        /// The views it applies to.
        #[serde(default = "both_views")]
        views: Vec<View>,
    },
    /// Checkpoints are signed by a fresh key under the log's name instead of the log's key.
    #[serde(rename_all = "camelCase")]
    WrongKey {
        /// Honest checkpoint requests first, per view.
        #[serde(default)]
        after_checkpoints: u64,
        /// The views it applies to.
        #[serde(default = "both_views")]
        views: Vec<View>,
    },
    /// The checkpoint served is the newest real one the lab first saw at least `delay` ago
    /// (the oldest it saw, before that): the log answers writers at once but lets its readers
    /// see the entries only later than it promised.
    #[serde(rename_all = "camelCase")]
    LateIntegration {
        /// How long each tree is held back (`30s`, `2m`, …).
        #[serde(deserialize_with = "duration")]
        delay: Duration,
        /// Honest checkpoint requests first, per view.
        #[serde(default)]
        after_checkpoints: u64,
        /// The views it applies to.
        #[serde(default = "both_views")]
        views: Vec<View>,
    },
    /// The checkpoint endpoint answers an HTML page.
    #[serde(rename_all = "camelCase")]
    Garbage {
        /// Honest checkpoint requests first, per view.
        #[serde(default)]
        after_checkpoints: u64,
        /// The views it applies to.
        #[serde(default = "both_views")]
        views: Vec<View>,
    },
}

impl Fault {
    /// Whether the fault holds for `view` once it has answered `served` checkpoint requests.
    pub fn active(&self, view: View, served: u64) -> bool {
        match self {
            Fault::SplitView { .. } => view == View::B,
            Fault::RewriteEntry {
                after_checkpoints,
                views,
                ..
            }
            | Fault::DropEntry {
                after_checkpoints,
                views,
                ..
            }
            | Fault::WrongProof {
                after_checkpoints,
                views,
            }
            | Fault::Rollback {
                after_checkpoints,
                views,
                ..
            }
            | Fault::WrongKey {
                after_checkpoints,
                views,
            }
            | Fault::Garbage {
                after_checkpoints,
                views,
            }
            | Fault::LateIntegration {
                after_checkpoints,
                views,
                ..
            } => views.contains(&view) && served >= *after_checkpoints,
        }
    }
}

/// The plan file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultPlan {
    /// The faults, all applied.
    #[serde(default)]
    pub faults: Vec<Fault>,
}

/// Why a plan cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// Not YAML of the plan's shape.
    #[error("not a fault plan")]
    Yaml(#[source] serde_yaml_ng::Error),
    /// Two faults that both decide the same answer.
    #[error(
        "at most one of rollback, wrong-key, garbage and late-integration (they each replace \
         the checkpoint)"
    )]
    Conflicting,
}

impl FaultPlan {
    /// Parses and checks the YAML text.
    pub fn parse(yaml: &str) -> Result<Self, PlanError> {
        let plan: FaultPlan = serde_yaml_ng::from_str(yaml).map_err(PlanError::Yaml)?;
        let replacing = plan
            .faults
            .iter()
            .filter(|f| {
                matches!(
                    f,
                    Fault::Rollback { .. }
                        | Fault::WrongKey { .. }
                        | Fault::Garbage { .. }
                        | Fault::LateIntegration { .. }
                )
            })
            .count();
        if replacing > 1 {
            return Err(PlanError::Conflicting);
        }
        Ok(plan)
    }

    /// The split view's fork point, if the plan has one.
    pub fn split_at(&self) -> Option<u64> {
        self.faults.iter().find_map(|f| match f {
            Fault::SplitView { at_size } => Some(*at_size),
            _ => None,
        })
    }
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    humantime::parse_duration(&text).map_err(serde::de::Error::custom)
}

/// Of the real checkpoints the lab saw, oldest first, each seen `ages[i]` ago: the one a
/// reader may see under a late-integration `delay`, the newest at least that old (the oldest
/// when none is yet).
pub fn held_back(ages: &[Duration], delay: Duration) -> usize {
    ages.iter().rposition(|age| *age >= delay).unwrap_or(0)
}

/// How a log writes its entries in the tiles the lab tampers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryFormat {
    /// C2SP tlog-tiles entry bundles (Rekor v2): length-prefixed entries, each hashed whole.
    Bundle,
    /// static-ct-api data tiles: concatenated `TileLeaf`s, each hashed as its
    /// `TimestampedEntry` (RFC 6962 `MerkleTreeLeaf`).
    CtData,
}

/// Why a tile of entries cannot be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EntriesError {
    /// Not an entry bundle.
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// Not a static-ct-api data tile.
    #[error(transparent)]
    Ct(#[from] ct::CtError),
}

impl EntryFormat {
    /// The entries of a tile, each as its own bytes.
    pub fn decode(self, tile: &[u8]) -> Result<Vec<Vec<u8>>, EntriesError> {
        Ok(match self {
            EntryFormat::Bundle => decode_bundle(tile)?
                .into_iter()
                .map(<[u8]>::to_vec)
                .collect(),
            EntryFormat::CtData => ct::parse_data_tile(tile)?
                .iter()
                .map(ct::TileLeaf::encode)
                .collect(),
        })
    }

    /// A tile of `entries`.
    pub fn encode(self, entries: &[Vec<u8>]) -> Result<Vec<u8>, EntriesError> {
        Ok(match self {
            EntryFormat::Bundle => encode_bundle(entries.iter().map(Vec::as_slice))?,
            EntryFormat::CtData => entries.concat(),
        })
    }

    /// An entry of the other tree, in its place: a Rekor entry with a byte appended, a CT
    /// entry with its timestamp one millisecond later; either way its leaf hash differs.
    pub fn forked(self, real: &[u8]) -> Vec<u8> {
        let ct_leaf = (self == EntryFormat::CtData)
            .then(|| ct::TileLeaf::parse(real).ok())
            .flatten()
            .and_then(|leaf| {
                let mut entry = leaf.timestamped_entry().clone();
                entry.timestamp += 1;
                ct::TileLeaf::new(
                    entry,
                    leaf.pre_certificate().cloned(),
                    leaf.certificate_chain().to_vec(),
                )
                .ok()
            });
        match ct_leaf {
            Some(leaf) => leaf.encode(),
            None => {
                let mut e = real.to_vec();
                e.push(b' ');
                e
            }
        }
    }

    /// The Merkle leaf hash of an entry.
    pub fn leaf_hash(self, entry: &[u8]) -> Hash {
        match self {
            EntryFormat::CtData => ct::TileLeaf::parse(entry)
                .map(|leaf| leaf.leaf_hash())
                .unwrap_or_else(|_| tlog::merkle::leaf_hash(entry)),
            EntryFormat::Bundle => tlog::merkle::leaf_hash(entry),
        }
    }
}

/// Tile of entries `index` (entries `256 index …`) as the faults active for the view make it:
/// entries rewritten or dropped, and the forked tree's entries for view b of a split view.
pub fn tamper_bundle(
    format: EntryFormat,
    bundle: &[u8],
    index: u64,
    faults: &[&Fault],
) -> Result<Vec<u8>, EntriesError> {
    let first = index * 256;
    let mut entries = format.decode(bundle)?;
    let mut drop = Vec::new();
    for fault in faults {
        match fault {
            Fault::SplitView { at_size } => {
                for (k, e) in entries.iter_mut().enumerate() {
                    if first + k as u64 >= *at_size {
                        *e = format.forked(e);
                    }
                }
            }
            Fault::RewriteEntry { index: i, .. } if (first..first + 256).contains(i) => {
                if let Some(e) = entries.get_mut((i - first) as usize) {
                    *e = format.forked(e);
                }
            }
            Fault::DropEntry { index: i, .. } if (first..first + 256).contains(i) => {
                drop.push((i - first) as usize);
            }
            _ => {}
        }
    }
    let kept: Vec<Vec<u8>> = entries
        .into_iter()
        .enumerate()
        .filter(|(k, _)| !drop.contains(k))
        .map(|(_, e)| e)
        .collect();
    format.encode(&kept)
}

/// A hash tile with its first hash altered.
pub fn corrupt_tile(tile: &[u8]) -> Vec<u8> {
    let mut t = tile.to_vec();
    if let Some(b) = t.first_mut() {
        *b ^= 0xff;
    }
    t
}

/// A Rekor v2 `TransparencyLogEntry` (the answer to `POST /api/v2/log/entries`) with its
/// inclusion proof made wrong: the first proof hash altered (the root hash when the proof has
/// none). `None` if the answer is not such an entry.
pub fn corrupt_inclusion_proof(answer: &[u8]) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::STANDARD as BASE64;
    use base64::Engine as _;
    let mut entry: serde_json::Value = serde_json::from_slice(answer).ok()?;
    let proof = entry.get_mut("inclusionProof")?;
    let target = match proof.get("hashes").and_then(|h| h.as_array()) {
        Some(hashes) if !hashes.is_empty() => proof.get_mut("hashes")?.get_mut(0)?,
        _ => proof.get_mut("rootHash")?,
    };
    let mut raw = BASE64.decode(target.as_str()?).ok()?;
    *raw.first_mut()? ^= 0xff;
    *target = serde_json::Value::String(BASE64.encode(raw));
    serde_json::to_vec(&entry).ok()
}

/// The leaf hashes of view b's tree of a split view at `at_size`: the real leaves before it,
/// then the hashes of the forked entries.
pub fn forked_leaves(
    format: EntryFormat,
    real_leaves: &[Hash],
    forked_entries: &[Vec<u8>],
    at_size: u64,
) -> Vec<Hash> {
    let keep = (at_size as usize).min(real_leaves.len());
    real_leaves[..keep]
        .iter()
        .copied()
        .chain(forked_entries.iter().map(|e| format.leaf_hash(e)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_fault() {
        let plan = FaultPlan::parse(
            "faults:\n  - fault: split-view\n    atSize: 4\n  - fault: rewrite-entry\n    index: 2\n  - fault: drop-entry\n    index: 3\n    views: [b]\n  - fault: wrong-proof\n    afterCheckpoints: 1\n  - fault: rollback\n    toSize: 2\n",
        )
        .unwrap();
        assert_eq!(plan.faults.len(), 5);
        assert_eq!(plan.split_at(), Some(4));
        assert!(!plan.faults[2].active(View::A, 9));
        assert!(plan.faults[2].active(View::B, 0));
        assert!(!plan.faults[3].active(View::A, 0));
        assert!(plan.faults[3].active(View::A, 1));
        assert!(FaultPlan::parse(
            "faults:\n  - fault: rollback\n    toSize: 1\n  - fault: garbage\n"
        )
        .is_err());
        assert!(FaultPlan::parse("faults:\n  - fault: teleport\n").is_err());
        let late =
            FaultPlan::parse("faults:\n  - fault: late-integration\n    delay: 90s\n").unwrap();
        assert!(matches!(
            late.faults[0],
            Fault::LateIntegration { delay, .. } if delay == Duration::from_secs(90)
        ));
        assert!(
            FaultPlan::parse("faults:\n  - fault: late-integration\n    delay: soon\n").is_err()
        );
        assert!(FaultPlan::parse(
            "faults:\n  - fault: late-integration\n    delay: 1s\n  - fault: wrong-key\n"
        )
        .is_err());
    }

    #[test]
    fn late_integration_serves_the_newest_tree_old_enough() {
        let s = Duration::from_secs;
        assert_eq!(held_back(&[s(1)], s(30)), 0, "only one seen: it");
        assert_eq!(held_back(&[s(100), s(40), s(20), s(1)], s(30)), 1);
        assert_eq!(held_back(&[s(100), s(40), s(30)], s(30)), 2);
        assert_eq!(
            held_back(&[s(10), s(5)], s(30)),
            0,
            "none old enough: the oldest"
        );
    }

    #[test]
    fn inclusion_proofs_are_corrupted() {
        let answer =
            br#"{"logIndex":"3","inclusionProof":{"rootHash":"AAAA","hashes":["AQID","BAUG"]}}"#;
        let out: serde_json::Value =
            serde_json::from_slice(&corrupt_inclusion_proof(answer).unwrap()).unwrap();
        assert_eq!(out["inclusionProof"]["hashes"][0], "/gID");
        assert_eq!(out["inclusionProof"]["hashes"][1], "BAUG");
        let alone = br#"{"inclusionProof":{"rootHash":"AAAA","hashes":[]}}"#;
        let out: serde_json::Value =
            serde_json::from_slice(&corrupt_inclusion_proof(alone).unwrap()).unwrap();
        assert_eq!(out["inclusionProof"]["rootHash"], "/wAA");
        assert!(corrupt_inclusion_proof(b"{}").is_none());
    }

    /// Entry 1 rewritten, entry 2 dropped, in both views.
    fn rewrite_1_drop_2() -> (Fault, Fault) {
        let rewrite = Fault::RewriteEntry {
            index: 1,
            after_checkpoints: 0,
            views: both_views(),
        };
        let drop = Fault::DropEntry {
            index: 2,
            after_checkpoints: 0,
            views: both_views(),
        };
        (rewrite, drop)
    }

    #[test]
    fn bundles_are_tampered_as_planned() {
        let bundle = encode_bundle([b"e0".as_slice(), b"e1", b"e2"]).unwrap();
        let (rewrite, drop) = rewrite_1_drop_2();
        let b = EntryFormat::Bundle;
        let out = tamper_bundle(b, &bundle, 0, &[&rewrite, &drop]).unwrap();
        let entries = decode_bundle(&out).unwrap();
        assert_eq!(entries, [b"e0".as_slice(), b"e1 "]);
        // Not this bundle's entries: unchanged.
        assert_eq!(tamper_bundle(b, &bundle, 1, &[&rewrite]).unwrap(), bundle);
        let split = Fault::SplitView { at_size: 1 };
        let out = tamper_bundle(b, &bundle, 0, &[&split]).unwrap();
        assert_eq!(
            decode_bundle(&out).unwrap(),
            [b"e0".as_slice(), b"e1 ", b"e2 "]
        );
        assert_eq!(corrupt_tile(&[1, 2])[0], 0xfe);
    }

    #[test]
    fn ct_data_tiles_are_tampered_as_planned() {
        let leaf = |n: u8| {
            let entry = ct::TimestampedEntry {
                timestamp: 1_000 + u64::from(n),
                entry: ct::SignedEntry::X509(ct::Asn1Cert::new(vec![n; 5]).unwrap()),
                extensions: ct::CtExtensions::empty(),
            };
            ct::TileLeaf::new(entry, None, vec![[n; 32]])
                .unwrap()
                .encode()
        };
        let f = EntryFormat::CtData;
        let tile = [leaf(0), leaf(1), leaf(2)].concat();
        let (rewrite, drop) = rewrite_1_drop_2();
        let out = f
            .decode(&tamper_bundle(f, &tile, 0, &[&rewrite, &drop]).unwrap())
            .unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[0], leaf(0));
        let rewritten = ct::TileLeaf::parse(&out[1]).unwrap();
        assert_eq!(rewritten.timestamped_entry().timestamp, 1_002);
        assert_ne!(f.leaf_hash(&out[1]), f.leaf_hash(&leaf(1)));
        assert_eq!(
            f.leaf_hash(&leaf(1)),
            ct::TileLeaf::parse(&leaf(1)).unwrap().leaf_hash()
        );
    }
}
