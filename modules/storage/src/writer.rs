//! The write side: one dedicated thread owns the only write connection, so writers never
//! fight over SQLite's single write lock, and jobs queued together commit together
//! (group commit, see `group_commit.rs`).

use crate::checkpointer::Checkpointer;
use crate::config::StorageConfig;
use crate::error::{panic_message, StorageError};
use crate::group_commit;
use crate::observer::ObserverSlot;
use rusqlite::Connection;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::thread::JoinHandle;
use tokio::sync::{mpsc, oneshot};

/// A type-erased unit of work for the writer thread.
pub(crate) trait Job: Send {
    /// Runs inside the batch's transaction (and, but for one-statement jobs, the job's
    /// own savepoint). The result is held back in the returned `Completion` until the
    /// batch has committed.
    fn run(self: Box<Self>, conn: &Connection) -> Completion;
    /// The job never ran (BEGIN or SAVEPOINT failed): hand the caller the error now.
    fn fail(self: Box<Self>, err: StorageError);
    /// How the writer thread runs it.
    fn kind(&self) -> Kind;
    /// The job's `db.write` span, opened where it was submitted (see `spans`).
    fn span(&self) -> &tracing::Span;
}

/// A job that ran and waits for its batch's COMMIT before its caller hears back.
pub(crate) struct Completion {
    pub(crate) ok: bool,
    deliver: Box<dyn FnOnce(Option<StorageError>) + Send>,
}

impl Completion {
    #[cfg(test)]
    pub(crate) fn new(
        ok: bool,
        deliver: impl FnOnce(Option<StorageError>) + Send + 'static,
    ) -> Self {
        Completion {
            ok,
            deliver: Box::new(deliver),
        }
    }

    /// `err` is why the batch did not commit; a job that already failed keeps its own
    /// error, since its changes were rolled back anyway.
    pub(crate) fn deliver(self, err: Option<StorageError>) {
        (self.deliver)(err)
    }
}

/// How the writer thread runs a job.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// In the batch's transaction, inside a savepoint of its own (`Writer::run`).
    Grouped,
    /// In the batch's transaction, without a savepoint (`Writer::run_one_statement`).
    OneStatement,
    /// Alone, outside any transaction (`Writer::run_exclusive`).
    Exclusive,
}

struct TypedJob<F, T, E> {
    f: F,
    reply: oneshot::Sender<Result<T, E>>,
    kind: Kind,
    span: tracing::Span,
}

impl<F, T, E> Job for TypedJob<F, T, E>
where
    F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<StorageError> + Send + 'static,
{
    fn kind(&self) -> Kind {
        self.kind
    }

    fn span(&self) -> &tracing::Span {
        &self.span
    }

    fn run(self: Box<Self>, conn: &Connection) -> Completion {
        let TypedJob { f, reply, span, .. } = *self;
        // Linked to the batch span entered around it; entered while the job runs.
        span.follows_from(tracing::Span::current());
        let _span = span.entered();
        // A panicking job must not take the writer thread (and every later write) down.
        let result = catch_unwind(AssertUnwindSafe(|| f(conn))).unwrap_or_else(|payload| {
            let message = panic_message(payload.as_ref());
            tracing::error!(panic = %message, "write job panicked; its changes were rolled back");
            Err(E::from(StorageError::Panicked(message)))
        });
        Completion {
            ok: result.is_ok(),
            deliver: Box::new(move |commit_err| {
                let result = match (result, commit_err) {
                    (Ok(_), Some(err)) => Err(E::from(err)),
                    (result, _) => result,
                };
                // The caller may have stopped waiting; the write happened regardless.
                let _ = reply.send(result);
            }),
        }
    }

    fn fail(self: Box<Self>, err: StorageError) {
        let _ = self.reply.send(Err(E::from(err)));
    }
}

/// Counters since the database was opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriterStats {
    pub jobs: u64,
    pub batches: u64,
    pub largest_batch: u64,
    /// Jobs submitted (including callers waiting for room in the queue) but not started.
    pub queue_depth: u64,
}

