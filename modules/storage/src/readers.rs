//! The read side: a fixed set of reader threads, each owning one query-only connection
//! and taking jobs from one shared queue. In WAL mode readers never block the writer or
//! each other, so reads scale with cores while writes go through the writer thread.
//!
//! Dedicated threads rather than tokio's blocking pool: the pool starts a new thread
//! whenever none is idle at the instant of a call, so a busy server grew to a dozen
//! threads for two connections; here there are exactly as many threads as connections,
//! and a connection stays on one thread (warm caches, one allocator heap each).

use crate::config::StorageConfig;
use crate::connection::open_reader;
use crate::error::{panic_message, StorageError};
use crate::fail_stop::FailStop;
use crate::observer::ObserverSlot;
use crate::query_budget::QueryBudget;
use rusqlite::Connection;
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Instant;

type ReadJob = Box<dyn FnOnce(&Connection) + Send>;

/// Jobs waiting for a reader thread. Once `closed`, nothing new is accepted, and the
/// threads leave after the queue is empty.
#[derive(Default)]
struct Queue {
    state: Mutex<QueueState>,
    ready: Condvar,
}

#[derive(Default)]
struct QueueState {
    jobs: VecDeque<ReadJob>,
    closed: bool,
    /// Reader threads blocked waiting for a job. A push wakes one only when there is
    /// one: waking is a futex system call, and under load every reader is busy and
    /// picks the next job up by itself (measured: 9 % of a busy `get` server's CPU).
    idle: usize,
}

impl Queue {
    fn push(&self, job: ReadJob) -> Result<(), StorageError> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.closed {
            return Err(StorageError::Closed);
        }
        state.jobs.push_back(job);
        let wake = state.idle > 0;
        drop(state);
        if wake {
            self.ready.notify_one();
        }
        Ok(())
    }

    /// The next job, or `None` once closed and drained.
    fn next(&self) -> Option<ReadJob> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(job) = state.jobs.pop_front() {
                return Some(job);
            }
            if state.closed {
                return None;
            }
            state.idle += 1;
            state = self
                .ready
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
            state.idle -= 1;
        }
    }

    fn close(&self) {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .closed = true;
        self.ready.notify_all();
    }
}

/// The reader threads and their queue. Holding `&Readers` grants no way to write.
pub struct Readers {
    queue: Arc<Queue>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    size: usize,
    observer: Arc<ObserverSlot>,
}

fn reader_loop(conn: Connection, budget: QueryBudget, queue: &Queue, fail_stop: &FailStop) {
    while let Some(job) = queue.next() {
        budget.start();
        job(&conn);
        budget.stop();
    }
    // The writer may close first: then this closes last (see `fail_stop`).
    fail_stop.before_close(&conn);
    if let Err((_, err)) = conn.close() {
        tracing::warn!(error = %err, "closing a reader connection failed");
    }
}

/// Rolls back a transaction a read job left open (a `BEGIN` without its end, or a panic
/// between them): the connection would otherwise stay on that snapshot, every later
/// read on it missing newer writes, and the WAL could never start over behind it.
/// Returns whether there was one.
fn end_dangling_transaction(conn: &Connection) -> bool {
    if conn.is_autocommit() {
        return false;
    }
    tracing::error!("a read job left a transaction open; rolling it back");
    if let Err(err) = conn.execute_batch("ROLLBACK") {
        tracing::error!(error = %err, "rollback of a read job's transaction failed");
    }
    true
}

impl Readers {
    pub(crate) fn open(
        config: &StorageConfig,
        fail_stop: Arc<FailStop>,
    ) -> Result<Readers, StorageError> {
        let size = config.reader_count();
        // Every connection first, so a failure leaves no thread behind.
        let conns = (0..size)
            .map(|_| open_reader(config))
            .collect::<Result<Vec<_>, _>>()?;
        let readers = Readers {
            queue: Arc::new(Queue::default()),
            threads: Mutex::new(Vec::with_capacity(size)),
            size,
            observer: Arc::new(ObserverSlot::default()),
        };
        for (i, conn) in conns.into_iter().enumerate() {
            let queue = Arc::clone(&readers.queue);
            let budget = QueryBudget::install(&conn, config.query_timeout);
            let fail_stop = Arc::clone(&fail_stop);
            let thread = std::thread::Builder::new()
                .name(format!("hearth-reader-{i}"))
                .spawn(move || reader_loop(conn, budget, &queue, &fail_stop))?;
            readers.lock_threads().push(thread);
        }
        Ok(readers)
    }

    fn lock_threads(&self) -> std::sync::MutexGuard<'_, Vec<JoinHandle<()>>> {
        self.threads.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn set_observer(&self, observer: Arc<dyn crate::StorageObserver>) -> bool {
        self.observer.set(observer)
    }

    /// How many connections (and threads) the pool holds.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Runs `f` on a reader thread with its connection (SQLite calls block), after the
    /// jobs queued before it. A panic in `f` becomes `StorageError::Panicked`; the thread
    /// and its connection carry on. Its statements share one time budget
    /// (`StorageConfig::query_timeout`), after which they fail with
    /// `StorageError::QueryTimeout`. A transaction `f` leaves open is rolled back, and
    /// `f`'s success becomes `StorageError::TransactionLeftOpen`.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StorageError> + Send + 'static,
    {
        let (done, result) = tokio::sync::oneshot::channel();
        // Created here, so it is a child of the caller's span; entered on the reader
        // thread, so whatever the read logs or traces is inside it.
        let span = crate::spans::read();
        let observer = Arc::clone(&self.observer);
        let queued = Instant::now();
        let job: ReadJob = Box::new(move |conn| {
            if let Some(observer) = observer.get() {
                observer.read_waited(queued.elapsed());
            }
            let _span = span.entered();
            let mut result = catch_unwind(AssertUnwindSafe(|| f(conn))).unwrap_or_else(|payload| {
                let message = panic_message(payload.as_ref());
                tracing::error!(panic = %message, "read job panicked");
                Err(E::from(StorageError::Panicked(message)))
            });
            if end_dangling_transaction(conn) && result.is_ok() {
                result = Err(E::from(StorageError::TransactionLeftOpen));
            }
            // The caller may have gone away (a dropped request); nothing to report then.
            let _ = done.send(result);
        });
        self.queue.push(job).map_err(E::from)?;
        result
            .await
            .unwrap_or_else(|_| Err(E::from(StorageError::Closed)))
    }

    /// Refuses new reads, lets the queued ones finish, then closes every connection and
    /// waits for the threads to end.
    pub(crate) async fn close(&self) {
        self.queue.close();
        let threads = std::mem::take(&mut *self.lock_threads());
        if threads.is_empty() {
            return;
        }
        let joined = tokio::task::spawn_blocking(move || {
            for thread in threads {
                let _ = thread.join();
            }
        })
        .await;
        if let Err(err) = joined {
            tracing::warn!(error = %err, "waiting for the reader threads failed");
        }
    }
}

impl Drop for Readers {
    /// A `Db` dropped without `close` (tests, failed start-up) still ends its threads:
    /// they finish what is queued, close their connections and exit.
    fn drop(&mut self) {
        self.queue.close();
    }
}
