//! Response and request bodies shared by the auth routes.

use crate::service::{Session, User};
use poem_openapi::Object;

/// A user account. The password hash is never returned.
#[derive(Object)]
#[oai(rename = "User")]
pub struct UserBody {
    pub id: String,
    pub email: String,
    pub is_admin: bool,
    pub roles: Vec<String>,
    pub disabled: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl From<User> for UserBody {
    fn from(u: User) -> Self {
        UserBody {
            id: u.id,
            email: u.email,
            is_admin: u.is_admin,
            roles: u.roles,
            disabled: u.disabled,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

#[derive(Object)]
#[oai(rename = "Session")]
pub struct SessionBody {
    /// Send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Exchange at `/auth/refresh` for a new pair; works once.
    pub refresh_token: String,
    pub user: UserBody,
}

impl From<Session> for SessionBody {
    fn from(s: Session) -> Self {
        SessionBody {
            access_token: s.access_token,
            token_type: "Bearer".into(),
            expires_in: s.expires_in.as_secs(),
            refresh_token: s.refresh_token,
            user: s.user.into(),
        }
    }
}

#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct Credentials {
    #[oai(validator(max_length = 254))]
    pub email: String,
    #[oai(validator(max_length = 1024))]
    pub password: String,
}
