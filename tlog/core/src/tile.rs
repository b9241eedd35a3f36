//! C2SP tlog-tiles: tile addressing, entry bundles, and a tree computed from tiles alone.
//!
//! A tile at level `L`, index `N` holds up to 256 consecutive hashes of tree level `8L`, starting
//! at hash `256 N` (<https://c2sp.org/tlog-tiles>). Every complete subtree of the log lies inside
//! exactly one tile, so any root or proof is a few tile reads ([`TileSet`] implements
//! [`HashReader`]). The right edge of the tree — at most one partial tile per level — is
//! [`TreeEdge`], which is all a sequencer has to keep in memory to append.

use crate::merkle::{self, Hash, HashReader, NodeId, ProofError};
use std::collections::HashMap;
use std::fmt;

/// Tile height: a tile spans 8 tree levels.
pub const TILE_HEIGHT: u8 = 8;
/// Hashes (or entries) in a full tile.
pub const TILE_WIDTH: u64 = 1 << TILE_HEIGHT;
/// The highest tile level a 64-bit tree can need.
pub const MAX_TILE_LEVEL: u8 = 63 / TILE_HEIGHT;

/// The address of a hash tile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    /// Tile level `L`: its hashes are at tree level `8 L`.
    pub level: u8,
    /// Tile index `N`: its first hash is hash `256 N` of its tree level.
    pub index: u64,
}

impl TileId {
    /// The tile at `level` and `index`.
    pub fn new(level: u8, index: u64) -> Self {
        Self { level, index }
    }

    /// How many hashes this tile holds in a tree of `size` leaves (0 to 256).
    pub fn width_at(self, size: u64) -> u64 {
        let hashes_at_level = hashes_at_tile_level(size, self.level);
        hashes_at_level
            .saturating_sub(self.index.saturating_mul(TILE_WIDTH))
            .min(TILE_WIDTH)
    }
}

/// Number of stored hashes at tree level `8 * tile_level` in a tree of `size` leaves.
fn hashes_at_tile_level(size: u64, tile_level: u8) -> u64 {
    let shift = u32::from(tile_level) * u32::from(TILE_HEIGHT);
    size.checked_shr(shift).unwrap_or(0)
}

/// Where the hash of a complete subtree is found: the tile, and the run of hashes inside it whose
/// perfect-tree fold is the subtree's hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeLocation {
    /// The tile holding the subtree.
    pub tile: TileId,
    /// Offset of the first hash of the run inside the tile.
    pub offset: usize,
    /// Length of the run: a power of two, at most 128.
    pub count: usize,
}

/// Locates the hashes of `node` in the tiles.
pub fn locate(node: NodeId) -> NodeLocation {
    let tile_level = node.level / TILE_HEIGHT;
    let sub_level = u32::from(node.level % TILE_HEIGHT);
    let first = node.index << sub_level;
    NodeLocation {
        tile: TileId::new(tile_level, first >> TILE_HEIGHT),
        offset: (first & (TILE_WIDTH - 1)) as usize,
        count: 1usize << sub_level,
    }
}

/// The root of a perfect binary tree over `hashes` (length a power of two).
fn perfect_root(hashes: &[Hash]) -> Hash {
    debug_assert!(hashes.len().is_power_of_two());
    if hashes.len() == 1 {
        return hashes[0];
    }
    let mut level: Vec<Hash> = hashes
        .chunks_exact(2)
        .map(|p| merkle::node_hash(&p[0], &p[1]))
        .collect();
    while level.len() > 1 {
        level = level
            .chunks_exact(2)
            .map(|p| merkle::node_hash(&p[0], &p[1]))
            .collect();
    }
    level[0]
}

/// A set of hash tiles, each at some width; answers node reads from them alone.
#[derive(Debug, Clone, Default)]
pub struct TileSet {
    tiles: HashMap<TileId, Vec<Hash>>,
}

