//! The writer: group commit with per-job savepoints, failure isolation, backpressure.

use crate::common::{
    config, count, create_deferred_kids, exists, hold_writer, insert, insert_dangling_kid,
    is_constraint, join_all, open, submit_in_order, wait_until, write_item, BoxedJob, TestError,
    ITEMS,
};
use hearth_storage::rusqlite::Connection;
use hearth_storage::{ConstraintKind, Db, StorageConfig, StorageError};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_hundred_concurrent_writes_with_one_failing_job_commit_exactly_499_rows() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir);
    let gate = hold_writer(&db).await;
    let tasks: Vec<_> = (0..500)
        .map(|i| {
            let db = db.clone();
            tokio::spawn(async move {
                db.write(move |c| {
                    insert(c, &format!("item-{i}"))?;
                    // Fails after its insert: the insert must be undone, nothing else.
                    if i == 250 {
                        return Err(TestError::Deliberate);
                    }
                    Ok(())
                })
                .await
            })
        })
        .collect();
    wait_until("all 500 jobs are queued", || db.stats().queue_depth == 500).await;
    gate.release().await;

    let mut ok = 0;
    for (i, task) in tasks.into_iter().enumerate() {
        match task.await.unwrap() {
            Ok(()) => ok += 1,
            Err(TestError::Deliberate) => assert_eq!(i, 250),
            Err(other) => panic!("job {i} failed: {other:?}"),
        }
    }
    assert_eq!(ok, 499);
    assert_eq!(count(&db).await, 499);
    assert!(
        !exists(&db, "item-250").await,
        "the failing job's row was rolled back"
    );
    let stats = db.stats();
    assert!(stats.largest_batch > 1, "{stats:?}");
    assert!(stats.batches < stats.jobs, "{stats:?}");
    assert_eq!(stats.jobs, 501, "{stats:?}");
    assert_eq!(stats.queue_depth, 0, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn panicking_job_gets_panicked_while_its_batch_commits_and_the_writer_survives() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir);
    let gate = hold_writer(&db).await;
    let jobs: Vec<BoxedJob> = (0..20)
        .map(|i| -> BoxedJob {
            Box::new(move |c: &Connection| {
                insert(c, &format!("item-{i}"))?;
                if i == 7 {
                    panic!("job 7 explodes after inserting");
                }
                Ok(())
            })
        })
        .collect();
    let tasks = submit_in_order(&db, jobs).await;
    gate.release().await;
    for (i, task) in tasks.into_iter().enumerate() {
        match (i, task.await.unwrap()) {
            (7, Err(TestError::Storage(StorageError::Panicked(msg)))) => {
                assert!(msg.contains("explodes"), "{msg}")
            }
            (7, other) => panic!("job 7 should report the panic, got {other:?}"),
            (_, result) => result.unwrap(),
        }
    }
    assert_eq!(count(&db).await, 19);
    assert!(!exists(&db, "item-7").await);
    write_item(&db, "after-the-panic").await.unwrap();
    assert_eq!(db.stats().largest_batch, 20);
}

