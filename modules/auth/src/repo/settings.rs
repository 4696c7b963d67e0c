//! SQL for `settings`: JSON values by key.

use rusqlite::{params, Connection, OptionalExtension};
use storage::StorageError;

pub fn get(conn: &Connection, key: &str) -> Result<Option<serde_json::Value>, StorageError> {
    let text: Option<String> = conn
        .prepare_cached("SELECT value FROM settings WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?;
    Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
}

pub fn put(
    conn: &Connection,
    key: &str,
    value: &serde_json::Value,
    now: &str,
) -> Result<(), StorageError> {
    conn.prepare_cached(
        "INSERT INTO settings (key, value, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    )?
    .execute(params![key, value.to_string(), now])?;
    Ok(())
}

/// Removes a stored value, so its configured default applies again.
pub fn delete(conn: &Connection, key: &str) -> Result<(), StorageError> {
    conn.prepare_cached("DELETE FROM settings WHERE key = ?1")?
        .execute([key])?;
    Ok(())
}
