//! The WAL-writing VFS (src/wal_writes.rs): every acknowledged commit is in the -wal
//! file itself, as a connection of SQLite's plain unix VFS (another process, say
//! Litestream) reads it, with either synchronous setting.

use crate::common::{config, write_item, ITEMS};
use hearth_storage::rusqlite::{Connection, OpenFlags};
use hearth_storage::{Db, StorageConfig, Synchronous};

async fn a_plain_unix_vfs_reader_sees_each_acknowledged_write(synchronous: Synchronous) {
    let dir = tempfile::tempdir().unwrap();
    let config = StorageConfig {
        synchronous,
        ..config(&dir)
    };
    let db = Db::open(config.clone(), ITEMS).unwrap();
    let plain = Connection::open_with_flags_and_vfs(
        &config.path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        c"unix",
    )
    .unwrap();
    for i in 0..300 {
        write_item(&db, format!("item-{i:03}")).await.unwrap();
        let (n, last): (i64, String) = plain
            .query_row("SELECT COUNT(*), MAX(id) FROM items", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((n, last), (i + 1, format!("item-{i:03}")));
    }
    let check: String = plain
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_acknowledged_write_is_in_the_wal_file_with_synchronous_normal() {
    a_plain_unix_vfs_reader_sees_each_acknowledged_write(Synchronous::Normal).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_acknowledged_write_is_in_the_wal_file_with_synchronous_full() {
    a_plain_unix_vfs_reader_sees_each_acknowledged_write(Synchronous::Full).await;
}

/// Without powersafe overwrite (`psow=0`) and with synchronous=FULL, SQLite pads each
/// commit to a sector boundary with copies of its commit frame and syncs at that
/// boundary, which can fall inside a padding frame's 24-byte header. The VFS must not
/// keep the rest of that frame in memory once SQLite has published it: another
/// connection (a reader, the checkpointer) would read a stale or missing page.
#[tokio::test(flavor = "multi_thread")]
async fn without_powersafe_overwrite_every_commit_is_whole_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    // Opening a Db installs Hearth's VFS as SQLite's default.
    let db = Db::open(config(&dir), ITEMS).unwrap();
    db.close().await.unwrap();
    let path = dir.path().join("psow.db");
    let uri = format!("file:{}?psow=0", path.display());
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let writer = Connection::open_with_flags(&uri, flags).unwrap();
    writer
        .execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
             CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL);
             INSERT INTO t VALUES (1, 0);",
        )
        .unwrap();
    let reader = Connection::open_with_flags(&uri, flags).unwrap();
    // Enough commits for the sync point to land inside a frame header many times
    // (with 4096-byte pages and sectors it does about once in 170 commits).
    for i in 1..=1200i64 {
        writer
            .execute("UPDATE t SET v = ?1 WHERE id = 1", [i])
            .unwrap();
        let seen = reader.query_row("SELECT v FROM t WHERE id = 1", [], |r| r.get::<_, i64>(0));
        assert_eq!(
            seen.ok(),
            Some(i),
            "commit {i} acknowledged but not readable"
        );
    }
    drop(reader);
    // A fresh connection, then a reopen after the writer is gone: the last
    // acknowledged value is there and the file is sound.
    let fresh = Connection::open_with_flags(&uri, flags).unwrap();
    let v: i64 = fresh
        .query_row("SELECT v FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, 1200);
    drop(fresh);
    drop(writer);
    let reopened = Connection::open_with_flags(&uri, flags).unwrap();
    let (v, check): (i64, String) = reopened
        .query_row(
            "SELECT (SELECT v FROM t), (SELECT integrity_check FROM pragma_integrity_check)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((v, check.as_str()), (1200, "ok"));
}
