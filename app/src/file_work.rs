//! The file store's background work, started and stopped together: the deletion
//! queue's worker (blobs that committed writes stopped referencing), the orphan sweep
//! (blobs nothing references), and the metrics' refresh. All stop before the database
//! closes.

use crate::config::FilesSchedule;
use crate::files_metrics::FilesMetricsExport;
use files::{BlobKey, BlobStore, BoxError, DeletionQueue, OrphanSweeper, ReferenceCheck};
use resources::Resources;
use std::sync::Arc;
use storage::Db;
use tokio::sync::watch;

pub struct FileWork {
    deletions: DeletionQueue,
    sweeper: OrphanSweeper,
    stop_metrics: watch::Sender<bool>,
}

impl FileWork {
    /// Starts everything on the current runtime, and logs whether the store answers (a
    /// store that does not is no reason to refuse to start: records without files work
    /// on, and uploads answer 503 until it is back).
    pub fn start(
        db: Db,
        store: BlobStore,
        resources: Resources,
        metrics: &FilesMetricsExport,
        schedule: FilesSchedule,
    ) -> FileWork {
        let deletions = DeletionQueue::start(db, store.clone(), Default::default());
        let sweeper = OrphanSweeper::start(
            store.clone(),
            schedule.sweep,
            records_references(resources.clone()),
        );
        let stop_metrics =
            metrics.start_refresh(deletions.clone(), resources, schedule.usage_every);
        tokio::spawn(async move {
            let backend = store.backend().as_str();
            match store.probe().await {
                Ok(()) => tracing::info!(backend, "the file store answers"),
                Err(e) if e.is_transient() => {
                    tracing::warn!(backend, error = %e, "the file store does not answer; uploads get 503 until it does")
                }
                Err(e) => {
                    tracing::error!(backend, error = %e, "the file store refuses Hearth (check the bucket and the credentials); uploads will fail")
                }
            }
        });
        FileWork {
            deletions,
            sweeper,
            stop_metrics,
        }
    }

    /// Stops every task (each finishes the step it is in). Idempotent.
    pub fn stop(&self) {
        self.deletions.stop();
        self.sweeper.stop();
        self.stop_metrics.send_replace(true);
    }
}

/// What the sweep keeps: records' files and their thumbnails. Blobs of other owners
/// (resumable uploads not yet attached) must be claimed here too before they share the
/// store, or the sweep deletes them once they are past its grace period.
fn records_references(resources: Resources) -> Arc<dyn ReferenceCheck> {
    Arc::new(move |key: BlobKey| {
        let resources = resources.clone();
        async move { Ok::<_, BoxError>(resources.blob_referenced(&key).await?) }
    })
}
