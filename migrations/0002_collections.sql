-- Collection definitions and their history (owned by the resources module). Each
-- collection's records live in their own table, rec_<name>, created at run time.
CREATE TABLE collections (
    name           TEXT PRIMARY KEY,
    definition     TEXT NOT NULL CHECK (json_valid(definition)),
    schema_version INTEGER NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
) STRICT;

CREATE TABLE collection_history (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL,
    schema_version  INTEGER NOT NULL,
    old_definition  TEXT CHECK (old_definition IS NULL OR json_valid(old_definition)),
    new_definition  TEXT CHECK (new_definition IS NULL OR json_valid(new_definition)),
    changed_at      TEXT NOT NULL,
    changed_by      TEXT
) STRICT;

CREATE INDEX collection_history_by_name ON collection_history(name, schema_version);

-- Responses to POSTs that carried an Idempotency-Key, replayed for 24 hours.
CREATE TABLE idempotency_keys (
    scope        TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash BLOB NOT NULL,
    status       INTEGER NOT NULL,
    location     TEXT,
    etag         TEXT,
    body         BLOB NOT NULL,
    expires_at   TEXT NOT NULL,
    PRIMARY KEY (scope, key)
) STRICT, WITHOUT ROWID;

CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys(expires_at);
