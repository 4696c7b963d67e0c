//! Refresh-token rotation and logout. A refresh token works once: using it revokes it
//! and issues a new pair in the same family. Presenting an already-rotated refresh
//! token means it was copied, so the whole family (every token of that login) is
//! revoked. A refresh also revokes the access token it replaces: a login holds one live
//! access token at a time, so a leaked one dies with the next refresh.

use crate::error::AuthError;
use crate::service::{AuthService, Ctx, Session, User};
use crate::{repo, token};
use kernel::{clock, Principal};

enum Refresh {
    Rotated {
        user_id: String,
        family: Option<String>,
    },
    Reused {
        user_id: String,
        family: String,
    },
    Invalid,
}

impl AuthService {
    pub async fn refresh(&self, refresh_token: &str, ctx: &Ctx) -> Result<Session, AuthError> {
        if !token::looks_valid(refresh_token) {
            return Err(AuthError::InvalidToken);
        }
        let digest = token::digest(refresh_token);
        let outcome = self
            .db
            .write(move |conn| {
                let now = clock::now();
                let Some(row) = repo::refresh_by_digest(conn, &digest)? else {
                    return Ok(Refresh::Invalid);
                };
                if row.revoked {
                    return Ok(match row.family {
                        Some(family) => {
                            repo::revoke_family(conn, &family, &now)?;
                            Refresh::Reused {
                                user_id: row.user_id,
                                family,
                            }
                        }
                        None => Refresh::Invalid,
                    });
                }
                if row.expires_at.as_deref().is_some_and(|e| e <= now.as_str()) {
                    return Ok(Refresh::Invalid);
                }
                repo::revoke_token(conn, &row.id, &now)?;
                if let Some(family) = &row.family {
                    repo::revoke_family_access(conn, family, &now)?;
                }
                Ok::<_, AuthError>(Refresh::Rotated {
                    user_id: row.user_id,
                    family: row.family,
                })
            })
            .await?;
        match outcome {
            Refresh::Rotated { user_id, family } => {
                if let Some(f) = &family {
                    self.cache.forget_family(f);
                }
                let user: User = self.user(&user_id).await?;
                if user.disabled {
                    return Err(AuthError::InvalidToken);
                }
                self.issue_session(user, family).await
            }
            Refresh::Reused { user_id, family } => {
                self.cache.forget_family(&family);
                let mut event = ctx.event("token.refresh_reused").target(user_id.clone());
                event.actor_id = Some(user_id);
                self.audit(event);
                Err(AuthError::InvalidToken)
            }
            Refresh::Invalid => Err(AuthError::InvalidToken),
        }
    }

    /// Revokes the presented token; for a login session, every token of that login.
    pub async fn logout(
        &self,
        principal: &Principal,
        bearer: &str,
        ctx: &Ctx,
    ) -> Result<(), AuthError> {
        let digest = token::digest(bearer);
        let family = self
            .db
            .write(move |conn| {
                let now = clock::now();
                let Some((id, family)) = repo::family_of(conn, &digest)? else {
                    return Ok(None);
                };
                match &family {
                    Some(f) => repo::revoke_family(conn, f, &now)?,
                    None => repo::revoke_token(conn, &id, &now)? as usize,
                };
                Ok::<_, AuthError>(Some((id, family)))
            })
            .await?;
        if let Some((id, family)) = family {
            self.cache.forget_token(&id);
            if let Some(f) = family {
                self.cache.forget_family(&f);
            }
        }
        self.audit(ctx.event("logout").by(principal));
        Ok(())
    }
}
