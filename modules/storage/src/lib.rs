//! Hearth's storage: one SQLite file in WAL mode, written only by a dedicated writer
//! thread that commits queued jobs together (group commit), read through a pool of
//! query-only connections, versioned by embedded migrations, and copied online by
//! `VACUUM INTO`.
//!
//! ```text
//! Db::open(config, MIGRATIONS)?      // file, pragmas, migrations, readers, writer
//! db.write(|c| c.execute(..)).await  // on the writer thread, inside a shared transaction
//! db.read(|c| c.query_row(..)).await // on a reader thread, each owning one connection
//! db.close().await                   // drain, checkpoint, close
//! ```

mod backup;
mod checkpointer;
mod config;
mod connection;
mod db;
mod error;
mod fail_stop;
mod group_commit;
mod migrations;
mod observer;
mod page_cache;
pub mod private_files;
mod query_budget;
mod readers;
mod spans;
mod wal_gathered;
mod wal_writes;
mod writer;

pub use backup::{backup_file, verify_database};
pub use config::{ParseSynchronousError, StorageConfig, Synchronous};
pub use connection::prepare_sqlite;
pub use db::{migrate_file, Db};
pub use error::{ConstraintKind, StorageError};
pub use migrations::Migration;
pub use observer::StorageObserver;
pub use page_cache::truncates_skipped as page_cache_truncates_skipped;
pub use readers::Readers;
pub use spans::describe_query;
pub use writer::{Writer, WriterStats};

/// The rusqlite the closures receive, so modules use exactly this version.
pub use rusqlite;
