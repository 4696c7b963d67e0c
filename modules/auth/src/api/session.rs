//! `/auth/login|refresh|logout|register|me|setup`.

use super::bodies::{Credentials, SessionBody, UserBody};
use super::Tag;
use crate::service::{AuthService, Ctx};
use kernel::{BearerAuth, Problem};
use poem::web::Data;
use poem::Request;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

#[derive(Object)]
#[oai(deny_unknown_fields)]
struct RefreshRequest {
    #[oai(validator(max_length = 64))]
    refresh_token: String,
}

#[derive(Object)]
#[oai(deny_unknown_fields)]
struct SetupRequest {
    /// The token from the URL the server printed at start-up.
    #[oai(validator(max_length = 64))]
    token: String,
    #[oai(validator(max_length = 254))]
    email: String,
    #[oai(validator(max_length = 1024))]
    password: String,
}

#[derive(ApiResponse)]
enum NoContent {
    /// Done.
    #[oai(status = 204)]
    Done,
}

/// The same for a new address and for one that already has an account.
#[derive(Object)]
#[oai(rename = "RegistrationAccepted")]
struct AcceptedBody {
    /// Always `accepted`.
    status: String,
}

#[derive(ApiResponse)]
enum Registered {
    /// Accepted: an account with this email exists now; log in with the password that
    /// belongs to it. The answer is the same whether this request created the account
    /// or it existed already (an existing account is left untouched).
    #[oai(status = 202)]
    Accepted(Json<AcceptedBody>),
}

pub struct AuthApi;

#[OpenApi(tag = "Tag::Auth")]
impl AuthApi {
    /// Log in with email and password.
    ///
    /// Returns a short-lived access token and a refresh token. Wrong email and wrong
    /// password get the same 401. An address that keeps failing waits longer and longer
    /// (429 with `Retry-After`, from 1 s doubling up to 15 minutes); an address that has
    /// not been failing is never refused.
    #[oai(path = "/auth/login", method = "post", operation_id = "login")]
    async fn login(
        &self,
        service: Data<&AuthService>,
        req: &Request,
        body: Json<Credentials>,
    ) -> Result<Json<SessionBody>, Problem> {
        let session = service
            .login(&body.email, &body.password, &Ctx::from_request(req))
            .await?;
        Ok(Json(session.into()))
    }

    /// Exchange a refresh token for a new access and refresh token.
    ///
    /// The refresh token is rotated out; presenting it again revokes every token of
    /// that login.
    #[oai(path = "/auth/refresh", method = "post", operation_id = "refresh")]
    async fn refresh(
        &self,
        service: Data<&AuthService>,
        req: &Request,
        body: Json<RefreshRequest>,
    ) -> Result<Json<SessionBody>, Problem> {
        let session = service
            .refresh(&body.refresh_token, &Ctx::from_request(req))
            .await?;
        Ok(Json(session.into()))
    }

    /// Revoke the presented token (for a login, its refresh token too).
    #[oai(path = "/auth/logout", method = "post", operation_id = "logout")]
    async fn logout(
        &self,
        service: Data<&AuthService>,
        req: &Request,
        auth: BearerAuth,
    ) -> Result<NoContent, Problem> {
        let bearer = bearer_of(req).unwrap_or_default();
        service
            .logout(&auth.0, &bearer, &Ctx::from_request(req))
            .await?;
        Ok(NoContent::Done)
    }

    /// Create an account (only when sign-ups are enabled; 403 otherwise).
    ///
    /// Answers 202 alike for a new and an existing email, so sign-up does not reveal
    /// which addresses have accounts. At most 5 sign-ups per client address an hour
    /// (429 `rate_limited` with `Retry-After`). Emails are unique by their normalised
    /// form (NFKC, lower case).
    #[oai(path = "/auth/register", method = "post", operation_id = "register")]
    async fn register(
        &self,
        service: Data<&AuthService>,
        req: &Request,
        body: Json<Credentials>,
    ) -> Result<Registered, Problem> {
        service
            .register(&body.email, &body.password, &Ctx::from_request(req))
            .await?;
        Ok(Registered::Accepted(Json(AcceptedBody {
            status: "accepted".into(),
        })))
    }

    /// The authenticated caller.
    #[oai(path = "/auth/me", method = "get", operation_id = "me")]
    async fn me(
        &self,
        service: Data<&AuthService>,
        auth: BearerAuth,
    ) -> Result<Json<UserBody>, Problem> {
        Ok(Json(service.user(&auth.0.user_id).await?.into()))
    }

    /// Create the first admin with the one-time setup token.
    ///
    /// Only while no admin exists; the token (printed by `hearth serve`) works once
    /// and expires after an hour.
    #[oai(path = "/auth/setup", method = "post", operation_id = "setup")]
    async fn setup(
        &self,
        service: Data<&AuthService>,
        req: &Request,
        body: Json<SetupRequest>,
    ) -> Result<Json<SessionBody>, Problem> {
        let session = service
            .complete_setup(
                &body.token,
                &body.email,
                &body.password,
                &Ctx::from_request(req),
            )
            .await?;
        Ok(Json(session.into()))
    }
}

/// The raw bearer token of the request (already verified by the middleware).
fn bearer_of(req: &Request) -> Option<String> {
    let value = req
        .headers()
        .get(poem::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}
