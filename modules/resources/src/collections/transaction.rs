//! Schema changes run as exclusive writer jobs (alone, outside the group-commit
//! transaction) because rebuilding a table needs `PRAGMA foreign_keys = OFF`, which
//! SQLite ignores inside a transaction: with it on, dropping the old table would fire
//! ON DELETE actions on every referencing record.

use crate::error::ResourceError;
use rusqlite::Connection;

/// Runs `f` in its own transaction with foreign keys off, verifies every foreign key
/// before committing, and commits only if `commit` is true (a dry run rolls back).
pub fn schema_transaction<T>(
    conn: &Connection,
    commit: bool,
    f: impl FnOnce(&Connection) -> Result<T, ResourceError>,
) -> Result<T, ResourceError> {
    conn.execute_batch("PRAGMA foreign_keys = OFF; BEGIN IMMEDIATE")?;
    let result = f(conn).and_then(|value| {
        let dangling: i64 =
            conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })?;
        if dangling > 0 {
            return Err(ResourceError::SchemaConflict(format!(
                "the change would leave {dangling} relation value(s) pointing at missing records"
            )));
        }
        Ok(value)
    });
    let end = match (&result, commit) {
        (Ok(_), true) => "COMMIT",
        _ => "ROLLBACK",
    };
    if let Err(e) = conn.execute_batch(end) {
        let _ = conn.execute_batch("ROLLBACK");
        return Err(e.into());
    }
    conn.execute_batch("PRAGMA foreign_keys = ON")?;
    result
}
