//! The process-wide SQLite set-up (`prepare_sqlite`, connection.rs) in a test process
//! of its own, so that nothing has touched SQLite before: `sqlite3_config` is not
//! thread-safe, so the set-up must end with SQLite initialised (refusing any later
//! configuration rather than racing it), and threads that open connections at the
//! same moment as the first database must all find it done.

use hearth_storage::rusqlite::{ffi, Connection};
use hearth_storage::{page_cache_truncates_skipped, prepare_sqlite, Db, StorageConfig};
use std::sync::{Arc, Barrier};

#[test]
fn set_up_happens_once_before_any_connection_and_leaves_sqlite_initialised() {
    const THREADS: usize = 12;
    let dir = tempfile::tempdir().unwrap();
    let barrier = Arc::new(Barrier::new(THREADS));
    let threads: Vec<_> = (0..THREADS)
        .map(|i| {
            let barrier = Arc::clone(&barrier);
            let path = dir.path().join(format!("db-{i}/hearth.db"));
            std::thread::spawn(move || {
                barrier.wait();
                if i % 2 == 0 {
                    let db = Db::open(StorageConfig::new(path), &[]).unwrap();
                    drop(db);
                } else {
                    prepare_sqlite();
                    let conn = Connection::open_in_memory().unwrap();
                    let one: i64 = conn.query_row("SELECT 1", [], |r| r.get(0)).unwrap();
                    assert_eq!(one, 1);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    // The page-cache wrapper went in before SQLite initialised, despite the race.
    assert!(page_cache_truncates_skipped().is_some());
    // And SQLite is initialised: a configuration call now is refused, not run
    // concurrently with whatever other threads do.
    // SAFETY: SQLITE_CONFIG_MULTITHREAD takes no arguments.
    let rc = unsafe { ffi::sqlite3_config(ffi::SQLITE_CONFIG_MULTITHREAD) };
    assert_eq!(rc, ffi::SQLITE_MISUSE);
}

#[test]
fn prepare_alone_initialises_sqlite() {
    prepare_sqlite();
    // SAFETY: as above.
    let rc = unsafe { ffi::sqlite3_config(ffi::SQLITE_CONFIG_MULTITHREAD) };
    assert_eq!(
        rc,
        ffi::SQLITE_MISUSE,
        "SQLite still accepts configuration after set-up"
    );
}
