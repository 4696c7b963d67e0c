//! The module's errors, and the one place they become problems.

use crate::filter::FilterError;
use kernel::{FieldCode, FieldError, Problem, ProblemCode};
use storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum ResourceError {
    #[error("no collection named `{0}`")]
    CollectionNotFound(String),
    #[error("record not found")]
    RecordNotFound,
    #[error("a collection named `{0}` already exists")]
    CollectionExists(String),
    #[error("{} invalid field(s)", .0.len())]
    Invalid(Vec<FieldError>),
    #[error("invalid filter: {0}")]
    InvalidFilter(FilterError),
    #[error("{0}")]
    InvalidQuery(String),
    #[error("{0}")]
    SchemaConflict(String),
    #[error("{0}")]
    Conflict(String),
    #[error("`{0}` must be unique")]
    Unique(String),
    #[error("the record has changed (If-Match did not match)")]
    PreconditionFailed,
    #[error("access denied")]
    Denied(Problem),
    #[error("this Idempotency-Key was used with a different request")]
    IdempotencyMismatch,
    #[error("the collection's definition changed while the request ran")]
    DefinitionChanged,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<rusqlite::Error> for ResourceError {
    fn from(e: rusqlite::Error) -> Self {
        if names_a_missing_column_or_table(&e) {
            // Hearth builds SQL only from a collection's current definition, so a column
            // or table that is gone means the definition changed after the statement
            // was built: SQLite re-prepared it against the new schema and (being built
            // with SQLITE_DQS=0) refused the old name instead of reading it as a string.
            tracing::warn!(error = %e, "a query met a schema that changed under it");
            return ResourceError::DefinitionChanged;
        }
        ResourceError::Storage(e.into())
    }
}

fn names_a_missing_column_or_table(e: &rusqlite::Error) -> bool {
    let message = match e {
        rusqlite::Error::SqliteFailure(code, Some(message))
            if code.code == rusqlite::ErrorCode::Unknown =>
        {
            message
        }
        rusqlite::Error::SqlInputError { msg, .. } => msg,
        _ => return false,
    };
    message.starts_with("no such column") || message.starts_with("no such table")
}

impl From<ResourceError> for Problem {
    fn from(err: ResourceError) -> Self {
        use ResourceError as E;
        match err {
            E::CollectionNotFound(name) => {
                Problem::not_found().with_detail(format!("no collection named `{name}`"))
            }
            E::RecordNotFound => Problem::not_found().with_detail("no such record"),
            E::CollectionExists(name) => Problem::new(ProblemCode::Conflict)
                .with_detail(format!("a collection named `{name}` already exists")),
            E::Invalid(errors) => Problem::validation(errors),
            E::InvalidFilter(e) => {
                Problem::new(ProblemCode::InvalidFilter).with_detail(e.to_string())
            }
            E::InvalidQuery(detail) => Problem::new(ProblemCode::InvalidQuery).with_detail(detail),
            E::SchemaConflict(detail) => {
                Problem::new(ProblemCode::SchemaConflict).with_detail(detail)
            }
            E::Conflict(detail) => Problem::new(ProblemCode::Conflict).with_detail(detail),
            E::Unique(field) => Problem::new(ProblemCode::UniqueViolation)
                .with_detail(format!("another record already has this `{field}`"))
                .with_errors(vec![FieldError::new(
                    field,
                    FieldCode::Invalid,
                    "must be unique",
                )]),
            E::PreconditionFailed => Problem::new(ProblemCode::PreconditionFailed)
                .with_detail("the record has changed since the ETag you sent; fetch it again"),
            E::Denied(problem) => problem,
            E::IdempotencyMismatch => Problem::new(ProblemCode::IdempotencyKeyReused)
                .with_detail("this Idempotency-Key was already used with a different request body"),
            E::DefinitionChanged => Problem::new(ProblemCode::Unavailable)
                .with_detail("the collection's definition changed while the request ran; retry")
                .with_retry_after(1),
            E::Storage(e) => e.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    /// A read prepared before a schema change that dropped `b` and run after it: with
    /// SQLITE_DQS=0 SQLite refuses `"b"`, which the client hears as the retryable
    /// definition change (503), not as a 500 (nor, as with DQS on, `"b":"b"`).
    #[test]
    fn a_statement_outliving_its_column_is_a_definition_change() {
        storage::prepare_sqlite();
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (a INTEGER, b TEXT); INSERT INTO t VALUES (1, 'x');")
            .unwrap();
        let mut read = conn.prepare("SELECT \"a\", \"b\" FROM t").unwrap();
        conn.execute_batch("ALTER TABLE t DROP COLUMN b").unwrap();
        let err = read
            .query_row([], |r| r.get::<_, String>(1))
            .expect_err("the dropped column must not read as a string");
        assert!(matches!(
            ResourceError::from(err),
            ResourceError::DefinitionChanged
        ));
        let gone = conn.prepare("SELECT * FROM gone").unwrap_err();
        assert!(matches!(
            ResourceError::from(gone),
            ResourceError::DefinitionChanged
        ));
        let other = conn.prepare("SELEC 1").unwrap_err();
        assert!(matches!(
            ResourceError::from(other),
            ResourceError::Storage(_)
        ));
    }
}
