//! What the storage layer needs to know about the database file and how hard to work.
//! The app fills this from its own configuration; storage reads no environment itself.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// `PRAGMA synchronous`. In WAL mode `Normal` loses at most the last commits on power
/// loss (never corrupts); `Full` also survives that, at the cost of an fsync per commit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Synchronous {
    #[default]
    Normal,
    Full,
}

impl Synchronous {
    pub fn as_str(self) -> &'static str {
        match self {
            Synchronous::Normal => "normal",
            Synchronous::Full => "full",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown synchronous mode {0:?}; expected \"normal\" or \"full\"")]
pub struct ParseSynchronousError(pub String);

impl FromStr for Synchronous {
    type Err = ParseSynchronousError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "normal" => Ok(Synchronous::Normal),
            "full" => Ok(Synchronous::Full),
            _ => Err(ParseSynchronousError(s.to_string())),
        }
    }
}

#[derive(Clone, Debug)]
pub struct StorageConfig {
    /// The SQLite file, e.g. `hearth_data/hearth.db`. Its directory is created if missing.
    pub path: PathBuf,
    pub synchronous: Synchronous,
    /// How long a connection waits for a lock held by another connection or process
    /// before the operation fails with `StorageError::Busy`.
    pub busy_timeout: Duration,
    /// Page cache per connection, in KiB (`PRAGMA cache_size=-N`).
    pub cache_size_kib: u32,
    /// Reader connections; 0 means one per core (at least 2).
    pub readers: usize,
    /// Group commit: the most jobs the writer puts in one transaction; 1 = one each.
    pub max_batch: usize,
    /// Jobs that may wait for the writer before `write` callers are made to wait.
    pub queue_capacity: usize,
    /// The time budget of one read job, from the moment a reader thread starts it; past
    /// it SQLite stops the query and the read fails with `StorageError::QueryTimeout`.
    /// Zero means no budget. One costly query can otherwise hold a reader thread (there
    /// are only as many as cores) for as long as it likes.
    pub query_timeout: Duration,
}

impl StorageConfig {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        StorageConfig {
            path: path.into(),
            synchronous: Synchronous::Normal,
            busy_timeout: Duration::from_secs(5),
            cache_size_kib: 8 * 1024,
            readers: 0,
            max_batch: 256,
            queue_capacity: 4096,
            query_timeout: Duration::from_secs(3),
        }
    }

    /// The reader pool size after resolving 0 to the core count. Two at least, so one
    /// slow read cannot stall every other read.
    pub(crate) fn reader_count(&self) -> usize {
        match self.readers {
            0 => std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
                .max(2),
            n => n,
        }
    }

    /// Zero would make no sense (and tokio's channel panics on capacity 0).
    pub(crate) fn effective_max_batch(&self) -> usize {
        self.max_batch.max(1)
    }

    pub(crate) fn effective_queue_capacity(&self) -> usize {
        self.queue_capacity.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synchronous_parses_case_insensitively_and_round_trips() {
        assert_eq!("NORMAL".parse(), Ok(Synchronous::Normal));
        assert_eq!(" Full ".parse(), Ok(Synchronous::Full));
        assert!("off".parse::<Synchronous>().is_err());
        for s in [Synchronous::Normal, Synchronous::Full] {
            assert_eq!(s.as_str().parse(), Ok(s));
        }
    }

    #[test]
    fn defaults_match_documentation_and_zero_readers_means_at_least_two() {
        let c = StorageConfig::new("x.db");
        assert_eq!(c.synchronous, Synchronous::Normal);
        assert_eq!(c.busy_timeout, Duration::from_secs(5));
        assert_eq!(c.cache_size_kib, 8192);
        assert_eq!((c.max_batch, c.queue_capacity), (256, 4096));
        assert_eq!(c.query_timeout, Duration::from_secs(3));
        assert!(c.reader_count() >= 2);
        let c = StorageConfig {
            readers: 1,
            max_batch: 0,
            queue_capacity: 0,
            ..c
        };
        assert_eq!(c.reader_count(), 1);
        assert_eq!(
            (c.effective_max_batch(), c.effective_queue_capacity()),
            (1, 1)
        );
    }
}
