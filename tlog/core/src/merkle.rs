//! RFC 6962 / RFC 9162 Merkle tree hashing, proofs and their verification.
//!
//! Proof *generation* follows the recursive definitions of RFC 6962 section 2.1.1 (`PATH`) and
//! 2.1.2 (`SUBPROOF`), but never holds a tree in memory: a proof is first described as a list of
//! leaf ranges (pure arithmetic on indexes), each range is a fold of complete subtrees
//! ([`NodeId`]), and the hashes of those subtrees are read through [`HashReader`]. A tile store
//! implements `HashReader` (see [`crate::tile`]), so proofs cost a handful of tile reads whatever
//! the size of the log.
//!
//! Proof *verification* follows the iterative algorithms of RFC 9162 sections 2.1.3.2 and
//! 2.1.4.2, which is what Sigstore clients and CT monitors run.

use sha2::{Digest, Sha256};

/// A SHA-256 tree hash.
pub type Hash = [u8; 32];

/// The root hash of the empty tree: SHA-256 of the empty string (RFC 6962 section 2.1).
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The hash of a leaf: SHA-256(0x00 || data).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// The hash of an interior node: SHA-256(0x01 || left || right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// A complete subtree: the `2^level` leaves starting at leaf `index << level`.
///
/// Level 0 nodes are leaves. These are the only hashes a log ever stores; every other hash (the
/// root of a tree whose size is not a power of two, a proof element) is a fold of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// Height of the subtree: it covers `2^level` leaves.
    pub level: u8,
    /// Position among the subtrees of the same level, left to right.
    pub index: u64,
}

impl NodeId {
    /// A node at `level` and `index`.
    pub fn new(level: u8, index: u64) -> Self {
        Self { level, index }
    }
}

/// Why a proof or root could not be computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The leaf index is not inside the tree.
    #[error("leaf index {index} is not in a tree of size {size}")]
    IndexOutOfRange {
        /// The index asked for.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A consistency proof was asked for between sizes that have none.
    #[error("no consistency proof from size {old} to size {new}: need 0 < old <= new")]
    InvalidSizes {
        /// The older size.
        old: u64,
        /// The newer size.
        new: u64,
    },
    /// The hash of a node the computation needs is not available to the reader.
    #[error("hash of node level {} index {} is not available", .0.level, .0.index)]
    MissingNode(NodeId),
}

/// Why a proof did not verify. Small and `Copy`, so callers can match on it cheaply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The leaf index is not smaller than the tree size.
    #[error("leaf index {index} is not in a tree of size {size}")]
    IndexOutOfRange {
        /// The claimed index.
        index: u64,
        /// The claimed size.
        size: u64,
    },
    /// The sizes cannot have a consistency proof (old is 0, or old > new).
    #[error("sizes {old} and {new} cannot be proven consistent")]
    InvalidSizes {
        /// The older size.
        old: u64,
        /// The newer size.
        new: u64,
    },
    /// The proof has the wrong number of hashes for the claimed sizes and index.
    #[error("proof has the wrong number of hashes")]
    WrongProofLength,
    /// The proof does not lead to the claimed root(s).
    #[error("proof does not lead to the claimed root hash")]
    RootMismatch,
}

/// Reads the hashes of complete subtrees. Implemented by tile sets and by test trees.
///
/// Implementations MUST return the hash of exactly the subtree named, or
/// [`ProofError::MissingNode`] when they do not hold it; they MUST NOT guess.
pub trait HashReader {
    /// The hash of the complete subtree `node`.
    fn read_node(&self, node: NodeId) -> Result<Hash, ProofError>;
}

/// The largest power of two strictly smaller than `n` (`n >= 2`): RFC 6962's split point `k`.
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// A half-open range of leaves `[start, end)` whose hash is one element of a proof or a root.
///
/// Every range this module produces starts at a multiple of the largest power of two not above
/// its length, so it is a left-to-right run of complete subtrees of decreasing size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeafRange {
    /// First leaf, inclusive.
    pub start: u64,
    /// Last leaf, exclusive.
    pub end: u64,
}

impl LeafRange {
    /// The complete subtrees whose fold is this range's hash, left to right.
    pub fn nodes(self) -> Vec<NodeId> {
        let mut nodes = Vec::new();
        let mut start = self.start;
        while start < self.end {
            let len = self.end - start;
            let max_by_len = 63 - len.leading_zeros();
            let max_by_align = if start == 0 {
                63
            } else {
                start.trailing_zeros()
            };
            let level = max_by_len.min(max_by_align);
            nodes.push(NodeId::new(level as u8, start >> level));
            start += 1u64 << level;
        }
        nodes
    }

