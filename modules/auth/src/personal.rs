//! Personal API tokens: named, scoped, optionally expiring; the secret is shown once.
//! A token never outgrows its creator: creating or revoking one needs an interactive
//! login or a token with the `tokens` scope, a new token's scopes are a subset of the
//! creator's and it expires no later than the creating token, and an account holds at
//! most [`MAX_LIVE_TOKENS`] live ones.

use crate::error::AuthError;
use crate::repo::{self, PersonalToken};
use crate::service::{AuthService, Ctx};
use crate::token;
use kernel::{clock, ids, Credential, FieldCode, Principal, Scope};

/// Live (unrevoked, unexpired) personal tokens one account may hold.
pub const MAX_LIVE_TOKENS: i64 = 100;
/// The largest page of `GET /auth/tokens`; also what the dashboard asks for, which is
/// more than an account can hold, so it always shows every live token.
pub const MAX_PAGE: u32 = 200;

/// A new token and its secret (returned once, never stored).
pub struct CreatedToken {
    pub token: PersonalToken,
    pub secret: String,
}

/// One page of the caller's live tokens, newest first.
pub struct TokenPage {
    pub items: Vec<PersonalToken>,
    /// Pass as `cursor` for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

fn may_manage(caller: &Principal) -> Result<(), AuthError> {
    if caller.may_manage_tokens() {
        Ok(())
    } else {
        Err(AuthError::Forbidden(
            "creating or revoking tokens needs a login session or a token with the `tokens` scope"
                .into(),
        ))
    }
}

impl AuthService {
    /// Newest first; `cursor` is the `next_cursor` of the previous page.
    pub async fn list_tokens(
        &self,
        caller: &Principal,
        limit: u32,
        cursor: Option<String>,
    ) -> Result<TokenPage, AuthError> {
        if let Some(c) = &cursor {
            if !ids::is_uuid(c) {
                return Err(AuthError::BadQuery(
                    "cursor: not a cursor this server handed out".into(),
                ));
            }
        }
        let limit = limit.clamp(1, MAX_PAGE);
        let user = caller.user_id.clone();
        let mut items = self
            .db
            .read(move |conn| {
                repo::list_personal(conn, &user, &clock::now(), limit + 1, cursor.as_deref())
                    .map_err(AuthError::from)
            })
            .await?;
        let next_cursor = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|t| t.id.clone())
        } else {
            None
        };
        Ok(TokenPage { items, next_cursor })
    }

    /// A token can carry only scopes the caller's own token has (no escalation), and
    /// `admin` only for admins; it expires no later than the caller's own personal token.
    pub async fn create_token(
        &self,
        caller: &Principal,
        name: &str,
        scopes: &[String],
        expires_at: Option<&str>,
        ctx: &Ctx,
    ) -> Result<CreatedToken, AuthError> {
        may_manage(caller)?;
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
                        "must be read, write, admin or tokens",
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
        check_expiry_within(caller, expires_at.as_deref())?;
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
                // Counted in the writer's transaction, so concurrent creations cannot
                // both take the last place.
                if repo::count_live_personal(conn, &user_id, &now)? >= MAX_LIVE_TOKENS {
                    return Err(AuthError::TokenLimit(MAX_LIVE_TOKENS));
                }
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
        may_manage(caller)?;
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

/// A personal token that expires may only create tokens that expire no later.
fn check_expiry_within(caller: &Principal, expires_at: Option<&str>) -> Result<(), AuthError> {
    let Credential::Personal {
        expires_at: Some(limit),
    } = &caller.credential
    else {
        return Ok(());
    };
    match expires_at {
        Some(e) if e <= limit.as_str() => Ok(()),
        Some(_) => Err(AuthError::invalid(
            "expires_at",
            FieldCode::Invalid,
            &format!("must be no later than {limit}, when the token creating it expires"),
        )),
        None => Err(AuthError::invalid(
            "expires_at",
            FieldCode::Required,
            &format!("the token creating it expires at {limit}; give an expiry no later than that"),
        )),
    }
}
