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
