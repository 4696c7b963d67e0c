//! SQL for the `tokens` table: only SHA-256 digests, never the secrets.

use kernel::{Credential, Principal, Scope};
use rusqlite::{params, Connection, OptionalExtension};
use storage::StorageError;

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

/// A live access or personal token of an enabled user, as the cache keeps it.
pub struct Verified {
    pub principal: Principal,
    pub token_id: String,
    pub family: Option<String>,
    pub expires_at: Option<String>,
}

fn scopes_from(json: &str) -> std::collections::BTreeSet<Scope> {
    serde_json::from_str::<Vec<String>>(json)
        .unwrap_or_default()
        .iter()
        .filter_map(|s| Scope::parse(s))
        .collect()
}

pub fn verify_digest(
    conn: &Connection,
    digest: &[u8],
    now: &str,
) -> Result<Option<Verified>, StorageError> {
    let found = conn
        .prepare_cached(
            "SELECT u.id, u.email, u.is_admin, u.roles, t.scopes, t.id, t.family, t.expires_at,
                    t.kind
             FROM tokens t JOIN users u ON u.id = t.user_id
             WHERE t.digest = ?1 AND t.kind IN ('access', 'personal')
               AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?2)
               AND u.disabled = 0",
        )?
        .query_row(params![digest, now], |r| {
            let roles: String = r.get(3)?;
            let scopes: String = r.get(4)?;
            let is_admin: bool = r.get(2)?;
            let mut scopes = scopes_from(&scopes);
            // The admin scope means nothing without the admin flag; drop it so the
            // principal never claims more than the user has.
            if !is_admin {
                scopes.remove(&Scope::Admin);
            }
            let expires_at: Option<String> = r.get(7)?;
            let kind: String = r.get(8)?;
            let credential = if kind == "personal" {
                Credential::Personal {
                    expires_at: expires_at.clone(),
                }
            } else {
                Credential::Session
            };
            Ok(Verified {
                principal: Principal {
                    user_id: r.get(0)?,
                    email: r.get(1)?,
                    is_admin,
                    roles: serde_json::from_str(&roles).unwrap_or_default(),
                    scopes,
                    credential,
                },
                token_id: r.get(5)?,
                family: r.get(6)?,
                expires_at,
            })
        })
        .optional()?;
    Ok(found)
}

/// A refresh token's row, live or not (reuse of a rotated one must be recognised).
pub struct RefreshRow {
    pub id: String,
    pub user_id: String,
    pub family: Option<String>,
    pub expires_at: Option<String>,
    pub revoked: bool,
}

pub fn refresh_by_digest(
    conn: &Connection,
    digest: &[u8],
) -> Result<Option<RefreshRow>, StorageError> {
    Ok(conn
        .prepare_cached(
            "SELECT id, user_id, family, expires_at, revoked_at IS NOT NULL FROM tokens
             WHERE digest = ?1 AND kind = 'refresh'",
        )?
        .query_row([digest], |r| {
            Ok(RefreshRow {
                id: r.get(0)?,
                user_id: r.get(1)?,
                family: r.get(2)?,
                expires_at: r.get(3)?,
                revoked: r.get(4)?,
            })
        })
        .optional()?)
}

/// The family of a live token (for logout), with its id.
pub fn family_of(
    conn: &Connection,
    digest: &[u8],
) -> Result<Option<(String, Option<String>)>, StorageError> {
    Ok(conn
        .prepare_cached("SELECT id, family FROM tokens WHERE digest = ?1 AND revoked_at IS NULL")?
        .query_row([digest], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

pub fn revoke_token(conn: &Connection, id: &str, now: &str) -> Result<bool, StorageError> {
    Ok(conn
        .prepare_cached("UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL")?
        .execute(params![id, now])?
        > 0)
}

pub fn revoke_family(conn: &Connection, family: &str, now: &str) -> Result<usize, StorageError> {
    Ok(conn
        .prepare_cached(
            "UPDATE tokens SET revoked_at = ?2 WHERE family = ?1 AND revoked_at IS NULL",
        )?
        .execute(params![family, now])?)
}

/// Revokes the live access tokens of a login (when its refresh token is used).
pub fn revoke_family_access(
    conn: &Connection,
    family: &str,
    now: &str,
) -> Result<usize, StorageError> {
    Ok(conn
        .prepare_cached(
            "UPDATE tokens SET revoked_at = ?2
             WHERE family = ?1 AND kind = 'access' AND revoked_at IS NULL",
        )?
        .execute(params![family, now])?)
}

/// Revokes every token of the user (all kinds, personal ones included).
pub fn revoke_user(conn: &Connection, user_id: &str, now: &str) -> Result<usize, StorageError> {
    Ok(conn
        .prepare_cached(
            "UPDATE tokens SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL",
        )?
        .execute(params![user_id, now])?)
}

/// A personal token as its owner sees it (never the secret).
#[derive(Clone, Debug)]
pub struct PersonalToken {
    pub id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub expires_at: Option<String>,
    pub created_at: String,
}

/// Live personal tokens of the user, newest first (ids are UUIDv7, so id order is
/// creation order), after the token `after` when given.
pub fn list_personal(
    conn: &Connection,
    user_id: &str,
    now: &str,
    limit: u32,
    after: Option<&str>,
) -> Result<Vec<PersonalToken>, StorageError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, name, scopes, expires_at, created_at FROM tokens
         WHERE user_id = ?1 AND kind = 'personal' AND revoked_at IS NULL
           AND (expires_at IS NULL OR expires_at > ?2) AND (?3 IS NULL OR id < ?3)
         ORDER BY id DESC LIMIT ?4",
    )?;
    let rows = stmt.query_map(params![user_id, now, after, limit], |r| {
        let scopes: String = r.get(2)?;
        Ok(PersonalToken {
            id: r.get(0)?,
            name: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
            scopes: serde_json::from_str(&scopes).unwrap_or_default(),
            expires_at: r.get(3)?,
            created_at: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn count_live_personal(
    conn: &Connection,
    user_id: &str,
    now: &str,
) -> Result<i64, StorageError> {
    Ok(conn
        .prepare_cached(
            "SELECT count(*) FROM tokens
             WHERE user_id = ?1 AND kind = 'personal' AND revoked_at IS NULL
               AND (expires_at IS NULL OR expires_at > ?2)",
        )?
        .query_row(params![user_id, now], |r| r.get(0))?)
}

pub fn insert_personal(
    conn: &Connection,
    t: &NewToken<'_>,
    name: &str,
) -> Result<(), StorageError> {
    insert_token(conn, t)?;
    conn.prepare_cached("UPDATE tokens SET name = ?2 WHERE id = ?1")?
        .execute(params![t.id, name])?;
    Ok(())
}

/// Revokes one of the user's own personal tokens; false if there is no such live token.
pub fn revoke_personal(
    conn: &Connection,
    user_id: &str,
    id: &str,
    now: &str,
) -> Result<bool, StorageError> {
    Ok(conn
        .prepare_cached(
            "UPDATE tokens SET revoked_at = ?3
             WHERE id = ?1 AND user_id = ?2 AND kind = 'personal' AND revoked_at IS NULL",
        )?
        .execute(params![id, user_id, now])?
        > 0)
}
