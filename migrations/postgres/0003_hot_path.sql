-- The integration transaction's hot path, measured on the Rekor write path (perf, PostgreSQL 15):
--
-- * Foreign keys on the per-entry tables ran a trigger and a lookup of `logs` for every inserted
--   row: about a fifth of PostgreSQL's time. Those rows are written only by the integration
--   transaction, which has just locked and updated the log's head row, so the reference cannot
--   dangle; logs are never deleted. (`blobs` keeps its key: it is written rarely.)
-- * The search index compared its text keys under the database's locale collation. They are only
--   ever looked up by equality, which is byte equality under any deterministic collation, so
--   byte order ("C") gives the same answers without the locale's string comparison.
ALTER TABLE entries DROP CONSTRAINT IF EXISTS entries_log_id_fkey;
ALTER TABLE tiles DROP CONSTRAINT IF EXISTS tiles_log_id_fkey;
ALTER TABLE entry_index DROP CONSTRAINT IF EXISTS entry_index_log_id_fkey;
ALTER TABLE entry_index
    ALTER COLUMN kind TYPE TEXT COLLATE "C",
    ALTER COLUMN key TYPE TEXT COLLATE "C";

-- * Most logs (Rekor) deduplicate by the leaf hash itself, so the leaf-hash index repeated the
--   identity index entry for entry. It now holds only the entries whose leaf hash differs from
--   their identity (a CT log's); a lookup by leaf hash reads both (see `entry_by_leaf_hash`).
DROP INDEX entries_by_leaf_hash;
CREATE INDEX entries_by_leaf_hash ON entries (log_id, leaf_hash) WHERE leaf_hash <> identity;
