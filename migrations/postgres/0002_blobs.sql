-- Content-addressed blobs a log's entries refer to by hash (a CT log's issuer certificates,
-- served at issuer/<sha256>). Written, and durable, before any entry that refers to them.
CREATE TABLE blobs (
    log_id  BIGINT NOT NULL REFERENCES logs (id),
    key     BYTEA NOT NULL,
    value   BYTEA NOT NULL,
    PRIMARY KEY (log_id, key)
);
