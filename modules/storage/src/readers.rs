//! The read side: a fixed pool of query-only connections. In WAL mode readers never
//! block the writer or each other, so reads scale with cores while writes go through
//! the single writer thread.

use crate::config::StorageConfig;
use crate::connection::open_reader;
use crate::error::{panic_message, StorageError};
use crate::observer::ObserverSlot;
use rusqlite::Connection;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::Semaphore;

/// A pool of read-only connections. Holding `&Readers` grants no way to write.
pub struct Readers {
    pool: Arc<Pool>,
    size: usize,
    observer: ObserverSlot,
}

struct Pool {
    /// One permit per idle connection: a permit guarantees `idle` is not empty.
    permits: Arc<Semaphore>,
    idle: Mutex<Vec<Connection>>,
}

impl Pool {
    fn take(&self) -> Option<Connection> {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
    }

    fn put(&self, conn: Connection) {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(conn);
    }
}

/// Puts the connection back when dropped, so it returns to the pool even if the
/// blocking task is torn down while unwinding.
struct Lease {
    pool: Arc<Pool>,
    conn: Option<Connection>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool.put(conn);
        }
    }
}

impl Readers {
    pub(crate) fn open(config: &StorageConfig) -> Result<Readers, StorageError> {
        let size = config.reader_count();
        let conns = (0..size)
            .map(|_| open_reader(config))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Readers {
            pool: Arc::new(Pool {
                permits: Arc::new(Semaphore::new(size)),
                idle: Mutex::new(conns),
            }),
            size,
            observer: ObserverSlot::default(),
        })
    }

    pub(crate) fn set_observer(&self, observer: Arc<dyn crate::StorageObserver>) -> bool {
        self.observer.set(observer)
    }

    /// How many connections the pool holds.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Runs `f` with a reader connection on a blocking thread (SQLite calls block), after
    /// waiting for a free connection. A panic in `f` becomes `StorageError::Panicked`
    /// and the connection still goes back to the pool.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StorageError> + Send + 'static,
    {
        let waiting = std::time::Instant::now();
        let permit = Arc::clone(&self.pool.permits)
            .acquire_owned()
            .await
            .map_err(|_| StorageError::Closed)?;
        let conn = self.pool.take().ok_or(StorageError::Closed)?;
        if let Some(observer) = self.observer.get() {
            observer.read_waited(waiting.elapsed());
        }
        let lease = Lease {
            pool: Arc::clone(&self.pool),
            conn: Some(conn),
        };
        // Created here, so it is a child of the caller's span; entered on the blocking
        // thread, so whatever the read logs or traces is inside it.
        let span = crate::spans::read();
        let task = tokio::task::spawn_blocking(move || {
            let _span = span.entered();
            // Declared after `permit`, so dropped first: the connection is back in the
            // pool before the permit that promises it is released.
            let _permit = permit;
            let lease = lease;
            let Some(conn) = lease.conn.as_ref() else {
                return Err(E::from(StorageError::Closed));
            };
            catch_unwind(AssertUnwindSafe(|| f(conn))).unwrap_or_else(|payload| {
                let message = panic_message(payload.as_ref());
                tracing::error!(panic = %message, "read job panicked");
                Err(E::from(StorageError::Panicked(message)))
            })
        });
        match task.await {
            Ok(result) => result,
            // Only when the runtime shuts down under us.
            Err(err) => Err(E::from(StorageError::Panicked(err.to_string()))),
        }
    }

    /// Waits for reads in flight, then refuses new ones and closes every connection.
    pub(crate) async fn close(&self) {
        let all = u32::try_from(self.size).unwrap_or(u32::MAX);
        // Err means already closed; either way no read is running once we are past it.
        if let Ok(permits) = self.pool.permits.acquire_many(all).await {
            permits.forget();
        }
        self.pool.permits.close();
        let conns = std::mem::take(
            &mut *self
                .pool
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for conn in conns {
            if let Err((_, err)) = conn.close() {
                tracing::warn!(error = %err, "closing a reader connection failed");
            }
        }
    }
}
