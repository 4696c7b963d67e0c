//! The time budget of one read job (`StorageConfig::query_timeout`). SQLite calls a
//! progress handler every few thousand virtual-machine steps of a running statement; the
//! handler compares the clock with the deadline of the job the connection is running and
//! stops the statement once it has passed, which fails it with `SQLITE_INTERRUPT`
//! (`StorageError::QueryTimeout`). Between jobs there is no deadline.

use rusqlite::Connection;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// VM steps between two looks at the clock: a few microseconds of work, so a budget is
/// kept to well within a millisecond while the check costs nothing measurable.
const STEPS_PER_CHECK: i32 = 4000;

/// No deadline is set (the connection is idle, or budgets are off).
const NONE: u64 = u64::MAX;

/// One connection's deadline, shared between its reader thread and its progress handler.
pub(crate) struct QueryBudget {
    timeout: Duration,
    origin: Instant,
    /// Nanoseconds after `origin`, or `NONE`.
    deadline: Arc<AtomicU64>,
}

impl QueryBudget {
    /// Installs the progress handler on `conn`; a zero `timeout` installs nothing.
    pub(crate) fn install(conn: &Connection, timeout: Duration) -> QueryBudget {
        let budget = QueryBudget {
            timeout,
            origin: Instant::now(),
            deadline: Arc::new(AtomicU64::new(NONE)),
        };
        if !timeout.is_zero() {
            let deadline = Arc::clone(&budget.deadline);
            let origin = budget.origin;
            conn.progress_handler(
                STEPS_PER_CHECK,
                Some(move || {
                    let deadline = deadline.load(Ordering::Relaxed);
                    deadline != NONE && nanos_since(origin) > deadline
                }),
            );
        }
        budget
    }

    /// Starts the budget of the job about to run.
    pub(crate) fn start(&self) {
        if !self.timeout.is_zero() {
            let deadline = nanos_since(self.origin).saturating_add(nanos(self.timeout));
            self.deadline.store(deadline, Ordering::Relaxed);
        }
    }

    /// The job is over: the connection may run anything until the next `start`.
    pub(crate) fn stop(&self) {
        self.deadline.store(NONE, Ordering::Relaxed);
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(NONE - 1)
}

fn nanos_since(origin: Instant) -> u64 {
    nanos(origin.elapsed())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StorageError;

    /// A query of about a second of work: a recursive count to a large number.
    const SLOW: &str = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c \
                        WHERE x < 50000000) SELECT count(*) FROM c";

    #[test]
    fn a_query_past_its_budget_is_stopped_and_the_next_job_runs_normally() {
        let conn = crate::connection::test_memory_db();
        let budget = QueryBudget::install(&conn, Duration::from_millis(50));
        budget.start();
        let started = Instant::now();
        let err = conn
            .query_row(SLOW, [], |r| r.get::<_, i64>(0))
            .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(matches!(
            StorageError::from(err),
            StorageError::QueryTimeout
        ));
        budget.stop();
        budget.start();
        let n: i64 = conn
            .query_row("SELECT count(*) FROM (VALUES (1), (2))", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 2);
    }

    #[test]
    fn without_a_started_budget_nothing_is_stopped() {
        let conn = crate::connection::test_memory_db();
        let budget = QueryBudget::install(&conn, Duration::from_nanos(1));
        budget.stop();
        let n: i64 = conn
            .query_row(
                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c \
                 WHERE x < 100000) SELECT count(*) FROM c",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 100000);
    }
}
