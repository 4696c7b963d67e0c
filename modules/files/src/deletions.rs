//! The durable deletion queue (`file_deletions`, `migrations/0010_file_deletions.sql`).
//!
//! A record change that drops a file must not delete the blob itself: the change could
//! still roll back, and a blob deleted before its commit would leave a record pointing
//! at nothing. Instead the change inserts the blob's key in its own write transaction
//! (`enqueue_deletions`); the worker deletes queued blobs after the commit and removes
//! each row only once its blob is gone, retrying with exponential backoff while the
//! store fails. A crash at any point leaves either the row (deleted again later;
//! deleting is idempotent) or nothing to do.

use crate::key::BlobKey;
use crate::store::BlobStore;
use futures_util::StreamExt;
use rusqlite::{params, Connection};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use storage::{Db, StorageError};
use tokio::sync::watch;

/// How the worker paces itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeletionConfig {
    /// A round at least this often, whatever else happens. Default 1 min.
    pub poll_every: Duration,
    /// Rows taken per round trip to the database. Default 100.
    pub batch: usize,
    /// Deletions in flight at once (S3 answers each in milliseconds). Default 4.
    pub concurrency: usize,
    /// The wait after a first failure; it doubles with each failure. Default 5 s.
    pub first_retry: Duration,
    /// The longest wait between attempts. Default 1 h.
    pub max_retry: Duration,
}

impl Default for DeletionConfig {
    fn default() -> Self {
        DeletionConfig {
            poll_every: Duration::from_secs(60),
            batch: 100,
            concurrency: 4,
            first_retry: Duration::from_secs(5),
            max_retry: Duration::from_secs(60 * 60),
        }
    }
}

/// Bumped by every `enqueue_deletions`, committed or not: the worker, woken by each
/// commit, looks at the queue only when this moved (see `work`), so a server that is
/// not deleting files costs one atomic load per commit.
static ENQUEUED: AtomicU64 = AtomicU64::new(0);

/// SQLite's clock in the stored format (`kernel::clock`'s).
const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

/// Queues `keys` for deletion, inside the caller's write job (the `&Connection` a
/// `Db::write` closure receives), so that they are queued if and only if that job's
/// changes commit. A key already queued stays queued once. The worker of a
/// `DeletionQueue` on this database deletes them after the commit.
///
/// ```text
/// db.write(move |conn| {
///     conn.execute("UPDATE rec_posts SET cover = ?1 WHERE id = ?2", params![new, id])?;
///     files::enqueue_deletions(conn, &[old_key])?;
///     Ok(())
/// }).await?;
/// ```
pub fn enqueue_deletions(conn: &Connection, keys: &[BlobKey]) -> rusqlite::Result<()> {
    if keys.is_empty() {
        return Ok(());
    }
    let mut insert = conn.prepare_cached(&format!(
        "INSERT INTO file_deletions (key, enqueued_at, next_attempt_at)
         VALUES (?1, {NOW}, {NOW}) ON CONFLICT (key) DO NOTHING"
    ))?;
    for key in keys {
        insert.execute([key.as_str()])?;
    }
    ENQUEUED.fetch_add(1, Ordering::Release);
    Ok(())
}

/// Tells the worker that the caller's write job may have queued keys some other way
/// than `enqueue_deletions`: the record tables' triggers insert into `file_deletions`
/// themselves (resources' `ddl_files.rs`). Call it inside the job, as that function
/// counts; a job that queued nothing costs the worker one round.
pub fn note_possible_deletions() {
    ENQUEUED.fetch_add(1, Ordering::Release);
}

/// What one round did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeletionRound {
    /// Blobs deleted (or already gone) and their rows removed.
    pub deleted: usize,
    /// Deletions that failed and were rescheduled.
    pub failed: usize,
}

/// The deletion worker of one database and store. Clones share the worker; it stops
/// with `stop` or when the last clone is dropped.
#[derive(Clone)]
pub struct DeletionQueue {
    db: Db,
    store: BlobStore,
    config: DeletionConfig,
    worker: Arc<WorkerHandle>,
}

/// Dropping it (with the last `DeletionQueue`) closes the channel the worker waits on.
struct WorkerHandle {
    stop: watch::Sender<bool>,
}

