-- The search index's primary key held every key in full (kind, a 64-character hex digest or an
-- identity, and the entry's index): about 150 bytes per entry at 20 million entries, on pages
-- written in random order, the largest of the structures an append touches at random (issue
-- 18 §4, the growth benchmark). Appends slow down once those pages no longer fit in the
-- server's memory, so the index now holds a 64-bit hash of the key instead: about a third of
-- the size. A lookup compares kind and key on the row it finds, so two keys sharing a hash (of
-- another kind, or a collision) cost one more row read, never a wrong answer, and the entry's
-- index in the key keeps a key's entries in order, as `LIMIT` needs for a key filed under many.
-- `hashtextextended` is PostgreSQL's own stable hash (hash partitioning relies on it staying
-- the same across versions). Nothing relied on the primary key's uniqueness: the rows are
-- written only by the integration transaction, once per new entry.
CREATE INDEX entry_index_by_key_hash ON entry_index (log_id, hashtextextended(key, 0), idx);
ALTER TABLE entry_index DROP CONSTRAINT entry_index_pkey;
