//! Following one log, checkpoint after checkpoint.
//!
//! The state of a followed log is the last checkpoint verified ([`Verified`]). A newly fetched
//! checkpoint is [`observe`]d against it: a bad signature, a smaller size (roll-back) or another
//! root at the same size (fork) are findings, and the state does not move. A larger one starts
//! a [`Growth`]: the verified tree's right edge (read from the log's tiles, and checked against
//! the verified root first) takes the leaf hashes of every entry served between the two sizes,
//! and the root it reaches must be the new checkpoint's. That one computation proves that the
//! new tree extends the old one and that the entries served are the tree's, so a dropped or
//! rewritten entry is caught as surely as a fork. Only [`Growth::finish`] makes the next
//! [`Verified`]: nothing unverified can become state.

use tlog::checkpoint::Checkpoint;
use tlog::merkle::{consistency_proof_ranges, empty_root, verify_consistency, Hash, MemoryTree};
use tlog::tile::TreeEdge;
use witness::{Log, Refusal};

use crate::merge_delay::tree_head_time;
use crate::{Finding, FindingKind};

/// A checkpoint whose signature was verified and which is consistent with every earlier one
/// this monitor verified for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    size: u64,
    root_hash: Hash,
    note: Vec<u8>,
}

impl Verified {
    /// The empty tree: where a monitor told to check a log from its first entry starts.
    pub fn empty() -> Self {
        Verified {
            size: 0,
            root_hash: empty_root(),
            note: Vec::new(),
        }
    }

    /// State read back from the monitor's own database, which holds only values this module
    /// produced.
    pub fn restore(size: u64, root_hash: Hash, note: Vec<u8>) -> Self {
        Verified {
            size,
            root_hash,
            note,
        }
    }

    /// The tree size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root hash.
    pub fn root_hash(&self) -> &Hash {
        &self.root_hash
    }

    /// The signed checkpoint note (empty for [`Verified::empty`]).
    pub fn note(&self) -> &[u8] {
        &self.note
    }
}

/// What a fetched checkpoint means for the state.
#[derive(Debug, Clone)]
pub enum Observation {
    /// The same tree as the verified one.
    Unchanged,
    /// The same tree under a newer tree head signature (a CT log signs a fresh timestamp for
    /// the same tree): the state keeps the newest, the evidence that the tree still lacked
    /// every later entry at that time (see [`crate::merge_delay`]).
    Refreshed(Verified),
    /// The first checkpoint of a log followed from its latest checkpoint: nothing to check it
    /// against, so it becomes the state as it is (trust on first use, as rekor-monitor does).
    First(Verified),
    /// A larger tree: its entries must be checked with a [`Growth`] before it is verified.
    Grew {
        /// The new checkpoint.
        checkpoint: Checkpoint,
        /// Its note, as served.
        note: Vec<u8>,
    },
}

/// Why a fetched checkpoint cannot be used.
#[derive(Debug, Clone)]
pub enum Rejected {
    /// It is evidence of misbehaviour.
    Finding(Box<Finding>),
    /// It is not a checkpoint at all (garbage, a truncated answer): worth retrying, and a
    /// finding only if it lasts (the driver decides when).
    Garbage(String),
}

fn finding(kind: FindingKind, url: &str, detail: String, note: &[u8]) -> Rejected {
    Rejected::Finding(Box::new(
        Finding::about_log(kind, url, detail).with_checkpoint(note),
    ))
}

