//! `/users`: user management for admins.

use super::bodies::UserBody;
use super::Tag;
use crate::service::{AuthService, Ctx};
use crate::users::UserUpdate;
use kernel::{AdminPrincipal, AdminWriter, BearerAuth, Problem};
use poem::web::Data;
use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

#[derive(Object)]
struct UserList {
    items: Vec<UserBody>,
    total: i64,
}

#[derive(Object)]
#[oai(deny_unknown_fields)]
struct NewUser {
    #[oai(validator(max_length = 254))]
    email: String,
    #[oai(validator(max_length = 1024))]
    password: String,
    #[oai(default)]
    roles: Vec<String>,
    #[oai(default)]
    is_admin: bool,
}

/// Fields to change; absent ones stay. A new password or `disabled: true` revokes every
/// token the user holds.
#[derive(Object)]
#[oai(deny_unknown_fields)]
struct UserPatch {
    #[oai(validator(max_length = 254))]
    email: Option<String>,
    #[oai(validator(max_length = 1024))]
    password: Option<String>,
    roles: Option<Vec<String>>,
    is_admin: Option<bool>,
    disabled: Option<bool>,
}

#[derive(ApiResponse)]
enum Created {
    #[oai(status = 201)]
    Created(Json<UserBody>, #[oai(header = "Location")] String),
}

#[derive(ApiResponse)]
enum Deleted {
    #[oai(status = 204)]
    Done,
}

pub struct UsersApi;

#[OpenApi(tag = "Tag::Users")]
impl UsersApi {
    /// List users.
    #[oai(path = "/users", method = "get", operation_id = "list_users")]
    async fn list(
        &self,
        service: Data<&AuthService>,
        auth: BearerAuth,
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))] limit: Query<Option<u32>>,
        #[oai(validator(maximum(value = "1000000")))] offset: Query<Option<u64>>,
    ) -> Result<Json<UserList>, Problem> {
        let admin = AdminPrincipal::check(auth.0)?;
        let page = service
            .list_users(&admin, limit.0.unwrap_or(50), offset.0.unwrap_or(0))
            .await?;
        Ok(Json(UserList {
            items: page.items.into_iter().map(UserBody::from).collect(),
            total: page.total,
        }))
    }

    /// Create a user.
    #[oai(path = "/users", method = "post", operation_id = "create_user")]
    async fn create(
        &self,
        service: Data<&AuthService>,
        req: &Request,
        auth: BearerAuth,
        body: Json<NewUser>,
    ) -> Result<Created, Problem> {
        let admin = AdminWriter::check(auth.0)?;
        let body = body.0;
        let user = service
            .admin_create_user(
                &admin,
                &body.email,
                &body.password,
                body.roles,
                body.is_admin,
                &Ctx::from_request(req),
            )
            .await?;
        let location = format!("/api/v1/users/{}", user.id);
        Ok(Created::Created(Json(user.into()), location))
    }

    /// Get a user.
    #[oai(path = "/users/:id", method = "get", operation_id = "get_user")]
    async fn get(
        &self,
        service: Data<&AuthService>,
        auth: BearerAuth,
        id: Path<String>,
    ) -> Result<Json<UserBody>, Problem> {
        let admin = AdminPrincipal::check(auth.0)?;
        Ok(Json(service.get_user(&admin, &id).await?.into()))
    }

    /// Change a user's email, password, roles, admin rights or disabled state.
    #[oai(path = "/users/:id", method = "patch", operation_id = "update_user")]
    async fn update(
        &self,
        service: Data<&AuthService>,
        req: &Request,
        auth: BearerAuth,
        id: Path<String>,
        body: Json<UserPatch>,
    ) -> Result<Json<UserBody>, Problem> {
        let admin = AdminWriter::check(auth.0)?;
        let b = body.0;
        let update = UserUpdate {
            email: b.email,
            password: b.password,
            roles: b.roles,
            is_admin: b.is_admin,
            disabled: b.disabled,
        };
        Ok(Json(
            service
                .update_user(&admin, &id, update, &Ctx::from_request(req))
                .await?
                .into(),
        ))
    }

    /// Delete a user (their tokens go with them; their records keep a null owner).
    #[oai(path = "/users/:id", method = "delete", operation_id = "delete_user")]
    async fn delete(
        &self,
        service: Data<&AuthService>,
        req: &Request,
        auth: BearerAuth,
        id: Path<String>,
    ) -> Result<Deleted, Problem> {
        let admin = AdminWriter::check(auth.0)?;
        service
            .delete_user(&admin, &id, &Ctx::from_request(req))
            .await?;
        Ok(Deleted::Done)
    }
}
