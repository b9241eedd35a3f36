//! A round's rows as a few column parameters, so PostgreSQL gets one statement of one fixed
//! shape whatever the round's size (`sql.rs`, `WRITE_ROUND_POSTGRES`).
//!
//! A multi-row `VALUES` list is a different statement for every row count: nearly every round
//! was parsed, described and planned anew, with up to thousands of parameters. Here each column
//! is one parameter: byte strings concatenated into one `bytea` and cut apart again in SQL with
//! `substring`, at offsets and lengths sent as lists of decimal integers that PostgreSQL splits
//! with `string_to_array`. sqlx's `Any` driver binds no arrays; an array bound as text costs
//! PostgreSQL a hex parse of every byte (measured: it doubled the database's CPU per entry),
//! whereas these integer lists are a few characters per row and the bytes travel in binary.
//! Pure: no I/O, so the layout is unit-tested here and the SQL that reads it in the store's
//! PostgreSQL tests.

use crate::error::StoreError;
use crate::plan::{IndexKey, StoredEntry};
use crate::sql::to_i64;
use std::fmt::Write as _;
use tlog::merkle::Hash;
use tlog::tile::TileId;

/// Integers as `1,2,3` (empty: no rows), for `string_to_array($n, ',')::int8[]`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct IntList(String);

impl IntList {
    pub(crate) fn push(&mut self, value: i64) {
        if !self.0.is_empty() {
            self.0.push(',');
        }
        // Writing to a String cannot fail.
        let _ = write!(self.0, "{value}");
    }

    pub(crate) fn into_string(self) -> String {
        self.0
    }
}

/// Byte strings concatenated, with where each starts (0-based) and how long it is.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Spans {
    pub(crate) bytes: Vec<u8>,
    pub(crate) starts: IntList,
    pub(crate) lengths: IntList,
}

impl Spans {
    pub(crate) fn push(&mut self, part: &[u8]) {
        // A round's bytes stay far below i64::MAX: entries are at most 64 KiB each.
        self.starts.push(self.bytes.len() as i64);
        self.lengths.push(part.len() as i64);
        self.bytes.extend_from_slice(part);
    }
}

/// The rows a round writes, column by column, in the order `WRITE_ROUND_POSTGRES` binds them.
#[derive(Debug, Default)]
pub(crate) struct RoundColumns {
    pub(crate) entry_indexes: IntList,
    pub(crate) entry_times: IntList,
    /// 32 bytes per entry.
    pub(crate) identities: Vec<u8>,
    /// 32 bytes per entry.
    pub(crate) leaf_hashes: Vec<u8>,
    pub(crate) data: Spans,
    /// The entry each search key files, per key.
    pub(crate) key_indexes: IntList,
    pub(crate) key_kinds: Spans,
    pub(crate) keys: Spans,
    pub(crate) tile_levels: IntList,
    pub(crate) tile_indexes: IntList,
    /// Each tile's hashes, concatenated.
    pub(crate) tile_hashes: Spans,
}

impl RoundColumns {
    /// Lays out a round's new entries, their search keys and the tiles it changed.
    pub(crate) fn new(
        entries: &[StoredEntry],
        keys: &[(u64, IndexKey)],
        tiles: &[(TileId, Vec<Hash>)],
    ) -> Result<Self, StoreError> {
        let mut columns = Self {
            identities: Vec::with_capacity(entries.len() * 32),
            leaf_hashes: Vec::with_capacity(entries.len() * 32),
            ..Self::default()
        };
        for entry in entries {
            columns.entry_indexes.push(to_i64(entry.index)?);
            columns.entry_times.push(to_i64(entry.integrated_at_ms)?);
            columns.identities.extend_from_slice(&entry.identity);
            columns.leaf_hashes.extend_from_slice(&entry.leaf_hash);
            columns.data.push(&entry.data);
        }
        for (index, key) in keys {
            columns.key_indexes.push(to_i64(*index)?);
            columns.key_kinds.push(key.kind.as_bytes());
            columns.keys.push(key.key.as_bytes());
        }
        for (id, hashes) in tiles {
            columns.tile_levels.push(i64::from(id.level));
            columns.tile_indexes.push(to_i64(id.index)?);
            columns.tile_hashes.push(hashes.as_flattened());
        }
        Ok(columns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_lists_are_comma_separated_and_empty_without_rows() {
        let mut list = IntList::default();
        assert_eq!(list.clone().into_string(), "");
        for v in [0, -7, i64::MAX] {
            list.push(v);
        }
        assert_eq!(list.into_string(), "0,-7,9223372036854775807");
    }

    #[test]
    fn spans_record_zero_based_starts_and_lengths() {
        let mut spans = Spans::default();
        for part in [&b"abc"[..], b"", b"de"] {
            spans.push(part);
        }
        assert_eq!(spans.bytes, b"abcde");
        assert_eq!(spans.starts.into_string(), "0,3,3");
        assert_eq!(spans.lengths.into_string(), "3,0,2");
    }

    #[test]
    fn a_round_is_laid_out_row_by_row() {
        let entry = |index: u64, fill: u8, data: &[u8]| StoredEntry {
            index,
            identity: [fill; 32],
            leaf_hash: [fill + 1; 32],
            data: data.to_vec(),
            integrated_at_ms: 77,
        };
        let key = |kind: &str, key: &str| IndexKey {
            kind: kind.into(),
            key: key.into(),
        };
        let columns = RoundColumns::new(
            &[entry(5, 1, b"first"), entry(6, 3, b"2nd")],
            &[(5, key("sha256", "ab")), (6, key("email", "é@x"))],
            &[
                (TileId::new(0, 0), vec![[9; 32]; 7]),
                (TileId::new(1, 0), vec![[8; 32]]),
            ],
        )
        .unwrap();
        assert_eq!(columns.entry_indexes.into_string(), "5,6");
        assert_eq!(columns.entry_times.into_string(), "77,77");
        assert_eq!(columns.identities, [[1u8; 32], [3; 32]].concat());
        assert_eq!(columns.leaf_hashes, [[2u8; 32], [4; 32]].concat());
        assert_eq!(columns.data.bytes, b"first2nd");
        assert_eq!(columns.key_indexes.into_string(), "5,6");
        assert_eq!(columns.key_kinds.bytes, b"sha256email");
        // Lengths in bytes, not characters: SQL cuts the bytes, then reads them as UTF-8.
        assert_eq!(columns.keys.lengths.into_string(), "2,4");
        assert_eq!(columns.tile_levels.into_string(), "0,1");
        assert_eq!(columns.tile_hashes.starts.into_string(), "0,224");
        assert_eq!(columns.tile_hashes.lengths.into_string(), "224,32");
        assert!(RoundColumns::new(&[entry(u64::MAX, 0, b"")], &[], &[]).is_err());
    }
}
