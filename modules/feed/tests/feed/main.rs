//! The change feed against real SQLite: triggers, snapshots, reading, pruning. One test
//! binary (modules below) so the bundled SQLite is linked once.

mod common;
mod pruning;
mod reading;
mod snapshots;
