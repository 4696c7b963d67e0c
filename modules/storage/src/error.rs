//! Every way storage can fail, classified once (in `From<rusqlite::Error>`) so callers
//! match on meaning (busy, full, unique violation) instead of SQLite result codes, and
//! mapped to HTTP once (in `From<StorageError> for Problem`).

use kernel::{Problem, ProblemCode};
use rusqlite::ffi;
use std::path::PathBuf;

/// Which constraint a write violated. Modules turn `Unique`/`PrimaryKey` into 409 and
/// `ForeignKey` into a field error themselves; storage cannot know which field it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConstraintKind {
    Unique,
    PrimaryKey,
    ForeignKey,
    Check,
    NotNull,
    Other,
}

/// Messages are written for the operator reading a log line or a CLI error: what
/// happened, then what to do.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("the database is locked by another connection or process; retry shortly")]
    Busy,
    #[error("the disk holding the database is full; free space, then retry")]
    Full,
    #[error("the database cannot be written (read-only file, directory or file system, or missing permissions); check the path and its permissions")]
    ReadOnly,
    #[error("a write violated a constraint ({message})")]
    Constraint {
        kind: ConstraintKind,
        message: String,
    },
    /// A read ran past `StorageConfig::query_timeout` and SQLite stopped it.
    #[error("the query ran past its time budget and was stopped")]
    QueryTimeout,
    #[error("the database is closed because the server is shutting down; retry against the new instance")]
    Closed,
    /// SQLite rolled back the whole transaction on its own (after disk full, an I/O
    /// error or out of memory inside another job of the same group commit), so this
    /// job's changes were not kept even though the job itself succeeded.
    #[error("the transaction this write was part of was rolled back by SQLite after another write failed; nothing was written, retry")]
    RolledBack,
    #[error("a database job panicked ({0}); this is a bug in Hearth, report it with the log around this line")]
    Panicked(String),
    /// A job left a transaction of its own open: it was rolled back, so nothing the job
    /// wrote (or read in that transaction) counts, whatever the job returned.
    #[error("a database job left its transaction open, so it was rolled back and nothing it wrote was kept; this is a bug in Hearth, report it with the log around this line")]
    TransactionLeftOpen,
    /// An fsync failed earlier (see `fail_stop`): writes stay refused until a restart.
    #[error("writes are refused since an fsync of the database failed ({0}): the disk may have dropped data, so nothing more is acknowledged; check the disk and the system log, then restart the server")]
    FailStopped(String),
    #[error("the database file is corrupt ({0}); stop the server and restore the latest backup")]
    Corrupt(String),
    #[error("migration {version} ({name}) was changed after it was applied to this database; restore its original SQL and put the change in a new migration")]
    MigrationChanged { version: u32, name: String },
    #[error("the database has migration {version} ({name}) applied, which this binary does not know, so the database is newer than this binary; run the newer hearth release or restore a backup taken before the upgrade")]
    UnknownMigration { version: u32, name: String },
    #[error("migration {version} ({name}) is older than migration {latest}, which this database already has; give the new migration a version above {latest}")]
    MigrationOutOfOrder {
        version: u32,
        name: String,
        latest: u32,
    },
    #[error("the embedded migrations are not in strictly increasing version order at version {version}; this build is broken, fix the migration list")]
    MigrationsNotIncreasing { version: u32 },
    #[error("migration {version} ({name}) failed, so none of the pending migrations was applied: {source}; fix the migration and start again")]
    MigrationFailed {
        version: u32,
        name: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("backup target {} already exists; choose a new file name or move the old backup away", .0.display())]
    BackupTargetExists(PathBuf),
    #[error("file system error: {0}")]
    Io(#[from] std::io::Error),
    #[error("database error: {0}")]
    Sqlite(#[source] rusqlite::Error),
}

impl StorageError {
    /// True for a duplicate value in a unique column or primary key: the case a
    /// resource answers with 409 instead of 500.
    pub fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            StorageError::Constraint {
                kind: ConstraintKind::Unique | ConstraintKind::PrimaryKey,
                ..
            }
        )
    }
}

