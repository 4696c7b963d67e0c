-- Security-relevant events (owned by the auth module): who did what, from where.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    action      TEXT NOT NULL,
    actor_id    TEXT,
    actor_email TEXT,
    target      TEXT,
    ip          TEXT,
    request_id  TEXT,
    detail      TEXT CHECK (detail IS NULL OR json_valid(detail))
) STRICT;

CREATE INDEX audit_log_by_action ON audit_log(action, id);
CREATE INDEX audit_log_by_actor ON audit_log(actor_id, id);

-- Server settings changed at run time (sign-ups on or off, …), as JSON values.
CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL CHECK (json_valid(value)),
    updated_at TEXT NOT NULL
) STRICT;
