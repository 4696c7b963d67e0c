//! SQLite's allocations go to mimalloc once `sqlite_alloc::install` has run, as `main`
//! does first thing. Its own test binary: the allocator can only be swapped before
//! anything in the process has initialised SQLite.

#[test]
fn sqlite_allocates_from_mimalloc_once_installed() {
    assert!(
        hearth::sqlite_alloc::install(),
        "SQLite took the allocator (nothing had initialised it yet)"
    );
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (randomblob(100000));")
        .unwrap();
    let n: i64 = conn
        .query_row("SELECT length(x) FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 100_000);
    // SAFETY: plain allocate/inspect/free through SQLite's public allocator API.
    unsafe {
        let p = rusqlite::ffi::sqlite3_malloc(1_000);
        assert!(!p.is_null());
        assert!(
            libmimalloc_sys::mi_is_in_heap_region(p),
            "sqlite3_malloc returned memory mimalloc does not own"
        );
        assert!(rusqlite::ffi::sqlite3_msize(p) >= 1_000);
        rusqlite::ffi::sqlite3_free(p);
    }
}