impl DeletionQueue {
    /// Starts the worker on the current tokio runtime: a round at once (what an earlier
    /// run left queued), then after every commit that may have queued keys, when a
    /// retry falls due, and at least every `poll_every`. Outside a runtime no worker
    /// runs (logged); `run_due` still works.
    pub fn start(db: Db, store: BlobStore, config: DeletionConfig) -> DeletionQueue {
        let (stop, stopped) = watch::channel(false);
        let queue = DeletionQueue {
            db,
            store,
            config,
            worker: Arc::new(WorkerHandle { stop }),
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let worker = Worker {
                    db: queue.db.clone(),
                    store: queue.store.clone(),
                    config,
                };
                runtime.spawn(worker.work(stopped));
            }
            Err(_) => tracing::error!(
                "the file deletion queue was started outside a tokio runtime; queued blobs will not be deleted"
            ),
        }
        queue
    }

    /// One round now: every row due is tried until none is left. Returns what it did.
    pub async fn run_due(&self) -> Result<DeletionRound, StorageError> {
        run_due(&self.db, &self.store, &self.config).await
    }

    /// Rows waiting (due or backing off).
    pub async fn pending(&self) -> Result<u64, StorageError> {
        self.db
            .read(|conn| {
                conn.query_row("SELECT count(*) FROM file_deletions", [], |r| r.get(0))
                    .map_err(StorageError::from)
            })
            .await
    }

    /// Stops the worker (it finishes the round it is in). Idempotent.
    pub fn stop(&self) {
        self.worker.stop.send_replace(true);
    }
}

/// The background task's own copy of what it needs (it must not hold a
/// `DeletionQueue`, whose last drop is what stops it).
struct Worker {
    db: Db,
    store: BlobStore,
    config: DeletionConfig,
}

impl Worker {
    async fn work(self, mut stopped: watch::Receiver<bool>) {
        let mut commits = self.db.commits();
        let mut seen = ENQUEUED.load(Ordering::Acquire);
        // A key is counted in ENQUEUED before its transaction commits, so the wake
        // that sees the count move may come before that commit (and find nothing):
        // the next commit's wake, which follows it, runs a round too.
        let mut once_more = false;
        let mut due = true;
        // Kept across wakes that run no round (a commit that queued nothing must not
        // push a retry back by a whole `poll_every`).
        let mut deadline = tokio::time::Instant::now();
        loop {
            if *stopped.borrow_and_update() {
                return;
            }
            if due {
                match run_due(&self.db, &self.store, &self.config).await {
                    Ok(DeletionRound {
                        deleted: 0,
                        failed: 0,
                    }) => {}
                    Ok(round) => tracing::debug!(?round, "file deletion round"),
                    // The database is shutting down; the stop signal follows.
                    Err(StorageError::Closed) => {}
                    Err(err) => {
                        tracing::warn!(error = %err, "could not run the file deletion queue")
                    }
                }
                let mut wait = self.config.poll_every;
                if let Ok(Some(next)) = self.next_due_in().await {
                    wait = wait.min(next);
                }
                deadline = tokio::time::Instant::now() + wait;
            }
            due = false;
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => due = true,
                changed = commits.changed() => {
                    if changed.is_err() {
                        return; // the database is gone
                    }
                    let now = ENQUEUED.load(Ordering::Acquire);
                    if now != seen {
                        seen = now;
                        due = true;
                        once_more = true;
                    } else if once_more {
                        due = true;
                        once_more = false;
                    }
                }
                changed = stopped.changed() => {
                    if changed.is_err() {
                        return; // every DeletionQueue dropped
                    }
                }
            }
        }
    }

    /// How long until the next row falls due, if any is queued.
    async fn next_due_in(&self) -> Result<Option<Duration>, StorageError> {
        let seconds: Option<f64> = self
            .db
            .read(|conn| {
                conn.query_row(
                    "SELECT (julianday(min(next_attempt_at)) - julianday('now')) * 86400.0
                     FROM file_deletions",
                    [],
                    |r| r.get(0),
                )
                .map_err(StorageError::from)
            })
            .await?;
        Ok(seconds.map(|s| Duration::from_secs_f64(s.clamp(0.0, 1e9))))
    }
}

