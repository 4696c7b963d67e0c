-- Dashboard sessions (owned by the admin module). Only the SHA-256 digest of the cookie
-- value is stored; times are Unix milliseconds so idle and absolute expiry are one
-- comparison each.
CREATE TABLE admin_sessions (
    digest      BLOB PRIMARY KEY CHECK (length(digest) = 32),
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf        TEXT NOT NULL,
    created_ms  INTEGER NOT NULL,
    seen_ms     INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX admin_sessions_by_user ON admin_sessions(user_id);
