//! SQL for the `users` and `tokens` tables. Nothing outside this file writes them.

use kernel::{Principal, Scope};
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
}

const USER_COLUMNS: &str =
    "id, email, password_hash, is_admin, roles, disabled, created_at, updated_at";

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
/// with the new password. A reset revokes every session the account had.
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
    conn.prepare_cached(
        "UPDATE tokens SET revoked_at = ?2
         WHERE user_id = ?1 AND kind IN ('access', 'refresh') AND revoked_at IS NULL",
    )?
    .execute(params![id, now])?;
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

pub struct NewToken<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub kind: &'a str,
    pub digest: &'a [u8],
    pub scopes: &'a [Scope],
    pub family: Option<&'a str>,
    pub expires_at: Option<&'a str>,
    pub created_at: &'a str,
}

pub fn insert_token(conn: &Connection, t: &NewToken<'_>) -> Result<(), StorageError> {
    let scopes: Vec<&str> = t.scopes.iter().map(|s| s.as_str()).collect();
    conn.prepare_cached(
        "INSERT INTO tokens (id, user_id, kind, digest, scopes, family, expires_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        t.id,
        t.user_id,
        t.kind,
        t.digest,
        serde_json::to_string(&scopes).unwrap_or_else(|_| "[]".into()),
        t.family,
        t.expires_at,
        t.created_at,
    ])?;
    Ok(())
}

/// The principal behind a live access or personal token of an enabled user.
pub fn principal_for_digest(
    conn: &Connection,
    digest: &[u8],
    now: &str,
) -> Result<Option<Principal>, StorageError> {
    let found = conn
        .prepare_cached(
            "SELECT u.id, u.email, u.is_admin, u.roles, t.scopes
             FROM tokens t JOIN users u ON u.id = t.user_id
             WHERE t.digest = ?1 AND t.kind IN ('access', 'personal')
               AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?2)
               AND u.disabled = 0",
        )?
        .query_row(params![digest, now], |r| {
            let roles: String = r.get(3)?;
            let scopes: String = r.get(4)?;
            Ok(Principal {
                user_id: r.get(0)?,
                email: r.get(1)?,
                is_admin: r.get(2)?,
                roles: serde_json::from_str(&roles).unwrap_or_default(),
                scopes: serde_json::from_str::<Vec<String>>(&scopes)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|s| Scope::parse(s))
                    .collect(),
            })
        })
        .optional()?;
    Ok(found)
}
