-- tlog core schema (SQLite). One store holds many logs; a log is its head row, its entries and
-- its hash tiles. An integration round writes all three in one transaction.

CREATE TABLE logs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The log's origin: the first line of its checkpoints. Unique per store.
    origin      TEXT    NOT NULL UNIQUE,
    tree_size   INTEGER NOT NULL,
    root_hash   BLOB    NOT NULL,
    -- The latest signed checkpoint, exactly as served.
    checkpoint  BLOB    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE entries (
    log_id         INTEGER NOT NULL REFERENCES logs (id),
    idx            INTEGER NOT NULL,
    -- What makes two submissions "the same entry" (deduplication), chosen by the service.
    identity       BLOB    NOT NULL,
    leaf_hash      BLOB    NOT NULL,
    -- The entry as it appears in the entry bundles.
    data           BLOB    NOT NULL,
    integrated_at  INTEGER NOT NULL,
    PRIMARY KEY (log_id, idx)
) WITHOUT ROWID;

-- Deduplication is the database's job, not a cache's.
CREATE UNIQUE INDEX entries_by_identity ON entries (log_id, identity);
CREATE INDEX entries_by_leaf_hash ON entries (log_id, leaf_hash);

-- C2SP tlog-tiles hash tiles: each row is one tile at its current width (concatenated 32-byte
-- hashes). Partial tiles are widened in place; full tiles (256 hashes) never change again.
CREATE TABLE tiles (
    log_id  INTEGER NOT NULL REFERENCES logs (id),
    level   INTEGER NOT NULL,
    idx     INTEGER NOT NULL,
    hashes  BLOB    NOT NULL,
    PRIMARY KEY (log_id, level, idx)
) WITHOUT ROWID;

-- Secondary index of entries by service-defined keys (Rekor's search index), written in the
-- same transaction as the entries so it can never drift from the log.
CREATE TABLE entry_index (
    log_id  INTEGER NOT NULL REFERENCES logs (id),
    kind    TEXT    NOT NULL,
    key     TEXT    NOT NULL,
    idx     INTEGER NOT NULL,
    PRIMARY KEY (log_id, kind, key, idx)
) WITHOUT ROWID;
