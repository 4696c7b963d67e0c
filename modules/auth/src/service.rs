//! The rules of authentication: accounts, logging in, checking tokens. No HTTP here
//! and no SQL strings (those live in `repo`). Sessions, personal tokens, user
//! management and the audit log extend `AuthService` in their own files.

use crate::cache::{Entry, TokenCache};
use crate::emails::{email_key, normalize_email};
use crate::error::AuthError;
use crate::password::{self, Passwords};
use crate::settings::{ConfiguredSettings, SettingsListener};
use crate::throttle::LoginThrottle;
use crate::{repo, token};
use kernel::{clock, ids, AuditEvent, FieldCode, Principal};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use storage::Db;

#[derive(Clone, Debug)]
pub struct AuthConfig {
    /// Lifetime of access tokens issued at login.
    pub access_ttl: Duration,
    /// Lifetime of refresh tokens issued at login.
    pub refresh_ttl: Duration,
    /// The configuration's CORS origins and rate limits: what applies until an admin
    /// stores other values (see `settings`).
    pub configured_settings: ConfiguredSettings,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            access_ttl: Duration::from_secs(3600),
            refresh_ttl: Duration::from_secs(30 * 24 * 3600),
            configured_settings: ConfiguredSettings::default(),
        }
    }
}

/// Where a request came from, for throttling and the audit log.
#[derive(Clone, Debug, Default)]
pub struct Ctx {
    pub ip: Option<IpAddr>,
    pub request_id: Option<String>,
}

impl Ctx {
    pub fn from_request(req: &poem::Request) -> Ctx {
        let e = AuditEvent::new("").from_request(req);
        Ctx {
            ip: e.ip,
            request_id: e.request_id,
        }
    }

    pub(crate) fn event(&self, action: &'static str) -> AuditEvent {
        AuditEvent {
            action,
            ip: self.ip,
            request_id: self.request_id.clone(),
            ..AuditEvent::default()
        }
    }
}

/// A user as the API shows it: never the password hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub email: String,
    pub is_admin: bool,
    pub roles: Vec<String>,
    pub disabled: bool,
    pub created_at: String,
    pub updated_at: String,
    /// Unix ms of the last password reset or change, disabling or recovery (0: never):
    /// sessions elsewhere (the dashboard's) started at or before it are over.
    pub credentials_changed_ms: i64,
}

impl From<repo::UserRow> for User {
    fn from(row: repo::UserRow) -> Self {
        User {
            id: row.id,
            email: row.email,
            is_admin: row.is_admin,
            roles: row.roles,
            disabled: row.disabled,
            created_at: row.created_at,
            updated_at: row.updated_at,
            credentials_changed_ms: row.credentials_changed_ms,
        }
    }
}

/// What a successful login hands out. The secrets exist only here and in the response.
#[derive(Debug)]
pub struct Session {
    pub access_token: String,
    pub expires_in: Duration,
    pub refresh_token: String,
    pub user: User,
}

#[derive(Clone)]
pub struct AuthService {
    pub(crate) db: Db,
    pub(crate) passwords: Passwords,
    pub(crate) config: AuthConfig,
    pub(crate) cache: Arc<TokenCache>,
    pub(crate) throttle: Arc<LoginThrottle>,
    pub(crate) signups: Arc<crate::signup::SignupThrottle>,
    pub(crate) setup: Arc<Mutex<Option<crate::setup::SetupToken>>>,
    /// Shared by every clone: whoever subscribed is told about changes made through any.
    pub(crate) settings_listeners: Arc<RwLock<Vec<SettingsListener>>>,
    pub(crate) settings_writes: Arc<tokio::sync::Mutex<()>>,
}

impl AuthService {
    pub fn new(db: Db, config: AuthConfig) -> Self {
        // Revocations by other processes on this database reach the cache through a
        // file beside it (see `revocations`).
        let revocations = crate::revocations::Revocations::beside(db.path());
        AuthService {
            db,
            passwords: Passwords::new(),
            config,
            cache: Arc::new(TokenCache::new(Some(revocations))),
            throttle: Arc::default(),
            signups: Arc::default(),
            setup: Arc::default(),
            settings_listeners: Arc::default(),
            settings_writes: Arc::default(),
        }
    }

