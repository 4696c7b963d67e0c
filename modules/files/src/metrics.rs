//! Counters the store keeps as it works, read with `snapshot()`. Plain atomics: the app
//! turns them into Prometheus series when it registers the files module (as
//! `RealtimeMetrics::register` does for realtime), so this crate needs no metrics crate.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct FilesMetrics {
    bytes_written: AtomicU64,
    bytes_read: AtomicU64,
    blobs_written: AtomicU64,
    uploads_in_progress: AtomicU64,
    uploads_too_large: AtomicU64,
    uploads_failed: AtomicU64,
    blobs_deleted: AtomicU64,
    deletions_failed: AtomicU64,
    orphans_deleted: AtomicU64,
}

/// The counters at one moment. Counters only grow; `uploads_in_progress` is a gauge.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MetricsSnapshot {
    /// Bytes accepted from upload streams, counted as they arrive (aborted uploads
    /// included: it measures the work done).
    pub bytes_written: u64,
    /// Bytes handed out by `get` streams, as they are read.
    pub bytes_read: u64,
    /// `put`s that completed.
    pub blobs_written: u64,
    pub uploads_in_progress: u64,
    pub uploads_too_large: u64,
    /// `put`s that failed otherwise (the stream or the store failed).
    pub uploads_failed: u64,
    /// Blobs removed by `delete` (the deletion queue and the orphan sweep included).
    pub blobs_deleted: u64,
    /// Queued deletions that failed and will be retried.
    pub deletions_failed: u64,
    pub orphans_deleted: u64,
}

impl FilesMetrics {
    pub fn snapshot(&self) -> MetricsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        MetricsSnapshot {
            bytes_written: get(&self.bytes_written),
            bytes_read: get(&self.bytes_read),
            blobs_written: get(&self.blobs_written),
            uploads_in_progress: get(&self.uploads_in_progress),
            uploads_too_large: get(&self.uploads_too_large),
            uploads_failed: get(&self.uploads_failed),
            blobs_deleted: get(&self.blobs_deleted),
            deletions_failed: get(&self.deletions_failed),
            orphans_deleted: get(&self.orphans_deleted),
        }
    }

    pub(crate) fn add_written(&self, bytes: u64) {
        self.bytes_written.fetch_add(bytes, Ordering::Relaxed);
    }

    pub(crate) fn add_read(&self, bytes: u64) {
        self.bytes_read.fetch_add(bytes, Ordering::Relaxed);
    }

    pub(crate) fn upload_started(&self) {
        self.uploads_in_progress.fetch_add(1, Ordering::Relaxed);
    }

    /// Every `upload_started` is followed by exactly one of these (a drop guard calls
    /// it when the put future is dropped midway).
    pub(crate) fn upload_ended(&self, outcome: UploadOutcome) {
        self.uploads_in_progress.fetch_sub(1, Ordering::Relaxed);
        let counter = match outcome {
            UploadOutcome::Stored => &self.blobs_written,
            UploadOutcome::TooLarge => &self.uploads_too_large,
            UploadOutcome::Failed => &self.uploads_failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn blob_deleted(&self) {
        self.blobs_deleted.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn deletion_failed(&self) {
        self.deletions_failed.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn orphan_deleted(&self) {
        self.orphans_deleted.fetch_add(1, Ordering::Relaxed);
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UploadOutcome {
    Stored,
    TooLarge,
    Failed,
}
