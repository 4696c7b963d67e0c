//! Migrations: all-or-nothing, recorded with checksums, refusing drift.

use crate::common::{config, open, ITEMS};
use hearth_storage::rusqlite::Connection;
use hearth_storage::{migrate_file, Db, Migration, StorageError};

const V1: Migration = Migration {
    version: 1,
    name: "users",
    sql: "CREATE TABLE users (id TEXT PRIMARY KEY);",
};
const V2: Migration = Migration {
    version: 2,
    name: "posts",
    sql: "CREATE TABLE posts (id TEXT PRIMARY KEY, author TEXT REFERENCES users(id));",
};
const V3: Migration = Migration {
    version: 3,
    name: "posts_index",
    sql: "CREATE INDEX posts_author ON posts(author);",
};
const BROKEN: Migration = Migration {
    version: 3,
    name: "broken",
    sql: "CREATE TABLE tags (id TEXT PRIMARY KEY); CREATE TABLE no_such_syntax (;",
};

fn tables(path: &std::path::Path) -> Vec<String> {
    let conn = Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        .unwrap();
    let names = stmt.query_map([], |r| r.get(0)).unwrap();
    names.collect::<Result<_, _>>().unwrap()
}

fn recorded(path: &std::path::Path) -> Vec<(u32, String, String)> {
    let conn = Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("SELECT version, name, checksum FROM _hearth_migrations ORDER BY version")
        .unwrap();
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap();
    rows.collect::<Result<_, _>>().unwrap()
}

#[test]
fn fresh_database_applies_all_migrations_in_order_and_records_them() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(&dir);
    assert_eq!(migrate_file(&config, &[V1, V2, V3]).unwrap(), vec![1, 2, 3]);
    let t = tables(&config.path);
    for name in ["_hearth_health", "_hearth_migrations", "posts", "users"] {
        assert!(t.contains(&name.to_string()), "{name} missing from {t:?}");
    }
    let rows = recorded(&config.path);
    assert_eq!(rows.len(), 3);
    assert_eq!((rows[1].0, rows[1].1.as_str()), (2, "posts"));
    assert_eq!(rows[1].2.len(), 64, "checksum is SHA-256 hex");
}

#[test]
fn rerun_applies_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(&dir);
    migrate_file(&config, &[V1, V2]).unwrap();
    assert!(migrate_file(&config, &[V1, V2]).unwrap().is_empty());
    // A later binary with one more migration applies only that one.
    assert_eq!(migrate_file(&config, &[V1, V2, V3]).unwrap(), vec![3]);
}

#[test]
fn changed_sql_of_an_applied_migration_is_refused_and_the_message_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(&dir);
    migrate_file(&config, &[V1, V2]).unwrap();
    let edited = Migration {
        sql: "CREATE TABLE posts (id TEXT PRIMARY KEY, body TEXT);",
        ..V2
    };
    let err = Db::open(config, &[V1, edited]).err().unwrap();
    assert!(
        matches!(&err, StorageError::MigrationChanged { version: 2, name } if name == "posts"),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("migration 2 (posts) was changed"),
        "{message}"
    );
    assert!(
        message.contains("new migration"),
        "says what to do: {message}"
    );
}

#[test]
fn applied_migration_missing_from_the_binary_is_refused_as_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(&dir);
    migrate_file(&config, &[V1, V2]).unwrap();
    let err = migrate_file(&config, &[V1]).unwrap_err();
    assert!(
        matches!(&err, StorageError::UnknownMigration { version: 2, name } if name == "posts"),
        "{err:?}"
    );
    assert!(err.to_string().contains("newer than this binary"), "{err}");
}

#[test]
fn failing_migration_applies_none_of_the_pending_set() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(&dir);
    migrate_file(&config, &[V1]).unwrap();
    let err = migrate_file(&config, &[V1, V2, BROKEN]).unwrap_err();
    assert!(
        matches!(&err, StorageError::MigrationFailed { version: 3, name, .. } if name == "broken"),
        "{err:?}"
    );
    let t = tables(&config.path);
    assert!(
        !t.contains(&"posts".to_string()),
        "v2 must be rolled back: {t:?}"
    );
    assert!(
        !t.contains(&"tags".to_string()),
        "v3's first statement too: {t:?}"
    );
    assert_eq!(recorded(&config.path).len(), 1);
}

#[test]
fn failing_first_migration_on_a_fresh_database_leaves_no_tables() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(&dir);
    let broken = Migration {
        version: 1,
        ..BROKEN
    };
    assert!(migrate_file(&config, &[broken]).is_err());
    assert!(tables(&config.path).is_empty());
}

#[test]
fn new_migration_numbered_below_the_latest_applied_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(&dir);
    let late = Migration { version: 5, ..V3 };
    migrate_file(&config, &[V1, V2, late]).unwrap();
    let slotted = Migration {
        version: 4,
        name: "slotted",
        sql: "CREATE TABLE slotted (id TEXT);",
    };
    let err = migrate_file(&config, &[V1, V2, slotted, late]).unwrap_err();
    assert!(
        matches!(
            err,
            StorageError::MigrationOutOfOrder {
                version: 4,
                latest: 5,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn open_applies_migrations_and_check_writable_writes_the_heartbeat_row() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir);
    db.check_writable().await.unwrap();
    db.check_writable().await.unwrap();
    let rows: i64 = db
        .read(|c| {
            c.query_row("SELECT COUNT(*) FROM _hearth_health", [], |r| r.get(0))
                .map_err(StorageError::from)
        })
        .await
        .unwrap();
    assert_eq!(rows, 1, "one heartbeat row, rewritten");
    db.close().await.unwrap();
    // Reopening the same file with the same list is a no-op.
    assert!(migrate_file(&config(&dir), ITEMS).unwrap().is_empty());
}