impl TileSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or widens) a tile. A narrower copy never replaces a wider one: tiles only grow.
    pub fn insert(&mut self, id: TileId, hashes: Vec<Hash>) {
        match self.tiles.get(&id) {
            Some(existing) if existing.len() >= hashes.len() => {}
            _ => {
                self.tiles.insert(id, hashes);
            }
        }
    }

    /// The hashes held for a tile.
    pub fn get(&self, id: TileId) -> Option<&[Hash]> {
        self.tiles.get(&id).map(Vec::as_slice)
    }

    /// Whether the tile is held with at least `width` hashes.
    pub fn has(&self, id: TileId, width: u64) -> bool {
        self.tiles.get(&id).is_some_and(|t| t.len() as u64 >= width)
    }

    /// Iterates over the tiles held.
    pub fn iter(&self) -> impl Iterator<Item = (TileId, &[Hash])> {
        self.tiles.iter().map(|(id, h)| (*id, h.as_slice()))
    }

    /// Number of tiles held.
    pub fn len(&self) -> usize {
        self.tiles.len()
    }

    /// Whether no tile is held.
    pub fn is_empty(&self) -> bool {
        self.tiles.is_empty()
    }
}

impl HashReader for TileSet {
    fn read_node(&self, node: NodeId) -> Result<Hash, ProofError> {
        let loc = locate(node);
        let hashes = self
            .tiles
            .get(&loc.tile)
            .and_then(|t| t.get(loc.offset..loc.offset + loc.count))
            .ok_or(ProofError::MissingNode(node))?;
        Ok(perfect_root(hashes))
    }
}

/// The tiles (with the width each must have) that hold `nodes` in a tree of `size`.
pub fn tiles_for(nodes: &[NodeId], size: u64) -> Vec<(TileId, u64)> {
    let mut out: Vec<(TileId, u64)> = Vec::new();
    for node in nodes {
        let loc = locate(*node);
        let width = loc.tile.width_at(size);
        if !out.iter().any(|(t, _)| *t == loc.tile) {
            out.push((loc.tile, width));
        }
    }
    out
}

/// The right edge of a tree: its size and the partial tile of each level.
///
/// This is everything needed to append leaves and compute the new root: every complete subtree
/// in the decomposition of `[0, size)` lies in one of these partial tiles.
#[derive(Clone, PartialEq, Eq)]
pub struct TreeEdge {
    size: u64,
    /// `partial[L]`: the hashes of the rightmost, incomplete tile of level `L` (0 to 255 of them).
    partial: Vec<Vec<Hash>>,
}

impl fmt::Debug for TreeEdge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let widths: Vec<usize> = self.partial.iter().map(Vec::len).collect();
        f.debug_struct("TreeEdge")
            .field("size", &self.size)
            .field("partial_widths", &widths)
            .finish()
    }
}

/// What one append produced: the new edge and every tile that must be written for it.
#[derive(Debug, Clone)]
pub struct Appended {
    /// The edge after the append.
    pub edge: TreeEdge,
    /// Tiles created or widened by the append, each at its new width.
    pub tiles: Vec<(TileId, Vec<Hash>)>,
}

/// Why a tree edge could not be rebuilt from stored tiles.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EdgeError {
    /// A tile the edge needs is not among those given, or is narrower than the size implies.
    #[error("tile level {} index {} is missing or narrower than {width} hashes", .tile.level, .tile.index)]
    MissingTile {
        /// The tile.
        tile: TileId,
        /// The width it must have.
        width: u64,
    },
}

impl TreeEdge {
    /// The edge of the empty tree.
    pub fn empty() -> Self {
        Self {
            size: 0,
            partial: Vec::new(),
        }
    }

    /// The tree size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The partial tiles (with their widths) an edge of `size` is rebuilt from.
    pub fn required_tiles(size: u64) -> Vec<(TileId, u64)> {
        (0..=MAX_TILE_LEVEL)
            .filter_map(|level| {
                let n = hashes_at_tile_level(size, level);
                let width = n % TILE_WIDTH;
                (width > 0).then(|| (TileId::new(level, n / TILE_WIDTH), width))
            })
            .collect()
    }

    /// Rebuilds the edge of a tree of `size` from its partial tiles (see [`Self::required_tiles`]).
    /// Wider copies of the tiles are accepted and cut to the width `size` implies.
    pub fn from_tiles(size: u64, tiles: &TileSet) -> Result<Self, EdgeError> {
        let mut partial = Vec::new();
        for level in 0..=MAX_TILE_LEVEL {
            let n = hashes_at_tile_level(size, level);
            if n == 0 {
                break;
            }
            let width = n % TILE_WIDTH;
            let id = TileId::new(level, n / TILE_WIDTH);
            let hashes = if width == 0 {
                Vec::new()
            } else {
                tiles
                    .get(id)
                    .and_then(|t| t.get(..width as usize))
                    .ok_or(EdgeError::MissingTile { tile: id, width })?
                    .to_vec()
            };
            partial.push(hashes);
        }
        Ok(Self { size, partial })
    }

