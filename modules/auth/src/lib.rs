//! Authentication: users, argon2id passwords, opaque bearer tokens.
//!
//! Other modules see only [`AuthService`] (to turn a token into a [`kernel::Principal`])
//! and [`BearerAuth`] (the security scheme handlers declare to require a caller).
//! This module owns the `users` and `tokens` tables.

mod api;
mod error;
mod password;
mod repo;
mod service;
mod token;

pub use api::{AuthApi, BearerAuth};
pub use error::AuthError;
pub use service::{check_new_account, AuthConfig, AuthService, Session, User};
