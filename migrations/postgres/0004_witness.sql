-- The witness (C2SP tlog-witness): the latest checkpoint it cosigned for each log it follows.
-- A submission replaces a row only if it still holds the size and root the submission was
-- checked against (compare-and-swap), so two concurrent submissions cannot both win.
CREATE TABLE witness_checkpoints (
    -- The log's origin: the first line of its checkpoints.
    origin      TEXT   PRIMARY KEY,
    tree_size   BIGINT NOT NULL,
    root_hash   BYTEA  NOT NULL,
    -- The checkpoint as the log signed it, with the witness's cosignature appended: what the
    -- monitoring endpoint serves.
    checkpoint  BYTEA  NOT NULL,
    updated_at  BIGINT NOT NULL
);
