//! Proofs for a whole round at once: a [`HashReader`] over tiles that remembers every interior
//! node it folds.
//!
//! A tile stores only every eighth level of the tree, so a node between those levels is the
//! fold of up to 128 stored hashes. One proof folds several such runs; the proofs of a round's
//! consecutive entries need mostly the same nodes. Remembering them makes the proofs of a round
//! of `n` entries cost about `2n` hashes instead of a few hundred per entry.

use std::cell::RefCell;
use std::collections::HashMap;
use tlog::merkle::{node_hash, Hash, HashReader, NodeId, ProofError};
use tlog::tile::{TileSet, TILE_HEIGHT};

/// Reads nodes from `tiles`, folding interior nodes from their children and remembering them.
/// Single-threaded (one per round); it answers exactly what `tiles` would.
pub(crate) struct MemoReader<'a> {
    tiles: &'a TileSet,
    memo: RefCell<HashMap<NodeId, Hash>>,
}

impl<'a> MemoReader<'a> {
    pub(crate) fn new(tiles: &'a TileSet) -> Self {
        Self {
            tiles,
            memo: RefCell::new(HashMap::new()),
        }
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