#[derive(Default)]
pub(crate) struct Stats {
    jobs: AtomicU64,
    batches: AtomicU64,
    largest_batch: AtomicU64,
    queue_depth: AtomicU64,
    pub(crate) observer: ObserverSlot,
    /// Shared by the writer, checkpoint and reader threads and every submitter.
    pub(crate) fail_stop: Arc<crate::fail_stop::FailStop>,
    /// Counts commits that may have changed something (see `Writer::commits`).
    pub(crate) commits: tokio::sync::watch::Sender<u64>,
}

impl Stats {
    pub(crate) fn record_batch(&self, size: usize) {
        let size = size as u64;
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.largest_batch.fetch_max(size, Ordering::Relaxed);
    }

    /// A batch of `size` jobs took `took` from BEGIN to COMMIT.
    pub(crate) fn batch_finished(&self, size: usize, took: std::time::Duration) {
        if let Some(observer) = self.observer.get() {
            observer.batch_finished(size, took);
        }
    }

    /// Runs `checkpoint` and reports how long it took.
    pub(crate) fn time_checkpoint<T>(&self, on_writer: bool, checkpoint: impl FnOnce() -> T) -> T {
        let started = std::time::Instant::now();
        let outcome = checkpoint();
        if let Some(observer) = self.observer.get() {
            observer.checkpoint_finished(on_writer, started.elapsed());
        }
        outcome
    }

    /// Called by the writer thread after a COMMIT returned: whoever waits on
    /// `Writer::commits` can now read what it wrote. One lock and a wake-up per batch.
    pub(crate) fn committed(&self) {
        self.commits.send_modify(|n| *n = n.wrapping_add(1));
    }

