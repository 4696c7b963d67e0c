//! The orphan sweep: blobs that no record references (a crash between a put and the
//! record's commit, a request that failed after its upload, a deletion lost to a
//! crash) are found by listing the store and asking the caller, who knows the records,
//! about each. Only blobs older than the grace period are considered, so an upload
//! whose record is about to commit is never taken for an orphan.
//!
//! The sweep deletes whatever the check does not claim, so the store (the local files
//! directory, the S3 bucket) must be Hearth's alone, and the check must answer `true`
//! for every key it keeps for any reason (finished uploads not yet attached,
//! thumbnails of a referenced file). When it cannot tell (an error), the blob is kept.

use crate::error::{BoxError, StoreError};
use crate::key::BlobKey;
use crate::store::BlobStore;
use futures_util::StreamExt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::watch;

/// Whether a blob is still wanted. Implemented for async closures:
/// `|key: BlobKey| async move { Ok::<_, BoxError>(referenced(&key).await?) }`.
#[async_trait::async_trait]
pub trait ReferenceCheck: Send + Sync + 'static {
    async fn is_referenced(&self, key: &BlobKey) -> Result<bool, BoxError>;
}

#[async_trait::async_trait]
impl<F, Fut> ReferenceCheck for F
where
    F: Fn(BlobKey) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<bool, BoxError>> + Send,
{
    async fn is_referenced(&self, key: &BlobKey) -> Result<bool, BoxError> {
        (self)(key.clone()).await
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SweepConfig {
    /// Blobs younger than this are left alone. Default 1 h.
    pub grace: Duration,
    /// Time between sweeps (the first runs at start). Default 6 h.
    pub every: Duration,
}

impl Default for SweepConfig {
    fn default() -> Self {
        SweepConfig {
            grace: Duration::from_secs(60 * 60),
            every: Duration::from_secs(6 * 60 * 60),
        }
    }
}

/// What one sweep found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Blobs listed.
    pub examined: u64,
    /// Blobs within the grace period, not checked.
    pub young: u64,
    pub referenced: u64,
    /// Unreferenced blobs deleted.
    pub deleted: u64,
    /// Blobs kept because the check or the deletion failed.
    pub failed: u64,
}

/// One sweep over the whole store: every blob last modified more than `grace` ago
/// that `check` does not claim is deleted. Fails only when the listing fails (what was
/// deleted until then stays deleted).
pub async fn sweep_orphans(
    store: &BlobStore,
    grace: Duration,
    check: &dyn ReferenceCheck,
) -> Result<SweepReport, StoreError> {
    let cutoff = SystemTime::now()
        .checked_sub(grace)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let mut report = SweepReport::default();
    let mut blobs = store.list(None);
    while let Some(blob) = blobs.next().await {
        let blob = blob?;
        report.examined += 1;
        // A time after the cutoff, or one in the future (a clock step), is young.
        if blob.last_modified > cutoff {
            report.young += 1;
            continue;
        }
        match check.is_referenced(&blob.key).await {
            Ok(true) => report.referenced += 1,
            Ok(false) => match store.delete(&blob.key).await {
                Ok(()) => {
                    report.deleted += 1;
                    store.metrics().orphan_deleted();
                    tracing::info!(key = %blob.key, size = blob.size, "deleted an unreferenced file");
                }
                Err(err) => {
                    report.failed += 1;
                    tracing::warn!(key = %blob.key, error = %err, "could not delete an unreferenced file");
                }
            },
            Err(err) => {
                report.failed += 1;
                tracing::warn!(key = %blob.key, error = %err, "could not tell whether a file is referenced; kept");
            }
        }
    }
    Ok(report)
}

/// Sweeps in the background: at start, then every `config.every`. Stops with `stop`
/// or when dropped.
pub struct OrphanSweeper {
    stop: watch::Sender<bool>,
}

impl OrphanSweeper {
    /// Starts on the current tokio runtime. Outside one, nothing is swept (logged).
    pub fn start(store: BlobStore, config: SweepConfig, check: Arc<dyn ReferenceCheck>) -> Self {
        let (stop, stopped) = watch::channel(false);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(sweep_forever(store, config, check, stopped));
            }
            Err(_) => tracing::error!(
                "the orphan file sweep was started outside a tokio runtime; orphans will not be removed"
            ),
        }
        OrphanSweeper { stop }
    }

    /// Stops after the sweep in progress, if any. Idempotent.
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }
}

async fn sweep_forever(
    store: BlobStore,
    config: SweepConfig,
    check: Arc<dyn ReferenceCheck>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        if *stopped.borrow_and_update() {
            return;
        }
        match sweep_orphans(&store, config.grace, check.as_ref()).await {
            Ok(report) if report.deleted > 0 || report.failed > 0 => {
                tracing::info!(?report, "orphan file sweep done");
            }
            Ok(report) => tracing::debug!(?report, "orphan file sweep done"),
            Err(err) => {
                tracing::warn!(error = %err, "orphan file sweep stopped; it runs again later")
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(config.every) => {}
            changed = stopped.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
    }
}