    /// The RFC 6962 Merkle tree hash of this range, folded from its complete subtrees.
    pub fn hash(self, reader: &impl HashReader) -> Result<Hash, ProofError> {
        if self.start == self.end {
            return Ok(empty_root());
        }
        let nodes = self.nodes();
        let mut iter = nodes.iter().rev();
        let last = iter.next().expect("a non-empty range has a node");
        let mut acc = reader.read_node(*last)?;
        for node in iter {
            acc = node_hash(&reader.read_node(*node)?, &acc);
        }
        Ok(acc)
    }
}

/// The leaf ranges whose hashes form the inclusion proof of `index` in a tree of `size`, in RFC
/// 6962 order (deepest sibling first).
pub fn inclusion_proof_ranges(index: u64, size: u64) -> Result<Vec<LeafRange>, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let mut out = Vec::new();
    // PATH(m, D[lo:hi]) unrolled from the top: the root-level sibling is found first but belongs
    // last in the proof, so collect top-down and reverse.
    let (mut lo, mut hi) = (0u64, size);
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index < lo + k {
            out.push(LeafRange {
                start: lo + k,
                end: hi,
            });
            hi = lo + k;
        } else {
            out.push(LeafRange {
                start: lo,
                end: lo + k,
            });
            lo += k;
        }
    }
    out.reverse();
    Ok(out)
}

/// The leaf ranges whose hashes form the consistency proof from `old` to `new`, in RFC 6962
/// order. `old == new` gives the empty proof.
pub fn consistency_proof_ranges(old: u64, new: u64) -> Result<Vec<LeafRange>, ProofError> {
    if old == 0 || old > new {
        return Err(ProofError::InvalidSizes { old, new });
    }
    let mut out = Vec::new();
    // SUBPROOF(m, D[lo:hi], b) unrolled; `complete` is RFC 6962's b.
    let (mut m, mut lo, mut hi) = (old, 0u64, new);
    let mut complete = true;
    loop {
        let n = hi - lo;
        if m == n {
            if !complete {
                out.push(LeafRange { start: lo, end: hi });
            }
            break;
        }
        let k = split_point(n);
        if m <= k {
            out.push(LeafRange {
                start: lo + k,
                end: hi,
            });
            hi = lo + k;
        } else {
            out.push(LeafRange {
                start: lo,
                end: lo + k,
            });
            lo += k;
            m -= k;
            complete = false;
        }
    }
    out.reverse();
    Ok(out)
}

/// Every complete subtree a set of ranges needs, for working out which tiles to fetch.
pub fn nodes_of(ranges: &[LeafRange]) -> Vec<NodeId> {
    ranges.iter().flat_map(|r| r.nodes()).collect()
}

/// The inclusion proof of leaf `index` in the tree of `size`.
pub fn inclusion_proof(
    index: u64,
    size: u64,
    reader: &impl HashReader,
) -> Result<Vec<Hash>, ProofError> {
    inclusion_proof_ranges(index, size)?
        .into_iter()
        .map(|r| r.hash(reader))
        .collect()
}

/// The consistency proof between the trees of sizes `old` and `new`.
pub fn consistency_proof(
    old: u64,
    new: u64,
    reader: &impl HashReader,
) -> Result<Vec<Hash>, ProofError> {
    consistency_proof_ranges(old, new)?
        .into_iter()
        .map(|r| r.hash(reader))
        .collect()
}

/// The root hash of the tree of `size`.
pub fn root(size: u64, reader: &impl HashReader) -> Result<Hash, ProofError> {
    LeafRange {
        start: 0,
        end: size,
    }
    .hash(reader)
}

/// Verifies that `leaf` is at `index` in the tree of `size` with root `root` (RFC 9162 2.1.3.2).
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), VerifyError> {
    if index >= size {
        return Err(VerifyError::IndexOutOfRange { index, size });
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return Err(VerifyError::WrongProofLength);
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(VerifyError::WrongProofLength);
    }
    if &r != root {
        return Err(VerifyError::RootMismatch);
    }
    Ok(())
}