/// Checks the checkpoint `note` served by the log at `url` (trusted keys in `log`) against the
/// state `held` (`None`: first contact, following from the latest checkpoint).
pub fn observe(
    log: &Log,
    url: &str,
    held: Option<&Verified>,
    note: &[u8],
) -> Result<Observation, Rejected> {
    let (checkpoint, _) = log.open(note).map_err(|refusal| match refusal {
        Refusal::MalformedNote(e) => Rejected::Garbage(format!("not a signed note: {e}")),
        Refusal::MalformedCheckpoint(e) => Rejected::Garbage(format!("not a checkpoint: {e}")),
        Refusal::UnknownLog { origin } => finding(
            FindingKind::BadSignature,
            url,
            format!(
                "the checkpoint's origin is {origin:?}, not {:?}",
                log.origin()
            ),
            note,
        ),
        other => finding(FindingKind::BadSignature, url, other.to_string(), note),
    })?;
    let Some(held) = held else {
        return Ok(Observation::First(Verified {
            size: checkpoint.size(),
            root_hash: *checkpoint.root_hash(),
            note: note.to_vec(),
        }));
    };
    let (size, root) = (checkpoint.size(), checkpoint.root_hash());
    if size < held.size {
        return Err(finding(
            FindingKind::Rollback,
            url,
            format!(
                "the log served size {size} after size {} was verified",
                held.size
            ),
            note,
        ));
    }
    if size == held.size {
        if root != &held.root_hash {
            return Err(finding(
                FindingKind::Fork,
                url,
                format!("two different roots at size {size}"),
                note,
            ));
        }
        let newer = match (tree_head_time(log, note), tree_head_time(log, &held.note)) {
            (Some(new), Some(old)) => new > old,
            _ => false,
        };
        if newer {
            return Ok(Observation::Refreshed(Verified {
                size,
                root_hash: *root,
                note: note.to_vec(),
            }));
        }
        return Ok(Observation::Unchanged);
    }
    Ok(Observation::Grew {
        checkpoint,
        note: note.to_vec(),
    })
}

/// The check of the entries between a verified checkpoint and a larger, signed one: feed it the
/// leaf hash of every entry in order ([`Growth::push`]), then [`Growth::finish`].
#[derive(Debug, Clone)]
pub struct Growth {
    url: String,
    edge: TreeEdge,
    pending: Vec<Hash>,
    target: Checkpoint,
    note: Vec<u8>,
}

/// Leaf hashes held before they are folded into the edge (bounds the memory of a long catch-up).
const FOLD_EVERY: usize = 1 << 16;

impl Growth {
    /// Starts from `held`, whose tree's right edge the log's tiles gave as `edge`: the edge must
    /// be of `held`'s size and lead to its root, or the log's tiles contradict the verified
    /// checkpoint.
    pub fn start(
        url: &str,
        held: &Verified,
        edge: TreeEdge,
        target: Checkpoint,
        note: Vec<u8>,
    ) -> Result<Self, Box<Finding>> {
        if edge.size() != held.size || edge.root() != held.root_hash {
            return Err(Box::new(
                Finding::about_log(
                    FindingKind::Inconsistent,
                    url,
                    format!(
                        "the log's tiles at size {} do not lead to the root verified at that size",
                        held.size
                    ),
                )
                .with_checkpoint(&note),
            ));
        }
        Ok(Growth {
            url: url.to_string(),
            edge,
            pending: Vec::new(),
            target,
            note,
        })
    }

    /// Starts at entry `edge.size()` of a log with no verified state (a configured start
    /// index): the edge, read from the log's tiles, is not checked against anything yet, but
    /// [`Growth::finish`] reaching the signed root authenticates it with the entries.
    pub fn start_unverified(url: &str, edge: TreeEdge, target: Checkpoint, note: Vec<u8>) -> Self {
        Growth {
            url: url.to_string(),
            edge,
            pending: Vec::new(),
            target,
            note,
        }
    }

    /// The index of the next entry to push.
    pub fn next_index(&self) -> u64 {
        self.edge.size() + self.pending.len() as u64
    }

    /// The size the entries must reach.
    pub fn target_size(&self) -> u64 {
        self.target.size()
    }

    /// Adds the next entry's leaf hash.
    pub fn push(&mut self, leaf_hash: Hash) {
        self.pending.push(leaf_hash);
        if self.pending.len() >= FOLD_EVERY {
            self.fold();
        }
    }

    fn fold(&mut self) {
        if !self.pending.is_empty() {
            self.edge = self.edge.append(&self.pending).edge;
            self.pending.clear();
        }
    }

