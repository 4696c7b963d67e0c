//! WAL checkpoints off the writer thread.
//!
//! SQLite's automatic checkpoint runs inside the COMMIT that takes the WAL past 1,000
//! pages: it fsyncs the WAL, copies its pages into the database file and fsyncs that.
//! Measured under a create load: 41 checkpoints a second, 8.6 ms each (6.3 ms of it in
//! the two fsyncs), a third of the writer thread's wall time, during which no write
//! could commit. Here a thread of its own, with a connection of its own, runs those
//! checkpoints (PASSIVE: it never waits for, nor blocks, the writer or readers) while
//! the writer goes on appending to the WAL.
//!
//! A checkpoint that runs alongside the writer never sees the WAL fully copied (the
//! writer has always appended more by the time it finishes), and SQLite only starts
//! the WAL over from the beginning when it is. So the writer still checkpoints itself
//! once the WAL passes `WalPolicy::inline_at`: little is left to copy by then, and its
//! next transaction restarts the WAL, which bounds the file.

use crate::config::StorageConfig;
use crate::connection::open_checkpointer;
use crate::error::StorageError;
use crate::writer::Stats;
use rusqlite::Connection;
use std::cell::Cell;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;

/// When checkpoints happen, in WAL pages (frames).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WalPolicy {
    /// Ask the background thread for a checkpoint each time the WAL has grown by this
    /// many pages since the last request (SQLite's own default threshold).
    pub(crate) background_every: u32,
    /// The writer checkpoints itself past this size (about 40 MB with 4 KiB pages).
    pub(crate) inline_at: u32,
}

impl Default for WalPolicy {
    fn default() -> Self {
        WalPolicy {
            background_every: 1_000,
            inline_at: 10_000,
        }
    }
}

/// What the writer should do after a commit that left `frames` pages in the WAL.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum After {
    Nothing,
    RequestBackground,
    CheckpointInline,
}

/// The writer's side of the policy: remembers where it last asked, so a growing WAL
/// asks once per `background_every` pages rather than after every commit.
#[derive(Debug)]
pub(crate) struct Trigger {
    policy: WalPolicy,
    next_request_at: u32,
}

impl Trigger {
    pub(crate) fn new(policy: WalPolicy) -> Self {
        Trigger {
            policy,
            next_request_at: policy.background_every,
        }
    }

    pub(crate) fn after_commit(&mut self, frames: u32) -> After {
        if frames
            < self
                .next_request_at
                .saturating_sub(self.policy.background_every)
        {
            // The WAL started over from the beginning since the last request.
            self.next_request_at = self.policy.background_every;
        }
        if frames >= self.policy.inline_at {
            After::CheckpointInline
        } else if frames >= self.next_request_at {
            self.next_request_at = frames.saturating_add(self.policy.background_every);
            After::RequestBackground
        } else {
            After::Nothing
        }
    }
}

thread_local! {
    /// Pages in the WAL after this thread's last commit, as SQLite's WAL hook reported.
    static WAL_FRAMES: Cell<u32> = const { Cell::new(0) };
}

/// Replaces SQLite's automatic checkpoint on `conn` (the WAL hook is where it lives)
/// with a note of the WAL's size, which `take_wal_frames` reads after the commit.
pub(crate) fn watch_wal(conn: &Connection) {
    fn record(_: &rusqlite::hooks::Wal, frames: std::ffi::c_int) -> rusqlite::Result<()> {
        WAL_FRAMES.with(|f| f.set(u32::try_from(frames).unwrap_or(0)));
        Ok(())
    }
    conn.wal_hook(Some(record));
}

/// The WAL size the hook recorded on this thread since the last call, if any commit
/// wrote to the WAL.
pub(crate) fn take_wal_frames() -> Option<u32> {
    let frames = WAL_FRAMES.with(|f| f.replace(0));
    (frames > 0).then_some(frames)
}

/// Runs a PASSIVE checkpoint on `conn`: copies what it can without waiting for anyone.
/// Another checkpoint holding the lock is not an error (the pragma's row says so, and
/// the next request tries again), so the row is not read.
pub(crate) fn checkpoint_passive(conn: &Connection) -> rusqlite::Result<()> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
}