impl From<rusqlite::Error> for StorageError {
    fn from(err: rusqlite::Error) -> Self {
        let rusqlite::Error::SqliteFailure(code, message) = &err else {
            return StorageError::Sqlite(err);
        };
        let text = || message.clone().unwrap_or_else(|| code.to_string());
        match code.code {
            ffi::ErrorCode::DatabaseBusy | ffi::ErrorCode::DatabaseLocked => StorageError::Busy,
            ffi::ErrorCode::DiskFull => StorageError::Full,
            ffi::ErrorCode::OperationInterrupted => StorageError::QueryTimeout,
            ffi::ErrorCode::ReadOnly
            | ffi::ErrorCode::CannotOpen
            | ffi::ErrorCode::PermissionDenied => StorageError::ReadOnly,
            ffi::ErrorCode::DatabaseCorrupt | ffi::ErrorCode::NotADatabase => {
                StorageError::Corrupt(text())
            }
            ffi::ErrorCode::ConstraintViolation => StorageError::Constraint {
                kind: constraint_kind(code.extended_code, message.as_deref()),
                message: text(),
            },
            _ => StorageError::Sqlite(err),
        }
    }
}

/// The text of a caught panic, for `StorageError::Panicked` and the log.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-text panic payload".to_string()
    }
}

fn constraint_kind(extended_code: std::os::raw::c_int, message: Option<&str>) -> ConstraintKind {
    match extended_code {
        ffi::SQLITE_CONSTRAINT_UNIQUE => ConstraintKind::Unique,
        ffi::SQLITE_CONSTRAINT_PRIMARYKEY => ConstraintKind::PrimaryKey,
        ffi::SQLITE_CONSTRAINT_FOREIGNKEY => ConstraintKind::ForeignKey,
        // ON DELETE RESTRICT fires through SQLite's trigger machinery.
        ffi::SQLITE_CONSTRAINT_TRIGGER
            if message.is_some_and(|m| m.starts_with("FOREIGN KEY constraint failed")) =>
        {
            ConstraintKind::ForeignKey
        }
        ffi::SQLITE_CONSTRAINT_CHECK => ConstraintKind::Check,
        ffi::SQLITE_CONSTRAINT_NOTNULL => ConstraintKind::NotNull,
        _ => ConstraintKind::Other,
    }
}

/// What a client stopped at the query budget is told to wait: long enough that a client
/// retrying in a loop does not keep every reader busy.
const QUERY_TIMEOUT_RETRY_SECS: u64 = 2;

