//! Opening connections and setting their pragmas, in one place so the writer, the
//! readers, migrations and backups cannot drift apart.

use crate::config::StorageConfig;
use crate::error::StorageError;
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::time::Duration;

/// Prepared statements kept per connection. Every collection contributes a handful of
/// shapes (get, page, count, insert, update…); rusqlite's default of 16 would evict them
/// in a round-robin as soon as a few collections are busy.
const STATEMENT_CACHE: usize = 128;

/// Caps the -wal file left behind after a checkpoint; without it a burst of writes
/// leaves a large file on disk until the next TRUNCATE checkpoint.
const JOURNAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

/// Process-wide SQLite set-up, once, before any connection: the page cache wrapper
/// (`page_cache`, an `sqlite3_config` call) first, then SQLite's own initialisation,
/// then the WAL-writing VFS (`wal_writes`), the default for every connection after it.
///
/// `sqlite3_config` is not thread-safe: it must not run while another thread is inside
/// SQLite (initialising it, say, by opening a connection). So it runs only here, in one
/// `Once` that every open of Hearth's goes through, and the `Once` ends with SQLite
/// initialised, after which SQLite refuses any further configuration instead of
/// racing it. A thread arriving meanwhile waits for the `Once`. Code that opens SQLite
/// connections of its own in the same process (tests, tools) calls this first.
pub fn prepare_sqlite() {
    static PREPARED: std::sync::Once = std::sync::Once::new();
    PREPARED.call_once(|| {
        crate::page_cache::install();
        // SAFETY: no arguments; SQLite initialises itself once and is thread-safe
        // from here on (it was built with THREADSAFE=1).
        let rc = unsafe { rusqlite::ffi::sqlite3_initialize() };
        if rc != rusqlite::ffi::SQLITE_OK {
            tracing::error!(
                rc,
                "SQLite failed to initialise; opening the database will fail"
            );
        }
        crate::wal_writes::install();
    });
}

/// `path` as SQLite must be given it to read it as a file name. The bundled SQLite is
/// built with `SQLITE_USE_URI`, so it parses any name starting with `file:` as a URI
/// whether or not the open asks for it (`SQLITE_OPEN_URI` only matters where URIs are
/// off): a data directory configured as `file:x` would otherwise open a different file
/// than the one created and permission-checked here, with whatever options its query
/// string names. Only a relative path can start with `file:`; `./` in front keeps it
/// the same file and makes it no URI.
pub(crate) fn plain_path(path: &Path) -> std::borrow::Cow<'_, Path> {
    if path.as_os_str().as_encoded_bytes().starts_with(b"file:") {
        std::borrow::Cow::Owned(Path::new(".").join(path))
    } else {
        std::borrow::Cow::Borrowed(path)
    }
}

/// The write connection: creates the file (and its directory) if needed and switches
/// the database to WAL, which is persistent, so readers opened later inherit it. The
/// file is created 0600 before SQLite opens it (an empty file is a new database), which
/// SQLite passes on to `-wal` and `-shm`; existing ones found wider are narrowed.
pub(crate) fn open_writer(config: &StorageConfig) -> Result<Connection, StorageError> {
    prepare_sqlite();
    if let Some(dir) = config.path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            crate::private_files::private_dir(dir)?;
        }
    }
    crate::private_files::private_file(&config.path)?;
    crate::private_files::narrow_database_files(&config.path)?;
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(plain_path(&config.path), flags)?;
    // busy_timeout first, so that even switching to WAL waits for another process.
    conn.busy_timeout(config.busy_timeout)?;
    let mode: String =
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        // Only happens for special files (e.g. on file systems without shared memory);
        // everything still works, but readers will block the writer.
        tracing::warn!(path = %config.path.display(), mode, "database is not in WAL mode");
    }
    apply_common(&conn, config)?;
    conn.pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT)?;
    Ok(conn)
}

/// A reader: `query_only` makes SQLite itself refuse writes, so a function holding
/// `&Readers` cannot write even through raw SQL.
pub(crate) fn open_reader(config: &StorageConfig) -> Result<Connection, StorageError> {
    let conn = open_existing(&config.path, config.busy_timeout)?;
    apply_common(&conn, config)?;
    conn.pragma_update(None, "query_only", true)?;
    Ok(conn)
}

/// A connection to a database that must already exist (readers, backups): never
/// creates an empty file by accident when the path is wrong.
pub(crate) fn open_existing(
    path: &Path,
    busy_timeout: Duration,
) -> Result<Connection, StorageError> {
    prepare_sqlite();
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(plain_path(path), flags)?;
    conn.busy_timeout(busy_timeout)?;
    Ok(conn)
}

/// The background checkpoint thread's connection (see `checkpointer`). Same pragmas as
/// the others: `synchronous` decides how a checkpoint syncs.
pub(crate) fn open_checkpointer(config: &StorageConfig) -> Result<Connection, StorageError> {
    let conn = open_existing(&config.path, config.busy_timeout)?;
    apply_common(&conn, config)?;
    Ok(conn)
}

