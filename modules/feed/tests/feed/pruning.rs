//! Pruning: by age and by count, oldest first, in bounded jobs, never the newest row,
//! so seqs keep increasing after pruning and across restarts.

use crate::common::{insert_item, open, open_with_triggers};
use feed::{prune_batch, prune_due, Bounds, Feed, FeedConfig, PRUNE_BATCH_ROWS, PRUNE_EVERY};
use rusqlite::Connection;
use std::time::Duration;
use storage::{Db, StorageError};

const HOUR: Duration = Duration::from_secs(3600);

fn config(retention: Duration, max_rows: u64) -> FeedConfig {
    FeedConfig {
        retention,
        max_rows,
    }
}

fn insert_many(conn: &Connection, from: usize, n: usize) {
    for k in from..from + n {
        insert_item(conn, &format!("r{k}")).unwrap();
    }
}

/// Makes the `n` oldest rows look written long ago.
fn age_oldest(conn: &Connection, n: i64) {
    conn.execute(
        "UPDATE changes SET at = '2000-01-01T00:00:00.000Z' WHERE seq IN (SELECT seq FROM changes ORDER BY seq LIMIT ?1)",
        [n],
    )
    .unwrap();
}

fn count(conn: &Connection) -> i64 {
    crate::common::count_changes(conn)
}

#[test]
fn a_round_is_due_only_when_a_batch_would_delete_something() {
    let conn = crate::common::memory();
    let keep_all = config(HOUR, 10);
    assert!(!prune_due(&conn, &keep_all).unwrap(), "empty");
    insert_many(&conn, 0, 10);
    assert!(
        !prune_due(&conn, &keep_all).unwrap(),
        "at the cap, all fresh"
    );
    insert_item(&conn, "eleventh").unwrap();
    assert!(prune_due(&conn, &keep_all).unwrap(), "over the cap");
    prune_batch(&conn, &keep_all).unwrap();
    assert!(!prune_due(&conn, &keep_all).unwrap());
    age_oldest(&conn, 1);
    assert!(prune_due(&conn, &keep_all).unwrap(), "the oldest expired");
    prune_batch(&conn, &keep_all).unwrap();
    // Only the newest row left, expired: it stays, so nothing is due.
    age_oldest(&conn, 100);
    prune_batch(&conn, &keep_all).unwrap();
    assert_eq!(count(&conn), 1);
    assert!(!prune_due(&conn, &keep_all).unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_round_with_nothing_due_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_with_triggers(&dir).await;
    add(&db, 0, 5).await;
    let feed = Feed::start(db.clone(), config(HOUR, 100));
    assert_eq!(feed.prune().await.unwrap(), 0);
    let jobs = db.stats().jobs;
    assert_eq!(feed.prune().await.unwrap(), 0);
    assert_eq!(db.stats().jobs, jobs, "an idle round queued a write");
    feed.stop();
    db.close().await.unwrap();
}

#[test]
fn the_cap_keeps_the_newest_rows_in_jobs_of_at_most_a_thousand() {
    let conn = crate::common::memory();
    insert_many(&conn, 0, 2500);
    let cap = config(HOUR, 100);
    let first = prune_batch(&conn, &cap).unwrap();
    assert_eq!((first.deleted, first.more), (PRUNE_BATCH_ROWS, true));
    let second = prune_batch(&conn, &cap).unwrap();
    assert_eq!((second.deleted, second.more), (PRUNE_BATCH_ROWS, true));
    let third = prune_batch(&conn, &cap).unwrap();
    assert_eq!((third.deleted, third.more), (400, false));
    assert_eq!(prune_batch(&conn, &cap).unwrap().deleted, 0);
    assert_eq!(
        feed::bounds(&conn).unwrap(),
        Bounds {
            oldest: Some(2401),
            newest: 2500
        }
    );
    assert_eq!(count(&conn), 100);
}

#[test]
fn age_prunes_only_rows_past_the_retention() {
    let conn = crate::common::memory();
    insert_many(&conn, 0, 30);
    age_oldest(&conn, 12);
    let outcome = prune_batch(&conn, &config(HOUR, 1_000_000)).unwrap();
    assert_eq!((outcome.deleted, outcome.more), (12, false));
    assert_eq!(feed::bounds(&conn).unwrap().oldest, Some(13));
    // A clock that stepped back: an old row behind a recent one waits (oldest first).
    age_oldest(&conn, 1);
    conn.execute(
        "UPDATE changes SET at = '2000-01-01T00:00:00.000Z' WHERE seq = 20",
        [],
    )
    .unwrap();
    assert_eq!(
        prune_batch(&conn, &config(HOUR, 1_000_000))
            .unwrap()
            .deleted,
        1
    );
    assert_eq!(feed::bounds(&conn).unwrap().oldest, Some(14));
    // Nothing is old enough for a long retention, even one reaching before year 0.
    let ages = HOUR * 24 * 365 * 100_000;
    assert_eq!(
        prune_batch(&conn, &config(ages, 1_000_000))
            .unwrap()
            .deleted,
        0
    );
    assert_eq!(
        prune_batch(&conn, &config(HOUR * 24 * 365 * 100, 1_000_000))
            .unwrap()
            .deleted,
        0
    );
}

#[test]
fn the_newest_row_survives_everything_and_seqs_continue_after_it() {
    let conn = crate::common::memory();
    insert_many(&conn, 0, 10);
    age_oldest(&conn, 10);
    let outcome = prune_batch(&conn, &config(HOUR, 0)).unwrap();
    assert_eq!(outcome.deleted, 9);
    assert_eq!(
        feed::bounds(&conn).unwrap(),
        Bounds {
            oldest: Some(10),
            newest: 10
        }
    );
    assert_eq!(
        prune_batch(&conn, &config(Duration::ZERO, 0))
            .unwrap()
            .deleted,
        0
    );
    insert_item(&conn, "after").unwrap();
    assert_eq!(
        feed::bounds(&conn).unwrap(),
        Bounds {
            oldest: Some(10),
            newest: 11
        }
    );
}

#[test]
fn a_job_stops_after_about_eight_mebibytes_of_snapshots() {
    let conn = crate::common::memory();
    let big = "x".repeat(1 << 20);
    for k in 0..20 {
        conn.execute(
            "INSERT INTO rec_items (id, created_at, updated_at, t) VALUES (?1, 'c', 'u', ?2)",
            [format!("b{k}"), big.clone()],
        )
        .unwrap();
    }
    let outcome = prune_batch(&conn, &config(HOUR, 1)).unwrap();
    assert!(outcome.more);
    assert_eq!(outcome.deleted, 8, "8 rows of 1 MiB reach the byte bound");
}

#[tokio::test(flavor = "multi_thread")]
async fn seqs_keep_increasing_across_pruning_and_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_with_triggers(&dir).await;
    let write = |db: &Db, n: usize, from: usize| {
        let db = db.clone();
        async move {
            db.write(move |c| {
                insert_many(c, from, n);
                Ok::<_, StorageError>(())
            })
            .await
            .unwrap()
        }
    };
    write(&db, 1200, 0).await;
    let feed = Feed::start(db.clone(), config(HOUR, 1));
    // The pruner's first round runs at once; `prune` runs one more now.
    feed.prune().await.unwrap();
    assert_eq!(
        feed.bounds().await.unwrap(),
        Bounds {
            oldest: Some(1200),
            newest: 1200
        }
    );
    feed.stop();
    db.close().await.unwrap();
    drop(db);
    let db = open(&dir);
    write(&db, 1, 5000).await;
    let feed = Feed::start(db.clone(), config(HOUR, 1));
    let last = feed.read_after(0, 10).await.unwrap();
    assert_eq!(last.last().map(|c| c.seq), Some(1201));
    feed.stop();
    db.close().await.unwrap();
}

