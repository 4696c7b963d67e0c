//! The file store's series at `/metrics` (`hearth_files_*`). The store counts as it
//! works (`files::FilesMetrics`, plain atomics), read here at scrape time; two gauges
//! need a look at the outside world and are refreshed in the background instead:
//! the deletion queue's length (one `count(*)` every 15 s) and the storage used per
//! collection (a listing of the whole store every `usage_every`, 1 h by default, so
//! that S3 sees one LIST request per 1,000 objects an hour, not per scrape).

use files::{BlobStore, DeletionQueue, MetricsSnapshot};
use futures_util::StreamExt;
use observability::metrics::const_counter as counter;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::registry::Registry;
use resources::Resources;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::sync::watch;

/// How often the deletion queue's length is read.
const PENDING_EVERY: Duration = Duration::from_secs(15);

/// The `collection` label of blobs outside every collection's folder (uploads not yet
/// attached, a dropped collection's files before the sweep): collection names start
/// with a letter, so it cannot clash with one.
pub const OTHER: &str = "_other";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CollectionLabels {
    collection: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

/// Cheap to clone; clones share the gauges.
#[derive(Clone)]
pub struct FilesMetricsExport {
    store: BlobStore,
    pending: Gauge,
    stored_bytes: Family<CollectionLabels, Gauge>,
    stored_blobs: Family<CollectionLabels, Gauge>,
}

impl FilesMetricsExport {
    pub fn new(store: BlobStore) -> FilesMetricsExport {
        FilesMetricsExport {
            store,
            pending: Gauge::default(),
            stored_bytes: Family::default(),
            stored_blobs: Family::default(),
        }
    }

    pub fn register(&self, registry: &mut Registry) {
        registry.register_collector(Box::new(StoreCounters(self.store.clone())));
        registry.register(
            "hearth_files_deletions_pending",
            "Blobs queued for deletion after a committed write and not yet deleted (read every 15 s)",
            self.pending.clone(),
        );
        registry.register(
            "hearth_files_stored_bytes",
            "Bytes stored per collection (recounted from a listing of the store, hourly by default)",
            self.stored_bytes.clone(),
        );
        registry.register(
            "hearth_files_stored_blobs",
            "Blobs stored per collection, thumbnails included (recounted with hearth_files_stored_bytes)",
            self.stored_blobs.clone(),
        );
    }

    /// Keeps the background gauges current until `stop` (the returned sender) is sent
    /// `true` or dropped. The usage listing runs at start, then every `usage_every`.
    pub fn start_refresh(
        &self,
        deletions: DeletionQueue,
        resources: Resources,
        usage_every: Duration,
    ) -> watch::Sender<bool> {
        let (stop, mut stopped) = watch::channel(false);
        let this = self.clone();
        tokio::spawn(async move {
            let mut pending = tokio::time::interval(PENDING_EVERY);
            let mut usage = tokio::time::interval(usage_every.max(Duration::from_millis(10)));
            pending.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            usage.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = pending.tick() => match deletions.pending().await {
                        Ok(n) => {
                            this.pending.set(i64::try_from(n).unwrap_or(i64::MAX));
                        }
                        Err(storage::StorageError::Closed) => return,
                        Err(e) => tracing::debug!(error = %e, "cannot count the file deletion queue"),
                    },
                    _ = usage.tick() => this.recount_usage(&resources).await,
                    changed = stopped.changed() => {
                        if changed.is_err() || *stopped.borrow() {
                            return;
                        }
                    }
                }
            }
        });
        stop
    }

    /// Lists the whole store and replaces the per-collection gauges; a failed listing
    /// keeps the last values (logged).
    pub async fn recount_usage(&self, resources: &Resources) {
        let mut usage: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        let mut blobs = self.store.list(None);
        while let Some(blob) = blobs.next().await {
            let blob = match blob {
                Ok(blob) => blob,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot list the file store to count its usage; the last count stays");
                    return;
                }
            };
            let first = blob.key.segments().next().unwrap_or_default();
            let label = if resources.has_collection(first) {
                first
            } else {
                OTHER
            };
            let entry = usage.entry(label.to_owned()).or_default();
            entry.0 += blob.size;
            entry.1 += 1;
        }
        self.stored_bytes.clear();
        self.stored_blobs.clear();
        for (collection, (bytes, blobs)) in usage {
            let labels = CollectionLabels { collection };
            self.stored_bytes
                .get_or_create(&labels)
                .set(i64::try_from(bytes).unwrap_or(i64::MAX));
            self.stored_blobs
                .get_or_create(&labels)
                .set(i64::try_from(blobs).unwrap_or(i64::MAX));
        }
    }
}

/// The store's own counters, read at each scrape.
struct StoreCounters(BlobStore);

impl std::fmt::Debug for StoreCounters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreCounters")
            .field("backend", &self.0.backend())
            .finish()
    }
}

impl Collector for StoreCounters {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let s: MetricsSnapshot = self.0.metrics().snapshot();
        counter(
            &mut encoder,
            "hearth_files_upload_bytes",
            "Bytes received into the file store from uploads, as they arrive (refused and aborted uploads included)",
            s.bytes_written,
        )?;
        counter(
            &mut encoder,
            "hearth_files_read_bytes",
            "Bytes read out of the file store (downloads and thumbnailing)",
            s.bytes_read,
        )?;
        let gauge = ConstGauge::new(i64::try_from(s.uploads_in_progress).unwrap_or(i64::MAX));
        gauge.encode(encoder.encode_descriptor(
            "hearth_files_uploads_in_progress",
            "Uploads streaming into the file store now",
            None,
            gauge.metric_type(),
        )?)?;
        let mut uploads = encoder.encode_descriptor(
            "hearth_files_uploads",
            "Uploads into the file store that ended, by outcome (stored, too_large, failed)",
            None,
            prometheus_client::metrics::MetricType::Counter,
        )?;
        for (outcome, n) in [
            ("stored", s.blobs_written),
            ("too_large", s.uploads_too_large),
            ("failed", s.uploads_failed),
        ] {
            ConstCounter::new(n).encode(uploads.encode_family(&OutcomeLabels { outcome })?)?;
        }
        counter(
            &mut encoder,
            "hearth_files_blobs_deleted",
            "Blobs deleted from the file store (the deletion queue and the orphan sweep)",
            s.blobs_deleted,
        )?;
        counter(
            &mut encoder,
            "hearth_files_deletion_failures",
            "Queued deletions that failed and will be retried",
            s.deletions_failed,
        )?;
        counter(
            &mut encoder,
            "hearth_files_orphans_deleted",
            "Blobs no record referenced, deleted by the orphan sweep",
            s.orphans_deleted,
        )
    }
}
