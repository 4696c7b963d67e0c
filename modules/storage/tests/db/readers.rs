//! The reader pool: query-only connections that see committed writes.

use crate::common::{config, count, open, write_item, ITEMS};
use hearth_storage::{Db, StorageConfig, StorageError};

#[tokio::test(flavor = "multi_thread")]
async fn readers_are_query_only_so_an_insert_through_read_fails() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir);
    let err = db
        .read(|c| {
            c.execute("INSERT INTO items VALUES ('sneaky', 't', 1)", [])?;
            Ok::<_, StorageError>(())
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::ReadOnly), "{err:?}");
    let err = db
        .readers()
        .run(|c| Ok::<_, StorageError>(c.execute_batch("DROP TABLE items")?))
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::ReadOnly), "{err:?}");
    assert_eq!(count(&db).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn reads_see_writes_as_soon_as_write_returns() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir);
    for i in 0..50 {
        write_item(&db, format!("item-{i}")).await.unwrap();
        assert_eq!(count(&db).await, i + 1);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn panicking_read_returns_panicked_and_its_connection_goes_back_to_the_pool() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(
        StorageConfig {
            readers: 2,
            ..config(&dir)
        },
        ITEMS,
    )
    .unwrap();
    assert_eq!(db.readers().size(), 2);
    for _ in 0..5 {
        let err = db
            .read(|_| -> Result<(), StorageError> { panic!("read explodes") })
            .await
            .unwrap_err();
        assert!(
            matches!(err, StorageError::Panicked(ref m) if m.contains("explodes")),
            "{err:?}"
        );
    }
    // Had a connection leaked, these would wait forever on a pool of two.
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move { count(&db).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), 0);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn reads_run_on_exactly_the_pool_threads_however_many_arrive_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(
        StorageConfig {
            readers: 3,
            ..config(&dir)
        },
        ITEMS,
    )
    .unwrap();
    let tasks: Vec<_> = (0..300)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move {
                db.read(|_| {
                    std::thread::sleep(std::time::Duration::from_micros(200));
                    Ok::<_, StorageError>(std::thread::current().name().map(str::to_owned))
                })
                .await
                .unwrap()
            })
        })
        .collect();
    let mut names = std::collections::BTreeSet::new();
    for task in tasks {
        names.insert(task.await.unwrap().unwrap_or_default());
    }
    let expected: std::collections::BTreeSet<String> =
        (0..3).map(|i| format!("hearth-reader-{i}")).collect();
    assert_eq!(names, expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn reads_after_close_are_refused_and_queued_ones_finish_first() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir);
    let slow = {
        let db = db.clone();
        tokio::spawn(async move {
            db.read(|c| {
                std::thread::sleep(std::time::Duration::from_millis(100));
                Ok::<i64, StorageError>(
                    c.query_row("SELECT count(*) FROM items", [], |r| r.get(0))?,
                )
            })
            .await
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    db.close().await.unwrap();
    assert_eq!(
        slow.await.unwrap().unwrap(),
        0,
        "the read in flight finished"
    );
    let err = db.read(|_| Ok::<_, StorageError>(())).await.unwrap_err();
    assert!(matches!(err, StorageError::Closed), "{err:?}");
}

/// A read job that leaves a `BEGIN` open would keep its connection on one snapshot
/// (later reads would not see new writes) and stop the WAL from starting over.
#[tokio::test(flavor = "multi_thread")]
async fn a_read_that_leaves_a_transaction_open_is_rolled_back_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(
        StorageConfig {
            readers: 1,
            ..config(&dir)
        },
        ITEMS,
    )
    .unwrap();
    write_item(&db, "before").await.unwrap();
    let dangling = db
        .read(|c| {
            c.execute_batch("BEGIN")?;
            c.query_row("SELECT COUNT(*) FROM items", [], |r| r.get::<_, i64>(0))
                .map_err(StorageError::from)
        })
        .await;
    let err = dangling.expect_err("a job that left BEGIN open must not pass as fine");
    assert!(matches!(err, StorageError::TransactionLeftOpen), "{err:?}");
    // The one connection is back in autocommit: it sees the next write.
    write_item(&db, "after").await.unwrap();
    assert_eq!(count(&db).await, 2);
    let autocommit = db
        .read(|c| Ok::<_, StorageError>(c.is_autocommit()))
        .await
        .unwrap();
    assert!(autocommit);
}
