//! A database with the feed's table and one record table shaped like Hearth's.

use rusqlite::Connection;
use storage::{Db, Migration, StorageConfig};
use tempfile::TempDir;

pub const FEED_SQL: &str = include_str!("../../../../migrations/0009_change_feed.sql");

/// A record table as resources creates them: system columns, then one of each column
/// type, STRICT.
pub const ITEMS_SQL: &str = "CREATE TABLE users (id TEXT PRIMARY KEY);
    CREATE TABLE rec_items (
        id TEXT PRIMARY KEY NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
        version INTEGER NOT NULL DEFAULT 1,
        owner TEXT REFERENCES users(id) ON DELETE SET NULL,
        t TEXT, i INTEGER, n REAL) STRICT;";

pub const ITEM_COLUMNS: [&str; 8] = [
    "id",
    "created_at",
    "updated_at",
    "version",
    "owner",
    "t",
    "i",
    "n",
];

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "feed",
        sql: FEED_SQL,
    },
    Migration {
        version: 2,
        name: "items",
        sql: ITEMS_SQL,
    },
];

pub fn install_triggers(conn: &Connection) {
    for sql in feed::trigger_sql("rec_items", "items", &ITEM_COLUMNS) {
        conn.execute_batch(&sql).unwrap();
    }
}

/// An in-memory database with the feed, `rec_items` and its triggers.
pub fn memory() -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(FEED_SQL).unwrap();
    conn.execute_batch(ITEMS_SQL).unwrap();
    install_triggers(&conn);
    conn
}

pub fn open(dir: &TempDir) -> Db {
    let db = Db::open(StorageConfig::new(dir.path().join("hearth.db")), MIGRATIONS).unwrap();
    db
}

/// `open`, with the triggers installed (once per file).
pub async fn open_with_triggers(dir: &TempDir) -> Db {
    let db = open(dir);
    db.write(|c| {
        install_triggers(c);
        Ok::<_, storage::StorageError>(())
    })
    .await
    .unwrap();
    db
}

pub fn insert_item(conn: &Connection, id: &str) -> rusqlite::Result<usize> {
    conn.execute(
        "INSERT INTO rec_items (id, created_at, updated_at, t) VALUES (?1, 'c', 'u', 'x')",
        [id],
    )
}

pub fn count_changes(conn: &Connection) -> i64 {
    conn.query_row("SELECT count(*) FROM changes", [], |r| r.get(0))
        .unwrap()
}
