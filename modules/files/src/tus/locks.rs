//! One request at a time per upload: a PATCH, HEAD, DELETE, `take` or the expiry sweep
//! holds the upload's lock while it reads or changes it. A HEAD that follows an
//! interrupted PATCH thus waits for that PATCH to record what arrived, and reports it.
//!
//! The lock also keeps the running SHA-256 of the acknowledged bytes, so that a
//! finished upload need not be read again to hash it (after a restart it is).

use sha2::Sha256;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

/// The hash of `0..offset` of an upload.
#[derive(Clone)]
pub(crate) struct RunningHash {
    pub offset: u64,
    pub hasher: Sha256,
}

/// What the holder of an upload's lock may use.
#[derive(Default)]
pub(crate) struct State {
    pub hash: Option<RunningHash>,
}

type Slot = Arc<AsyncMutex<State>>;

#[derive(Clone, Default)]
pub(crate) struct Locks {
    slots: Arc<Mutex<HashMap<String, Slot>>>,
}

/// The held lock of one upload; released (and its slot forgotten when nobody else
/// waits and it holds no hash) when dropped.
pub(crate) struct Held {
    guard: Option<OwnedMutexGuard<State>>,
    id: String,
    locks: Locks,
}

impl std::ops::Deref for Held {
    type Target = State;
    fn deref(&self) -> &State {
        self.guard.as_ref().expect("held until dropped")
    }
}

impl std::ops::DerefMut for Held {
    fn deref_mut(&mut self) -> &mut State {
        self.guard.as_mut().expect("held until dropped")
    }
}

impl Locks {
    fn slot(&self, id: &str) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots.entry(id.to_owned()).or_default().clone()
    }

    /// Waits at most `wait` for the lock; `None` when someone else kept it.
    pub async fn lock(&self, id: &str, wait: Duration) -> Option<Held> {
        let slot = self.slot(id);
        let guard = tokio::time::timeout(wait, slot.lock_owned()).await.ok();
        let held = Held {
            guard,
            id: id.to_owned(),
            locks: self.clone(),
        };
        // A timed-out wait still drops through `Held`, which tidies the slot.
        held.guard.is_some().then_some(held)
    }

    /// The lock if it is free now.
    pub fn try_lock(&self, id: &str) -> Option<Held> {
        let slot = self.slot(id);
        let guard = slot.try_lock_owned().ok();
        let held = Held {
            guard,
            id: id.to_owned(),
            locks: self.clone(),
        };
        held.guard.is_some().then_some(held)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let keeps_hash = self.guard.as_ref().is_some_and(|g| g.hash.is_some());
        drop(self.guard.take());
        if keeps_hash {
            return;
        }
        let mut slots = self
            .locks
            .slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Only the map's own reference left: no one holds or waits for it.
        if slots
            .get(&self.id)
            .is_some_and(|s| Arc::strong_count(s) == 1)
        {
            slots.remove(&self.id);
        }
    }
}
