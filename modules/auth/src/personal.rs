//! Personal API tokens: named, scoped, optionally expiring; the secret is shown once.

use crate::error::AuthError;
use crate::repo::{self, PersonalToken};
use crate::service::{AuthService, Ctx};
use crate::token;
use kernel::{clock, ids, FieldCode, Principal, Scope};

/// A new token and its secret (returned once, never stored).
pub struct CreatedToken {
    pub token: PersonalToken,
    pub secret: String,
}

impl AuthService {
    pub async fn list_tokens(&self, caller: &Principal) -> Result<Vec<PersonalToken>, AuthError> {
        let user = caller.user_id.clone();
        self.db
            .read(move |conn| {
                repo::list_personal(conn, &user, &clock::now()).map_err(AuthError::from)
            })
            .await
    }

    /// A token can carry only scopes the caller's own token has (no escalation), and
    /// `admin` only for admins.
    pub async fn create_token(
        &self,
        caller: &Principal,
        name: &str,
        scopes: &[String],
        expires_at: Option<&str>,
        ctx: &Ctx,
    ) -> Result<CreatedToken, AuthError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AuthError::invalid(
                "name",
                FieldCode::Invalid,
                "must be 1 to 100 characters",
            ));
        }
        let mut parsed = Vec::new();
        for (i, s) in scopes.iter().enumerate() {
            match Scope::parse(s) {
                Some(scope) if !parsed.contains(&scope) => parsed.push(scope),
                Some(_) => {}
                None => {
                    return Err(AuthError::invalid(
                        &format!("scopes[{i}]"),
                        FieldCode::NotInEnum,
                        "must be read, write or admin",
                    ))
                }
            }
        }
        if parsed.is_empty() {
            return Err(AuthError::invalid(
                "scopes",
                FieldCode::Required,
                "at least one scope",
            ));
        }
        if parsed.contains(&Scope::Admin) && !caller.is_admin {
            return Err(AuthError::Forbidden(
                "only admins can create tokens with the admin scope".into(),
            ));
        }
        if let Some(missing) = parsed.iter().find(|s| !caller.has_scope(**s)) {
            return Err(AuthError::Forbidden(format!(
                "your token lacks the `{}` scope it would grant",
                missing.as_str()
            )));
        }
        let expires_at = match expires_at {
            None => None,
            Some(e) => {
                let t =
                    time::OffsetDateTime::parse(e, &time::format_description::well_known::Rfc3339)
                        .map_err(|_| {
                            AuthError::invalid(
                                "expires_at",
                                FieldCode::InvalidDatetime,
                                "must be an RFC 3339 date-time",
                            )
                        })?;
                let normalized = clock::format(t);
                if normalized <= clock::now() {
                    return Err(AuthError::invalid(
                        "expires_at",
                        FieldCode::Invalid,
                        "must be in the future",
                    ));
                }
                Some(normalized)
            }
        };
        let secret = token::generate();
        let digest = token::digest(&secret);
        let id = ids::new_id();
        let user_id = caller.user_id.clone();
        let name = name.to_owned();
        let (tid, tname, texp, tscopes) =
            (id.clone(), name.clone(), expires_at.clone(), parsed.clone());
        let created_at = self
            .db
            .write(move |conn| {
                let now = clock::now();
                repo::insert_personal(
                    conn,
                    &repo::NewToken {
                        id: &tid,
                        user_id: &user_id,
                        kind: "personal",
                        digest: &digest,
                        scopes: &tscopes,
                        family: None,
                        expires_at: texp.as_deref(),
                        created_at: &now,
                    },
                    &tname,
                )?;
                Ok::<_, AuthError>(now)
            })
            .await?;
        self.audit(
            ctx.event("token.created")
                .by(caller)
                .target(id.clone())
                .detail(serde_json::json!({"name": name})),
        );
        Ok(CreatedToken {
            token: PersonalToken {
                id,
                name,
                scopes: parsed.iter().map(|s| s.as_str().to_owned()).collect(),
                expires_at,
                created_at,
            },
            secret,
        })
    }

    pub async fn revoke_personal_token(
        &self,
        caller: &Principal,
        id: &str,
        ctx: &Ctx,
    ) -> Result<(), AuthError> {
        let (user, token_id) = (caller.user_id.clone(), id.to_owned());
        let revoked = self
            .db
            .write(move |conn| {
                repo::revoke_personal(conn, &user, &token_id, &clock::now())
                    .map_err(AuthError::from)
            })
            .await?;
        if !revoked {
            return Err(AuthError::TokenNotFound);
        }
        self.cache.forget_token(id);
        self.audit(ctx.event("token.revoked").by(caller).target(id));
        Ok(())
    }
}