fn apply_common(conn: &Connection, config: &StorageConfig) -> Result<(), StorageError> {
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.pragma_update(None, "synchronous", config.synchronous.as_str())?;
    // Negative means KiB rather than pages, so the budget does not depend on page size.
    conn.pragma_update(None, "cache_size", -i64::from(config.cache_size_kib))?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // Query planner stability: plans never depend on bound values. Without it SQLite
    // 3.50 marks `LIMIT ?` as plan-relevant and re-prepares every list statement each
    // time a new limit is bound (measured: ~7 % of a filtered list request's CPU).
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(())
}

/// An in-memory connection for unit tests, opened after the process-wide set-up like
/// every other (see `prepare_sqlite`).
#[cfg(test)]
pub(crate) fn test_memory_db() -> Connection {
    prepare_sqlite();
    Connection::open_in_memory().expect("an in-memory database opens")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Synchronous;

    fn pragma<T: rusqlite::types::FromSql>(conn: &Connection, name: &str) -> T {
        conn.pragma_query_value(None, name, |r| r.get(0)).unwrap()
    }

    #[test]
    fn writer_creates_directory_and_sets_every_pragma() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = StorageConfig::new(dir.path().join("nested/data/hearth.db"));
        config.synchronous = Synchronous::Full;
        config.cache_size_kib = 2048;
        let conn = open_writer(&config).unwrap();
        assert_eq!(pragma::<String>(&conn, "journal_mode"), "wal");
        assert_eq!(pragma::<i64>(&conn, "foreign_keys"), 1);
        assert_eq!(pragma::<i64>(&conn, "synchronous"), 2); // FULL
        assert_eq!(pragma::<i64>(&conn, "cache_size"), -2048);
        assert_eq!(pragma::<i64>(&conn, "temp_store"), 2); // MEMORY
        assert!(conn
            .db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG)
            .unwrap());
        assert_eq!(pragma::<i64>(&conn, "busy_timeout"), 5000);
        assert_eq!(
            pragma::<i64>(&conn, "journal_size_limit"),
            JOURNAL_SIZE_LIMIT
        );
    }

    /// .cargo/config.toml's LIBSQLITE3_FLAGS reached the bundled SQLite build: without
    /// them every page fetch of every connection, and every allocation SQLite makes
    /// (memory statistics), takes a global mutex.
    #[test]
    fn sqlite_is_built_without_the_shared_page_cache_mutex() {
        let conn = crate::connection::test_memory_db();
        let mut stmt = conn.prepare("PRAGMA compile_options").unwrap();
        let options: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(options.iter().any(|o| o == "THREADSAFE=1"), "{options:?}");
        assert!(
            !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
            "{options:?}"
        );
        assert!(
            options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
            "{options:?}"
        );
    }

    #[test]
    fn binding_a_new_limit_does_not_reprepare_the_statement() {
        let dir = tempfile::tempdir().unwrap();
        let config = StorageConfig::new(dir.path().join("hearth.db"));
        let conn = open_writer(&config).unwrap();
        conn.execute_batch("CREATE TABLE t(x INTEGER); INSERT INTO t VALUES (1), (2), (3);")
            .unwrap();
        for limit in 1..=3 {
            let mut stmt = conn
                .prepare_cached("SELECT x FROM t WHERE x >= ? ORDER BY x LIMIT ?")
                .unwrap();
            let n = stmt
                .query_map((0, limit), |r| r.get::<_, i64>(0))
                .unwrap()
                .count();
            assert_eq!(n, limit as usize);
            let reprepared = stmt.get_status(rusqlite::StatementStatus::RePrepare);
            assert_eq!(reprepared, 0, "limit {limit} re-prepared the statement");
        }
    }

    #[test]
    fn reader_is_query_only_and_refuses_a_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let config = StorageConfig::new(dir.path().join("hearth.db"));
        assert!(open_reader(&config).is_err());
        assert!(!config.path.exists(), "a reader must not create the file");
        let _writer = open_writer(&config).unwrap();
        let reader = open_reader(&config).unwrap();
        assert_eq!(pragma::<i64>(&reader, "query_only"), 1);
        assert_eq!(pragma::<i64>(&reader, "synchronous"), 1); // NORMAL
        let err: StorageError = reader
            .execute_batch("CREATE TABLE t(x)")
            .unwrap_err()
            .into();
        assert!(matches!(err, StorageError::ReadOnly), "{err:?}");
    }

    #[test]
    fn a_path_starting_with_file_colon_is_a_file_name_not_a_uri() {
        let dir = tempfile::tempdir().unwrap();
        let config = StorageConfig::new(dir.path().join("hearth.db"));
        drop(open_writer(&config).unwrap());
        // As a URI this names the database above; as a path, `./file:/…`, which
        // does not exist (and open_existing never creates).
        let relative = std::path::PathBuf::from(format!("file:{}", config.path.display()));
        let opened = open_existing(&relative, Duration::from_millis(10));
        assert!(opened.is_err(), "a `file:` path was opened as a URI");
        assert!(!Path::new("file:").exists());
        assert_eq!(plain_path(&config.path), config.path.as_path());
    }

    #[test]
    fn a_file_that_is_not_a_database_is_reported_as_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let config = StorageConfig::new(dir.path().join("hearth.db"));
        std::fs::write(&config.path, vec![b'x'; 4096]).unwrap();
        let err = open_writer(&config).unwrap_err();
        assert!(matches!(err, StorageError::Corrupt(_)), "{err:?}");
        assert!(
            err.to_string().contains("restore the latest backup"),
            "{err}"
        );
    }
}
