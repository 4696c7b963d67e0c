//! Online backup: consistent while writes run, verified, never overwriting.

use crate::common::{open, write_item};
use hearth_storage::rusqlite::Connection;
use hearth_storage::{backup_file, StorageError};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

fn integrity_and_rows(path: &std::path::Path) -> (String, i64) {
    let conn = Connection::open(path).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    let rows = conn
        .query_row("SELECT COUNT(*) FROM items", [], |r| r.get(0))
        .unwrap();
    (check, rows)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backup_while_writes_run_is_a_consistent_copy_with_rows() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir);
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (db, stop) = (db.clone(), Arc::clone(&stop));
            tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    write_item(&db, format!("w{w}-{n}")).await.unwrap();
                    n += 1;
                }
                n
            })
        })
        .collect();
    crate::common::wait_until("some rows exist", || db.stats().jobs >= 200).await;
    let out = dir.path().join("backups/copy.db");
    db.backup_to(&out).await.unwrap();
    stop.store(true, Ordering::Relaxed);
    let mut written = 0;
    for w in writers {
        written += w.await.unwrap();
    }
    let (check, rows) = integrity_and_rows(&out);
    assert_eq!(check, "ok");
    assert!(
        rows >= 200 && rows <= written,
        "copy has {rows} of {written} rows"
    );
    assert!(!dir.path().join("backups/copy.db-wal").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn backup_to_an_existing_file_is_refused_and_leaves_it_alone() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir);
    let out = dir.path().join("precious.db");
    std::fs::write(&out, b"do not overwrite").unwrap();
    let err = db.backup_to(&out).await.unwrap_err();
    assert!(
        matches!(&err, StorageError::BackupTargetExists(p) if p == &out),
        "{err:?}"
    );
    assert!(err.to_string().contains("already exists"));
    assert_eq!(std::fs::read(&out).unwrap(), b"do not overwrite");
}

#[tokio::test(flavor = "multi_thread")]
async fn backup_file_works_on_a_file_a_live_db_has_open() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir);
    for i in 0..10 {
        write_item(&db, format!("item-{i}")).await.unwrap();
    }
    let (src, out) = (db.path().to_path_buf(), dir.path().join("cli-backup.db"));
    let copy = out.clone();
    tokio::task::spawn_blocking(move || backup_file(&src, &copy))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(integrity_and_rows(&out), ("ok".to_string(), 10));
    write_item(&db, "after-backup").await.unwrap();
    db.close().await.unwrap();
}

#[test]
fn backup_file_of_a_missing_database_fails_without_creating_anything() {
    let dir = tempfile::tempdir().unwrap();
    let (src, out) = (dir.path().join("missing.db"), dir.path().join("out.db"));
    let err = backup_file(&src, &out).unwrap_err();
    assert!(
        matches!(&err, StorageError::Io(e) if e.kind() == std::io::ErrorKind::NotFound),
        "{err:?}"
    );
    assert!(!src.exists() && !out.exists());
}
