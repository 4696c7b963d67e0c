//! `Db::commits`: the writer announces every commit, after it, and nothing else.

use crate::common::{
    count, hold_writer, insert, join_all, open, submit_in_order, BoxedJob, TestError,
};
use hearth_storage::StorageError;

#[tokio::test(flavor = "multi_thread")]
async fn every_committed_batch_is_announced_after_its_rows_are_visible() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir);
    let mut commits = db.commits();
    let before = *commits.borrow_and_update();
    // A reader woken by the announcement must see the committed row.
    let (reader_db, mut reader_commits) = (db.clone(), db.commits());
    let reader = tokio::spawn(async move {
        reader_commits.changed().await.unwrap();
        count(&reader_db).await
    });
    crate::common::write_item(&db, "a").await.unwrap();
    assert_eq!(
        reader.await.unwrap(),
        1,
        "announced before the row was visible"
    );
    assert!(commits.has_changed().unwrap());
    let after_one = *commits.borrow_and_update();
    assert_ne!(after_one, before);

    // Three jobs in one batch: one COMMIT, one announcement.
    let gate = hold_writer(&db).await;
    let jobs: Vec<BoxedJob> = ["b", "c", "d"]
        .iter()
        .map(|id| {
            let id = id.to_string();
            Box::new(move |c: &_| insert(c, &id).map_err(TestError::from)) as BoxedJob
        })
        .collect();
    let handles = submit_in_order(&db, jobs).await;
    gate.release().await;
    for result in join_all(handles).await {
        result.unwrap();
    }
    let after_batch = *commits.borrow_and_update();
    // The gate's own batch and the three jobs' batch (or one, if they shared it).
    assert!(
        after_batch.wrapping_sub(after_one) <= 2 && after_batch != after_one,
        "{after_one} -> {after_batch}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_jobs_and_unchanged_exclusive_jobs_announce_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir);
    let mut commits = db.commits();
    commits.borrow_and_update();
    // An exclusive job that changes nothing, or fails, is not announced.
    db.writer()
        .run_exclusive(|c| {
            c.query_row("SELECT count(*) FROM items", [], |r| r.get::<_, i64>(0))
                .map_err(StorageError::from)
        })
        .await
        .unwrap();
    assert!(!commits.has_changed().unwrap(), "a read-only exclusive job");
    let failed = db
        .writer()
        .run_exclusive(|c| {
            c.execute_batch("BEGIN IMMEDIATE; INSERT INTO items VALUES ('x', 't', 1); ROLLBACK;")
                .map_err(StorageError::from)?;
            Err::<(), _>(TestError::Deliberate)
        })
        .await;
    assert!(matches!(failed, Err(TestError::Deliberate)));
    assert!(!commits.has_changed().unwrap(), "a failed exclusive job");
    // An exclusive job that commits rows is announced.
    db.writer()
        .run_exclusive(|c| {
            c.execute_batch("BEGIN IMMEDIATE; INSERT INTO items VALUES ('y', 't', 1); COMMIT;")
                .map_err(StorageError::from)
        })
        .await
        .unwrap();
    assert!(commits.has_changed().unwrap(), "a committed exclusive job");
    assert_eq!(count(&db).await, 1);
}
