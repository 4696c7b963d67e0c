//! Authentication: users, argon2id passwords, opaque bearer tokens.
//!
//! Other modules see only [`AuthService`] (to turn a token into a [`kernel::Principal`])
//! and [`Authenticate`], the middleware that verifies bearer tokens and hands handlers a
//! principal (see `kernel::caller`).
//! This module owns the `users` and `tokens` tables.

mod api;
mod error;
mod middleware;
mod password;
mod repo;
mod service;
mod token;

pub use api::AuthApi;
pub use error::AuthError;
pub use middleware::Authenticate;
pub use service::{check_new_account, AuthConfig, AuthService, Session, User};
