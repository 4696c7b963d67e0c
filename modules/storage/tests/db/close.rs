//! Shutdown: drain, checkpoint, refuse further work, idempotent.

use crate::common::{count, open, write_item};
use hearth_storage::StorageError;

#[tokio::test(flavor = "multi_thread")]
async fn close_checkpoints_the_wal_and_later_calls_get_closed() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir);
    for i in 0..100 {
        write_item(&db, format!("item-{i}")).await.unwrap();
    }
    let wal = {
        let mut p = db.path().as_os_str().to_owned();
        p.push("-wal");
        std::path::PathBuf::from(p)
    };
    assert!(
        std::fs::metadata(&wal).unwrap().len() > 0,
        "writes went to the WAL"
    );
    db.close().await.unwrap();
    let wal_len = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert_eq!(wal_len, 0, "-wal must be absent or empty after close");

    let err = write_item(&db, "late").await.unwrap_err();
    assert!(matches!(err, StorageError::Closed), "{err:?}");
    let err = db.read(|_| Ok::<_, StorageError>(())).await.unwrap_err();
    assert!(matches!(err, StorageError::Closed), "{err:?}");
    assert!(matches!(
        db.check_writable().await,
        Err(StorageError::Closed)
    ));
    db.close().await.unwrap();

    // Everything written before close is in the database file.
    let reopened = open(&dir);
    assert_eq!(count(&reopened).await, 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_queued_before_close_are_committed_not_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir);
    let tasks: Vec<_> = (0..300)
        .map(|i| {
            let db = db.clone();
            tokio::spawn(async move { write_item(&db, format!("item-{i}")).await })
        })
        .collect();
    let (a, b) = tokio::join!(db.close(), db.close());
    a.unwrap();
    b.unwrap();
    let mut committed = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => committed += 1,
            Err(StorageError::Closed) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    // Every write that was told "ok" is in the file; the rest were refused, not lost.
    assert_eq!(count(&open(&dir)).await, committed);
}
