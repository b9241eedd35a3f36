-- Most logs (Rekor) deduplicate by the leaf hash itself, so the leaf-hash index repeated the
-- identity index entry for entry. It now holds only the entries whose leaf hash differs from
-- their identity (a CT log's); a lookup by leaf hash reads both (see `entry_by_leaf_hash`).
-- (PostgreSQL's 0003 also drops foreign keys; SQLite cannot without rebuilding the tables, and
-- its checks are cheap in-process.)
DROP INDEX entries_by_leaf_hash;
CREATE INDEX entries_by_leaf_hash ON entries (log_id, leaf_hash) WHERE leaf_hash <> identity;
