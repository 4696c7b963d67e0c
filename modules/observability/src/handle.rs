//! [`Observability`]: the one handle the application builds (no global state): the
//! metrics registry, the dashboard's request statistics, and what `/metrics` needs.

use crate::metrics::Metrics;
use crate::stats::RequestStats;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use storage::Db;

/// Counting records reads every collection table, so it runs at most this often (when
/// `/metrics` is scraped), never on its own.
const RECORD_COUNT_EVERY: Duration = Duration::from_secs(30);

/// Counts the records of every collection: `(collection, records)`. Given by the
/// application (this module does not depend on the resources module).
pub type RecordCounter = Box<
    dyn Fn() -> Pin<Box<dyn Future<Output = Result<Vec<(String, u64)>, String>> + Send>>
        + Send
        + Sync,
>;

#[derive(Clone)]
pub struct Observability {
    inner: Arc<Inner>,
}

struct Inner {
    metrics: Metrics,
    stats: RequestStats,
    records: RecordCounter,
    records_counted: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for Observability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observability").finish_non_exhaustive()
    }
}

impl Observability {
    /// Builds the registry and registers its storage observer with `db`.
    pub fn new(db: &Db, records: RecordCounter) -> Observability {
        let metrics = Metrics::new(db.clone());
        if !db.set_observer(metrics.storage_observer()) {
            tracing::warn!(
                "the database already reports to another observer; its metrics stay there"
            );
        }
        Observability {
            inner: Arc::new(Inner {
                metrics,
                stats: RequestStats::default(),
                records,
                records_counted: Mutex::new(None),
            }),
        }
    }

    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    pub fn stats(&self) -> &RequestStats {
        &self.inner.stats
    }

    /// Recounts records per collection if the last count is older than 30 s.
    pub(crate) async fn refresh_record_counts(&self) {
        {
            let mut last = self
                .inner
                .records_counted
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if last.is_some_and(|t| t.elapsed() < RECORD_COUNT_EVERY) {
                return;
            }
            *last = Some(Instant::now());
        }
        match (self.inner.records)().await {
            Ok(counts) => self.inner.metrics.set_record_counts(&counts),
            Err(error) => tracing::warn!(%error, "could not count records for /metrics"),
        }
    }
}