async fn rows(feed: &Feed) -> i64 {
    let b = feed.bounds().await.unwrap();
    b.oldest.map_or(0, |oldest| b.newest - oldest + 1)
}

async fn wait_for_rows(feed: &Feed, n: i64) {
    for _ in 0..2000 {
        if rows(feed).await == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "the feed never got down to {n} rows (has {})",
        rows(feed).await
    );
}

async fn add(db: &Db, from: usize, n: usize) {
    db.write(move |c| {
        insert_many(c, from, n);
        Ok::<_, StorageError>(())
    })
    .await
    .unwrap();
}

/// The background pruner: a round at start, then every `PRUNE_EVERY`; none once the
/// feed is stopped or every handle dropped. The clock is tokio's paused one, so the
/// rounds come without waiting.
#[tokio::test(start_paused = true)]
async fn the_pruner_runs_periodically_until_stopped_or_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_with_triggers(&dir).await;
    add(&db, 0, 50).await;
    let feed = Feed::start(db.clone(), config(HOUR, 10));
    wait_for_rows(&feed, 10).await;
    add(&db, 100, 50).await;
    tokio::time::sleep(PRUNE_EVERY + Duration::from_secs(1)).await;
    wait_for_rows(&feed, 10).await;

    feed.stop();
    tokio::task::yield_now().await;
    add(&db, 200, 50).await;
    tokio::time::sleep(PRUNE_EVERY * 3).await;
    assert_eq!(rows(&feed).await, 60, "a stopped pruner deleted rows");

    let second = Feed::start(db.clone(), config(HOUR, 5));
    wait_for_rows(&second, 5).await;
    let reader = second.clone();
    drop(second);
    // One handle is left: the pruner still runs.
    add(&db, 300, 50).await;
    tokio::time::sleep(PRUNE_EVERY + Duration::from_secs(1)).await;
    wait_for_rows(&reader, 5).await;
    drop(reader);
    tokio::task::yield_now().await;
    add(&db, 400, 50).await;
    tokio::time::sleep(PRUNE_EVERY * 3).await;
    assert_eq!(rows(&feed).await, 55, "the pruner outlived every handle");
    db.close().await.unwrap();
}
