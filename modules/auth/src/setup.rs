//! First-run setup: with no admin yet, `hearth serve` prints a URL carrying a one-time
//! token (1 hour) with which the first admin is created, once.

use crate::error::AuthError;
use crate::service::{AuthService, Ctx, Session};
use crate::token;
use std::time::{Duration, Instant};

const LIFETIME: Duration = Duration::from_secs(3600);

pub struct SetupToken {
    digest: Vec<u8>,
    issued: Instant,
}

/// Compares two digests in time independent of where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl AuthService {
    /// A new setup token (replacing any earlier one), or `None` when an admin exists.
    pub async fn issue_setup_token(&self) -> Result<Option<String>, AuthError> {
        if self.has_admin().await? {
            return Ok(None);
        }
        let secret = token::generate();
        *self.setup.lock().unwrap_or_else(|e| e.into_inner()) = Some(SetupToken {
            digest: token::digest(&secret),
            issued: Instant::now(),
        });
        Ok(Some(secret))
    }

    /// Whether `secret` is the live setup token (for the dashboard to show its form).
    pub fn setup_token_valid(&self, secret: &str) -> bool {
        let guard = self.setup.lock().unwrap_or_else(|e| e.into_inner());
        guard.as_ref().is_some_and(|t| {
            t.issued.elapsed() < LIFETIME && same(&t.digest, &token::digest(secret))
        })
    }

    /// Creates the first admin with the setup token, which is used up, and logs them in.
    pub async fn complete_setup(
        &self,
        secret: &str,
        email: &str,
        password: &str,
        ctx: &Ctx,
    ) -> Result<Session, AuthError> {
        {
            let mut guard = self.setup.lock().unwrap_or_else(|e| e.into_inner());
            let valid = guard.as_ref().is_some_and(|t| {
                t.issued.elapsed() < LIFETIME && same(&t.digest, &token::digest(secret))
            });
            if !valid {
                return Err(AuthError::InvalidToken);
            }
            // Used up now, before the slow part, so two requests cannot both use it.
            *guard = None;
        }
        if self.has_admin().await? {
            return Err(AuthError::Conflict("an admin already exists".into()));
        }
        let user = self.insert_user(email, password, Vec::new(), true).await?;
        let mut event = ctx.event("setup.completed").target(user.id.clone());
        event.actor_id = Some(user.id.clone());
        event.actor_email = Some(user.email.clone());
        self.audit(event);
        self.issue_session(user, None).await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn constant_time_compare() {
        assert!(super::same(b"abc", b"abc"));
        assert!(!super::same(b"abc", b"abd"));
        assert!(!super::same(b"abc", b"ab"));
    }
}