async fn run_due(
    db: &Db,
    store: &BlobStore,
    config: &DeletionConfig,
) -> Result<DeletionRound, StorageError> {
    let batch = config.batch.max(1);
    let mut total = DeletionRound::default();
    loop {
        let due = db
            .read(move |conn| due_rows(conn, batch).map_err(StorageError::from))
            .await?;
        let taken = due.len();
        if taken == 0 {
            return Ok(total);
        }
        let outcomes: Vec<Outcome> = futures_util::stream::iter(due)
            .map(|row| delete_one(store, row))
            .buffer_unordered(config.concurrency.max(1))
            .collect()
            .await;
        let failed = outcomes.iter().filter(|o| o.error.is_some()).count();
        total.failed += failed;
        total.deleted += taken - failed;
        let config = *config;
        db.write(move |conn| record(conn, &outcomes, &config).map_err(StorageError::from))
            .await?;
        // Failed rows were pushed into the future, so the next read cannot return
        // them again: the loop ends when the due rows run out.
        if taken < batch {
            return Ok(total);
        }
    }
}

struct Row {
    key: String,
    attempts: u32,
}

struct Outcome {
    row: Row,
    error: Option<String>,
}

fn due_rows(conn: &Connection, limit: usize) -> rusqlite::Result<Vec<Row>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT key, attempts FROM file_deletions WHERE next_attempt_at <= {NOW}
         ORDER BY next_attempt_at LIMIT ?1"
    ))?;
    let rows = stmt.query_map([limit as i64], |r| {
        Ok(Row {
            key: r.get(0)?,
            attempts: r.get::<_, i64>(1)?.clamp(0, i64::from(u32::MAX)) as u32,
        })
    })?;
    rows.collect()
}

async fn delete_one(store: &BlobStore, row: Row) -> Outcome {
    let error = match BlobKey::parse(&row.key) {
        Ok(key) => match store.delete(&key).await {
            Ok(()) => None,
            Err(err) => {
                store.metrics().deletion_failed();
                tracing::warn!(key = %key, attempt = row.attempts + 1, error = %err, "could not delete a file; it will be retried");
                Some(err.to_string())
            }
        },
        // Only `enqueue_deletions` writes rows, with valid keys; a row edited by hand
        // into an invalid key names no blob this store could hold: drop it.
        Err(err) => {
            tracing::warn!(error = %err, "dropping a queued file deletion with an invalid key");
            None
        }
    };
    Outcome { row, error }
}

/// Removes the rows of finished deletions, reschedules the failed ones.
fn record(
    conn: &Connection,
    outcomes: &[Outcome],
    config: &DeletionConfig,
) -> rusqlite::Result<()> {
    let mut remove = conn.prepare_cached("DELETE FROM file_deletions WHERE key = ?1")?;
    let mut retry = conn.prepare_cached(
        "UPDATE file_deletions SET attempts = attempts + 1, last_error = ?2,
             next_attempt_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?3)
         WHERE key = ?1",
    )?;
    for outcome in outcomes {
        match &outcome.error {
            None => {
                remove.execute([&outcome.row.key])?;
            }
            Some(error) => {
                let wait = backoff(config, outcome.row.attempts);
                let modifier = format!("+{:.3} seconds", wait.as_secs_f64());
                retry.execute(params![outcome.row.key, error, modifier])?;
            }
        }
    }
    Ok(())
}

/// `first_retry · 2^attempts`, at most `max_retry`.
fn backoff(config: &DeletionConfig, attempts: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempts.min(31));
    config
        .first_retry
        .saturating_mul(factor)
        .min(config.max_retry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let config = DeletionConfig::default();
        assert_eq!(backoff(&config, 0), Duration::from_secs(5));
        assert_eq!(backoff(&config, 1), Duration::from_secs(10));
        assert_eq!(backoff(&config, 3), Duration::from_secs(40));
        assert_eq!(backoff(&config, 20), Duration::from_secs(3600));
        assert_eq!(backoff(&config, u32::MAX), Duration::from_secs(3600));
    }
}
