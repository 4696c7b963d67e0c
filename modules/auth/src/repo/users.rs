//! SQL for the `users` table.

use rusqlite::{params, Connection, OptionalExtension, Row};
use storage::StorageError;

#[derive(Clone, Debug)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    pub is_admin: bool,
    pub roles: Vec<String>,
    pub disabled: bool,
    pub created_at: String,
    pub updated_at: String,
    /// Unix ms of the last password reset or change, disabling or recovery (0: never).
    pub credentials_changed_ms: i64,
}

const USER_COLUMNS: &str = "id, email, password_hash, is_admin, roles, disabled, created_at, \
     updated_at, credentials_changed_ms";

fn user_from_row(row: &Row<'_>) -> rusqlite::Result<UserRow> {
    let roles: String = row.get(4)?;
    Ok(UserRow {
        id: row.get(0)?,
        email: row.get(1)?,
        password_hash: row.get(2)?,
        is_admin: row.get(3)?,
        roles: serde_json::from_str(&roles).unwrap_or_default(),
        disabled: row.get(5)?,
        created_at: row.get(6)?,
        updated_at: row.get(7)?,
        credentials_changed_ms: row.get(8)?,
    })
}

/// The account whose email has this key (see `emails::email_key`).
pub fn user_by_email_key(conn: &Connection, key: &str) -> Result<Option<UserRow>, StorageError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email_key = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([key], user_from_row)
        .optional()?)
}

pub fn user_id_by_email_key(conn: &Connection, key: &str) -> Result<Option<String>, StorageError> {
    Ok(conn
        .prepare_cached("SELECT id FROM users WHERE email_key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

/// Accounts the key migration could not key in SQL (addresses beyond ASCII).
pub fn users_without_email_key(conn: &Connection) -> Result<Vec<(String, String)>, StorageError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, email FROM users WHERE email_key IS NULL ORDER BY created_at, id",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn set_email_key(conn: &Connection, id: &str, key: &str) -> Result<(), StorageError> {
    conn.prepare_cached("UPDATE users SET email_key = ?2 WHERE id = ?1")?
        .execute(params![id, key])?;
    Ok(())
}

pub fn user_by_id(conn: &Connection, id: &str) -> Result<Option<UserRow>, StorageError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id], user_from_row)
        .optional()?)
}

pub fn admin_exists(conn: &Connection) -> Result<bool, StorageError> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM users WHERE is_admin = 1 AND disabled = 0)")?
        .query_row([], |r| r.get(0))?)
}

/// Creates the admin, or makes an existing account with that email an enabled admin
/// with the new password. A reset revokes every credential the account had (see
/// [`revoke_credentials`]).
pub fn upsert_admin(
    conn: &Connection,
    new_id: &str,
    email: &str,
    email_key: &str,
    password_hash: &str,
    now: &str,
) -> Result<String, StorageError> {
    if let Some(id) = user_id_by_email_key(conn, email_key)? {
        conn.prepare_cached(
            "UPDATE users SET password_hash = ?2, is_admin = 1, disabled = 0, updated_at = ?3
             WHERE id = ?1",
        )?
        .execute(params![id, password_hash, now])?;
        revoke_credentials(conn, &id, now)?;
        return Ok(id);
    }
    insert_user(conn, new_id, email, email_key, password_hash, &[], now)?;
    conn.prepare_cached("UPDATE users SET is_admin = 1 WHERE id = ?1")?
        .execute([new_id])?;
    Ok(new_id.to_owned())
}

pub fn insert_user(
    conn: &Connection,
    id: &str,
    email: &str,
    email_key: &str,
    password_hash: &str,
    roles: &[String],
    now: &str,
) -> Result<(), StorageError> {
    conn.prepare_cached(
        "INSERT INTO users (id, email, email_key, password_hash, roles, created_at, updated_at)
         VALUES (?1, ?2, ?6, ?3, ?4, ?5, ?5)",
    )?
    .execute(params![
        id,
        email,
        password_hash,
        serde_json::to_string(roles).unwrap_or_else(|_| "[]".into()),
        now,
        email_key
    ])?;
    Ok(())
}

pub fn list_users(
    conn: &Connection,
    limit: u32,
    offset: u64,
) -> Result<(Vec<UserRow>, i64), StorageError> {
    let sql =
        format!("SELECT {USER_COLUMNS} FROM users ORDER BY created_at, id LIMIT ?1 OFFSET ?2");
    let rows = conn
        .prepare_cached(&sql)?
        .query_map(params![limit, offset as i64], user_from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    let total = conn
        .prepare_cached("SELECT count(*) FROM users")?
        .query_row([], |r| r.get(0))?;
    Ok((rows, total))
}

/// Changes to a user; `None` leaves a column as it is.
#[derive(Default)]
pub struct UserChanges {
    /// The address as shown, and its key (both or neither).
    pub email: Option<(String, String)>,
    pub password_hash: Option<String>,
    pub roles: Option<Vec<String>>,
    pub is_admin: Option<bool>,
    pub disabled: Option<bool>,
}

pub fn update_user(
    conn: &Connection,
    id: &str,
    c: &UserChanges,
    now: &str,
) -> Result<bool, StorageError> {
    let roles = c
        .roles
        .as_ref()
        .map(|r| serde_json::to_string(r).unwrap_or_else(|_| "[]".into()));
    let (email, key) = match &c.email {
        Some((email, key)) => (Some(email), Some(key)),
        None => (None, None),
    };
    Ok(conn
        .prepare_cached(
            "UPDATE users SET email = coalesce(?2, email), password_hash = coalesce(?3, password_hash),
                 roles = coalesce(?4, roles), is_admin = coalesce(?5, is_admin),
                 disabled = coalesce(?6, disabled), updated_at = ?7,
                 email_key = coalesce(?8, email_key)
             WHERE id = ?1",
        )?
        .execute(params![id, email, c.password_hash, roles, c.is_admin, c.disabled, now, key])?
        > 0)
}

pub fn delete_user(conn: &Connection, id: &str) -> Result<bool, StorageError> {
    Ok(conn
        .prepare_cached("DELETE FROM users WHERE id = ?1")?
        .execute([id])?
        > 0)
}

/// Enabled admins other than `id` (so the last one cannot lock everyone out).
pub fn other_admins(conn: &Connection, id: &str) -> Result<i64, StorageError> {
    Ok(conn
        .prepare_cached(
            "SELECT count(*) FROM users WHERE is_admin = 1 AND disabled = 0 AND id != ?1",
        )?
        .query_row([id], |r| r.get(0))?)
}

/// After a password reset or change, disabling or recovery: revokes every token of the
/// user (access, refresh and personal) and records the moment, which ends every
/// dashboard session started before it.
pub fn revoke_credentials(conn: &Connection, user_id: &str, now: &str) -> Result<(), StorageError> {
    super::revoke_user(conn, user_id, now)?;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    conn.prepare_cached(
        "UPDATE users SET credentials_changed_ms = max(?2, credentials_changed_ms + 1) WHERE id = ?1",
    )?
    .execute(params![user_id, now_ms])?;
    Ok(())
}
