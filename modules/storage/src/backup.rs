//! Online backup with `VACUUM INTO`: it reads one consistent snapshot (a read
//! transaction, so the writer keeps going) and writes a compact, self-contained file
//! with no -wal beside it. The copy is then checked before anyone relies on it.

use crate::connection::open_existing;
use crate::error::StorageError;
use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::time::Duration;

/// Long enough to wait out a checkpoint or a migration holding a lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Copies the database at `db_path` (which must exist) to `out` (which must not), then
/// runs `PRAGMA integrity_check` on the copy. Safe while a server has the file open.
/// A copy that fails (or fails the check) is deleted, so no broken backup is left.
pub fn backup_file(db_path: &Path, out: &Path) -> Result<(), StorageError> {
    if out.exists() {
        return Err(StorageError::BackupTargetExists(out.to_path_buf()));
    }
    if !db_path.is_file() {
        return Err(StorageError::Io(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("database file {} does not exist", db_path.display()),
        )));
    }
    // VACUUM INTO reads its target as a URI too when it starts with `file:`.
    let plain_out = crate::connection::plain_path(out);
    let target = plain_out.to_str().ok_or_else(|| {
        StorageError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("backup path {} is not valid UTF-8", out.display()),
        ))
    })?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            crate::private_files::private_dir(dir)?;
        }
    }
    // Empty and 0600 before SQLite writes into it (VACUUM INTO accepts an empty file):
    // a backup holds everything the database does.
    crate::private_files::private_file(out)?;
    let source = open_existing(db_path, BUSY_TIMEOUT)?;
    // VACUUM INTO also refuses a non-empty existing target, so a file appearing since
    // the check above is not overwritten.
    let copied = source.execute("VACUUM INTO ?1", [target]);
    drop(source);
    if let Err(err) = copied.map_err(StorageError::from).and_then(|_| verify(out)) {
        // `out` did not exist a moment ago, so what is there now is our partial or
        // broken copy: remove it so nobody mistakes it for a good backup.
        if out.exists() {
            if let Err(rm) = std::fs::remove_file(out) {
                tracing::warn!(error = %rm, path = %out.display(), "could not remove a failed backup");
            }
        }
        return Err(err);
    }
    tracing::info!(from = %db_path.display(), to = %out.display(), "backup written and verified");
    Ok(())
}

/// Checks that `path` is a SQLite database that passes `PRAGMA integrity_check` and was
/// written by Hearth (it has the migrations table). For `hearth restore`.
pub fn verify_database(path: &Path) -> Result<(), StorageError> {
    if !path.is_file() {
        return Err(StorageError::Io(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{} is not a file", path.display()),
        )));
    }
    verify(path)?;
    let conn = Connection::open_with_flags(
        crate::connection::plain_path(path),
        OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    let hearth: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE name = '_hearth_migrations')",
        [],
        |r| r.get(0),
    )?;
    if hearth {
        Ok(())
    } else {
        Err(StorageError::Corrupt(format!(
            "{} is not a Hearth database",
            path.display()
        )))
    }
}

/// `integrity_check` answers one row "ok", or up to 100 rows describing problems.
fn verify(copy: &Path) -> Result<(), StorageError> {
    crate::connection::prepare_sqlite();
    let conn = Connection::open_with_flags(
        crate::connection::plain_path(copy),
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let mut stmt = conn.prepare("PRAGMA integrity_check")?;
    let problems = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    if problems.len() == 1 && problems[0] == "ok" {
        Ok(())
    } else {
        Err(StorageError::Corrupt(format!(
            "backup copy failed integrity_check: {}",
            problems.join("; ")
        )))
    }
}
