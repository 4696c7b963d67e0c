use kernel::{FieldCode, FieldError, Problem, ProblemCode};
use storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Unknown email, wrong password or disabled account: deliberately indistinguishable.
    #[error("invalid email or password")]
    InvalidCredentials,
    #[error("the bearer token is invalid, expired or revoked")]
    InvalidToken,
    #[error("invalid {}: {}", .0.field, .0.message)]
    Invalid(FieldError),
    #[error("user not found")]
    UserNotFound,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl AuthError {
    pub(crate) fn invalid(field: &str, code: FieldCode, message: &str) -> Self {
        AuthError::Invalid(FieldError::new(field, code, message))
    }
}

impl From<AuthError> for Problem {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::InvalidCredentials => Problem::unauthenticated("invalid email or password"),
            AuthError::InvalidToken => {
                Problem::unauthenticated("the bearer token is invalid, expired or revoked")
            }
            AuthError::Invalid(field) => Problem::validation(vec![field]),
            AuthError::UserNotFound => Problem::new(ProblemCode::NotFound),
            AuthError::Storage(e) => e.into(),
        }
    }
}
