-- The durable change feed (issue 16): one row per record created, updated or deleted,
-- and per collection definition change, appended by triggers on every record table
-- (`hearth-feed`'s `trigger_sql`) or by the schema change itself, in the same
-- transaction as the change. Realtime streams (and later webhooks and replication)
-- read it in `seq` order.
--
-- `seq` is the rowid: strictly increasing and never reused, without AUTOINCREMENT
-- (whose `sqlite_sequence` row would be rewritten by every insert). SQLite gives a new
-- row max(rowid) + 1, so reuse could only follow deleting the newest row; pruning
-- (`Feed`'s pruner) deletes from the oldest end and never the newest row, so max(seq)
-- never decreases, across restarts too. Rows are therefore contiguous from the oldest
-- to the newest, which lets the pruner count them without a scan.
--
-- `data`: the record as JSON (after the change for created/updated, before it for
-- deleted), or for `schema` a JSON description of the change. `at`: when the change
-- was written, `YYYY-MM-DDTHH:MM:SS.sssZ` (UTC, sorts as text).
CREATE TABLE changes (
    seq        INTEGER PRIMARY KEY,
    collection TEXT NOT NULL,
    record_id  TEXT,
    kind       TEXT NOT NULL CHECK (kind IN ('created', 'updated', 'deleted', 'schema')),
    owner      TEXT,
    data       TEXT,
    at         TEXT NOT NULL
);
