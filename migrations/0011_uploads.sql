-- Resumable uploads by the tus 1.0 protocol (issue 17; owned by hearth-files,
-- modules/files/src/tus/). One row per upload; its bytes are staged in
-- `<data_dir>/uploads/<id>` until the upload is attached to a record (`Uploads::take`),
-- terminated (DELETE) or expired.
--
-- `upload_offset` is the acknowledged offset: a PATCH fsyncs the staged file before it
-- commits the new offset, so the file always holds at least that many durable bytes
-- (bytes past it, from a PATCH that never answered, are cut off when the upload is next
-- used). `metadata` is the decoded `Upload-Metadata`, a JSON object of strings.
-- `expires_at` moves with every PATCH (24 h after the last chunk by default) and, once
-- finished, counts from the finish: an upload never attached is removed too.
--
-- Times are `YYYY-MM-DDTHH:MM:SS.sssZ` (UTC, sort as text).
CREATE TABLE uploads (
    id             TEXT PRIMARY KEY NOT NULL,
    owner_id       TEXT NOT NULL,
    upload_length  INTEGER NOT NULL CHECK (upload_length >= 0),
    upload_offset  INTEGER NOT NULL DEFAULT 0 CHECK (upload_offset BETWEEN 0 AND upload_length),
    metadata       TEXT NOT NULL DEFAULT '{}',
    created_at     TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    finished_at    TEXT,
    -- SHA-256 of the whole file, lowercase hex, set when the last byte arrived.
    sha256         TEXT,
    CHECK ((finished_at IS NULL) = (sha256 IS NULL))
) STRICT, WITHOUT ROWID;

-- The expiry sweep takes the rows past their time.
CREATE INDEX uploads_expiry ON uploads(expires_at);
-- Creation counts the owner's unfinished uploads (a cap per user).
CREATE INDEX uploads_owner ON uploads(owner_id) WHERE finished_at IS NULL;