    /// The partial tiles of this edge, as a tile set (enough to compute the root).
    pub fn tiles(&self) -> TileSet {
        let mut set = TileSet::new();
        for (level, hashes) in self.partial.iter().enumerate() {
            if !hashes.is_empty() {
                let n = hashes_at_tile_level(self.size, level as u8);
                set.insert(TileId::new(level as u8, n / TILE_WIDTH), hashes.clone());
            }
        }
        set
    }

    /// The root hash of the tree.
    pub fn root(&self) -> Hash {
        merkle::root(self.size, &self.tiles()).expect("an edge holds every node of its root")
    }

    /// Appends leaf hashes, returning the new edge and the tiles to write. Pure: `self` is kept,
    /// so a failed commit leaves the caller's state untouched.
    pub fn append(&self, leaf_hashes: &[Hash]) -> Appended {
        let mut edge = self.clone();
        let mut tiles = Vec::new();
        let mut touched = [false; MAX_TILE_LEVEL as usize + 1];
        for leaf in leaf_hashes {
            edge.size += 1;
            let mut hash = *leaf;
            let mut level = 0usize;
            loop {
                if edge.partial.len() == level {
                    edge.partial.push(Vec::new());
                }
                touched[level] = true;
                edge.partial[level].push(hash);
                if edge.partial[level].len() as u64 != TILE_WIDTH {
                    break;
                }
                // The tile just filled: it is final, and its root is the next level's new hash.
                let full = std::mem::take(&mut edge.partial[level]);
                let index = hashes_at_tile_level(edge.size, level as u8) / TILE_WIDTH - 1;
                hash = perfect_root(&full);
                tiles.push((TileId::new(level as u8, index), full));
                level += 1;
            }
        }
        for (level, hashes) in edge.partial.iter().enumerate() {
            if touched[level] && !hashes.is_empty() {
                let n = hashes_at_tile_level(edge.size, level as u8);
                tiles.push((TileId::new(level as u8, n / TILE_WIDTH), hashes.clone()));
            }
        }
        Appended { edge, tiles }
    }
}

/// Errors in a tile or entry-bundle path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// The path is not of the form `tile/L/N[.p/W]` or `tile/entries/N[.p/W]`.
    #[error("malformed tile path {0:?}")]
    Malformed(String),
}

/// A parsed tile path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TilePath {
    /// `tile/L/N[.p/W]`: a hash tile.
    Hashes {
        /// The tile.
        tile: TileId,
        /// `Some(W)` for a partial tile of width `W` (1..=255), `None` for a full tile.
        width: Option<u8>,
    },
    /// `tile/entries/N[.p/W]`: an entry bundle.
    Entries {
        /// Bundle index `N` (entries `256 N` onwards).
        index: u64,
        /// `Some(W)` for a partial bundle, `None` for a full one.
        width: Option<u8>,
    },
}

/// Encodes a tile index as tlog-tiles does: groups of three digits, all but the last prefixed
/// with `x` (`1234067` → `x001/x234/067`).
pub fn encode_index(index: u64) -> String {
    let mut groups = vec![format!("{:03}", index % 1000)];
    let mut rest = index / 1000;
    while rest > 0 {
        groups.push(format!("x{:03}", rest % 1000));
        rest /= 1000;
    }
    groups.reverse();
    groups.join("/")
}

fn width_suffix(width: Option<u8>) -> String {
    width.map_or(String::new(), |w| format!(".p/{w}"))
}

impl TilePath {
    /// The path relative to the log's prefix, e.g. `tile/0/x001/234.p/7`.
    pub fn to_path(self) -> String {
        match self {
            TilePath::Hashes { tile, width } => format!(
                "tile/{}/{}{}",
                tile.level,
                encode_index(tile.index),
                width_suffix(width)
            ),
            TilePath::Entries { index, width } => {
                format!(
                    "tile/entries/{}{}",
                    encode_index(index),
                    width_suffix(width)
                )
            }
        }
    }

