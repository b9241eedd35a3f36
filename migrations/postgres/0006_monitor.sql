-- The monitor (`sigstack monitor`): per followed log, the last checkpoint it verified (signature,
-- and consistency with every earlier one through the entries between them). A round replaces a
-- row only if it still holds the checkpoint the round started from (compare-and-swap), so the
-- verified state never moves on unverified data nor backwards.
CREATE TABLE monitor_logs (
    -- The log's URL as configured.
    log_url     TEXT   PRIMARY KEY,
    tree_size   BIGINT NOT NULL,
    root_hash   BYTEA  NOT NULL,
    -- The checkpoint note as the log served it.
    checkpoint  BYTEA  NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- Every finding reported, in order: what `/findings` serves.
CREATE TABLE monitor_findings (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Milliseconds since the Unix epoch.
    found_at    BIGINT NOT NULL,
    kind        TEXT   NOT NULL,
    log_url     TEXT   NOT NULL,
    -- The finding as its JSON line.
    body        TEXT   NOT NULL
);
