//! The rules of authentication: creating admins, logging in, checking tokens.
//! No HTTP here and no SQL strings (those live in `repo`).

use crate::error::AuthError;
use crate::password::{self, Passwords};
use crate::{repo, token};
use kernel::{clock, ids, FieldCode, Principal, Scope};
use std::time::Duration;
use storage::Db;

#[derive(Clone, Debug)]
pub struct AuthConfig {
    /// Lifetime of access tokens issued at login.
    pub access_ttl: Duration,
    /// Lifetime of refresh tokens issued at login.
    pub refresh_ttl: Duration,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            access_ttl: Duration::from_secs(3600),
            refresh_ttl: Duration::from_secs(30 * 24 * 3600),
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
    db: Db,
    passwords: Passwords,
    config: AuthConfig,
}

impl AuthService {
    pub fn new(db: Db, config: AuthConfig) -> Self {
        AuthService {
            db,
            passwords: Passwords::new(),
            config,
        }
    }

    /// Creates an admin, or resets an existing account with this email to an enabled
    /// admin with this password (revoking its sessions).
    pub async fn create_admin(&self, email: &str, password: &str) -> Result<User, AuthError> {
        let email = check_new_account(email, password)?;
        let hash = self.passwords.hash(password.to_owned()).await;
        let new_id = ids::new_id();
        let id = self
            .db
            .write(move |conn| {
                repo::upsert_admin(conn, &new_id, &email, &hash, &clock::now())
                    .map_err(AuthError::from)
            })
            .await?;
        self.user(&id).await
    }

    /// Creates a regular (non-admin) user with the given roles.
    pub async fn create_user(
        &self,
        email: &str,
        password: &str,
        roles: &[&str],
    ) -> Result<User, AuthError> {
        let email = check_new_account(email, password)?;
        let hash = self.passwords.hash(password.to_owned()).await;
        let id = ids::new_id();
        let roles: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
        let new_id = id.clone();
        self.db
            .write(move |conn| {
                repo::insert_user(conn, &new_id, &email, &hash, &roles, &clock::now()).map_err(
                    |e| {
                        if e.is_unique_violation() {
                            AuthError::invalid("email", FieldCode::Invalid, "is already registered")
                        } else {
                            AuthError::from(e)
                        }
                    },
                )
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
    /// wrong password and disabled account give the same error after the same work.
    pub async fn login(&self, email: &str, password: &str) -> Result<Session, AuthError> {
        let email = email.trim().to_owned();
        let row = if email.is_empty() || email.len() > 254 {
            None
        } else {
            self.db
                .read(move |conn| repo::user_by_email(conn, &email).map_err(AuthError::from))
                .await?
        };
        let hash = row.as_ref().map(|r| r.password_hash.clone());
        let password_ok = self.passwords.verify(password.to_owned(), hash).await;
        let user = match row {
            Some(row) if password_ok && !row.disabled => User::from(row),
            _ => return Err(AuthError::InvalidCredentials),
        };
        self.issue_session(user).await
    }

    async fn issue_session(&self, user: User) -> Result<Session, AuthError> {
        let access_token = token::generate();
        let refresh_token = token::generate();
        let access_digest = token::digest(&access_token);
        let refresh_digest = token::digest(&refresh_token);
        let access_expires = clock::from_now(self.config.access_ttl);
        let refresh_expires = clock::from_now(self.config.refresh_ttl);
        let user_id = user.id.clone();
        self.db
            .write(move |conn| {
                let now = clock::now();
                let family = ids::new_id();
                let access_id = ids::new_id();
                repo::insert_token(
                    conn,
                    &repo::NewToken {
                        id: &access_id,
                        user_id: &user_id,
                        kind: "access",
                        digest: &access_digest,
                        scopes: &Scope::ALL,
                        family: Some(&family),
                        expires_at: Some(&access_expires),
                        created_at: &now,
                    },
                )?;
                let refresh_id = ids::new_id();
                repo::insert_token(
                    conn,
                    &repo::NewToken {
                        id: &refresh_id,
                        user_id: &user_id,
                        kind: "refresh",
                        digest: &refresh_digest,
                        scopes: &Scope::ALL,
                        family: Some(&family),
                        expires_at: Some(&refresh_expires),
                        created_at: &now,
                    },
                )
                .map_err(AuthError::from)
            })
            .await?;
        Ok(Session {
            access_token,
            expires_in: self.config.access_ttl,
            refresh_token,
            user,
        })
    }

    /// The principal behind a bearer token, or `InvalidToken`.
    pub async fn authenticate(&self, bearer: &str) -> Result<Principal, AuthError> {
        if !token::looks_valid(bearer) {
            return Err(AuthError::InvalidToken);
        }
        let digest = token::digest(bearer);
        self.db
            .read(move |conn| {
                repo::principal_for_digest(conn, &digest, &clock::now()).map_err(AuthError::from)
            })
            .await?
            .ok_or(AuthError::InvalidToken)
    }
}

/// Checks an email and password for a new or reset account; returns the email as stored.
/// Callers may run it early (the CLI does, before opening the database).
pub fn check_new_account(email: &str, password: &str) -> Result<String, AuthError> {
    let email = normalize_email(email)?;
    check_password(password)?;
    Ok(email)
}

/// Trims and checks the shape of an email; case is kept (uniqueness ignores it).
fn normalize_email(email: &str) -> Result<String, AuthError> {
    let email = email.trim();
    let invalid =
        || AuthError::invalid("email", FieldCode::InvalidEmail, "must be an email address");
    if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid());
    }
    match email.split_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.') =>
        {
            Ok(email.to_owned())
        }
        _ => Err(invalid()),
    }
}

fn check_password(password: &str) -> Result<(), AuthError> {
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
    fn email_shapes() {
        assert_eq!(
            normalize_email("  Ada@Example.org ").unwrap(),
            "Ada@Example.org"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.org",
            "ada@example",
            "a b@example.org",
            "a@b@c.org",
            "ada@example.org.",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn password_policy() {
        assert!(check_password("short").is_err());
        assert!(check_password("long enough").is_ok());
        assert!(check_password(&"x".repeat(2000)).is_err());
    }
}