    pub(crate) fn job_started(&self) {
        self.jobs.fetch_add(1, Ordering::Relaxed);
        self.queue_depth.fetch_sub(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> WriterStats {
        WriterStats {
            jobs: self.jobs.load(Ordering::Relaxed),
            batches: self.batches.load(Ordering::Relaxed),
            largest_batch: self.largest_batch.load(Ordering::Relaxed),
            queue_depth: self.queue_depth.load(Ordering::Relaxed),
        }
    }
}

/// Counts a submission in `queue_depth` until the writer takes it, and un-counts it if
/// it never reaches the queue (channel closed, or the caller's future was dropped
/// while waiting for room).
struct Queued<'a> {
    stats: &'a Stats,
    sent: bool,
}

impl<'a> Queued<'a> {
    fn new(stats: &'a Stats) -> Self {
        stats.queue_depth.fetch_add(1, Ordering::Relaxed);
        Queued { stats, sent: false }
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        if !self.sent {
            self.stats.queue_depth.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

type JobSender = mpsc::Sender<Box<dyn Job>>;

/// The handle to the writer thread. Only code holding a `&Writer` can change the
/// database; the reader pool's connections are query-only.
pub struct Writer {
    /// `None` once closing has begun; taking it closes the channel, which is how the
    /// thread learns to drain and exit.
    sender: RwLock<Option<JobSender>>,
    thread: tokio::sync::Mutex<Option<JoinHandle<Result<(), StorageError>>>>,
    stats: Arc<Stats>,
}

impl Writer {
    pub(crate) fn start(
        conn: Connection,
        config: &StorageConfig,
        fail_stop: Arc<crate::fail_stop::FailStop>,
    ) -> Result<Writer, StorageError> {
        let (sender, receiver) = mpsc::channel(config.effective_queue_capacity());
        let stats = Arc::new(Stats {
            fail_stop,
            ..Stats::default()
        });
        let max_batch = config.effective_max_batch();
        let thread_stats = Arc::clone(&stats);
        let checkpointer = Checkpointer::start(config, Arc::clone(&stats))?;
        let thread = std::thread::Builder::new()
            .name("hearth-writer".into())
            .spawn(move || {
                group_commit::run(conn, receiver, max_batch, checkpointer, &thread_stats)
            })?;
        Ok(Writer {
            sender: RwLock::new(Some(sender)),
            thread: tokio::sync::Mutex::new(Some(thread)),
            stats,
        })
    }

    /// Runs `f` on the writer thread inside a transaction shared with other queued jobs,
    /// and returns its result once that transaction has committed. If `f` returns `Err`
    /// or panics, only its own changes are rolled back.
    ///
    /// `f` must not BEGIN, COMMIT or ROLLBACK itself (use a SAVEPOINT for nested work).
    /// Dropping the returned future after the job was queued does not cancel the write.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StorageError> + Send + 'static,
    {
        self.submit(f, Kind::Grouped).await
    }

    /// Like `run`, for a job that changes the database with at most one statement (it
    /// may read with others before it): a failing statement is undone by SQLite itself,
    /// so the job needs no savepoint of its own. Savepoints are a tenth of the writer
    /// thread's time under a create load (each one copies every page the job touches
    /// into the statement journal).
    ///
    /// A job that breaks the promise (changes something, then fails) cannot be undone
    /// alone: its whole transaction is rolled back, so no partial write survives, and
    /// the jobs that ran in it before it get `StorageError::RolledBack`.
    pub async fn run_one_statement<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StorageError> + Send + 'static,
    {
        self.submit(f, Kind::OneStatement).await
    }

    /// Runs `f` alone on the writer thread, between batches and outside any transaction:
    /// `f` manages its own transaction. For work SQLite only allows outside one, such as
    /// switching `PRAGMA foreign_keys` off to rebuild a table. If `f` leaves a transaction
    /// open it is rolled back and the caller gets `StorageError::TransactionLeftOpen`
    /// (if `f` itself succeeded); `foreign_keys` is switched back on afterwards.
    pub async fn run_exclusive<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StorageError> + Send + 'static,
    {
        self.submit(f, Kind::Exclusive).await
    }

    async fn submit<T, E, F>(&self, f: F, kind: Kind) -> Result<T, E>
    where
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StorageError> + Send + 'static,
    {
        if let Some(refusal) = self.stats.fail_stop.refusal() {
            return Err(E::from(refusal));
        }
        let sender = self
            .sender
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or(StorageError::Closed)?;
        let (reply, answer) = oneshot::channel();
        let mut queued = Queued::new(&self.stats);
        // Awaiting here is the backpressure: a full queue makes callers wait.
        sender
            .send(Box::new(TypedJob {
                f,
                reply,
                kind,
                span: crate::spans::write(),
            }))
            .await
            .map_err(|_| StorageError::Closed)?;
        queued.sent = true;
        drop(sender);
        // The reply is dropped unanswered only if the writer thread died.
        answer
            .await
            .unwrap_or_else(|_| Err(E::from(StorageError::Closed)))
    }

    pub fn stats(&self) -> WriterStats {
        self.stats.snapshot()
    }

    /// A counter the writer thread bumps after every COMMIT of a batch, and after every
    /// exclusive job that succeeded and changed rows: a reader that saw the value change
    /// finds the new rows visible. Readers learn that something new may be there without
    /// polling; a bump may find nothing new for them (a dry run's rolled back rows, a
    /// batch that wrote elsewhere), but no commit goes unannounced. Values are only
    /// compared, never counted: several bumps can arrive as one change.
    pub fn commits(&self) -> tokio::sync::watch::Receiver<u64> {
        self.stats.commits.subscribe()
    }

    /// Why writes are refused for good (a failed fsync, see `fail_stop`), if they are.
    pub fn fail_stopped(&self) -> Option<String> {
        self.stats.fail_stop.reason().map(str::to_string)
    }

    pub(crate) fn set_observer(
        &self,
        observer: std::sync::Arc<dyn crate::StorageObserver>,
    ) -> bool {
        self.stats.observer.set(observer)
    }

    /// Refuses new jobs from now on; jobs already queued still run.
    pub(crate) fn stop_accepting(&self) {
        self.sender
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }

    /// Waits for the thread to drain the queue, checkpoint and exit. Concurrent and
    /// repeated calls are fine: later ones find the thread already joined.
    pub(crate) async fn join(&self) -> Result<(), StorageError> {
        let mut slot = self.thread.lock().await;
        let Some(handle) = slot.take() else {
            return Ok(());
        };
        match tokio::task::spawn_blocking(move || handle.join()).await {
            Ok(Ok(result)) => result,
            Ok(Err(payload)) => Err(StorageError::Panicked(panic_message(payload.as_ref()))),
            Err(err) => Err(StorageError::Panicked(err.to_string())),
        }
    }
}