    /// Creates an admin, or resets an existing account with this email to an enabled
    /// admin with this password (the recovery path: every token and dashboard session
    /// of the account ends at once, in this process and in a server sharing the
    /// database).
    pub async fn create_admin(&self, email: &str, password: &str) -> Result<User, AuthError> {
        let email = check_new_account(email, password)?;
        let key = email_key(&email);
        let hash = self.passwords.hash(password.to_owned()).await;
        let new_id = ids::new_id();
        let id = self
            .db
            .write(move |conn| {
                repo::upsert_admin(conn, &new_id, &email, &key, &hash, &clock::now())
                    .map_err(AuthError::from)
            })
            .await?;
        self.cache.revoke_user_everywhere(&id);
        self.user(&id).await
    }

    /// Creates a user with the given roles (not an admin).
    pub async fn create_user(
        &self,
        email: &str,
        password: &str,
        roles: &[&str],
    ) -> Result<User, AuthError> {
        let roles: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
        self.insert_user(email, password, roles, false).await
    }

    pub(crate) async fn insert_user(
        &self,
        email: &str,
        password: &str,
        roles: Vec<String>,
        is_admin: bool,
    ) -> Result<User, AuthError> {
        let email = check_new_account(email, password)?;
        let key = email_key(&email);
        check_roles(&roles)?;
        let hash = self.passwords.hash(password.to_owned()).await;
        let id = ids::new_id();
        let new_id = id.clone();
        self.db
            .write(move |conn| {
                let now = clock::now();
                repo::insert_user(conn, &new_id, &email, &key, &hash, &roles, &now).map_err(
                    |e| {
                        if e.is_unique_violation() {
                            AuthError::EmailTaken
                        } else {
                            AuthError::from(e)
                        }
                    },
                )?;
                if is_admin {
                    let changes = repo::UserChanges {
                        is_admin: Some(true),
                        ..Default::default()
                    };
                    repo::update_user(conn, &new_id, &changes, &clock::now())?;
                }
                Ok::<_, AuthError>(())
            })
            .await?;
        self.user(&id).await
    }

    pub async fn has_admin(&self) -> Result<bool, AuthError> {
        self.db
            .read(|conn| repo::admin_exists(conn).map_err(AuthError::from))
            .await
    }

    pub async fn user(&self, id: &str) -> Result<User, AuthError> {
        let id = id.to_owned();
        self.db
            .read(move |conn| repo::user_by_id(conn, &id).map_err(AuthError::from))
            .await?
            .map(User::from)
            .ok_or(AuthError::UserNotFound)
    }

