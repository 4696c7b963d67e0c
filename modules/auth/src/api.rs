//! HTTP routes of the auth module (poem-openapi). Handlers parse, call the service and
//! shape the answer; nothing else.

use crate::service::{AuthService, Session, User};
use kernel::{BearerAuth, Problem};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi, Tags};

#[derive(Tags)]
enum Tag {
    /// Logging in and finding out who you are.
    Auth,
}

#[derive(Object)]
#[oai(deny_unknown_fields)]
struct LoginRequest {
    #[oai(validator(max_length = 254))]
    email: String,
    #[oai(validator(max_length = 1024))]
    password: String,
}

/// A user account. The password hash is never returned.
#[derive(Object)]
#[oai(rename = "User")]
struct UserBody {
    id: String,
    email: String,
    is_admin: bool,
    roles: Vec<String>,
    disabled: bool,
    created_at: String,
    updated_at: String,
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
struct LoginResponse {
    /// Send as `Authorization: Bearer <access_token>`.
    access_token: String,
    /// Always `Bearer`.
    token_type: String,
    /// Seconds until the access token expires.
    expires_in: u64,
    refresh_token: String,
    user: UserBody,
}

impl From<Session> for LoginResponse {
    fn from(s: Session) -> Self {
        LoginResponse {
            access_token: s.access_token,
            token_type: "Bearer".into(),
            expires_in: s.expires_in.as_secs(),
            refresh_token: s.refresh_token,
            user: s.user.into(),
        }
    }
}

/// The auth routes. Stateless: the service comes from the request's data, so the
/// OpenAPI document can be generated without a database (`hearth openapi`).
pub struct AuthApi;

#[OpenApi(tag = "Tag::Auth")]
impl AuthApi {
    /// Log in with email and password.
    ///
    /// Returns a short-lived access token and a refresh token. Wrong email and wrong
    /// password get the same 401.
    #[oai(path = "/auth/login", method = "post", operation_id = "login")]
    async fn login(
        &self,
        service: poem::web::Data<&AuthService>,
        body: Json<LoginRequest>,
    ) -> Result<Json<LoginResponse>, Problem> {
        let session = service.login(&body.email, &body.password).await?;
        Ok(Json(session.into()))
    }

    /// The authenticated caller.
    #[oai(path = "/auth/me", method = "get", operation_id = "me")]
    async fn me(
        &self,
        service: poem::web::Data<&AuthService>,
        auth: BearerAuth,
    ) -> Result<Json<UserBody>, Problem> {
        Ok(Json(service.user(&auth.0.user_id).await?.into()))
    }
}
