//! `/auth/tokens`: the caller's personal API tokens.

use super::Tag;
use crate::repo::PersonalToken;
use crate::service::{AuthService, Ctx};
use kernel::{BearerAuth, Problem};
use poem::web::Data;
use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

#[derive(Object)]
#[oai(rename = "PersonalToken")]
struct TokenBody {
    id: String,
    name: String,
    /// `read`, `write`, `admin`.
    scopes: Vec<String>,
    #[oai(nullable)]
    expires_at: Option<String>,
    created_at: String,
}

impl From<PersonalToken> for TokenBody {
    fn from(t: PersonalToken) -> Self {
        TokenBody {
            id: t.id,
            name: t.name,
            scopes: t.scopes,
            expires_at: t.expires_at,
            created_at: t.created_at,
        }
    }
}

#[derive(Object)]
struct TokenList {
    items: Vec<TokenBody>,
}

#[derive(Object)]
#[oai(deny_unknown_fields)]
struct NewToken {
    #[oai(validator(min_length = 1, max_length = 100))]
    name: String,
    /// Any of `read`, `write`, `admin` (admin only for admins).
    #[oai(validator(min_items = 1, max_items = 3))]
    scopes: Vec<String>,
    /// RFC 3339; absent for a token that does not expire.
    expires_at: Option<String>,
}

/// The new token; `token` is the secret, shown only in this response.
#[derive(Object)]
#[oai(rename = "CreatedToken")]
struct CreatedBody {
    id: String,
    name: String,
    scopes: Vec<String>,
    #[oai(nullable)]
    expires_at: Option<String>,
    created_at: String,
    token: String,
}

#[derive(ApiResponse)]
enum Created {
    #[oai(status = 201)]
    Created(Json<CreatedBody>),
}

#[derive(ApiResponse)]
enum Revoked {
    /// The token no longer works.
    #[oai(status = 204)]
    Done,
}

pub struct TokensApi;

#[OpenApi(tag = "Tag::Tokens")]
impl TokensApi {
    /// List your live personal tokens.
    #[oai(path = "/auth/tokens", method = "get", operation_id = "list_tokens")]
    async fn list(
        &self,
        service: Data<&AuthService>,
        auth: BearerAuth,
    ) -> Result<Json<TokenList>, Problem> {
        let items = service.list_tokens(&auth.0).await?;
        Ok(Json(TokenList {
            items: items.into_iter().map(TokenBody::from).collect(),
        }))
    }

    /// Create a personal token. The secret is in this response only.
    #[oai(path = "/auth/tokens", method = "post", operation_id = "create_token")]
    async fn create(
        &self,
        service: Data<&AuthService>,
        req: &Request,
        auth: BearerAuth,
        body: Json<NewToken>,
    ) -> Result<Created, Problem> {
        let created = service
            .create_token(
                &auth.0,
                &body.name,
                &body.scopes,
                body.expires_at.as_deref(),
                &Ctx::from_request(req),
            )
            .await?;
        let t = created.token;
        Ok(Created::Created(Json(CreatedBody {
            id: t.id,
            name: t.name,
            scopes: t.scopes,
            expires_at: t.expires_at,
            created_at: t.created_at,
            token: created.secret,
        })))
    }

    /// Revoke one of your personal tokens.
    #[oai(
        path = "/auth/tokens/:id",
        method = "delete",
        operation_id = "revoke_token"
    )]
    async fn revoke(
        &self,
        service: Data<&AuthService>,
        req: &Request,
        auth: BearerAuth,
        id: Path<String>,
    ) -> Result<Revoked, Problem> {
        service
            .revoke_personal_token(&auth.0, &id, &Ctx::from_request(req))
            .await?;
        Ok(Revoked::Done)
    }
}
