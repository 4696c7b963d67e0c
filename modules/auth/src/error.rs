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
    /// Several fields at once (every invalid one is reported, not just the first).
    #[error("{} fields are invalid", .0.len())]
    InvalidFields(Vec<FieldError>),
    #[error("user not found")]
    UserNotFound,
    #[error("token not found")]
    TokenNotFound,
    #[error("an account with this email exists")]
    EmailTaken,
    #[error("too many failed logins; retry in {0} s")]
    Throttled(u64),
    #[error("too many sign-ups from this address; retry in {0} s")]
    SignupThrottled(u64),
    #[error("{0}")]
    Forbidden(String),
    /// A malformed query parameter (`detail` names it).
    #[error("{0}")]
    BadQuery(String),
    #[error("an account may hold at most {0} live personal tokens")]
    TokenLimit(i64),
    #[error("{0}")]
    Conflict(String),
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
            AuthError::InvalidFields(fields) => Problem::validation(fields),
            AuthError::UserNotFound => Problem::not_found().with_detail("no such user"),
            AuthError::TokenNotFound => Problem::not_found().with_detail("no such token"),
            AuthError::EmailTaken => Problem::new(ProblemCode::Conflict)
                .with_detail("an account with this email already exists")
                .with_errors(vec![FieldError::new(
                    "email",
                    FieldCode::Invalid,
                    "is already registered",
                )]),
            AuthError::Throttled(secs) => Problem::new(ProblemCode::RateLimited)
                .with_detail(
                    "too many failed logins from this address; wait the number of seconds in Retry-After",
                )
                .with_retry_after(secs),
            AuthError::SignupThrottled(secs) => Problem::new(ProblemCode::RateLimited)
                .with_detail("too many sign-ups from this address; wait before retrying")
                .with_retry_after(secs),
            AuthError::Forbidden(detail) => {
                Problem::new(ProblemCode::Forbidden).with_detail(detail)
            }
            AuthError::BadQuery(detail) => {
                Problem::new(ProblemCode::InvalidQuery).with_detail(detail)
            }
            AuthError::TokenLimit(max) => {
                Problem::new(ProblemCode::TokenLimitReached).with_detail(format!(
                    "this account already has {max} live personal tokens; revoke unused ones first"
                ))
            }
            AuthError::Conflict(detail) => Problem::new(ProblemCode::Conflict).with_detail(detail),
            AuthError::Storage(e) => e.into(),
        }
    }
}