    /// Parses a path relative to the log's prefix. Strict: only the canonical encoding parses.
    pub fn parse(path: &str) -> Result<Self, PathError> {
        let bad = || PathError::Malformed(path.to_string());
        let rest = path.strip_prefix("tile/").ok_or_else(bad)?;
        let (kind, rest) = rest.split_once('/').ok_or_else(bad)?;
        let (index_part, width) = match rest.split_once(".p/") {
            Some((i, w)) => (i, Some(parse_width(w).ok_or_else(bad)?)),
            None => (rest, None),
        };
        let index = parse_index(index_part).ok_or_else(bad)?;
        if kind == "entries" {
            return Ok(TilePath::Entries { index, width });
        }
        let level: u8 = parse_decimal(kind)
            .and_then(|l| u8::try_from(l).ok())
            .filter(|l| *l <= MAX_TILE_LEVEL)
            .ok_or_else(bad)?;
        Ok(TilePath::Hashes {
            tile: TileId::new(level, index),
            width,
        })
    }
}

fn parse_decimal(s: &str) -> Option<u64> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if canonical {
        s.parse().ok()
    } else {
        None
    }
}

fn parse_width(s: &str) -> Option<u8> {
    parse_decimal(s)
        .filter(|w| (1..TILE_WIDTH).contains(w))
        .map(|w| w as u8)
}

fn parse_index(s: &str) -> Option<u64> {
    let groups: Vec<&str> = s.split('/').collect();
    let (last, init) = groups.split_last()?;
    let digits3 = |g: &str| g.len() == 3 && g.bytes().all(|b| b.is_ascii_digit());
    if !digits3(last) {
        return None;
    }
    let mut value: u64 = 0;
    for (i, g) in init.iter().enumerate() {
        let d = g.strip_prefix('x').filter(|d| digits3(d))?;
        // No leading zero groups: the encoding of an index is unique.
        if i == 0 && d == "000" {
            return None;
        }
        value = value.checked_mul(1000)?.checked_add(d.parse().ok()?)?;
    }
    value.checked_mul(1000)?.checked_add(last.parse().ok()?)
}

/// Encodes entries as a C2SP entry bundle: each entry is a big-endian `uint16` length and its
/// bytes. Entries longer than 65535 bytes cannot be bundled.
pub fn encode_bundle<'a>(
    entries: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<u8>, BundleError> {
    let mut out = Vec::new();
    for e in entries {
        let len = u16::try_from(e.len()).map_err(|_| BundleError::EntryTooLarge(e.len()))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(e);
    }
    Ok(out)
}

/// Decodes a C2SP entry bundle into its entries.
pub fn decode_bundle(bundle: &[u8]) -> Result<Vec<&[u8]>, BundleError> {
    let mut out = Vec::new();
    let mut rest = bundle;
    while !rest.is_empty() {
        if rest.len() < 2 {
            return Err(BundleError::Truncated);
        }
        let len = u16::from_be_bytes([rest[0], rest[1]]) as usize;
        let body = rest.get(2..2 + len).ok_or(BundleError::Truncated)?;
        out.push(body);
        rest = &rest[2 + len..];
    }
    Ok(out)
}

