//! The deletion queue with a real database: keys queued in a write job are deleted
//! after its commit (and only then), failures are retried, rows go only on success.

use crate::common::*;
use files::{enqueue_deletions, BlobKey, DeletionConfig, DeletionQueue, StoreError};
use std::time::Duration;
use storage::{Db, StorageError};

/// Polls rarely, so that what happens in these tests comes from commits and retries.
fn config() -> DeletionConfig {
    DeletionConfig {
        poll_every: Duration::from_secs(3600),
        first_retry: Duration::from_millis(100),
        ..DeletionConfig::default()
    }
}

async fn enqueue(db: &Db, keys: Vec<BlobKey>) {
    db.write(move |conn| enqueue_deletions(conn, &keys).map_err(StorageError::from))
        .await
        .unwrap();
}

async fn row(db: &Db, key: &str) -> Option<(i64, Option<String>)> {
    let key = key.to_string();
    db.read(move |conn| {
        let mut stmt =
            conn.prepare("SELECT attempts, last_error FROM file_deletions WHERE key = ?1")?;
        let mut rows = stmt.query([key])?;
        Ok::<_, StorageError>(match rows.next()? {
            Some(r) => Some((r.get(0)?, r.get(1)?)),
            None => None,
        })
    })
    .await
    .unwrap()
}

async fn exists(store: &files::BlobStore, k: &BlobKey) -> bool {
    match store.head(k).await {
        Ok(_) => true,
        Err(StoreError::NotFound { .. }) => false,
        Err(err) => panic!("{err}"),
    }
}

#[tokio::test]
async fn keys_queued_in_a_committed_write_are_deleted_after_the_commit() {
    let (dir, store) = local();
    let db = open_db(&dir);
    let queue = DeletionQueue::start(db.clone(), store.clone(), config());
    let (a, b) = (key("posts/r1/a_x"), key("posts/r1/b_x"));
    let kept = key("posts/r2/kept_x");
    for k in [&a, &b, &kept] {
        store.put(k, chunked(b"data", 2), 10).await.unwrap();
    }
    // As resources will: the record change and the queueing in one write job.
    let keys = vec![a.clone(), b.clone()];
    db.write(move |conn| {
        conn.execute_batch("CREATE TABLE IF NOT EXISTS t(x); INSERT INTO t VALUES (1);")?;
        enqueue_deletions(conn, &keys)?;
        Ok::<_, StorageError>(())
    })
    .await
    .unwrap();
    // Woken by the commit (the queue polls only hourly here).
    eventually(5, "both blobs are deleted", async || {
        !exists(&store, &a).await && !exists(&store, &b).await
    })
    .await;
    eventually(5, "their rows are removed", async || {
        queue.pending().await.unwrap() == 0
    })
    .await;
    assert!(exists(&store, &kept).await);
    queue.stop();
    db.close().await.unwrap();
}

#[tokio::test]
async fn keys_queued_in_a_write_that_rolls_back_are_not_deleted() {
    let (dir, store) = local();
    let db = open_db(&dir);
    let queue = DeletionQueue::start(db.clone(), store.clone(), config());
    let k = key("posts/r1/still_needed_x");
    store.put(&k, chunked(b"data", 2), 10).await.unwrap();
    let keys = vec![k.clone()];
    let failed = db
        .write(move |conn| {
            enqueue_deletions(conn, &keys)?;
            Err::<(), _>(StorageError::Busy) // the record change failed
        })
        .await;
    assert!(failed.is_err());
    // A later commit wakes the worker, which must find nothing.
    enqueue(&db, vec![]).await;
    db.check_writable().await.unwrap();
    assert_eq!(queue.run_due().await.unwrap().deleted, 0);
    assert_eq!(queue.pending().await.unwrap(), 0);
    assert!(exists(&store, &k).await);
    queue.stop();
}

#[tokio::test]
async fn a_failing_deletion_keeps_its_row_and_is_retried_until_it_succeeds() {
    let (dir, store) = local();
    let db = open_db(&dir);
    // A directory where the blob should be: removing it as a file fails.
    let k = key("posts/r1/stuck_x");
    let path = root(&dir).join("posts/r1/stuck_x");
    std::fs::create_dir_all(path.join("inner")).unwrap();
    enqueue(&db, vec![k.clone()]).await;

    let queue = DeletionQueue::start(db.clone(), store.clone(), config());
    eventually(5, "the first attempt fails and is recorded", async || {
        row(&db, k.as_str())
            .await
            .is_some_and(|(attempts, _)| attempts >= 1)
    })
    .await;
    let (_, error) = row(&db, k.as_str()).await.unwrap();
    assert!(error.is_some_and(|e| !e.is_empty()));
    assert!(store.metrics().snapshot().deletions_failed >= 1);

    // The cause goes away; the retry (backing off from 100 ms) succeeds by itself.
    std::fs::remove_dir_all(&path).unwrap();
    eventually(10, "the retry removes the row", async || {
        row(&db, k.as_str()).await.is_none()
    })
    .await;
    queue.stop();
}

#[tokio::test]
async fn rows_left_by_an_earlier_run_are_handled_at_start_and_queueing_twice_is_once() {
    let (dir, store) = local();
    let db = open_db(&dir);
    let k = key("posts/r1/left_x");
    store.put(&k, chunked(b"data", 2), 10).await.unwrap();
    enqueue(&db, vec![k.clone(), k.clone()]).await;
    enqueue(&db, vec![k.clone()]).await;
    assert_eq!(row(&db, k.as_str()).await.map(|r| r.0), Some(0));
    // A key queued for a blob that is already gone is simply done.
    enqueue(&db, vec![key("posts/r9/gone_x")]).await;

    let queue = DeletionQueue::start(db.clone(), store.clone(), config());
    eventually(5, "the queue empties", async || {
        queue.pending().await.unwrap() == 0
    })
    .await;
    assert!(!exists(&store, &k).await);
    queue.stop();
}