    /// The new verified state, if the entries pushed are exactly the new checkpoint's and lead
    /// to its root.
    pub fn finish(mut self) -> Result<Verified, Box<Finding>> {
        self.fold();
        let (size, root) = (self.target.size(), *self.target.root_hash());
        let fail = |detail: String| {
            Box::new(
                Finding::about_log(FindingKind::Inconsistent, &self.url, detail)
                    .with_checkpoint(&self.note),
            )
        };
        if self.edge.size() != size {
            return Err(fail(format!(
                "{} entries were checked for a checkpoint of size {size}",
                self.edge.size()
            )));
        }
        if self.edge.root() != root {
            return Err(fail(format!(
                "the entries served up to size {size} do not hash to the checkpoint's root: \
                 the tree does not extend the verified one, or an entry was dropped or rewritten"
            )));
        }
        Ok(Verified {
            size,
            root_hash: root,
            note: self.note,
        })
    }
}

/// The check of a log without tiles (Rekor v1) between `held` and the larger signed `target`:
/// the log's consistency proof between the two sizes must verify, and the proof's nodes that
/// lie right of the verified size, which together cover exactly the new entries (RFC 9162's
/// proof takes every node whole from one side of the old size), must be the hashes of the
/// entries served (`leaves`, from index `held.size()` on). Together: the new tree extends
/// the verified one and holds the entries served, as [`Growth`] shows for tile logs.
pub fn check_with_proof(
    url: &str,
    held: &Verified,
    target: Checkpoint,
    note: Vec<u8>,
    proof: &[Hash],
    leaves: &[Hash],
) -> Result<Verified, Box<Finding>> {
    let (old, new) = (held.size, target.size());
    let fail = |detail: String| {
        Box::new(Finding::about_log(FindingKind::Inconsistent, url, detail).with_checkpoint(&note))
    };
    if leaves.len() as u64 != new - old {
        return Err(fail(format!(
            "{} entries were served for the {} between sizes {old} and {new}",
            leaves.len(),
            new - old
        )));
    }
    if old == 0 {
        if MemoryTree::from_leaf_hashes(leaves.iter().copied()).root() != *target.root_hash() {
            return Err(fail(format!(
                "the entries served up to size {new} do not hash to the checkpoint's root"
            )));
        }
    } else {
        if verify_consistency(old, new, proof, &held.root_hash, target.root_hash()).is_err() {
            return Err(fail(format!(
                "the log's consistency proof from size {old} to {new} does not verify: the tree \
                 does not extend the verified one"
            )));
        }
        let ranges = consistency_proof_ranges(old, new).map_err(|e| fail(e.to_string()))?;
        for (range, node) in ranges.iter().zip(proof) {
            if range.start < old {
                continue;
            }
            let served = &leaves[(range.start - old) as usize..(range.end - old) as usize];
            if MemoryTree::from_leaf_hashes(served.iter().copied()).root() != *node {
                return Err(fail(format!(
                    "the entries {}..{} served do not hash to the tree's node over them: an \
                     entry was dropped or rewritten",
                    range.start, range.end
                )));
            }
        }
    }
    Ok(Verified {
        size: new,
        root_hash: *target.root_hash(),
        note,
    })
}