/// Verifies that the tree of size `new` with root `new_root` extends the tree of size `old` with
/// root `old_root` (RFC 9162 2.1.4.2). Equal sizes need an empty proof and equal roots; size 0 is
/// rejected, since consistency with the empty tree proves nothing.
pub fn verify_consistency(
    old: u64,
    new: u64,
    proof: &[Hash],
    old_root: &Hash,
    new_root: &Hash,
) -> Result<(), VerifyError> {
    if old == 0 || old > new {
        return Err(VerifyError::InvalidSizes { old, new });
    }
    if old == new {
        if !proof.is_empty() {
            return Err(VerifyError::WrongProofLength);
        }
        if old_root != new_root {
            return Err(VerifyError::RootMismatch);
        }
        return Ok(());
    }
    if proof.is_empty() {
        return Err(VerifyError::WrongProofLength);
    }
    // When `old` is a power of two its root is itself the first node of the path.
    let mut path: Vec<&Hash> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(old_root);
    }
    path.extend(proof.iter());

    let (mut fnode, mut snode) = (old - 1, new - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (*path[0], *path[0]);
    for c in &path[1..] {
        if snode == 0 {
            return Err(VerifyError::WrongProofLength);
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(VerifyError::WrongProofLength);
    }
    if &fr != old_root || &sr != new_root {
        return Err(VerifyError::RootMismatch);
    }
    Ok(())
}

/// A tree held whole in memory: for tests, tools and small logs only (it is O(n) memory).
#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    /// `levels[l][i]` = hash of complete subtree (l, i).
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// A tree of the given leaf hashes.
    pub fn from_leaf_hashes(leaves: impl IntoIterator<Item = Hash>) -> Self {
        let mut t = Self::new();
        for l in leaves {
            t.push(l);
        }
        t
    }

    /// Appends one leaf hash, completing whatever subtrees it completes.
    pub fn push(&mut self, leaf: Hash) {
        let mut level = 0;
        let mut hash = leaf;
        loop {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            self.levels[level].push(hash);
            let n = self.levels[level].len();
            if n % 2 == 1 {
                break;
            }
            hash = node_hash(&self.levels[level][n - 2], &self.levels[level][n - 1]);
            level += 1;
        }
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// The root of the whole tree.
    pub fn root(&self) -> Hash {
        root(self.size(), self).expect("a memory tree holds all of its nodes")
    }
}

impl HashReader for MemoryTree {
    fn read_node(&self, node: NodeId) -> Result<Hash, ProofError> {
        self.levels
            .get(node.level as usize)
            .and_then(|l| l.get(usize::try_from(node.index).ok()?))
            .copied()
            .ok_or(ProofError::MissingNode(node))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_point_is_largest_power_of_two_below() {
        assert_eq!(split_point(2), 1);
        assert_eq!(split_point(3), 2);
        assert_eq!(split_point(4), 2);
        assert_eq!(split_point(5), 4);
        assert_eq!(split_point(1 << 40), 1 << 39);
        assert_eq!(split_point((1 << 40) + 1), 1 << 40);
    }

    #[test]
    fn range_nodes_decompose_into_aligned_subtrees() {
        let r = LeafRange { start: 0, end: 7 };
        assert_eq!(
            r.nodes(),
            vec![NodeId::new(2, 0), NodeId::new(1, 2), NodeId::new(0, 6)]
        );
        let r = LeafRange { start: 4, end: 6 };
        assert_eq!(r.nodes(), vec![NodeId::new(1, 2)]);
    }

    #[test]
    fn empty_tree_root_is_sha256_of_nothing() {
        assert_eq!(
            hex_of(&MemoryTree::new().root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn errors_for_impossible_requests() {
        assert_eq!(
            inclusion_proof_ranges(3, 3),
            Err(ProofError::IndexOutOfRange { index: 3, size: 3 })
        );
        assert_eq!(
            consistency_proof_ranges(0, 3),
            Err(ProofError::InvalidSizes { old: 0, new: 3 })
        );
        assert_eq!(
            consistency_proof_ranges(4, 3),
            Err(ProofError::InvalidSizes { old: 4, new: 3 })
        );
        assert_eq!(consistency_proof_ranges(3, 3), Ok(vec![]));
        let t = MemoryTree::from_leaf_hashes([[0u8; 32]; 3]);
        assert_eq!(
            t.read_node(NodeId::new(2, 0)),
            Err(ProofError::MissingNode(NodeId::new(2, 0)))
        );
    }

    fn hex_of(h: &Hash) -> String {
        h.iter().map(|b| format!("{b:02x}")).collect()
    }
}