#[tokio::test(flavor = "multi_thread")]
async fn unique_violation_through_the_writer_is_constraint_unique_and_spares_its_batch() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir);
    write_item(&db, "taken").await.unwrap();
    let gate = hold_writer(&db).await;
    let jobs: Vec<BoxedJob> = ["a", "taken", "b"]
        .into_iter()
        .map(|id| -> BoxedJob { Box::new(move |c: &Connection| Ok(insert(c, id)?)) })
        .collect();
    let tasks = submit_in_order(&db, jobs).await;
    gate.release().await;
    let results: Vec<_> = join_all(tasks).await;
    assert!(results[0].is_ok() && results[2].is_ok());
    match &results[1] {
        Err(TestError::Storage(err @ StorageError::Constraint { kind, .. })) => {
            // A TEXT primary key is reported as PRIMARYKEY; both count as "unique".
            assert!(matches!(
                kind,
                ConstraintKind::PrimaryKey | ConstraintKind::Unique
            ));
            assert!(err.is_unique_violation());
        }
        other => panic!("expected a constraint error, got {other:?}"),
    }
    assert_eq!(count(&db).await, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn unique_index_violation_is_classified_as_unique() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir);
    db.write(|c| {
        Ok::<_, StorageError>(c.execute_batch("CREATE UNIQUE INDEX items_title ON items(title)")?)
    })
    .await
    .unwrap();
    write_item(&db, "x").await.unwrap();
    let err = db
        .write(|c| {
            c.execute("INSERT INTO items VALUES ('y', 'title x', 1)", [])?;
            Ok::<_, StorageError>(())
        })
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StorageError::Constraint {
                kind: ConstraintKind::Unique,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn deferred_foreign_key_violation_fails_only_its_own_job() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir);
    create_deferred_kids(&db).await;
    let gate = hold_writer(&db).await;
    let jobs: Vec<BoxedJob> = vec![
        Box::new(|c: &Connection| Ok(insert(c, "before")?)),
        Box::new(insert_dangling_kid),
        Box::new(|c: &Connection| Ok(insert(c, "after")?)),
    ];
    let tasks = submit_in_order(&db, jobs).await;
    gate.release().await;
    let results = join_all(tasks).await;
    assert!(results[0].is_ok() && results[2].is_ok(), "{results:?}");
    assert!(
        is_constraint(&results[1], ConstraintKind::ForeignKey),
        "{results:?}"
    );
    assert_eq!(count(&db).await, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn transaction_lost_mid_batch_fails_earlier_jobs_as_rolled_back_and_later_jobs_commit() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir);
    let gate = hold_writer(&db).await;
    // Job 1 ends the transaction the way SQLite does on disk full or an I/O error.
    let jobs: Vec<BoxedJob> = vec![
        Box::new(|c: &Connection| Ok(insert(c, "lost")?)),
        Box::new(|c: &Connection| {
            c.execute_batch("ROLLBACK").map_err(StorageError::from)?;
            Err(TestError::Deliberate)
        }),
        Box::new(|c: &Connection| Ok(insert(c, "kept")?)),
    ];
    let tasks = submit_in_order(&db, jobs).await;
    gate.release().await;
    let results = join_all(tasks).await;
    assert!(
        matches!(
            results[0],
            Err(TestError::Storage(StorageError::RolledBack))
        ),
        "{results:?}"
    );
    assert!(
        matches!(results[1], Err(TestError::Deliberate)),
        "{results:?}"
    );
    assert!(results[2].is_ok(), "{results:?}");
    assert!(!exists(&db, "lost").await && exists(&db, "kept").await);
}

#[tokio::test(flavor = "multi_thread")]
async fn outside_write_lock_fails_the_batch_with_busy_and_the_writer_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let config = StorageConfig {
        busy_timeout: Duration::from_millis(50),
        ..config(&dir)
    };
    let db = Db::open(config.clone(), ITEMS).unwrap();
    // Another process (here: another connection) holds the write lock.
    let other = Connection::open(&config.path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let err = write_item(&db, "blocked").await.unwrap_err();
    assert!(matches!(err, StorageError::Busy), "{err:?}");
    let problem = kernel::Problem::from(err);
    assert_eq!((problem.code.status(), problem.retry_after), (503, Some(1)));
    assert!(db.check_writable().await.is_err());
    other.execute_batch("COMMIT").unwrap();
    write_item(&db, "unblocked").await.unwrap();
    db.check_writable().await.unwrap();
    assert_eq!(count(&db).await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn tiny_queue_and_unbatched_writer_apply_backpressure_without_losing_writes() {
    let dir = tempfile::tempdir().unwrap();
    let config = StorageConfig {
        max_batch: 1,
        queue_capacity: 2,
        ..config(&dir)
    };
    let db = Db::open(config, ITEMS).unwrap();
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let db = db.clone();
            tokio::spawn(async move { write_item(&db, format!("item-{i}")).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(count(&db).await, 100);
    let stats = db.stats();
    assert_eq!(
        (stats.largest_batch, stats.batches, stats.jobs),
        (1, 100, 100)
    );
}
