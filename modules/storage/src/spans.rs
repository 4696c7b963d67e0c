//! `tracing` spans for database work, named and described by the OpenTelemetry database
//! conventions (`db.system.name`, `db.operation.name`, `db.collection.name`). Storage
//! knows no exporter: the app's subscriber decides whether they become OpenTelemetry
//! spans.
//!
//! SQLite runs on other threads than the request that asked for it, so every database
//! span is *created* on the submitting side, where `tracing` (and the OpenTelemetry
//! layer, which skips spans its filter leaves out) knows the caller's span, and only
//! *entered* on the thread that does the work:
//! - `db.read`: created once a reader connection is free, entered on the blocking thread
//!   that runs the query (so it measures the query, not the wait for the pool);
//! - `db.write`: created when the job is submitted, entered on the writer thread while
//!   the job runs (so it includes the wait in the writer's queue, which is the point of
//!   looking at it); the job's COMMIT is in its batch's span;
//! - `writer.batch`: one per group commit, BEGIN … COMMIT, on the writer thread. A span
//!   has one parent: the batch's is the first job's `db.write`; it *follows from* (an
//!   OpenTelemetry link) every other job's `db.write`, and each `db.write` follows from
//!   its batch, so every request's trace leads to the commit that made its write durable.

use tracing::field::Empty;
use tracing::Span;

const SYSTEM: &str = "sqlite";

/// A read: every reader connection is query-only, so the operation is `SELECT`.
pub(crate) fn read() -> Span {
    tracing::info_span!(
        "db.read",
        otel.name = "SELECT",
        otel.kind = "client",
        db.system.name = SYSTEM,
        db.system = SYSTEM,
        db.operation.name = "SELECT",
        db.collection.name = Empty,
    )
}

/// One write job, as a child of the span current where it is submitted.
pub(crate) fn write() -> Span {
    tracing::info_span!(
        "db.write",
        otel.name = Empty,
        otel.kind = "client",
        db.system.name = SYSTEM,
        db.system = SYSTEM,
        db.operation.name = Empty,
        db.collection.name = Empty,
    )
}

/// One group-commit transaction of `jobs` jobs; see the module comment for its parent.
pub(crate) fn batch(first_job: &Span, jobs: usize) -> Span {
    tracing::info_span!(
        parent: first_job,
        "writer.batch",
        otel.kind = "client",
        db.system.name = SYSTEM,
        db.system = SYSTEM,
        db.operation.name = "batch",
        // i64: tracing-opentelemetry exports unsigned values as strings.
        db.operation.batch.size = i64::try_from(jobs).unwrap_or(i64::MAX),
    )
}

/// Describes the statement the database span this runs in executes: call it first thing
/// in a `Db::read`/`Db::write` closure, e.g. `describe_query("INSERT", "posts")`.
/// Outside such a closure it does nothing.
pub fn describe_query(operation: &'static str, collection: &str) {
    let span = Span::current();
    let is_db_span = span
        .metadata()
        .is_some_and(|m| matches!(m.name(), "db.read" | "db.write"));
    if !is_db_span {
        return;
    }
    span.record("db.operation.name", operation);
    span.record("db.collection.name", collection);
    span.record("otel.name", format!("{operation} {collection}"));
}
