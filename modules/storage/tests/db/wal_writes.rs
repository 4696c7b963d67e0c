//! The WAL-writing VFS (src/wal_writes.rs): every acknowledged commit is in the -wal
//! file itself, as a connection of SQLite's plain unix VFS (another process, say
//! Litestream) reads it.

use crate::common::{config, open, write_item};
use hearth_storage::rusqlite::{Connection, OpenFlags};

#[tokio::test(flavor = "multi_thread")]
async fn every_acknowledged_write_is_in_the_wal_file_for_a_plain_unix_vfs_reader() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir);
    let plain = Connection::open_with_flags_and_vfs(
        config(&dir).path,
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
