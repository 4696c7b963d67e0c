//! The expiry task: at start and every `sweep_every`, removes the uploads past their
//! expiry (row first, then file) and the staging files that have no row (left by a
//! crash between the two, or a removal that failed).

use super::repo;
use super::service::Uploads;
use std::sync::Weak;
use storage::StorageError;
use tokio::sync::watch;

/// Rows taken per read.
const BATCH: usize = 100;

pub(super) fn start(uploads: &Uploads, mut alive: watch::Receiver<()>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        tracing::error!(
            "tus uploads were opened outside a tokio runtime; expired uploads will not be removed"
        );
        return;
    };
    // Weak: the task must not keep the uploads (and so itself) alive.
    let inner = std::sync::Arc::downgrade(&uploads.inner);
    let every = uploads.inner.config.sweep_every;
    runtime.spawn(async move {
        loop {
            let Some(uploads) = upgrade(&inner) else {
                return;
            };
            match uploads.sweep_expired().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(removed = n, "removed expired tus uploads"),
                Err(StorageError::Closed) => return,
                Err(e) => tracing::warn!(error = %e, "could not sweep expired tus uploads"),
            }
            drop(uploads);
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                // Every sender gone: the uploads were dropped.
                _ = alive.changed() => return,
            }
        }
    });
}

fn upgrade(inner: &Weak<super::service::Inner>) -> Option<Uploads> {
    inner.upgrade().map(|inner| Uploads { inner })
}

impl Uploads {
    /// One sweep now; returns how many uploads (rows or lone files) it removed.
    /// Uploads in use (locked) are left for the next sweep.
    pub async fn sweep_expired(&self) -> Result<usize, StorageError> {
        let inner = &self.inner;
        let mut removed = 0;
        loop {
            let ids = inner
                .db
                .read(|conn| repo::expired(conn, BATCH).map_err(StorageError::from))
                .await?;
            let mut progressed = false;
            for id in &ids {
                let Some(mut held) = inner.locks.try_lock(id) else {
                    continue;
                };
                let key = id.clone();
                let gone = inner
                    .db
                    .write(move |conn| {
                        repo::delete_if_expired(conn, &key).map_err(StorageError::from)
                    })
                    .await?;
                held.hash = None;
                if gone {
                    progressed = true;
                    removed += 1;
                    if let Err(e) = inner.staging.remove(id).await {
                        tracing::warn!(upload = %id, error = %e, "could not remove an expired upload's file");
                    }
                }
            }
            if ids.len() < BATCH || !progressed {
                break;
            }
        }
        let names = match inner.staging.names().await {
            Ok(names) => names,
            Err(e) => {
                tracing::warn!(error = %e, "could not list the staged uploads");
                return Ok(removed);
            }
        };
        for name in names {
            let Some(_held) = inner.locks.try_lock(&name) else {
                continue;
            };
            let key = name.clone();
            let has_row = inner
                .db
                .read(move |conn| repo::exists(conn, &key).map_err(StorageError::from))
                .await?;
            if !has_row && inner.staging.remove(&name).await.is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }
}