    /// Checks the password and issues an access and a refresh token. Unknown email,
    /// wrong password and disabled account give the same error after the same work;
    /// an address that keeps failing waits longer and longer (see `throttle`), one that
    /// has not failed is never refused.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        ctx: &Ctx,
    ) -> Result<Session, AuthError> {
        let email = email.trim().to_owned();
        let key = email_key(&email);
        let address = crate::addresses::address_key(ctx.ip);
        if let Err(wait) = self.throttle.check(&key, &address, Instant::now()) {
            self.throttle.record_refused(&key, &address, Instant::now());
            self.audit(ctx.event("login.throttled").target(email.clone()));
            return Err(AuthError::Throttled(wait));
        }
        let row = if email.is_empty() || email.len() > 254 {
            None
        } else {
            let lookup = key.clone();
            self.db
                .read(move |conn| repo::user_by_email_key(conn, &lookup).map_err(AuthError::from))
                .await?
        };
        let hash = row.as_ref().map(|r| r.password_hash.clone());
        let password_ok = self.passwords.verify(password.to_owned(), hash).await;
        let user = match row {
            Some(row) if password_ok && !row.disabled => User::from(row),
            _ => {
                self.throttle.record_failure(&key, &address, Instant::now());
                self.audit(ctx.event("login.failed").target(email));
                return Err(AuthError::InvalidCredentials);
            }
        };
        self.throttle.record_success(&key, &address);
        let mut event = ctx.event("login.succeeded").target(user.id.clone());
        event.actor_id = Some(user.id.clone());
        event.actor_email = Some(user.email.clone());
        self.audit(event);
        self.issue_session(user, None).await
    }

    /// New access and refresh tokens in `family` (a new family for a new login).
    pub(crate) async fn issue_session(
        &self,
        user: User,
        family: Option<String>,
    ) -> Result<Session, AuthError> {
        let access_token = token::generate();
        let refresh_token = token::generate();
        let access_digest = token::digest(&access_token);
        let refresh_digest = token::digest(&refresh_token);
        let access_expires = clock::from_now(self.config.access_ttl);
        let refresh_expires = clock::from_now(self.config.refresh_ttl);
        let user_id = user.id.clone();
        let family = family.unwrap_or_else(ids::new_id);
        self.db
            .write(move |conn| {
                let now = clock::now();
                for (kind, digest, expires) in [
                    ("access", &access_digest, &access_expires),
                    ("refresh", &refresh_digest, &refresh_expires),
                ] {
                    repo::insert_token(
                        conn,
                        &repo::NewToken {
                            id: &ids::new_id(),
                            user_id: &user_id,
                            kind,
                            digest,
                            scopes: &kernel::Scope::ALL,
                            family: Some(&family),
                            expires_at: Some(expires),
                            created_at: &now,
                        },
                    )?;
                }
                Ok::<_, AuthError>(())
            })
            .await?;
        Ok(Session {
            access_token,
            expires_in: self.config.access_ttl,
            refresh_token,
            user,
        })
    }

    /// The principal behind a bearer token, or `InvalidToken`. Served from the cache
    /// when possible.
    pub async fn authenticate(&self, bearer: &str) -> Result<Principal, AuthError> {
        if !token::looks_valid(bearer) {
            return Err(AuthError::InvalidToken);
        }
        let digest = token::digest(bearer);
        let now = clock::now();
        let since = match self.cache.lookup(&digest, &now) {
            Ok(entry) => return Ok(entry.principal),
            Err(generation) => generation,
        };
        let key = digest.clone();
        let verified = self
            .db
            .read(move |conn| repo::verify_digest(conn, &key, &now).map_err(AuthError::from))
            .await?
            .ok_or(AuthError::InvalidToken)?;
        let principal = verified.principal.clone();
        self.cache.put(
            digest,
            Entry::new(
                verified.principal,
                verified.token_id,
                verified.family,
                verified.expires_at,
            ),
            since,
        );
        Ok(principal)
    }
}

pub(crate) fn check_roles(roles: &[String]) -> Result<(), AuthError> {
    let bad = roles.iter().position(|r| {
        r.is_empty()
            || r.len() > 64
            || !r
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    });
    match bad {
        Some(i) => Err(AuthError::invalid(
            &format!("roles[{i}]"),
            FieldCode::Invalid,
            "roles are 1-64 letters, digits, _ or -",
        )),
        None if roles.len() > 32 => Err(AuthError::invalid(
            "roles",
            FieldCode::TooLong,
            "at most 32 roles",
        )),
        None => Ok(()),
    }
}

/// Checks an email and password for a new or reset account; returns the email as stored.
/// Callers may run it early (the CLI does, before opening the database).
pub fn check_new_account(email: &str, password: &str) -> Result<String, AuthError> {
    let email = normalize_email(email)?;
    check_password(password)?;
    Ok(email)
}

pub(crate) fn check_password(password: &str) -> Result<(), AuthError> {
    if password.chars().count() < password::MIN_LENGTH {
        return Err(AuthError::invalid(
            "password",
            FieldCode::TooShort,
            &format!("must be at least {} characters", password::MIN_LENGTH),
        ));
    }
    if password.len() > password::MAX_BYTES {
        return Err(AuthError::invalid(
            "password",
            FieldCode::TooLong,
            &format!("must be at most {} bytes", password::MAX_BYTES),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_policy() {
        assert!(check_password("short").is_err());
        assert!(check_password("long enough").is_ok());
        assert!(check_password(&"x".repeat(2000)).is_err());
    }
}
