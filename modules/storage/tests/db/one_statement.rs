//! `Db::write_one_statement`: jobs without a savepoint of their own, batched with the
//! others, and what happens when one breaks its promise.

use crate::common::{
    count, create_deferred_kids, exists, hold_writer, insert, insert_dangling_kid, is_constraint,
    join_all, open, submit_each_in_order, BoxedJob, How, TestError,
};
use hearth_storage::rusqlite::Connection;
use hearth_storage::{ConstraintKind, StorageError};

#[tokio::test(flavor = "multi_thread")]
async fn one_statement_jobs_share_the_batch_and_sqlite_undoes_a_failing_statement() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir);
    let gate = hold_writer(&db).await;
    let batches_before = db.stats().batches;
    let jobs: Vec<(How, BoxedJob)> = vec![
        (
            How::OneStatement,
            Box::new(|c: &Connection| Ok(insert(c, "a")?)),
        ),
        // Same primary key: the statement fails, and SQLite undoes it by itself.
        (
            How::OneStatement,
            Box::new(|c: &Connection| Ok(insert(c, "a")?)),
        ),
        (
            How::Savepoint,
            Box::new(|c: &Connection| Ok(insert(c, "b")?)),
        ),
        (
            How::OneStatement,
            Box::new(|c: &Connection| {
                // The proof that no savepoint was opened for this job.
                let err = c.execute_batch("ROLLBACK TO hearth_job").unwrap_err();
                assert!(err.to_string().contains("no such savepoint"), "{err}");
                Ok(insert(c, "c")?)
            }),
        ),
    ];
    let tasks = submit_each_in_order(&db, jobs).await;
    gate.release().await;
    let results = join_all(tasks).await;
    assert!(results[0].is_ok(), "{results:?}");
    assert!(
        is_constraint(&results[1], ConstraintKind::PrimaryKey),
        "{results:?}"
    );
    assert!(results[2].is_ok() && results[3].is_ok(), "{results:?}");
    assert_eq!(count(&db).await, 3);
    // The gate's batch, then the four jobs together.
    assert_eq!(db.stats().batches - batches_before, 1, "{:?}", db.stats());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_that_changes_then_fails_takes_its_transaction_down_and_leaves_nothing_partial() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir);
    let gate = hold_writer(&db).await;
    let jobs: Vec<(How, BoxedJob)> = vec![
        (
            How::Savepoint,
            Box::new(|c: &Connection| Ok(insert(c, "before")?)),
        ),
        (
            How::OneStatement,
            Box::new(|c: &Connection| {
                insert(c, "partial")?;
                Err(TestError::Deliberate)
            }),
        ),
        (
            How::OneStatement,
            Box::new(|c: &Connection| Ok(insert(c, "after")?)),
        ),
    ];
    let tasks = submit_each_in_order(&db, jobs).await;
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
    assert!(!exists(&db, "before").await && !exists(&db, "partial").await);
    assert!(exists(&db, "after").await);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deferred_foreign_key_left_dangling_fails_its_job_and_nothing_of_it_survives() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir);
    create_deferred_kids(&db).await;
    let gate = hold_writer(&db).await;
    let jobs: Vec<(How, BoxedJob)> = vec![
        (
            How::OneStatement,
            Box::new(|c: &Connection| Ok(insert(c, "before")?)),
        ),
        (How::OneStatement, Box::new(insert_dangling_kid)),
        (
            How::Savepoint,
            Box::new(|c: &Connection| Ok(insert(c, "after")?)),
        ),
    ];
    let tasks = submit_each_in_order(&db, jobs).await;
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
        is_constraint(&results[1], ConstraintKind::ForeignKey),
        "{results:?}"
    );
    assert!(results[2].is_ok(), "{results:?}");
    let kids: i64 = db
        .read(|c| {
            c.query_row("SELECT COUNT(*) FROM kids", [], |r| r.get(0))
                .map_err(StorageError::from)
        })
        .await
        .unwrap();
    assert_eq!((kids, count(&db).await), (0, 1));
}
