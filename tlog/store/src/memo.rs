//! Proofs for a whole round at once: a [`HashReader`] over tiles that remembers every interior
//! node it folds, and every proof element folded from several nodes.
//!
//! A tile stores only every eighth level of the tree, so a node between those levels is the
//! fold of up to 128 stored hashes. One proof folds several such runs; the proofs of a round's
//! consecutive entries need mostly the same nodes. Remembering them makes the proofs of a round
//! of `n` entries cost about `2n` hashes instead of a few hundred per entry. Likewise the
//! elements on the tree's ragged right edge (a run of complete subtrees up to the tree's size,
//! folded right to left): the round's entries all sit near that edge and share most of them.

use std::cell::RefCell;
use std::collections::HashMap;
use tlog::merkle::{self, node_hash, Hash, HashReader, NodeId, ProofError};
use tlog::tile::{TileSet, TILE_HEIGHT};

/// Reads nodes from `tiles`, folding interior nodes from their children and remembering them.
/// Single-threaded (one per round); it answers exactly what `tiles` would.
pub(crate) struct MemoReader<'a> {
    tiles: &'a TileSet,
    memo: RefCell<HashMap<NodeId, Hash>>,
    /// Proof elements of more than one complete subtree, by their leaf range.
    ranges: RefCell<HashMap<(u64, u64), Hash>>,
}

impl<'a> MemoReader<'a> {
    pub(crate) fn new(tiles: &'a TileSet) -> Self {
        Self {
            tiles,
            memo: RefCell::new(HashMap::new()),
            ranges: RefCell::new(HashMap::new()),
        }
    }

    /// The inclusion proof of leaf `index` in the tree of `size`: what
    /// [`merkle::inclusion_proof`] answers over `tiles`, with the folded elements remembered.
    pub(crate) fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, ProofError> {
        merkle::inclusion_proof_ranges(index, size)?
            .into_iter()
            .map(|range| {
                // A range of 2^k leaves is one complete subtree (ranges start aligned to their
                // largest power of two): a node, remembered as such.
                if (range.end - range.start).is_power_of_two() {
                    return range.hash(self);
                }
                let key = (range.start, range.end);
                if let Some(hash) = self.ranges.borrow().get(&key) {
                    return Ok(*hash);
                }
                let hash = range.hash(self)?;
                self.ranges.borrow_mut().insert(key, hash);
                Ok(hash)
            })
            .collect()
    }
}

impl HashReader for MemoReader<'_> {
    fn read_node(&self, node: NodeId) -> Result<Hash, ProofError> {
        if node.level.is_multiple_of(TILE_HEIGHT) {
            // Stored as such in a tile.
            return self.tiles.read_node(node);
        }
        if let Some(hash) = self.memo.borrow().get(&node) {
            return Ok(*hash);
        }
        let left = self.read_node(NodeId::new(node.level - 1, node.index << 1))?;
        let right = self.read_node(NodeId::new(node.level - 1, (node.index << 1) | 1))?;
        let hash = node_hash(&left, &right);
        self.memo.borrow_mut().insert(node, hash);
        Ok(hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tlog::merkle::{inclusion_proof, MemoryTree};
    use tlog::tile::TreeEdge;

    #[test]
    fn proofs_match_the_plain_tile_reader_and_a_memory_tree() {
        let leaves: Vec<Hash> = (0..70_000u32)
            .map(|i| tlog::merkle::leaf_hash(&i.to_be_bytes()))
            .collect();
        let tree = MemoryTree::from_leaf_hashes(leaves.iter().copied());
        let appended = TreeEdge::empty().append(&leaves);
        let mut tiles = appended.edge.tiles();
        for (id, hashes) in appended.tiles {
            tiles.insert(id, hashes);
        }
        let memo = MemoReader::new(&tiles);
        let size = leaves.len() as u64;
        for index in (0..size).step_by(997).chain(size - 300..size) {
            let want = inclusion_proof(index, size, &tree).unwrap();
            assert_eq!(
                inclusion_proof(index, size, &memo).unwrap(),
                want,
                "{index}"
            );
            assert_eq!(memo.inclusion_proof(index, size).unwrap(), want, "{index}");
            assert_eq!(
                inclusion_proof(index, size, &tiles).unwrap(),
                want,
                "{index}"
            );
        }
        // A node the tiles do not hold is missing, not guessed.
        let empty = TileSet::new();
        assert!(matches!(
            MemoReader::new(&empty).read_node(NodeId::new(3, 0)),
            Err(ProofError::MissingNode(_))
        ));
    }
}
