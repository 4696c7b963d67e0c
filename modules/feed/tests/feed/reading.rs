//! Reading the feed: ranges, bounds, schema rows, the async API and its wake-ups.

use crate::common::{insert_item, open_with_triggers};
use feed::{append_schema, bounds, read_after, Bounds, ChangeKind, Feed, FeedConfig};
use serde_json::json;
use storage::StorageError;

#[test]
fn read_after_pages_in_order_and_bounds_track_the_ends() {
    let conn = crate::common::memory();
    assert_eq!(
        bounds(&conn).unwrap(),
        Bounds {
            oldest: None,
            newest: 0
        }
    );
    assert!(read_after(&conn, 0, 10).unwrap().is_empty());
    for k in 0..5 {
        insert_item(&conn, &format!("r{k}")).unwrap();
    }
    let seq = append_schema(
        &conn,
        "items",
        &json!({"change": "updated", "schema_version": 2}),
    )
    .unwrap();
    assert_eq!(seq, 6);
    assert_eq!(
        bounds(&conn).unwrap(),
        Bounds {
            oldest: Some(1),
            newest: 6
        }
    );
    let page: Vec<i64> = read_after(&conn, 2, 2)
        .unwrap()
        .iter()
        .map(|c| c.seq)
        .collect();
    assert_eq!(page, [3, 4]);
    assert!(read_after(&conn, 6, 10).unwrap().is_empty());
    assert_eq!(read_after(&conn, -5, 0).unwrap().len(), 0, "limit 0");
    assert_eq!(read_after(&conn, i64::MIN, usize::MAX).unwrap().len(), 6);
    let schema = read_after(&conn, 5, 1).unwrap().remove(0);
    assert_eq!(schema.kind, ChangeKind::Schema);
    assert_eq!((schema.record_id, schema.owner), (None, None));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(schema.data.as_deref().unwrap()).unwrap(),
        json!({"change": "updated", "schema_version": 2})
    );
}

#[test]
fn kinds_have_stable_names() {
    for kind in ChangeKind::ALL {
        assert_eq!(ChangeKind::parse(kind.as_str()), Some(kind));
    }
    assert_eq!(ChangeKind::Created.as_str(), "created");
    assert_eq!(ChangeKind::parse("Created"), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_feed_wakes_readers_after_commits_and_reads_on_the_pool() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_with_triggers(&dir).await;
    let feed = Feed::start(db.clone(), FeedConfig::default());
    assert_eq!(feed.bounds().await.unwrap().newest, 0);
    let mut commits = feed.commits();
    commits.borrow_and_update();
    let reader = {
        let (feed, mut commits) = (feed.clone(), commits.clone());
        tokio::spawn(async move {
            let mut seen = Vec::new();
            while seen.len() < 3 {
                commits.changed().await.unwrap();
                let after = seen.last().copied().unwrap_or(0);
                seen.extend(
                    feed.read_after(after, 100)
                        .await
                        .unwrap()
                        .iter()
                        .map(|c| c.seq),
                );
            }
            seen
        })
    };
    for k in 0..3 {
        let id = format!("w{k}");
        db.write(move |c| insert_item(c, &id).map_err(StorageError::from))
            .await
            .unwrap();
    }
    let seen = tokio::time::timeout(std::time::Duration::from_secs(20), reader)
        .await
        .expect("the reader was woken for every commit")
        .unwrap();
    assert_eq!(seen, [1, 2, 3]);
    assert_eq!(
        feed.bounds().await.unwrap(),
        Bounds {
            oldest: Some(1),
            newest: 3
        }
    );
    feed.stop();
    db.close().await.unwrap();
}

/// A job that fails after its insert is rolled back to its savepoint, and a
/// one-statement job that breaks its promise takes its whole batch with it: neither
/// leaves a feed row, so the feed never shows a change that did not commit.
#[tokio::test(flavor = "multi_thread")]
async fn rolled_back_jobs_and_batches_leave_no_feed_rows() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_with_triggers(&dir).await;
    let failed = db
        .write(|c| {
            insert_item(c, "a").map_err(StorageError::from)?;
            Err::<(), _>(StorageError::Busy)
        })
        .await;
    assert!(failed.is_err());
    let stranded = db
        .write_one_statement(|c| {
            insert_item(c, "b").map_err(StorageError::from)?;
            insert_item(c, "c").map_err(StorageError::from)?;
            Err::<(), _>(StorageError::Busy)
        })
        .await;
    assert!(stranded.is_err());
    let feed = Feed::start(db.clone(), FeedConfig::default());
    assert_eq!(
        feed.bounds().await.unwrap(),
        Bounds {
            oldest: None,
            newest: 0
        }
    );
    db.write(|c| insert_item(c, "d").map_err(StorageError::from))
        .await
        .unwrap();
    let rows = feed.read_after(0, 10).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].seq, rows[0].record_id.as_deref()), (1, Some("d")));
    feed.stop();
    db.close().await.unwrap();
}

/// Two jobs committed as one batch: the first inserts and succeeds, the second breaks
/// the one-statement promise, so SQLite's whole transaction is rolled back. The first
/// job's feed row goes with its record: the feed is in the batch's transaction.
#[tokio::test(flavor = "multi_thread")]
async fn a_rolled_back_batch_takes_its_feed_rows_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_with_triggers(&dir).await;
    // Hold the writer so both jobs queue up and run in one batch.
    let (release, hold) = std::sync::mpsc::channel::<()>();
    let before = db.stats().jobs;
    let gate = {
        let db = db.clone();
        tokio::spawn(async move {
            db.write(move |_| {
                let _ = hold.recv();
                Ok::<_, StorageError>(())
            })
            .await
        })
    };
    let wait = |what: Box<dyn Fn(storage::WriterStats) -> bool + Send>| {
        let db = db.clone();
        async move {
            while !what(db.stats()) {
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
        }
    };
    // The gate job has started (its batch is under way), so both jobs below queue up
    // behind it and form the next batch together.
    wait(Box::new(move |s| s.jobs > before)).await;
    let good = {
        let db = db.clone();
        tokio::spawn(async move {
            db.write_one_statement(|c| insert_item(c, "good").map_err(StorageError::from))
                .await
        })
    };
    wait(Box::new(|s| s.queue_depth >= 1)).await;
    let bad = {
        let db = db.clone();
        tokio::spawn(async move {
            db.write_one_statement(|c| {
                insert_item(c, "bad1").map_err(StorageError::from)?;
                insert_item(c, "bad1").map_err(StorageError::from)
            })
            .await
        })
    };
    wait(Box::new(|s| s.queue_depth >= 2)).await;
    release.send(()).unwrap();
    gate.await.unwrap().unwrap();
    assert!(matches!(good.await.unwrap(), Err(StorageError::RolledBack)));
    assert!(bad.await.unwrap().is_err());
    let (records, changes): (i64, i64) = db
        .read(|c| {
            Ok::<_, StorageError>((
                c.query_row("SELECT count(*) FROM rec_items", [], |r| r.get(0))?,
                c.query_row("SELECT count(*) FROM changes", [], |r| r.get(0))?,
            ))
        })
        .await
        .unwrap();
    assert_eq!((records, changes), (0, 0));
    db.close().await.unwrap();
}