/// fsyncs the database file through `conn`'s own file handle.
///
/// SQLite syncs the database file only in the checkpoint that copies the whole WAL,
/// which is never a background one while writes go on (see the module comment). That
/// left every page the background checkpoints had copied for the writer's checkpoint to
/// flush: measured 20 ms of its 25 ms. Syncing here keeps that work off the writer.
/// SQLite's handle rather than a `File` of our own: closing any descriptor of the file
/// would drop every POSIX lock this process holds on it, SQLite's included.
fn sync_database_file(conn: &Connection) -> rusqlite::Result<()> {
    use rusqlite::ffi;
    let mut file: *mut ffi::sqlite3_file = std::ptr::null_mut();
    // SAFETY: the handle is valid while `conn` is borrowed and only this thread uses
    // the connection; FILE_POINTER writes one pointer into `file`, which lives as long
    // as the connection, and its methods expect exactly this handle.
    let rc = unsafe {
        let rc = ffi::sqlite3_file_control(
            conn.handle(),
            c"main".as_ptr(),
            ffi::SQLITE_FCNTL_FILE_POINTER,
            (&mut file as *mut *mut ffi::sqlite3_file).cast(),
        );
        match (rc, file.as_ref().and_then(|f| f.pMethods.as_ref())) {
            (ffi::SQLITE_OK, Some(methods)) => match methods.xSync {
                Some(sync) => sync(file, ffi::SQLITE_SYNC_NORMAL),
                None => ffi::SQLITE_OK,
            },
            (rc, _) => rc,
        }
    };
    if rc == ffi::SQLITE_OK {
        Ok(())
    } else {
        Err(rusqlite::Error::SqliteFailure(ffi::Error::new(rc), None))
    }
}

/// The checkpoint thread's nice value (request threads run at 0).
pub(crate) const NICE: i32 = 10;

/// Lowers this thread's scheduling priority to `NICE`. Checkpoints are background work
/// with slack (the WAL holds every commit until they get to it), while the writer and
/// the request threads wait on each other: at equal priority a checkpoint burst
/// delayed their wake-ups (measured on 2 cores, creates at 16 connections: ~18,100
/// req/s at nice 0, ~19,500 at nice 10, p99 unchanged). Nice rather than SCHED_IDLE:
/// on a saturated machine an idle-class thread starves, and the writer's own
/// checkpoint (see the module comment) then has the whole WAL to copy (p99 ×5).
/// Raising one's nice value needs no privilege; a failure only costs speed.
fn yield_to_request_threads() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid has no preconditions. On Linux, PRIO_PROCESS with a thread id
        // changes only that thread (here: this one).
        let rc = unsafe {
            let tid = libc::gettid();
            libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, NICE)
        };
        if rc != 0 {
            tracing::debug!(error = %std::io::Error::last_os_error(), "could not lower the checkpoint thread's priority");
        }
    }
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

#[derive(Default)]
struct State {
    wanted: bool,
    closing: bool,
}

