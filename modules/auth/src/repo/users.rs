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

pub fn user_by_email(conn: &Connection, email: &str) -> Result<Option<UserRow>, StorageError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([email], user_from_row)
        .optional()?)
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
    password_hash: &str,
    now: &str,
) -> Result<String, StorageError> {
    let id: String = conn
        .prepare_cached(
            "INSERT INTO users (id, email, password_hash, is_admin, created_at, updated_at)
             VALUES (?1, ?2, ?3, 1, ?4, ?4)
             ON CONFLICT (email) DO UPDATE SET
                password_hash = excluded.password_hash, is_admin = 1, disabled = 0,
                updated_at = excluded.updated_at
             RETURNING id",
        )?
        .query_row(params![new_id, email, password_hash, now], |r| r.get(0))?;
    if id != new_id {
        revoke_credentials(conn, &id, now)?;
    }
    Ok(id)
}

pub fn insert_user(
    conn: &Connection,
    id: &str,
    email: &str,
    password_hash: &str,
    roles: &[String],
    now: &str,
) -> Result<(), StorageError> {
    conn.prepare_cached(
        "INSERT INTO users (id, email, password_hash, roles, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
    )?
    .execute(params![
        id,
        email,
        password_hash,
        serde_json::to_string(roles).unwrap_or_else(|_| "[]".into()),
        now
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
    pub email: Option<String>,
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
    Ok(conn
        .prepare_cached(
            "UPDATE users SET email = coalesce(?2, email), password_hash = coalesce(?3, password_hash),
                 roles = coalesce(?4, roles), is_admin = coalesce(?5, is_admin),
                 disabled = coalesce(?6, disabled), updated_at = ?7
             WHERE id = ?1",
        )?
        .execute(params![id, c.email, c.password_hash, roles, c.is_admin, c.disabled, now])?
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