/// The one place storage failures become HTTP: a busy or closing database is a 503 the
/// client may retry, a full disk is 507, and anything else is an opaque 500 whose
/// cause goes to the log only.
impl From<StorageError> for Problem {
    fn from(err: StorageError) -> Problem {
        match err {
            StorageError::Busy | StorageError::RolledBack => {
                tracing::warn!(error = %err, "database busy");
                Problem::new(ProblemCode::Unavailable).with_retry_after(1)
            }
            StorageError::QueryTimeout => {
                tracing::warn!(error = %err, "query stopped at its time budget");
                Problem::new(ProblemCode::QueryTimeout).with_retry_after(QUERY_TIMEOUT_RETRY_SECS)
            }
            StorageError::Closed => {
                tracing::info!(error = %err, "request hit a closed database");
                Problem::new(ProblemCode::Unavailable).with_retry_after(1)
            }
            StorageError::ReadOnly => {
                tracing::error!(error = %err, "database is not writable");
                Problem::new(ProblemCode::Unavailable).with_retry_after(1)
            }
            StorageError::FailStopped(_) => {
                tracing::error!(error = %err, "write refused after a failed fsync");
                // No Retry-After: only a restart ends this.
                Problem::new(ProblemCode::Unavailable).with_detail(
                    "writes are refused since a disk sync failed; the operator must check the disk and restart the server",
                )
            }
            StorageError::Full => {
                tracing::error!(error = %err, "disk full");
                Problem::new(ProblemCode::InsufficientStorage)
            }
            other => {
                tracing::error!(error = %other, "storage error");
                Problem::internal()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(code: std::os::raw::c_int) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(ffi::Error::new(code), None)
    }

    #[test]
    fn unique_violation_is_classified_as_constraint_unique() {
        let conn = crate::connection::test_memory_db();
        conn.execute_batch("CREATE TABLE t(email TEXT UNIQUE); INSERT INTO t VALUES ('a');")
            .unwrap();
        let err: StorageError = conn
            .execute("INSERT INTO t VALUES ('a')", [])
            .unwrap_err()
            .into();
        match &err {
            StorageError::Constraint { kind, message } => {
                assert_eq!(*kind, ConstraintKind::Unique);
                assert!(message.contains("t.email"), "{message}");
            }
            other => panic!("expected Constraint, got {other:?}"),
        }
        assert!(err.is_unique_violation());
    }

    #[test]
    fn not_null_foreign_key_and_check_violations_name_their_kind() {
        let conn = crate::connection::test_memory_db();
        conn.execute_batch(
            "PRAGMA foreign_keys = ON;
             CREATE TABLE p(id INTEGER PRIMARY KEY);
             CREATE TABLE c(p INTEGER REFERENCES p(id), n INTEGER NOT NULL CHECK (n > 0));
             CREATE TABLE r(p INTEGER REFERENCES p(id) ON DELETE RESTRICT);
             INSERT INTO p VALUES (1); INSERT INTO r VALUES (1);",
        )
        .unwrap();
        let kind = |sql: &str| match StorageError::from(conn.execute(sql, []).unwrap_err()) {
            StorageError::Constraint { kind, .. } => kind,
            other => panic!("expected Constraint, got {other:?}"),
        };
        assert_eq!(
            kind("INSERT INTO c VALUES (NULL, NULL)"),
            ConstraintKind::NotNull
        );
        assert_eq!(
            kind("INSERT INTO c VALUES (7, 1)"),
            ConstraintKind::ForeignKey
        );
        assert_eq!(
            kind("INSERT INTO c VALUES (NULL, 0)"),
            ConstraintKind::Check
        );
        // RESTRICT reports SQLITE_CONSTRAINT_TRIGGER; it is still a foreign key.
        assert_eq!(
            kind("DELETE FROM p WHERE id = 1"),
            ConstraintKind::ForeignKey
        );
    }

    #[test]
    fn result_codes_map_to_busy_full_readonly_and_corrupt() {
        assert!(matches!(
            failure(ffi::SQLITE_BUSY).into(),
            StorageError::Busy
        ));
        assert!(matches!(
            failure(ffi::SQLITE_LOCKED).into(),
            StorageError::Busy
        ));
        assert!(matches!(
            failure(ffi::SQLITE_FULL).into(),
            StorageError::Full
        ));
        assert!(matches!(
            failure(ffi::SQLITE_READONLY).into(),
            StorageError::ReadOnly
        ));
        assert!(matches!(
            failure(ffi::SQLITE_CANTOPEN).into(),
            StorageError::ReadOnly
        ));
        assert!(matches!(
            failure(ffi::SQLITE_CORRUPT).into(),
            StorageError::Corrupt(_)
        ));
        let other: StorageError = rusqlite::Error::QueryReturnedNoRows.into();
        assert!(matches!(other, StorageError::Sqlite(_)));
    }

    #[test]
    fn busy_closed_and_readonly_become_503_with_retry_after() {
        for err in [
            StorageError::Busy,
            StorageError::Closed,
            StorageError::ReadOnly,
        ] {
            let p = Problem::from(err);
            assert_eq!(p.code, ProblemCode::Unavailable);
            assert_eq!(p.code.status(), 503);
            assert_eq!(p.retry_after, Some(1));
        }
    }

    #[test]
    fn full_becomes_507() {
        let p = Problem::from(StorageError::Full);
        assert_eq!(p.code, ProblemCode::InsufficientStorage);
        assert_eq!(p.code.status(), 507);
    }

    #[test]
    fn other_errors_become_opaque_500_without_detail() {
        let errs = [
            StorageError::Corrupt("page 7 is bad".into()),
            StorageError::Panicked("boom".into()),
            StorageError::Constraint {
                kind: ConstraintKind::Unique,
                message: "UNIQUE constraint failed: users.email".into(),
            },
        ];
        for err in errs {
            let p = Problem::from(err);
            assert_eq!(p.code, ProblemCode::Internal);
            assert_eq!(p.detail, None);
            assert!(p.errors.is_empty());
        }
    }
}
