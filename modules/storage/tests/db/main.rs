//! Storage behaviour against real SQLite files in temporary directories. One test
//! binary (modules below) so the bundled SQLite is linked once.

mod backup;
mod checkpoint;
mod close;
mod commits;
mod common;
mod exclusive;
mod group_commit;
mod migrations;
mod observer;
mod one_statement;
mod readers;
mod sqlite_build;
mod wal_writes;
