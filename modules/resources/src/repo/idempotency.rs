//! Stored responses for `Idempotency-Key` (API.md section 5): a retry with the same key
//! and body within 24 h gets the first response; the same key with another body, 422.

use crate::error::ResourceError;
use rusqlite::{params, Connection, OptionalExtension};

pub const TTL_SECS: u64 = 24 * 3600;

#[derive(Clone, Debug, PartialEq)]
pub struct StoredResponse {
    pub status: u16,
    pub location: Option<String>,
    pub etag: Option<String>,
    pub body: Vec<u8>,
}

/// The stored response for (scope, key), if one exists and has not expired.
/// `Err(IdempotencyMismatch)` when the key was used for a different request.
pub fn lookup(
    conn: &Connection,
    scope: &str,
    key: &str,
    request_hash: &[u8],
    now: &str,
) -> Result<Option<StoredResponse>, ResourceError> {
    let row = conn
        .prepare_cached(
            "SELECT request_hash, status, location, etag, body FROM idempotency_keys
             WHERE scope = ?1 AND key = ?2 AND expires_at > ?3",
        )?
        .query_row(params![scope, key, now], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                StoredResponse {
                    status: r.get(1)?,
                    location: r.get(2)?,
                    etag: r.get(3)?,
                    body: r.get(4)?,
                },
            ))
        })
        .optional()?;
    match row {
        Some((hash, _)) if hash != request_hash => Err(ResourceError::IdempotencyMismatch),
        Some((_, stored)) => Ok(Some(stored)),
        None => Ok(None),
    }
}

pub fn store(
    conn: &Connection,
    scope: &str,
    key: &str,
    request_hash: &[u8],
    response: &StoredResponse,
    now: &str,
    expires_at: &str,
) -> Result<(), ResourceError> {
    // Expired entries go when their key comes back or in small slices here, so the
    // table never needs a sweep of its own.
    conn.prepare_cached(
        "DELETE FROM idempotency_keys WHERE (scope, key) IN
           (SELECT scope, key FROM idempotency_keys WHERE expires_at <= ?1 LIMIT 16)",
    )?
    .execute([now])?;
    conn.prepare_cached(
        "INSERT OR REPLACE INTO idempotency_keys (scope, key, request_hash, status, location, etag, body, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![scope, key, request_hash, response.status, response.location, response.etag, response.body, expires_at])?;
    Ok(())
}