/// Errors in entry bundles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// An entry exceeds the 65535-byte limit of the bundle format.
    #[error("entry of {0} bytes exceeds the 65535-byte limit of tlog-tiles entry bundles")]
    EntryTooLarge(usize),
    /// The bundle ends in the middle of an entry.
    #[error("entry bundle is truncated")]
    Truncated,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{leaf_hash, MemoryTree};

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    #[test]
    fn index_encoding_matches_the_spec_examples() {
        assert_eq!(encode_index(0), "000");
        assert_eq!(encode_index(67), "067");
        assert_eq!(encode_index(1234067), "x001/x234/067");
        assert_eq!(
            TilePath::Hashes {
                tile: TileId::new(1, 1234067),
                width: Some(8)
            }
            .to_path(),
            "tile/1/x001/x234/067.p/8"
        );
        assert_eq!(
            TilePath::Entries {
                index: 5,
                width: None
            }
            .to_path(),
            "tile/entries/005"
        );
    }

    #[test]
    fn paths_round_trip_and_non_canonical_paths_are_rejected() {
        for p in [
            "tile/0/000",
            "tile/0/000.p/1",
            "tile/3/x001/x234/067.p/255",
            "tile/entries/x999/999",
            "tile/entries/001.p/17",
        ] {
            assert_eq!(TilePath::parse(p).unwrap().to_path(), p);
        }
        for p in [
            "",
            "tile/",
            "tile/0/",
            "tile/0/00",
            "tile/0/0000",
            "tile/00/000",
            "tile/8/000",
            "tile/0/x000/001",
            "tile/0/001.p/0",
            "tile/0/001.p/256",
            "tile/0/001.p/07",
            "tile/0/001.p/",
            "tile/0/x1/001",
            "tile/-1/001",
            "tile/0/+01",
            "tile/entries/x99999999999999/000",
            "tiles/0/000",
        ] {
            assert!(TilePath::parse(p).is_err(), "{p} parsed");
        }
    }

    #[test]
    fn edge_append_matches_memory_tree_and_writes_consistent_tiles() {
        // Cross 256 and 65536 boundaries in uneven batches.
        let all = leaves(70_000);
        let mut edge = TreeEdge::empty();
        let mut store = TileSet::new();
        let mut tree = MemoryTree::new();
        let mut pos = 0usize;
        for batch in [1usize, 254, 1, 1, 300, 5000, 60_000, 4444] {
            let end = (pos + batch).min(all.len());
            let appended = edge.append(&all[pos..end]);
            for (id, hashes) in appended.tiles {
                store.insert(id, hashes);
            }
            for l in &all[pos..end] {
                tree.push(*l);
            }
            edge = appended.edge;
            pos = end;
            assert_eq!(edge.size(), tree.size());
            assert_eq!(edge.root(), tree.root());
            // The edge can be rebuilt from the stored tiles alone.
            let rebuilt = TreeEdge::from_tiles(edge.size(), &store).unwrap();
            assert_eq!(rebuilt, edge);
            // And proofs computed from the stored tiles equal the in-memory tree's.
            let size = edge.size();
            for index in [0, size / 2, size - 1] {
                assert_eq!(
                    merkle::inclusion_proof(index, size, &store).unwrap(),
                    merkle::inclusion_proof(index, size, &tree).unwrap()
                );
            }
        }
    }

    #[test]
    fn width_and_location_arithmetic() {
        assert_eq!(TileId::new(0, 0).width_at(0), 0);
        assert_eq!(TileId::new(0, 0).width_at(255), 255);
        assert_eq!(TileId::new(0, 0).width_at(1000), 256);
        assert_eq!(TileId::new(0, 3).width_at(1000), 232);
        assert_eq!(TileId::new(1, 0).width_at(1000), 3);
        let loc = locate(NodeId::new(9, 5));
        assert_eq!(loc.tile, TileId::new(1, 0));
        assert_eq!((loc.offset, loc.count), (10, 2));
        assert_eq!(TreeEdge::required_tiles(0), vec![]);
        assert_eq!(
            TreeEdge::required_tiles(65536 + 256 + 3),
            vec![
                (TileId::new(0, 257), 3),
                (TileId::new(1, 1), 1),
                (TileId::new(2, 0), 1)
            ]
        );
    }

    #[test]
    fn bundles_round_trip_and_reject_truncation() {
        let entries: Vec<&[u8]> = vec![b"one", b"", b"three"];
        let b = encode_bundle(entries.iter().copied()).unwrap();
        assert_eq!(decode_bundle(&b).unwrap(), entries);
        assert_eq!(
            decode_bundle(&b[..b.len() - 1]),
            Err(BundleError::Truncated)
        );
        assert_eq!(decode_bundle(&[0]), Err(BundleError::Truncated));
        let big = vec![0u8; 65536];
        assert_eq!(
            encode_bundle([big.as_slice()]),
            Err(BundleError::EntryTooLarge(65536))
        );
    }

    #[test]
    fn missing_tiles_are_reported_not_guessed() {
        let set = TileSet::new();
        assert!(matches!(
            set.read_node(NodeId::new(0, 0)),
            Err(ProofError::MissingNode(_))
        ));
        assert!(matches!(
            TreeEdge::from_tiles(3, &set),
            Err(EdgeError::MissingTile { .. })
        ));
    }
}
