//! hearth-files against real files and a real SQLite database: the local backend
//! (limits, leftovers, ranges, concurrency, escapes), the deletion queue, the orphan
//! sweep, and property tests of stored names. One binary so SQLite is linked once.

mod common;
mod deletions;
mod local_get;
mod local_put;
mod names;
mod sweep;
