//! HTTP routes of the auth module (poem-openapi). Handlers parse, call the service and
//! shape the answer; nothing else. They are stateless (the service comes from the
//! request's data) so the OpenAPI document can be generated without a database.

mod admin;
mod bodies;
mod schema_facts;
mod session;
mod tokens;
mod users;

pub use admin::AdminApi;
pub use schema_facts::document_auth_schemas;
pub use session::AuthApi;
pub use tokens::TokensApi;
pub use users::UsersApi;

use poem_openapi::Tags;

#[derive(Tags)]
pub(crate) enum Tag {
    /// Logging in, sessions and sign-up.
    Auth,
    /// The caller's personal API tokens.
    Tokens,
    /// User management (admins only).
    Users,
    /// Server administration: audit log and settings (admins only).
    Admin,
}
