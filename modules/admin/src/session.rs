//! Dashboard sessions: a random cookie value whose SHA-256 digest is the key of a row
//! in `admin_sessions` (this module's table), with idle and absolute expiry and a CSRF
//! token tied to the session. The SQL for that table lives here and nowhere else.

use rand::distr::{Alphanumeric, SampleString};
use rusqlite::{params, OptionalExtension};
use sha2::{Digest, Sha256};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use storage::{Db, StorageError};

/// How long a session lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionLimits {
    /// Ends after this long without a request (give or take [`touch_interval`]).
    pub idle: Duration,
    /// Ends this long after login, however active.
    pub absolute: Duration,
}

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits {
            idle: Duration::from_secs(30 * 60),
            absolute: Duration::from_secs(8 * 3600),
        }
    }
}

/// A live session, as the middleware hands it to pages.
#[derive(Clone, Debug)]
pub struct SessionRow {
    pub digest: Vec<u8>,
    pub user_id: String,
    pub csrf: String,
    /// When the session began (Unix ms): a credential reset after it ends it.
    pub created_ms: i64,
}

pub fn random_secret() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), 43)
}

pub fn digest(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Compares in time independent of where the inputs differ.
pub fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// How stale "last seen" may get before a request writes it again: a minute, or a tenth
/// of the idle limit when that is shorter (so a session never ends more than 10% early).
pub fn touch_interval(limits: SessionLimits) -> Duration {
    (limits.idle / 10).min(Duration::from_secs(60))
}

#[derive(Clone)]
pub struct Sessions {
    db: Db,
    limits: SessionLimits,
}

impl Sessions {
    pub fn new(db: Db, limits: SessionLimits) -> Sessions {
        Sessions { db, limits }
    }

    /// A new session for `user_id`; every other session that cookie had is gone
    /// (`replacing`, the digest of the old cookie, is deleted: rotation at login).
    /// Returns the cookie secret.
    pub async fn create(
        &self,
        user_id: &str,
        replacing: Option<Vec<u8>>,
    ) -> Result<String, StorageError> {
        let secret = random_secret();
        let (key, csrf, user) = (digest(&secret), random_secret(), user_id.to_owned());
        let absolute = self.limits.absolute.as_millis() as i64;
        self.db
            .write(move |conn| {
                let now = now_ms();
                if let Some(old) = replacing {
                    conn.execute("DELETE FROM admin_sessions WHERE digest = ?1", [old])?;
                }
                // Expired rows of anyone are swept on each login.
                conn.execute(
                    "DELETE FROM admin_sessions WHERE created_ms < ?1",
                    [now - absolute],
                )?;
                conn.execute(
                    "INSERT INTO admin_sessions (digest, user_id, csrf, created_ms, seen_ms) \
                     VALUES (?1, ?2, ?3, ?4, ?4)",
                    params![key, user, csrf, now],
                )?;
                Ok::<_, StorageError>(())
            })
            .await?;
        Ok(secret)
    }

    /// The live session for a cookie secret, its idle clock restarted; expired sessions
    /// are deleted and answer `None`.
    ///
    /// A read first: an unknown cookie (a random one, or one long gone) costs no write
    /// job, so a flood of them cannot queue work in front of real writes. The idle clock
    /// ("last seen") is written only once it is [`touch_interval`] stale, so an active
    /// session costs one write a minute, not one per request; a session may therefore
    /// end up to that much before its idle limit.
    pub async fn touch(&self, secret: &str) -> Result<Option<SessionRow>, StorageError> {
        self.find(secret, true).await
    }

    /// The live session for a cookie secret, its idle clock left alone (expired sessions
    /// are still deleted): for checks made on the user's behalf without a request of
    /// theirs, such as a live page's stream, which must not keep an idle session alive.
    pub async fn lookup(&self, secret: &str) -> Result<Option<SessionRow>, StorageError> {
        self.find(secret, false).await
    }

    async fn find(
        &self,
        secret: &str,
        restart_idle: bool,
    ) -> Result<Option<SessionRow>, StorageError> {
        let key = digest(secret);
        let limits = self.limits;
        let lookup = key.clone();
        let row = self
            .db
            .read(move |conn| {
                conn.query_row(
                    "SELECT user_id, csrf, created_ms, seen_ms FROM admin_sessions \
                     WHERE digest = ?1",
                    [&lookup],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, i64>(2)?,
                            r.get::<_, i64>(3)?,
                        ))
                    },
                )
                .optional()
                .map_err(StorageError::from)
            })
            .await?;
        let Some((user_id, csrf, created, seen)) = row else {
            return Ok(None);
        };
        let now = now_ms();
        let idle = limits.idle.as_millis() as i64;
        let absolute = limits.absolute.as_millis() as i64;
        if now - seen >= idle || now - created >= absolute {
            self.revoke(key).await?;
            return Ok(None);
        }
        if restart_idle && now - seen >= touch_interval(limits).as_millis() as i64 {
            let touched = key.clone();
            self.db
                .write(move |conn| {
                    // Never moves the clock back (a concurrent request may have been later).
                    conn.execute(
                        "UPDATE admin_sessions SET seen_ms = MAX(seen_ms, ?2) WHERE digest = ?1",
                        params![touched, now],
                    )?;
                    Ok::<_, StorageError>(())
                })
                .await?;
        }
        Ok(Some(SessionRow {
            digest: key,
            user_id,
            csrf,
            created_ms: created,
        }))
    }

    /// Ends every session of `user_id` that began at or before `up_to_ms` (their
    /// credentials were reset then; sessions begun with the new password stay).
    pub async fn revoke_all(&self, user_id: &str, up_to_ms: i64) -> Result<(), StorageError> {
        let user = user_id.to_owned();
        self.db
            .write(move |conn| {
                conn.execute(
                    "DELETE FROM admin_sessions WHERE user_id = ?1 AND created_ms <= ?2",
                    params![user, up_to_ms],
                )?;
                Ok::<_, StorageError>(())
            })
            .await
    }

    pub async fn revoke(&self, digest: Vec<u8>) -> Result<(), StorageError> {
        self.db
            .write(move |conn| {
                conn.execute("DELETE FROM admin_sessions WHERE digest = ?1", [digest])?;
                Ok::<_, StorageError>(())
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_seen_is_written_at_most_once_a_minute() {
        assert_eq!(
            touch_interval(SessionLimits::default()),
            Duration::from_secs(60)
        );
        let short = SessionLimits {
            idle: Duration::from_secs(5),
            absolute: Duration::from_secs(60),
        };
        assert_eq!(touch_interval(short), Duration::from_millis(500));
    }
}