/// The background checkpoint thread. Dropping it (or `stop`) ends the thread after the
/// checkpoint in progress, if any.
pub(crate) struct Checkpointer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    pub(crate) fn start(
        config: &StorageConfig,
        stats: Arc<Stats>,
    ) -> Result<Checkpointer, StorageError> {
        let conn = open_checkpointer(config)?;
        let shared = Arc::new(Shared::default());
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("hearth-checkpoint".into())
            .spawn(move || {
                yield_to_request_threads();
                run(conn, &thread_shared, &stats)
            })?;
        Ok(Checkpointer {
            shared,
            thread: Some(thread),
        })
    }

    /// Asks for a checkpoint; requests made while one runs fold into the next.
    pub(crate) fn request(&self) {
        let mut state = self.lock();
        if !state.wanted {
            state.wanted = true;
            drop(state);
            self.shared.wake.notify_one();
        }
    }

    /// Ends the thread and waits for it (a checkpoint in progress finishes first).
    pub(crate) fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.lock().closing = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("the checkpoint thread panicked");
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn run(conn: Connection, shared: &Shared, stats: &Stats) {
    loop {
        {
            let mut state = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
            while !state.wanted && !state.closing {
                state = shared
                    .wake
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            if state.closing {
                break;
            }
            state.wanted = false;
        }
        if stats.fail_stop.reason().is_some() {
            // After a failed sync the WAL must stay as it is (see `fail_stop`).
            continue;
        }
        let outcome = stats.time_checkpoint(false, || {
            checkpoint_passive(&conn).and_then(|_| sync_database_file(&conn))
        });
        if let Err(err) = outcome {
            if stats.fail_stop.check(&err, "background checkpoint") {
                continue;
            }
            // A full disk, typically; the writer's own checkpoint and the next request
            // try again, and every commit is safe in the WAL meanwhile.
            tracing::warn!(error = %StorageError::from(err), "background checkpoint failed");
        }
    }
    stats.fail_stop.before_close(&conn);
    if let Err((_, err)) = conn.close() {
        tracing::warn!(error = %err, "closing the checkpoint connection failed");
    }
}

/// The WAL is large: copy what the background checkpoints have not yet, so that the
/// next transaction can start the WAL over (see `checkpointer`).
pub(crate) fn checkpoint_inline(conn: &Connection, stats: &Stats) {
    if stats.fail_stop.reason().is_some() {
        return;
    }
    if let Err(err) = stats.time_checkpoint(true, || checkpoint_passive(conn)) {
        if stats.fail_stop.check(&err, "checkpoint") {
            return;
        }
        tracing::warn!(error = %StorageError::from(err), "checkpoint failed; the WAL keeps growing until one succeeds");
    }
}

/// How long the final checkpoint waits for another process's reader (Litestream holds
/// one open while it copies the WAL) before leaving the WAL for the next start.
const FINAL_CHECKPOINT_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

/// Empties the -wal file into the database file at shutdown. Only tidying: every commit
/// is already durable in the WAL, which the next start reads. So a checkpoint that
/// cannot finish (a reader in another process, a full disk) is reported, and shutdown
/// still succeeds. Skipped after a failed sync (see `fail_stop`): the WAL is then the
/// copy to trust, and emptying it would need the database file's sync to be believed.
pub(crate) fn final_checkpoint(conn: &Connection, stats: &Stats) {
    if let Some(reason) = stats.fail_stop.reason() {
        tracing::warn!(
            reason,
            "no final checkpoint after a failed sync; the -wal file stays for the next start"
        );
        stats.fail_stop.before_close(conn);
        return;
    }
    if let Err(err) = conn.busy_timeout(FINAL_CHECKPOINT_WAIT) {
        tracing::debug!(error = %err, "could not shorten the busy timeout");
    }
    let outcome = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
        ))
    });
    match outcome {
        Ok((0, _, _)) => {}
        Ok((_, wal_frames, checkpointed)) => tracing::warn!(
            wal_frames,
            checkpointed,
            "final checkpoint could not finish (another process is reading); the -wal file \
             stays until the next start, nothing is lost"
        ),
        Err(err) => {
            stats.fail_stop.check(&err, "final checkpoint");
            tracing::warn!(
                error = %StorageError::from(err),
                "final checkpoint failed; the -wal file stays until the next start, nothing is lost"
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigger_asks_once_per_step_then_inline_and_rearms_after_a_restart() {
        let mut t = Trigger::new(WalPolicy {
            background_every: 100,
            inline_at: 1_000,
        });
        assert_eq!(t.after_commit(10), After::Nothing);
        assert_eq!(t.after_commit(99), After::Nothing);
        assert_eq!(t.after_commit(100), After::RequestBackground);
        assert_eq!(t.after_commit(150), After::Nothing);
        assert_eq!(t.after_commit(199), After::Nothing);
        assert_eq!(t.after_commit(205), After::RequestBackground);
        assert_eq!(t.after_commit(1_000), After::CheckpointInline);
        assert_eq!(t.after_commit(1_020), After::CheckpointInline);
        // The WAL started over: small again, and the next step is measured from zero.
        assert_eq!(t.after_commit(12), After::Nothing);
        assert_eq!(t.after_commit(100), After::RequestBackground);
    }

    #[test]
    fn database_file_syncs_through_sqlites_own_handle() {
        let dir = tempfile::tempdir().unwrap();
        crate::connection::prepare_sqlite();
        let conn = Connection::open(dir.path().join("sync.db")).unwrap();
        conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .unwrap();
        sync_database_file(&conn).unwrap();
        // No file behind it: nothing to sync, and no error.
        sync_database_file(&crate::connection::test_memory_db()).unwrap();
    }
}
