//! A hook for metrics without a metrics dependency: the application registers one
//! [`StorageObserver`] per database (`Db::set_observer`), and the writer thread and the
//! reader pool report to it. Calls happen on the writer thread and on request paths, so
//! an observer must only do cheap, non-blocking work (atomics, a short lock).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

pub trait StorageObserver: Send + Sync + 'static {
    /// A group-commit batch of `jobs` finished: `took` is from its BEGIN to its COMMIT
    /// (or rollback), so it includes the jobs' own work.
    fn batch_finished(&self, jobs: usize, took: Duration) {
        let _ = (jobs, took);
    }

    /// A WAL checkpoint finished (or failed) after `took`; `on_writer` when the writer
    /// thread ran it itself, so no write could commit meanwhile (see `checkpointer`).
    fn checkpoint_finished(&self, on_writer: bool, took: Duration) {
        let _ = (on_writer, took);
    }

    /// A read waited `waited` for a free connection of the reader pool.
    fn read_waited(&self, waited: Duration) {
        let _ = waited;
    }
}

/// Set at most once; reporting costs one atomic load when nothing is registered.
#[derive(Default)]
pub(crate) struct ObserverSlot(OnceLock<Arc<dyn StorageObserver>>);

impl ObserverSlot {
    pub(crate) fn set(&self, observer: Arc<dyn StorageObserver>) -> bool {
        self.0.set(observer).is_ok()
    }

    pub(crate) fn get(&self) -> Option<&dyn StorageObserver> {
        self.0.get().map(|o| o.as_ref())
    }
}
