//! Moves WAL checkpoints off the writer thread. SQLite's default runs a checkpoint inside
//! the COMMIT that pushes the WAL past 1,000 frames, so every job of that batch waited
//! for it (copying pages and two fsyncs): the tail latency of writes. Here a thread
//! with its own connection runs PASSIVE checkpoints shortly after commits, while the
//! writer goes on committing.
//!
//! PASSIVE checkpoints never block the writer or readers. The WAL file can only start
//! over once a checkpoint has caught up completely, which under continuous writes the
//! background one may never do; so the writer keeps SQLite's own checkpoint at a much
//! higher mark (`WRITER_AUTOCHECKPOINT` frames), where it finds almost nothing left to
//! copy and lets the WAL restart. That bounds the WAL file.

use crate::config::StorageConfig;
use crate::connection::open_checkpointer;
use crate::error::StorageError;
use rusqlite::Connection;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// The writer's own checkpoint threshold, in WAL frames (pages): the backstop.
pub(crate) const WRITER_AUTOCHECKPOINT: i64 = 10_000;

/// Pause after a checkpoint, so a busy writer's commits are checkpointed together
/// rather than each on its own (each checkpoint syncs the WAL and the database file).
const PAUSE: Duration = Duration::from_millis(20);

/// What the writer tells the checkpointer: "committed", and at shutdown "stop".
#[derive(Default)]
pub(crate) struct CommitSignal {
    state: Mutex<SignalState>,
    changed: Condvar,
}

#[derive(Default)]
struct SignalState {
    commits: bool,
    stopped: bool,
}

impl CommitSignal {
    /// Called by the writer after each committed transaction; cheap (a lock and, only
    /// when the checkpointer sleeps, a wake-up).
    pub(crate) fn committed(&self) {
        let mut state = self.lock();
        if !state.commits {
            state.commits = true;
            drop(state);
            self.changed.notify_one();
        }
    }

    fn stop(&self) {
        self.lock().stopped = true;
        self.changed.notify_one();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SignalState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for commits; `false` once stopped.
    fn wait_for_commits(&self) -> bool {
        let mut state = self.lock();
        while !state.commits && !state.stopped {
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        state.commits = false;
        !state.stopped
    }

    /// Sleeps for `pause` unless stopped meanwhile; `false` once stopped.
    fn pause(&self, pause: Duration) -> bool {
        let state = self.lock();
        let (state, _) = self
            .changed
            .wait_timeout_while(state, pause, |s| !s.stopped)
            .unwrap_or_else(PoisonError::into_inner);
        !state.stopped
    }
}

pub(crate) struct Checkpointer {
    signal: Arc<CommitSignal>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Checkpointer {
    pub(crate) fn start(config: &StorageConfig) -> Result<Checkpointer, StorageError> {
        let conn = open_checkpointer(config)?;
        let signal = Arc::new(CommitSignal::default());
        let thread_signal = Arc::clone(&signal);
        let thread = std::thread::Builder::new()
            .name("hearth-checkpoint".into())
            .spawn(move || run(conn, &thread_signal))?;
        Ok(Checkpointer {
            signal,
            thread: Mutex::new(Some(thread)),
        })
    }

    pub(crate) fn signal(&self) -> Arc<CommitSignal> {
        Arc::clone(&self.signal)
    }

    /// Stops the thread (a checkpoint in progress finishes first) and closes its
    /// connection. Blocking; idempotent.
    pub(crate) fn stop(&self) {
        self.signal.stop();
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.signal.stop();
    }
}

fn run(conn: Connection, signal: &CommitSignal) {
    while signal.wait_for_commits() {
        checkpoint(&conn);
        if !signal.pause(PAUSE) {
            break;
        }
    }
    if let Err((_, err)) = conn.close() {
        tracing::warn!(error = %err, "closing the checkpoint connection failed");
    }
}

fn checkpoint(conn: &Connection) {
    let outcome = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
    });
    match outcome {
        Ok((wal_frames, checkpointed)) => {
            tracing::trace!(wal_frames, checkpointed, "checkpoint");
        }
        // A full disk or an I/O error: the WAL keeps every commit safe meanwhile, and
        // the next commit brings another attempt.
        Err(err) => tracing::debug!(error = %StorageError::from(err), "checkpoint failed"),
    }
}
