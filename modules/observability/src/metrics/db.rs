//! Database metrics: histograms fed by the storage layer's observer hook (cheap enough
//! for the writer thread: one short lock per batch), and gauges read at scrape time
//! (writer counters, and the sizes of the database and WAL files from one `stat` each).

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::path::PathBuf;
use std::time::Duration;
use storage::{Db, StorageObserver};

const BATCH_SIZES: [f64; 9] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];
const TRANSACTION_SECONDS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];
const CHECKPOINT_SECONDS: [f64; 10] =
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];
const WAIT_SECONDS: [f64; 10] = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0];

/// Which thread ran a checkpoint: `background` normally; `writer` when the WAL grew
/// past the point where the writer thread checkpoints itself, holding up writes.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CheckpointLabels {
    thread: &'static str,
}

fn checkpoint_histogram() -> Histogram {
    Histogram::new(CHECKPOINT_SECONDS)
}

pub struct StorageMetrics {
    batch_size: Histogram,
    transaction: Histogram,
    checkpoint: Family<CheckpointLabels, Histogram, fn() -> Histogram>,
    read_wait: Histogram,
}

impl StorageMetrics {
    pub fn new(registry: &mut Registry) -> StorageMetrics {
        let batch_size = Histogram::new(BATCH_SIZES);
        registry.register(
            "hearth_db_batch_size",
            "Write jobs committed together in one group-commit transaction",
            batch_size.clone(),
        );
        let transaction = Histogram::new(TRANSACTION_SECONDS);
        registry.register(
            "hearth_db_transaction_duration_seconds",
            "Duration of each group-commit transaction, BEGIN to COMMIT, jobs included",
            transaction.clone(),
        );
        let checkpoint: Family<CheckpointLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(checkpoint_histogram);
        registry.register(
            "hearth_db_checkpoint_duration_seconds",
            "Duration of each WAL checkpoint, by the thread that ran it (writer: writes waited)",
            checkpoint.clone(),
        );
        let read_wait = Histogram::new(WAIT_SECONDS);
        registry.register(
            "hearth_db_read_wait_seconds",
            "Time a read waited for a free connection of the reader pool",
            read_wait.clone(),
        );
        StorageMetrics {
            batch_size,
            transaction,
            checkpoint,
            read_wait,
        }
    }
}

impl StorageObserver for StorageMetrics {
    fn batch_finished(&self, jobs: usize, took: Duration) {
        self.batch_size.observe(jobs as f64);
        self.transaction.observe(took.as_secs_f64());
    }

    fn checkpoint_finished(&self, on_writer: bool, took: Duration) {
        let thread = if on_writer { "writer" } else { "background" };
        self.checkpoint
            .get_or_create(&CheckpointLabels { thread })
            .observe(took.as_secs_f64());
    }

    fn read_waited(&self, waited: Duration) {
        self.read_wait.observe(waited.as_secs_f64());
    }
}

pub struct DbCollector {
    db: Db,
    wal: PathBuf,
}

impl std::fmt::Debug for DbCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbCollector")
            .field("path", &self.db.path())
            .finish()
    }
}

impl DbCollector {
    pub fn new(db: Db) -> DbCollector {
        let mut wal = db.path().as_os_str().to_owned();
        wal.push("-wal");
        DbCollector {
            db,
            wal: PathBuf::from(wal),
        }
    }
}

fn file_size(path: &std::path::Path) -> i64 {
    // A missing -wal file (after a checkpoint at shutdown) is an empty WAL.
    std::fs::metadata(path)
        .map(|m| i64::try_from(m.len()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// One gauge read at scrape time (a `Collector`'s value), with its descriptor.
pub fn gauge(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: i64,
) -> std::fmt::Result {
    let metric = ConstGauge::new(value);
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

/// One counter read at scrape time (a `Collector`'s value), with its descriptor.
pub fn counter(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: u64,
) -> std::fmt::Result {
    let metric = ConstCounter::new(value);
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

impl Collector for DbCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let stats = self.db.stats();
        gauge(
            &mut encoder,
            "hearth_db_writer_queue_depth",
            "Write jobs submitted and not yet started by the writer thread.",
            i64::try_from(stats.queue_depth).unwrap_or(i64::MAX),
        )?;
        counter(
            &mut encoder,
            "hearth_db_writer_jobs",
            "Write jobs the writer thread has started.",
            stats.jobs,
        )?;
        counter(
            &mut encoder,
            "hearth_db_writer_batches",
            "Group-commit transactions the writer thread has run.",
            stats.batches,
        )?;
        gauge(
            &mut encoder,
            "hearth_db_size_bytes",
            "Size of the database file.",
            file_size(self.db.path()),
        )?;
        gauge(
            &mut encoder,
            "hearth_db_wal_size_bytes",
            "Size of the write-ahead log file.",
            file_size(&self.wal),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_are_timed_by_the_thread_that_ran_them() {
        let mut registry = Registry::default();
        let metrics = StorageMetrics::new(&mut registry);
        metrics.checkpoint_finished(false, Duration::from_millis(3));
        metrics.checkpoint_finished(false, Duration::from_millis(4));
        metrics.checkpoint_finished(true, Duration::from_millis(30));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        for line in [
            r#"hearth_db_checkpoint_duration_seconds_count{thread="background"} 2"#,
            r#"hearth_db_checkpoint_duration_seconds_count{thread="writer"} 1"#,
            r#"hearth_db_checkpoint_duration_seconds_bucket{le="0.005",thread="background"} 2"#,
            r#"hearth_db_checkpoint_duration_seconds_bucket{le="0.025",thread="writer"} 0"#,
        ] {
            assert!(text.contains(line), "{line} missing:\n{text}");
        }
    }
}
