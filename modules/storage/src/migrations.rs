//! Schema migrations embedded in the binary, applied all-or-nothing at start-up.
//!
//! Each applied migration is recorded with a SHA-256 of its SQL, so an edited migration
//! (which would leave databases that ran the old text silently different) is refused
//! instead of ignored, and a database touched by a newer binary is recognised.

use crate::error::StorageError;
use rusqlite::{Connection, TransactionBehavior};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// One step of the schema. `sql` may hold several statements but must not manage
/// transactions itself: the runner wraps every pending migration in one transaction
/// (which is also why `PRAGMA foreign_keys` inside a migration has no effect).
#[derive(Clone, Copy, Debug)]
pub struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Tables storage owns, created before any app migration runs. `_hearth_health` has
/// exactly one row (id = 1), rewritten by `Db::check_writable`.
const BOOTSTRAP: &str = "
CREATE TABLE IF NOT EXISTS _hearth_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    checksum   TEXT NOT NULL,
    applied_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS _hearth_health (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    checked_at TEXT NOT NULL
);
";

/// Applies every pending migration in one IMMEDIATE transaction (so two processes
/// migrating the same file at once serialise instead of both applying) and returns the
/// versions applied, in order.
pub(crate) fn apply(
    conn: &mut Connection,
    migrations: &[Migration],
) -> Result<Vec<u32>, StorageError> {
    check_increasing(migrations)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(BOOTSTRAP)?;
    let applied = applied(&tx)?;
    let pending = pending(migrations, &applied)?;
    let now = kernel::clock::now();
    let mut versions = Vec::with_capacity(pending.len());
    for m in pending {
        tx.execute_batch(m.sql)
            .map_err(|source| StorageError::MigrationFailed {
                version: m.version,
                name: m.name.to_string(),
                source,
            })?;
        tx.execute(
            "INSERT INTO _hearth_migrations (version, name, checksum, applied_at) VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![m.version, m.name, checksum(m.sql), now],
        )?;
        versions.push(m.version);
    }
    // Dropping `tx` on any `?` above rolls everything back, bootstrap included.
    tx.commit()?;
    if !versions.is_empty() {
        tracing::info!(?versions, "applied migrations");
    }
    Ok(versions)
}

/// SHA-256 of the SQL text, lowercase hex.
pub(crate) fn checksum(sql: &str) -> String {
    Sha256::digest(sql.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn check_increasing(migrations: &[Migration]) -> Result<(), StorageError> {
    for pair in migrations.windows(2) {
        if pair[1].version <= pair[0].version {
            return Err(StorageError::MigrationsNotIncreasing {
                version: pair[1].version,
            });
        }
    }
    Ok(())
}

struct Applied {
    name: String,
    checksum: String,
}

fn applied(conn: &Connection) -> Result<BTreeMap<u32, Applied>, StorageError> {
    let mut stmt = conn.prepare("SELECT version, name, checksum FROM _hearth_migrations")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, u32>(0)?,
            Applied {
                name: r.get(1)?,
                checksum: r.get(2)?,
            },
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Compares what the database has with what the binary embeds and returns what is left
/// to apply, refusing every mismatch rather than guessing.
fn pending<'m>(
    migrations: &'m [Migration],
    applied: &BTreeMap<u32, Applied>,
) -> Result<Vec<&'m Migration>, StorageError> {
    for (&version, row) in applied {
        match migrations.iter().find(|m| m.version == version) {
            None => {
                return Err(StorageError::UnknownMigration {
                    version,
                    name: row.name.clone(),
                })
            }
            Some(m) if checksum(m.sql) != row.checksum => {
                return Err(StorageError::MigrationChanged {
                    version,
                    name: m.name.to_string(),
                })
            }
            Some(_) => {}
        }
    }
    let latest = applied.keys().next_back().copied();
    let pending: Vec<_> = migrations
        .iter()
        .filter(|m| !applied.contains_key(&m.version))
        .collect();
    // A new migration slotted below the latest applied one would run after it on old
    // databases and before it on fresh ones: two different schemas from one binary.
    if let (Some(latest), Some(first)) = (latest, pending.first()) {
        if first.version < latest {
            return Err(StorageError::MigrationOutOfOrder {
                version: first.version,
                name: first.name.to_string(),
                latest,
            });
        }
    }
    Ok(pending)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded(conn: &Connection) -> i64 {
        conn.query_row("SELECT COUNT(*) FROM _hearth_migrations", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn checksum_is_sha256_hex() {
        assert_eq!(
            checksum(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn bootstrap_creates_storage_tables_even_without_app_migrations() {
        let mut conn = crate::connection::test_memory_db();
        assert_eq!(apply(&mut conn, &[]).unwrap(), Vec::<u32>::new());
        assert_eq!(recorded(&conn), 0);
        conn.execute("INSERT INTO _hearth_health VALUES (1, 'now')", [])
            .unwrap();
        // The CHECK keeps the heartbeat table at one row.
        assert!(conn
            .execute("INSERT INTO _hearth_health VALUES (2, 'now')", [])
            .is_err());
    }

    #[test]
    fn versions_not_strictly_increasing_are_refused_before_touching_the_database() {
        let mut conn = crate::connection::test_memory_db();
        let list = [
            Migration {
                version: 2,
                name: "b",
                sql: "CREATE TABLE b(x);",
            },
            Migration {
                version: 2,
                name: "c",
                sql: "CREATE TABLE c(x);",
            },
        ];
        let err = apply(&mut conn, &list).unwrap_err();
        assert!(matches!(
            err,
            StorageError::MigrationsNotIncreasing { version: 2 }
        ));
        let tables: i64 = conn
            .query_row("SELECT COUNT(*) FROM sqlite_schema", [], |r| r.get(0))
            .unwrap();
        assert_eq!(tables, 0);
    }
}
