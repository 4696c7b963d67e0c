//! The durable change feed: the `changes` table, one row per record created, updated
//! or deleted and per collection definition change, in commit order (`seq`). Triggers
//! on every record table append the rows in the same statement as the change, so the
//! feed holds exactly what committed. Realtime streams read it now; webhooks and
//! replication will.
//!
//! ```text
//! trigger_sql(table, collection, &columns)   // resources installs these per table
//! append_schema(conn, collection, &json)     // inside a schema change's write job
//! let feed = Feed::start(db, FeedConfig::default());   // starts the pruner
//! let mut commits = feed.commits();           // wakes after every commit
//! feed.read_after(seq, 100).await?            // what came after `seq`
//! ```
//!
//! This crate knows nothing of collections: it stores what the triggers wrote and
//! hands it back; rendering a record for a client is the resources module's job.

mod change;
mod pruner;
mod snapshot;
mod triggers;

pub use change::{append_schema, bounds, read_after, Bounds, Change, ChangeKind};
pub use pruner::{
    prune_batch, prune_due, FeedConfig, PruneOutcome, PRUNE_BATCH_BYTES, PRUNE_BATCH_ROWS,
};
pub use snapshot::snapshot_values;
pub use triggers::{drop_triggers_sql, trigger_name, trigger_names, trigger_sql};

use std::sync::Arc;
use std::time::Duration;
use storage::{Db, StorageError};
use tokio::sync::watch;

/// How often the pruner looks for rows to delete.
pub const PRUNE_EVERY: Duration = Duration::from_secs(30);

/// The feed of one database. Clones share the pruner; it stops with `stop` or when the
/// last clone is dropped.
#[derive(Clone)]
pub struct Feed {
    db: Db,
    config: FeedConfig,
    pruner: Arc<PrunerHandle>,
}

/// Dropping it (with the last `Feed`) closes the channel the pruner waits on.
struct PrunerHandle {
    stop: watch::Sender<bool>,
}

impl Feed {
    /// Starts the background pruner on the current tokio runtime: a round at once,
    /// then every `PRUNE_EVERY`. Outside a runtime no pruner runs (logged): the feed
    /// then still reads, but grows.
    pub fn start(db: Db, config: FeedConfig) -> Feed {
        let (stop, stopped) = watch::channel(false);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(prune_forever(db.clone(), config, stopped));
            }
            Err(_) => tracing::error!(
                "the change feed was started outside a tokio runtime; it will not be pruned"
            ),
        }
        Feed {
            db,
            config,
            pruner: Arc::new(PrunerHandle { stop }),
        }
    }

    pub fn config(&self) -> FeedConfig {
        self.config
    }

    /// Changes after every commit that may have added rows (`Db::commits`): wait on it,
    /// then `read_after` your last seq.
    pub fn commits(&self) -> watch::Receiver<u64> {
        self.db.commits()
    }

    /// `bounds`, on the reader pool.
    pub async fn bounds(&self) -> Result<Bounds, StorageError> {
        self.db
            .read(|conn| bounds(conn).map_err(StorageError::from))
            .await
    }

    /// `read_after`, on the reader pool.
    pub async fn read_after(&self, after: i64, limit: usize) -> Result<Vec<Change>, StorageError> {
        self.db
            .read(move |conn| read_after(conn, after, limit).map_err(StorageError::from))
            .await
    }

    /// One pruning round now (what the background pruner does every `PRUNE_EVERY`):
    /// if `prune_due` says so, write jobs of at most `PRUNE_BATCH_ROWS` rows until
    /// nothing more is due. Returns the number of rows deleted.
    pub async fn prune(&self) -> Result<u64, StorageError> {
        prune_round(&self.db, self.config).await
    }

    /// Stops the background pruner (it finishes the job it is in). Idempotent.
    pub fn stop(&self) {
        self.pruner.stop.send_replace(true);
    }
}

async fn prune_round(db: &Db, config: FeedConfig) -> Result<u64, StorageError> {
    // Asked on a reader first: an idle server's rounds write nothing.
    let due = db
        .read(move |conn| prune_due(conn, &config).map_err(StorageError::from))
        .await?;
    if !due {
        return Ok(0);
    }
    let mut total = 0u64;
    loop {
        // Reads, then one DELETE: no savepoint needed.
        let outcome = db
            .write_one_statement(move |conn| prune_batch(conn, &config).map_err(StorageError::from))
            .await?;
        total += outcome.deleted as u64;
        if !outcome.more {
            return Ok(total);
        }
        // Each job is queued behind whatever writes arrived meanwhile.
    }
}

async fn prune_forever(db: Db, config: FeedConfig, mut stopped: watch::Receiver<bool>) {
    loop {
        if *stopped.borrow_and_update() {
            return;
        }
        match prune_round(&db, config).await {
            Ok(0) => {}
            Ok(rows) => tracing::debug!(rows, "pruned the change feed"),
            // Closed: the database is shutting down; the stop signal follows.
            Err(StorageError::Closed) => {}
            Err(err) => tracing::warn!(error = %err, "could not prune the change feed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(PRUNE_EVERY) => {}
            // A stop, or every `Feed` dropped (the sender with them).
            changed = stopped.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
    }
}
