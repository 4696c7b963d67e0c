-- Repeated audit events (same action, actor, target and client address, no detail,
-- within 10 minutes of the row's first one) are one row: `count` of them, the first at
-- `at`, the latest at `last_at`. The index finds a row to add to without scanning.
ALTER TABLE audit_log ADD COLUMN count INTEGER NOT NULL DEFAULT 1 CHECK (count >= 1);
ALTER TABLE audit_log ADD COLUMN last_at TEXT;
CREATE INDEX audit_log_recent ON audit_log(action, ip, at);
