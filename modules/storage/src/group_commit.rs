//! The writer thread's loop. Committing is the expensive part of a write (it appends a
//! commit frame to the WAL and, with synchronous=FULL, fsyncs), so every job waiting
//! when the thread wakes up shares one transaction; each job gets its own savepoint so
//! a failing job is undone without touching its neighbours (a one-statement job needs
//! none: SQLite undoes a failing statement by itself).

use crate::checkpointer::{self, After, Checkpointer, Trigger, WalPolicy};
use crate::error::{ConstraintKind, StorageError};
use crate::writer::{Completion, Job, Kind, Stats};
use rusqlite::{ffi, Connection};
use tokio::sync::mpsc;

/// Unlikely to collide with a savepoint a job opens for its own nested work.
const SAVEPOINT: &str = "SAVEPOINT hearth_job";
const RELEASE: &str = "RELEASE hearth_job";
const ROLLBACK_TO: &str = "ROLLBACK TO hearth_job";

/// Runs until every sender is gone (Db closed or dropped), then checkpoints so the
/// -wal file is emptied and the database file alone is a complete copy.
pub(crate) fn run(
    conn: Connection,
    mut receiver: mpsc::Receiver<Box<dyn Job>>,
    max_batch: usize,
    background: Checkpointer,
    stats: &Stats,
) -> Result<(), StorageError> {
    checkpointer::watch_wal(&conn);
    let mut trigger = Trigger::new(WalPolicy::default());
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(max_batch);
    while let Some(first) = receiver.blocking_recv() {
        // An exclusive job ends the batch being gathered and runs right after it.
        let mut exclusive = None;
        if first.kind() == Kind::Exclusive {
            exclusive = Some(first);
        } else {
            batch.push(first);
            while batch.len() < max_batch {
                match receiver.try_recv() {
                    Ok(job) if job.kind() == Kind::Exclusive => {
                        exclusive = Some(job);
                        break;
                    }
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
        }
        if !batch.is_empty() {
            let (size, started) = (batch.len(), std::time::Instant::now());
            stats.record_batch(size);
            run_batch(&conn, &mut batch, stats);
            stats.batch_finished(size, started.elapsed());
        }
        if let Some(job) = exclusive {
            run_exclusive(&conn, job, stats);
        }
        if let Some(frames) = checkpointer::take_wal_frames() {
            match trigger.after_commit(frames) {
                After::Nothing => {}
                After::RequestBackground => background.request(),
                After::CheckpointInline => checkpointer::checkpoint_inline(&conn, stats),
            }
        }
    }
    // The final checkpoint must not find the background one holding the lock.
    background.stop();
    checkpointer::final_checkpoint(&conn, stats);
    conn.close().map_err(|(_, err)| err.into())
}

fn run_batch(conn: &Connection, batch: &mut Vec<Box<dyn Job>>, stats: &Stats) {
    // One span for the whole transaction: a child of the first job's span, following
    // from every other job's (see `spans`).
    let none = tracing::Span::none();
    let span = crate::spans::batch(batch.first().map_or(&none, |j| j.span()), batch.len());
    for job in batch.iter().skip(1) {
        span.follows_from(job.span());
    }
    let _span = span.entered();
    let mut jobs = batch.drain(..);
    if stats.fail_stop.reason().is_some() {
        for job in jobs.by_ref() {
            stats.job_started();
            job.fail(stats.fail_stop.refusal().expect("set for good"));
        }
        return;
    }
    // Normally one pass. Another only if SQLite rolled back the transaction on its own
    // mid-batch: the rest of the batch then gets a fresh transaction.
    while jobs.len() > 0 {
        if let Err(err) = exec(conn, "BEGIN IMMEDIATE") {
            // Typically SQLITE_BUSY from another process after busy_timeout. Fail the
            // whole batch now instead of waiting busy_timeout once per job.
            tracing::warn!(error = %err, jobs = jobs.len(), "could not start a write transaction");
            for job in jobs.by_ref() {
                stats.job_started();
                job.fail(duplicate(&err).into());
            }
            return;
        }
        let mut done = Vec::with_capacity(jobs.len());
        let mut aborted = false;
        let mut stranded = None;
        for job in jobs.by_ref() {
            stats.job_started();
            match run_job(conn, job) {
                Ran::Waiting(completion) => done.push(completion),
                Ran::Told => {}
                Ran::Stranded(completion, err) => {
                    stranded = Some((completion, err));
                    break;
                }
            }
            if conn.is_autocommit() {
                aborted = true;
                break;
            }
        }
        if let Some((completion, err)) = stranded {
            tracing::error!(
                jobs = done.len(),
                "a one-statement write job left changes it could not undo alone; rolling back its transaction"
            );
            if !conn.is_autocommit() {
                if let Err(rollback) = exec(conn, "ROLLBACK") {
                    tracing::error!(error = %rollback, "rollback of a stranded job's transaction failed");
                }
            }
            completion.deliver(err.or(Some(StorageError::RolledBack)));
            for completion in done {
                completion.deliver(Some(StorageError::RolledBack));
            }
            continue;
        }
        if aborted {
            tracing::error!(
                jobs = done.len(),
                "SQLite rolled back a group-commit transaction after a failed job; its jobs get RolledBack"
            );
            for completion in done {
                completion.deliver(Some(StorageError::RolledBack));
            }
            continue;
        }
        commit(conn, done, stats);
    }
}

/// Runs a job alone with the connection in autocommit mode, then restores the
/// invariants the batches rely on. A transaction the job left open is rolled back, and
/// the job is told it failed: its caller must not believe its writes were kept.
fn run_exclusive(conn: &Connection, job: Box<dyn Job>, stats: &Stats) {
    stats.job_started();
    if let Some(refusal) = stats.fail_stop.refusal() {
        job.fail(refusal);
        return;
    }
    let changes_before = conn.total_changes();
    let completion = job.run(conn);
    let mut outcome = None;
    if crate::wal_writes::sync_failed(conn) {
        stats
            .fail_stop
            .stop("an exclusive write's commit: disk I/O error (fsync)".into());
        outcome = stats.fail_stop.refusal();
    }
    if !conn.is_autocommit() {
        tracing::error!("an exclusive write job left a transaction open; rolling it back");
        if let Err(err) = exec(conn, "ROLLBACK") {
            tracing::error!(error = %err, "rollback after an exclusive job failed");
        }
        outcome = outcome.or(Some(StorageError::TransactionLeftOpen));
    }
    if let Err(err) = exec(conn, "PRAGMA foreign_keys = ON") {
        tracing::error!(error = %err, "could not switch foreign keys back on");
    }
    // The job committed its own transaction (rows changed and none left open). A job
    // that rolled its changes back itself (a dry run) bumps too: harmless, readers
    // find nothing new.
    if completion.ok && outcome.is_none() && conn.total_changes() != changes_before {
        stats.committed();
    }
    completion.deliver(outcome);
}

/// What became of one job of a batch.
enum Ran {
    /// It ran; its caller hears back after COMMIT.
    Waiting(Completion),
    /// Its caller has been told already (it never ran, or its changes were undone).
    Told,
    /// It left changes that only rolling back the whole transaction can undo (a
    /// one-statement job that broke its promise). Carries the error it is owed if it
    /// reported success.
    Stranded(Completion, Option<StorageError>),
}

fn run_job(conn: &Connection, job: Box<dyn Job>) -> Ran {
    match job.kind() {
        Kind::OneStatement => run_one_statement(conn, job),
        // Exclusive jobs never reach a batch (`run` takes them out).
        Kind::Grouped | Kind::Exclusive => run_in_savepoint(conn, job),
    }
}

/// Runs one job inside its savepoint.
fn run_in_savepoint(conn: &Connection, job: Box<dyn Job>) -> Ran {
    if let Err(err) = exec(conn, SAVEPOINT) {
        job.fail(err.into());
        return Ran::Told;
    }
    let completion = job.run(conn);
    // A deferred foreign key left dangling would only fail at COMMIT, taking the whole
    // batch with it; charge it to the job that caused it instead.
    if completion.ok && has_unresolved_foreign_keys(conn) {
        close_savepoint(conn, false);
        completion.deliver(Some(deferred_foreign_key_error()));
        return Ran::Told;
    }
    close_savepoint(conn, completion.ok);
    Ran::Waiting(completion)
}

/// Runs a job that changes rows with at most one statement, without a savepoint:
/// SQLite undoes a statement that fails, so a failed job has left nothing behind
/// unless it broke that promise, which the change counter shows (it counts only
/// statements that finished).
fn run_one_statement(conn: &Connection, job: Box<dyn Job>) -> Ran {
    let before = conn.total_changes();
    let completion = job.run(conn);
    if completion.ok && has_unresolved_foreign_keys(conn) {
        Ran::Stranded(completion, Some(deferred_foreign_key_error()))
    } else if !completion.ok && conn.total_changes() != before {
        Ran::Stranded(completion, None)
    } else {
        Ran::Waiting(completion)
    }
}

fn deferred_foreign_key_error() -> StorageError {
    StorageError::Constraint {
        kind: ConstraintKind::ForeignKey,
        message: "deferred FOREIGN KEY constraint failed".into(),
    }
}

fn close_savepoint(conn: &Connection, keep: bool) {
    let cleanup = if keep {
        exec(conn, RELEASE)
    } else {
        exec(conn, ROLLBACK_TO).and_then(|()| exec(conn, RELEASE))
    };
    // Failing here means the transaction is gone (caught by the autocommit check) or the
    // job broke the rules by ending our savepoint; COMMIT then decides for the batch.
    if let Err(err) = cleanup {
        tracing::error!(error = %err, "could not close a write job's savepoint");
    }
}

/// SQLITE_DBSTATUS_DEFERRED_FKS is zero exactly when every foreign key is resolved.
/// rusqlite has no safe wrapper for `sqlite3_db_status`.
fn has_unresolved_foreign_keys(conn: &Connection) -> bool {
    let (mut current, mut highwater) = (0, 0);
    // SAFETY: the handle is valid while `conn` is borrowed, this thread is the only user
    // of the connection, and the out-pointers are live locals.
    let rc = unsafe {
        ffi::sqlite3_db_status(
            conn.handle(),
            ffi::SQLITE_DBSTATUS_DEFERRED_FKS,
            &mut current,
            &mut highwater,
            0,
        )
    };
    rc == ffi::SQLITE_OK && current != 0
}

/// Results reach callers only now, so nobody is told "written" before it is durable
/// (as durable as `synchronous` makes it). A failed sync, here or meanwhile in a
/// checkpoint, stops writes for good (`fail_stop`): none of these is acknowledged.
fn commit(conn: &Connection, done: Vec<Completion>, stats: &Stats) {
    let fail_stop = &stats.fail_stop;
    let committed = exec(conn, "COMMIT");
    if let Err(err) = &committed {
        fail_stop.check(err, "commit");
    }
    if fail_stop.reason().is_some() {
        if !conn.is_autocommit() {
            if let Err(rollback) = exec(conn, "ROLLBACK") {
                tracing::error!(error = %rollback, "rollback after a failed sync failed");
            }
        }
        for completion in done {
            completion.deliver(fail_stop.refusal());
        }
        return;
    }
    match committed {
        Ok(()) => {
            stats.committed();
            done.into_iter().for_each(|c| c.deliver(None))
        }
        Err(err) => {
            tracing::error!(error = %err, jobs = done.len(), "group commit failed; rolling the batch back");
            if !conn.is_autocommit() {
                if let Err(rollback) = exec(conn, "ROLLBACK") {
                    tracing::error!(error = %rollback, "rollback after a failed commit failed");
                }
            }
            for completion in done {
                completion.deliver(Some(duplicate(&err).into()));
            }
        }
    }
}

fn exec(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// One failed BEGIN or COMMIT is reported to every job of the batch, and
/// `rusqlite::Error` is not `Clone`. Transaction-control statements only fail with
/// `SqliteFailure`, which copies exactly; anything else keeps its text.
fn duplicate(err: &rusqlite::Error) -> rusqlite::Error {
    match err {
        rusqlite::Error::SqliteFailure(code, message) => {
            rusqlite::Error::SqliteFailure(*code, message.clone())
        }
        other => rusqlite::Error::SqliteFailure(
            ffi::Error::new(ffi::SQLITE_ERROR),
            Some(other.to_string()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_commit_reports_the_commit_error_to_every_job_and_rolls_back() {
        let conn = crate::connection::test_memory_db();
        // A deferred foreign key inserted behind the savepoint check makes COMMIT fail.
        conn.execute_batch(
            "PRAGMA foreign_keys = ON;
             CREATE TABLE p(id INTEGER PRIMARY KEY);
             CREATE TABLE c(p INTEGER REFERENCES p(id) DEFERRABLE INITIALLY DEFERRED);
             BEGIN IMMEDIATE;
             INSERT INTO c VALUES (7);",
        )
        .unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let done = [true, false, true]
            .map(|ok| {
                let tx = tx.clone();
                Completion::new(ok, move |err| tx.send(err).unwrap())
            })
            .into();
        let stats = Stats::default();
        let commits = stats.commits.subscribe();
        commit(&conn, done, &stats);
        assert!(
            !commits.has_changed().unwrap(),
            "a failed commit announces nothing"
        );
        drop(tx);
        let errors: Vec<_> = rx.iter().collect();
        assert_eq!(errors.len(), 3);
        for err in errors {
            match err {
                Some(StorageError::Constraint { kind, .. }) => {
                    assert_eq!(kind, ConstraintKind::ForeignKey)
                }
                other => panic!("expected the commit's constraint error, got {other:?}"),
            }
        }
        assert!(
            conn.is_autocommit(),
            "the failed transaction must be rolled back"
        );
        let rows: i64 = conn
            .query_row("SELECT COUNT(*) FROM c", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 0);
    }

    #[test]
    fn duplicate_keeps_sqlite_codes_so_each_job_gets_the_same_classification() {
        let busy = rusqlite::Error::SqliteFailure(ffi::Error::new(ffi::SQLITE_BUSY), None);
        assert!(matches!(duplicate(&busy).into(), StorageError::Busy));
        let other = duplicate(&rusqlite::Error::InvalidQuery);
        assert!(matches!(other, rusqlite::Error::SqliteFailure(..)));
    }
}