/// Compares a checkpoint another party saw for the log (`by`: a witness that cosigned it, or
/// another URL of the same log this monitor verified it from) with the verified state: equal sizes need equal roots, and otherwise `proof` (the consistency proof between
/// the smaller and the larger size, from the log's tiles at the larger) must verify. Any
/// failure means the log showed them another tree than this monitor's.
pub fn compare_witnessed(
    url: &str,
    by: &str,
    ours: &Verified,
    theirs: &Checkpoint,
    their_note: &[u8],
    proof: &[Hash],
) -> Result<(), Box<Finding>> {
    let (a, b) = (ours.size, theirs.size());
    let consistent = if a == 0 || b == 0 {
        // The empty tree is a prefix of every tree; only its root is fixed.
        let zero_root = if a == 0 {
            &ours.root_hash
        } else {
            theirs.root_hash()
        };
        zero_root == &empty_root()
    } else if a <= b {
        verify_consistency(a, b, proof, &ours.root_hash, theirs.root_hash()).is_ok()
    } else {
        verify_consistency(b, a, proof, theirs.root_hash(), &ours.root_hash).is_ok()
    };
    if consistent {
        return Ok(());
    }
    Err(Box::new(
        Finding::about_log(
            FindingKind::SplitView,
            url,
            format!(
                "{by} saw size {b}, which is not consistent with the size {a} this monitor \
                 verified"
            ),
        )
        .with_checkpoint(their_note),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tlog::merkle::{leaf_hash, MemoryTree};
    use tlog::note::NoteSigner;
    use tlog::tile::TileSet;
    use witness::LogKey;

    const SKEY: &str = "PRIVATE+KEY+example.com/log/testdata+33d7b496+AeymY/SZAX0jZcJ8enZ5FY1Dz+wTML2yWSkK+9DSF3eg";
    const ORIGIN: &str = "example.com/log/testdata";
    const URL: &str = "http://log";

    fn signer() -> NoteSigner {
        NoteSigner::from_skey(SKEY).unwrap()
    }

    fn log() -> Log {
        Log::new(
            ORIGIN,
            vec![LogKey::from_note_verifier(signer().verifier().clone())],
        )
        .unwrap()
    }

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    fn note(size: u64, root: Hash) -> Vec<u8> {
        Checkpoint::new(ORIGIN, size, root)
            .unwrap()
            .sign(&[&signer()])
            .unwrap()
            .to_bytes()
    }

    fn tree_note(leaves: &[Hash]) -> Vec<u8> {
        let t = MemoryTree::from_leaf_hashes(leaves.iter().copied());
        note(t.size(), t.root())
    }

    fn edge_of(leaves: &[Hash]) -> TreeEdge {
        TreeEdge::empty().append(leaves).edge
    }

    fn kind(r: Result<Observation, Rejected>) -> FindingKind {
        match r {
            Err(Rejected::Finding(f)) => f.kind,
            other => panic!("expected a finding, got {other:?}"),
        }
    }

    fn verified(leaves: &[Hash]) -> Verified {
        match observe(&log(), URL, None, &tree_note(leaves)).unwrap() {
            Observation::First(v) => v,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn growth_with_the_right_entries_verifies() {
        let all = leaves(700);
        let held = verified(&all[..300]);
        let new = tree_note(&all);
        let Observation::Grew { checkpoint, note } =
            observe(&log(), URL, Some(&held), &new).unwrap()
        else {
            panic!("expected growth")
        };
        let mut g = Growth::start(URL, &held, edge_of(&all[..300]), checkpoint, note).unwrap();
        for (i, h) in all[300..].iter().enumerate() {
            assert_eq!(g.next_index(), 300 + i as u64);
            g.push(*h);
        }
        let v = g.finish().unwrap();
        assert_eq!(v.size(), 700);
        assert!(matches!(
            observe(&log(), URL, Some(&v), &new).unwrap(),
            Observation::Unchanged
        ));
    }

    #[test]
    fn from_the_empty_tree() {
        let all = leaves(5);
        let Observation::Grew { checkpoint, note } =
            observe(&log(), URL, Some(&Verified::empty()), &tree_note(&all)).unwrap()
        else {
            panic!()
        };
        let mut g =
            Growth::start(URL, &Verified::empty(), TreeEdge::empty(), checkpoint, note).unwrap();
        all.iter().for_each(|h| g.push(*h));
        assert_eq!(g.finish().unwrap().size(), 5);
    }

    #[test]
    fn rewritten_or_dropped_entry_is_inconsistent() {
        let all = leaves(40);
        let held = verified(&all[..10]);
        for tamper in ["rewrite", "drop", "extra"] {
            let Observation::Grew { checkpoint, note } =
                observe(&log(), URL, Some(&held), &tree_note(&all)).unwrap()
            else {
                panic!()
            };
            let mut g = Growth::start(URL, &held, edge_of(&all[..10]), checkpoint, note).unwrap();
            let mut served = all[10..].to_vec();
            match tamper {
                "rewrite" => served[7] = leaf_hash(b"other"),
                "drop" => {
                    served.remove(3);
                }
                _ => served.push(leaf_hash(b"more")),
            }
            served.iter().for_each(|h| g.push(*h));
            assert_eq!(g.finish().unwrap_err().kind, FindingKind::Inconsistent);
        }
    }

    #[test]
    fn fork_of_an_earlier_tree_is_inconsistent() {
        let all = leaves(40);
        let held = verified(&all[..10]);
        let mut other = all.clone();
        other[2] = leaf_hash(b"forked");
        let Observation::Grew { checkpoint, note } =
            observe(&log(), URL, Some(&held), &tree_note(&other)).unwrap()
        else {
            panic!()
        };
        // Tiles of the forked tree do not give the verified root.
        let e = Growth::start(
            URL,
            &held,
            edge_of(&other[..10]),
            checkpoint.clone(),
            note.clone(),
        )
        .unwrap_err();
        assert_eq!(e.kind, FindingKind::Inconsistent);
        // Tiles of the verified tree, then the fork's entries: the root is not reached.
        let mut g = Growth::start(URL, &held, edge_of(&all[..10]), checkpoint, note).unwrap();
        other[10..].iter().for_each(|h| g.push(*h));
        assert_eq!(g.finish().unwrap_err().kind, FindingKind::Inconsistent);
    }

    #[test]
    fn rollback_fork_and_bad_signature() {
        let all = leaves(20);
        let held = verified(&all);
        assert_eq!(
            kind(observe(&log(), URL, Some(&held), &tree_note(&all[..19]))),
            FindingKind::Rollback
        );
        assert_eq!(
            kind(observe(&log(), URL, Some(&held), &note(20, [9; 32]))),
            FindingKind::Fork
        );
        // The log's name, another key: a key not in the trust root.
        let stranger = NoteSigner::ed25519(
            ORIGIN,
            std::sync::Arc::new(sigstack_keys::SoftwareKey::generate(
                sigstack_keys::Algorithm::Ed25519,
            )),
        )
        .unwrap();
        let forged = Checkpoint::new(ORIGIN, 21, [1; 32])
            .unwrap()
            .sign(&[&stranger])
            .unwrap()
            .to_bytes();
        assert_eq!(
            kind(observe(&log(), URL, Some(&held), &forged)),
            FindingKind::BadSignature
        );
        let other_origin = Checkpoint::new("elsewhere", 21, [1; 32])
            .unwrap()
            .sign(&[&signer()])
            .unwrap()
            .to_bytes();
        assert!(matches!(
            observe(&log(), URL, Some(&held), &other_origin),
            Err(Rejected::Finding(_))
        ));
        assert!(matches!(
            observe(&log(), URL, Some(&held), b"<html>busy</html>"),
            Err(Rejected::Garbage(_))
        ));
    }

    #[test]
    fn witnessed_checkpoints_are_compared() {
        let all = leaves(300);
        let ours = verified(&all[..200]);
        let mut tiles = TileSet::new();
        for (id, hashes) in edge_of(&all).tiles().iter() {
            tiles.insert(id, hashes.to_vec());
        }
        let full = TreeEdge::empty().append(&all);
        for (id, hashes) in full.tiles {
            tiles.insert(id, hashes);
        }
        let proof = tlog::merkle::consistency_proof(200, 300, &tiles).unwrap();
        let theirs_note = tree_note(&all);
        let (theirs, _) = log().open(&theirs_note).unwrap();
        compare_witnessed(URL, "w", &ours, &theirs, &theirs_note, &proof).unwrap();
        let mut forked = all.clone();
        forked[5] = leaf_hash(b"x");
        let forked_note = tree_note(&forked);
        let (forked_cp, _) = log().open(&forked_note).unwrap();
        let e = compare_witnessed(URL, "w", &ours, &forked_cp, &forked_note, &proof).unwrap_err();
        assert_eq!(e.kind, FindingKind::SplitView);
        let same_size = tree_note(&forked[..200]);
        let (same_cp, _) = log().open(&same_size).unwrap();
        let e = compare_witnessed(URL, "w", &ours, &same_cp, &same_size, &[]).unwrap_err();
        assert_eq!(e.kind, FindingKind::SplitView);
    }

    fn grew(held: &Verified, leaves: &[Hash]) -> (Checkpoint, Vec<u8>) {
        match observe(&log(), URL, Some(held), &tree_note(leaves)).unwrap() {
            Observation::Grew { checkpoint, note } => (checkpoint, note),
            other => panic!("{other:?}"),
        }
    }

    fn tiles_of(leaves: &[Hash]) -> TileSet {
        let mut tiles = TileSet::new();
        for (id, hashes) in TreeEdge::empty().append(leaves).tiles {
            tiles.insert(id, hashes);
        }
        tiles
    }

    #[test]
    fn a_proof_and_the_served_entries_extend_the_verified_tree() {
        for (old, new) in [
            (1u64, 2u64),
            (3, 4),
            (5, 8),
            (6, 300),
            (256, 513),
            (300, 301),
        ] {
            let all = leaves(new);
            let held = verified(&all[..old as usize]);
            let proof = tlog::merkle::consistency_proof(old, new, &tiles_of(&all)).unwrap();
            let (checkpoint, note) = grew(&held, &all);
            let new_leaves = &all[old as usize..];
            let check = |proof: &[Hash], served: &[Hash]| {
                check_with_proof(URL, &held, checkpoint.clone(), note.clone(), proof, served)
            };
            assert_eq!(check(&proof, new_leaves).unwrap().size(), new);
            // A rewritten entry, anywhere among the new ones, is caught.
            for k in 0..new_leaves.len() {
                let mut served = new_leaves.to_vec();
                served[k] = leaf_hash(b"rewritten");
                let e = check(&proof, &served).unwrap_err();
                assert_eq!(e.kind, FindingKind::Inconsistent, "{old}..{new} at {k}");
            }
            // One entry short.
            let e = check(&proof, &new_leaves[1..]).unwrap_err();
            assert_eq!(e.kind, FindingKind::Inconsistent);
            // A wrong proof.
            let mut wrong = proof.clone();
            wrong[0] = [0; 32];
            assert_eq!(
                check(&wrong, new_leaves).unwrap_err().kind,
                FindingKind::Inconsistent
            );
        }
    }

    #[test]
    fn from_the_empty_tree_the_entries_must_give_the_root() {
        let all = leaves(7);
        let (checkpoint, note) = grew(&Verified::empty(), &all);
        assert_eq!(
            check_with_proof(
                URL,
                &Verified::empty(),
                checkpoint.clone(),
                note.clone(),
                &[],
                &all
            )
            .unwrap()
            .size(),
            7
        );
        let mut other = all.clone();
        other[6] = leaf_hash(b"x");
        let e =
            check_with_proof(URL, &Verified::empty(), checkpoint, note, &[], &other).unwrap_err();
        assert_eq!(e.kind, FindingKind::Inconsistent);
    }

    #[test]
    fn a_forked_tree_with_its_own_valid_entries_does_not_extend_the_verified_one() {
        let all = leaves(20);
        let held = verified(&all[..10]);
        let mut forked = all.clone();
        forked[3] = leaf_hash(b"forked");
        let proof = tlog::merkle::consistency_proof(10, 20, &tiles_of(&forked)).unwrap();
        let (checkpoint, note) = grew(&held, &forked);
        let e = check_with_proof(URL, &held, checkpoint, note, &proof, &forked[10..]).unwrap_err();
        assert_eq!(e.kind, FindingKind::Inconsistent);
    }
}
