//! Thumbnailing from async code: bounded concurrency on tokio's blocking pool.
//!
//! Decoding a photo takes tens of milliseconds of CPU and up to `max_alloc` bytes; a page
//! of new thumbnails must not take every core or a multiple of that memory, so at most
//! `concurrency` run at once (PocketBase: a semaphore of NumCPU + 2 workers and a 60 s
//! wait, `PB_THUMBS_MAX_WORKERS` / `PB_THUMBS_MAX_WAIT`). Requests past that wait their
//! turn, for at most `max_wait`. Merging concurrent requests for the same thumbnail
//! (PocketBase's singleflight) belongs to the caller, which knows the storage key.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ThumbError;
use crate::generate::{generate, Thumb, ThumbLimits};
use crate::spec::ThumbSpec;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThumbnailerConfig {
    /// Thumbnails made at once. Default: the number of CPUs (one decode per core; more
    /// would only add memory, not speed).
    pub concurrency: usize,
    /// How long a request waits for a free slot before [`ThumbError::Busy`]; `None`
    /// waits as long as it takes. Default 60 s, as PocketBase.
    pub max_wait: Option<Duration>,
    pub limits: ThumbLimits,
}

impl Default for ThumbnailerConfig {
    fn default() -> Self {
        ThumbnailerConfig {
            concurrency: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_wait: Some(Duration::from_secs(60)),
            limits: ThumbLimits::default(),
        }
    }
}

/// Cheap to clone; clones share the slots and the counters.
#[derive(Clone)]
pub struct Thumbnailer {
    inner: Arc<Inner>,
}

struct Inner {
    config: ThumbnailerConfig,
    slots: Arc<Semaphore>,
    generated: AtomicU64,
    failed: AtomicU64,
}

impl Thumbnailer {
    /// A `concurrency` of 0 is taken as 1.
    pub fn new(mut config: ThumbnailerConfig) -> Self {
        config.concurrency = config.concurrency.clamp(1, Semaphore::MAX_PERMITS);
        Thumbnailer {
            inner: Arc::new(Inner {
                slots: Arc::new(Semaphore::new(config.concurrency)),
                config,
                generated: AtomicU64::new(0),
                failed: AtomicU64::new(0),
            }),
        }
    }

    pub fn config(&self) -> &ThumbnailerConfig {
        &self.inner.config
    }

    /// [`generate`] once a slot is free, on the blocking pool. The slot goes with the
    /// work: if the caller stops waiting after the work has started, the work still
    /// counts against `concurrency` (and in the counters) until it ends.
    pub async fn generate<B>(&self, input: B, spec: ThumbSpec) -> Result<Thumb, ThumbError>
    where
        B: AsRef<[u8]> + Send + 'static,
    {
        let slot = match self.slot().await {
            Ok(slot) => slot,
            Err(error) => {
                self.inner.failed.fetch_add(1, Ordering::Relaxed);
                return Err(error);
            }
        };
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            let result = generate(input.as_ref(), spec, &inner.config.limits);
            let counter = match result {
                Ok(_) => &inner.generated,
                Err(_) => &inner.failed,
            };
            counter.fetch_add(1, Ordering::Relaxed);
            result
        })
        .await
        .map_err(|join| ThumbError::Interrupted {
            reason: join.to_string(),
        })?
    }

    async fn slot(&self) -> Result<OwnedSemaphorePermit, ThumbError> {
        let acquire = Arc::clone(&self.inner.slots).acquire_owned();
        let acquired = match self.inner.config.max_wait {
            Some(wait) => tokio::time::timeout(wait, acquire)
                .await
                .map_err(|_| ThumbError::Busy { waited: wait })?,
            None => acquire.await,
        };
        // Only a closed semaphore fails, and this one is never closed.
        acquired.map_err(|closed| ThumbError::Interrupted {
            reason: closed.to_string(),
        })
    }

    /// Thumbnails made since start (for metrics).
    pub fn generated(&self) -> u64 {
        self.inner.generated.load(Ordering::Relaxed)
    }

    /// Requests that ended in an error, `Busy` included (for metrics).
    pub fn failed(&self) -> u64 {
        self.inner.failed.load(Ordering::Relaxed)
    }

    /// Thumbnails being made right now.
    pub fn in_progress(&self) -> usize {
        self.inner.config.concurrency - self.inner.slots.available_permits()
    }
}
