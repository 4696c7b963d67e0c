//! `/auth/tokens`: the caller's personal API tokens.

use super::Tag;
use crate::repo::PersonalToken;
use crate::service::{AuthService, Ctx};
use kernel::{BearerAuth, Problem};
use poem::web::Data;
use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

#[derive(Object)]
#[oai(rename = "PersonalToken")]
struct TokenBody {
    id: String,
    name: String,
    /// `read`, `write`, `admin`, `tokens`.
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
    /// Pass as `cursor` for the next page; null on the last page.
    #[oai(nullable)]
    next_cursor: Option<String>,
}

#[derive(ApiResponse)]
enum Listed {
    /// A page of tokens, newest first; `Link: <…>; rel="next"` when there are more.
    #[oai(status = 200)]
    Page(Json<TokenList>, #[oai(header = "Link")] Option<String>),
}

#[derive(Object)]
#[oai(deny_unknown_fields)]
struct NewToken {
    #[oai(validator(min_length = 1, max_length = 100))]
    name: String,
    /// Any of `read`, `write`, `admin` (admin only for admins) and `tokens` (may itself
    /// create and revoke tokens); never a scope the creating token lacks.
    #[oai(validator(min_items = 1, max_items = 4))]
    scopes: Vec<String>,
    /// RFC 3339; absent for a token that does not expire. A personal token that expires
    /// may only create tokens that expire no later.
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
    /// List your live personal tokens, newest first, a page at a time.
    #[oai(path = "/auth/tokens", method = "get", operation_id = "list_tokens")]
    async fn list(
        &self,
        service: Data<&AuthService>,
        req: &Request,
        auth: BearerAuth,
        /// 1 to 200; 20 by default.
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        #[oai(validator(max_length = 64))]
        cursor: Query<Option<String>>,
    ) -> Result<Listed, Problem> {
        let limit = limit.0.unwrap_or(20);
        let page = service.list_tokens(&auth.0, limit, cursor.0).await?;
        let link = page.next_cursor.as_ref().map(|c| {
            format!(
                "<{}?limit={limit}&cursor={c}>; rel=\"next\"",
                req.original_uri().path()
            )
        });
        Ok(Listed::Page(
            Json(TokenList {
                items: page.items.into_iter().map(TokenBody::from).collect(),
                next_cursor: page.next_cursor,
            }),
            link,
        ))
    }

    /// Create a personal token. The secret is in this response only.
    ///
    /// Needs a login session (or a token with the `tokens` scope); 409
    /// `token_limit_reached` once the account has 100 live personal tokens.
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

    /// Revoke one of your personal tokens (needs a login session or the `tokens` scope).
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
