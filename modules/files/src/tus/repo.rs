//! The `uploads` table (`migrations/0011_uploads.sql`): every statement about it.

use rusqlite::{params, Connection, OptionalExtension, Row as SqlRow};
use std::collections::BTreeMap;

/// SQLite's clock in the stored format (`kernel::clock`'s).
const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

/// One upload as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Row {
    pub id: String,
    pub owner_id: String,
    pub length: u64,
    pub offset: u64,
    pub metadata: BTreeMap<String, String>,
    pub created_at: String,
    pub expires_at: String,
    pub finished_at: Option<String>,
    pub sha256: Option<String>,
}

impl Row {
    pub fn is_finished(&self) -> bool {
        self.finished_at.is_some()
    }

    /// Past its expiry (by the stored clock's text order).
    pub fn is_expired(&self, now: &str) -> bool {
        self.expires_at.as_str() <= now
    }
}

const COLUMNS: &str = "id, owner_id, upload_length, upload_offset, metadata, created_at, expires_at, finished_at, sha256";

fn read_row(r: &SqlRow<'_>) -> rusqlite::Result<Row> {
    let metadata: String = r.get(4)?;
    Ok(Row {
        id: r.get(0)?,
        owner_id: r.get(1)?,
        length: r.get::<_, i64>(2)?.try_into().unwrap_or(0),
        offset: r.get::<_, i64>(3)?.try_into().unwrap_or(0),
        // Written by `insert` from a map of strings; anything else is no metadata.
        metadata: serde_json::from_str(&metadata).unwrap_or_default(),
        created_at: r.get(5)?,
        expires_at: r.get(6)?,
        finished_at: r.get(7)?,
        sha256: r.get(8)?,
    })
}

fn sql_u64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(crate) fn insert(conn: &Connection, row: &Row) -> rusqlite::Result<()> {
    let metadata = serde_json::to_string(&row.metadata).unwrap_or_else(|_| "{}".into());
    conn.prepare_cached(&format!(
        "INSERT INTO uploads ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
    ))?
    .execute(params![
        row.id,
        row.owner_id,
        sql_u64(row.length),
        sql_u64(row.offset),
        metadata,
        row.created_at,
        row.expires_at,
        row.finished_at,
        row.sha256,
    ])?;
    Ok(())
}

pub(crate) fn get(conn: &Connection, id: &str) -> rusqlite::Result<Option<Row>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM uploads WHERE id = ?1"))?
        .query_row([id], read_row)
        .optional()
}

/// The acknowledged offset and the new expiry; with `sha256`, the upload is finished.
pub(crate) fn advance(
    conn: &Connection,
    id: &str,
    offset: u64,
    expires_at: &str,
    sha256: Option<&str>,
) -> rusqlite::Result<()> {
    conn.prepare_cached(&format!(
        "UPDATE uploads SET upload_offset = ?2, expires_at = ?3, sha256 = ?4,
             finished_at = CASE WHEN ?4 IS NULL THEN NULL ELSE {NOW} END
         WHERE id = ?1"
    ))?
    .execute(params![id, sql_u64(offset), expires_at, sha256])?;
    Ok(())
}

/// Removes the row; whether there was one.
pub(crate) fn delete(conn: &Connection, id: &str) -> rusqlite::Result<bool> {
    Ok(conn
        .prepare_cached("DELETE FROM uploads WHERE id = ?1")?
        .execute([id])?
        > 0)
}

/// Ids of uploads past their expiry, oldest first, at most `limit`.
pub(crate) fn expired(conn: &Connection, limit: usize) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT id FROM uploads WHERE expires_at <= {NOW} ORDER BY expires_at LIMIT ?1"
    ))?;
    let ids = stmt
        .query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| r.get(0))?
        .collect();
    ids
}

/// How many unfinished uploads `owner` has (expired ones not yet swept included).
pub(crate) fn unfinished_of(conn: &Connection, owner: &str) -> rusqlite::Result<u64> {
    conn.prepare_cached("SELECT count(*) FROM uploads WHERE owner_id = ?1 AND finished_at IS NULL")?
        .query_row([owner], |r| r.get::<_, i64>(0))
        .map(|n| u64::try_from(n).unwrap_or(0))
}

/// Whether an upload with this id exists (the staging sweep keeps its file).
pub(crate) fn exists(conn: &Connection, id: &str) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT 1 FROM uploads WHERE id = ?1")?
        .exists([id])
}

/// Removes the row if it is still expired (a PATCH may have just moved its expiry).
pub(crate) fn delete_if_expired(conn: &Connection, id: &str) -> rusqlite::Result<bool> {
    Ok(conn
        .prepare_cached(&format!(
            "DELETE FROM uploads WHERE id = ?1 AND expires_at <= {NOW}"
        ))?
        .execute([id])?
        > 0)
}
