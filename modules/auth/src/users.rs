//! User management for admins. Disabling a user or changing their password revokes
//! every token they hold and ends their dashboard sessions at once; changing roles or admin rights takes effect on their
//! next request (the token cache forgets them).

use crate::emails::{email_key, normalize_email};
use crate::error::AuthError;
use crate::repo::{self, UserChanges};
use crate::service::{check_password, check_roles, AuthService, Ctx, User};
use kernel::{clock, AdminPrincipal, AdminWriter};

/// A page of users.
pub struct UserPage {
    pub items: Vec<User>,
    pub total: i64,
}

/// What an admin may change; `None` keeps the current value.
#[derive(Default)]
pub struct UserUpdate {
    pub email: Option<String>,
    pub password: Option<String>,
    pub roles: Option<Vec<String>>,
    pub is_admin: Option<bool>,
    pub disabled: Option<bool>,
}

impl AuthService {
    pub async fn list_users(
        &self,
        _admin: &AdminPrincipal,
        limit: u32,
        offset: u64,
    ) -> Result<UserPage, AuthError> {
        let (rows, total) = self
            .db
            .read(move |conn| repo::list_users(conn, limit, offset).map_err(AuthError::from))
            .await?;
        Ok(UserPage {
            items: rows.into_iter().map(User::from).collect(),
            total,
        })
    }

    pub async fn get_user(&self, _admin: &AdminPrincipal, id: &str) -> Result<User, AuthError> {
        self.user(id).await
    }

    pub async fn admin_create_user(
        &self,
        admin: &AdminWriter,
        email: &str,
        password: &str,
        roles: Vec<String>,
        is_admin: bool,
        ctx: &Ctx,
    ) -> Result<User, AuthError> {
        let user = self.insert_user(email, password, roles, is_admin).await?;
        self.audit(
            ctx.event("user.created")
                .by(admin.principal())
                .target(user.id.clone()),
        );
        Ok(user)
    }

    pub async fn update_user(
        &self,
        admin: &AdminWriter,
        id: &str,
        update: UserUpdate,
        ctx: &Ctx,
    ) -> Result<User, AuthError> {
        let email = update
            .email
            .as_deref()
            .map(normalize_email)
            .transpose()?
            .map(|e| {
                let key = email_key(&e);
                (e, key)
            });
        if let Some(p) = &update.password {
            check_password(p)?;
        }
        if let Some(r) = &update.roles {
            check_roles(r)?;
        }
        let password_hash = match update.password {
            Some(p) => Some(self.passwords.hash(p).await),
            None => None,
        };
        let revoke = password_hash.is_some() || update.disabled == Some(true);
        let losing_admin = update.is_admin == Some(false) || update.disabled == Some(true);
        let changes = UserChanges {
            email,
            password_hash,
            roles: update.roles,
            is_admin: update.is_admin,
            disabled: update.disabled,
        };
        let target = id.to_owned();
        self.db
            .write(move |conn| {
                let current = repo::user_by_id(conn, &target)?.ok_or(AuthError::UserNotFound)?;
                if losing_admin && current.is_admin && repo::other_admins(conn, &target)? == 0 {
                    return Err(AuthError::Conflict("this is the last enabled admin".into()));
                }
                let now = clock::now();
                repo::update_user(conn, &target, &changes, &now).map_err(|e| {
                    if e.is_unique_violation() {
                        AuthError::EmailTaken
                    } else {
                        AuthError::from(e)
                    }
                })?;
                if revoke {
                    repo::revoke_credentials(conn, &target, &now)?;
                }
                Ok(())
            })
            .await?;
        if revoke {
            self.cache.revoke_user_everywhere(id);
        } else {
            self.cache.forget_user(id);
        }
        self.audit(ctx.event("user.updated").by(admin.principal()).target(id));
        self.user(id).await
    }

    pub async fn delete_user(
        &self,
        admin: &AdminWriter,
        id: &str,
        ctx: &Ctx,
    ) -> Result<(), AuthError> {
        let target = id.to_owned();
        self.db
            .write(move |conn| {
                let current = repo::user_by_id(conn, &target)?.ok_or(AuthError::UserNotFound)?;
                if current.is_admin && !current.disabled && repo::other_admins(conn, &target)? == 0
                {
                    return Err(AuthError::Conflict("this is the last enabled admin".into()));
                }
                repo::delete_user(conn, &target)?;
                Ok(())
            })
            .await?;
        self.cache.revoke_user_everywhere(id);
        self.audit(ctx.event("user.deleted").by(admin.principal()).target(id));
        Ok(())
    }
}
