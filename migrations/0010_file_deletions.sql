-- Blobs to delete once the transaction that stopped referencing them has committed
-- (issue 17; owned by hearth-files). `resources` inserts the old file's key in the same
-- write transaction as the record change (`files::enqueue_deletions`), so a blob is
-- queued if and only if the change committed; the deletion worker removes the blob,
-- then the row. A store that fails is retried later (`next_attempt_at`, with
-- exponential backoff), never given up on: the row stays until the blob is gone.
--
-- Times are `YYYY-MM-DDTHH:MM:SS.sssZ` (UTC, sort as text), written by SQLite's
-- strftime so that the worker's comparisons use one clock.
CREATE TABLE file_deletions (
    key             TEXT PRIMARY KEY NOT NULL,
    enqueued_at     TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT
) STRICT, WITHOUT ROWID;

-- The worker takes the due rows, oldest first.
CREATE INDEX file_deletions_due ON file_deletions(next_attempt_at);
