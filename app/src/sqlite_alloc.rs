//! SQLite's own allocations (page cache lines, statement journals, prepared statements)
//! go to mimalloc, like the rest of the process. Left alone, SQLite calls glibc's
//! malloc directly: on the writer thread that was 6 % of its time (`_int_malloc`,
//! `unlink_chunk`) under a create load, and blocks freed on another thread than the one
//! that allocated them go through glibc's arena locks.

use libmimalloc_sys as mi;
use std::ffi::{c_int, c_void};
use storage::rusqlite::ffi;

unsafe extern "C" fn malloc(size: c_int) -> *mut c_void {
    // SAFETY: mi_malloc accepts any size; SQLite never asks for a negative one.
    unsafe { mi::mi_malloc(usize::try_from(size).unwrap_or(0)) }
}

unsafe extern "C" fn free(p: *mut c_void) {
    // SAFETY: `p` came from `malloc`/`realloc` above (or is null, which mi_free allows).
    unsafe { mi::mi_free(p) }
}

unsafe extern "C" fn realloc(p: *mut c_void, size: c_int) -> *mut c_void {
    // SAFETY: as for `free`; SQLite passes a positive size.
    unsafe { mi::mi_realloc(p, usize::try_from(size).unwrap_or(0)) }
}

unsafe extern "C" fn size(p: *mut c_void) -> c_int {
    // SAFETY: `p` came from this allocator. SQLite's allocations are below 2 GiB.
    c_int::try_from(unsafe { mi::mi_usable_size(p) }).unwrap_or(c_int::MAX)
}

unsafe extern "C" fn roundup(size: c_int) -> c_int {
    let good = mi::mi_good_size(usize::try_from(size).unwrap_or(0));
    c_int::try_from(good).unwrap_or(size)
}

unsafe extern "C" fn init(_: *mut c_void) -> c_int {
    ffi::SQLITE_OK
}

unsafe extern "C" fn shutdown(_: *mut c_void) {}

/// Must run before the first connection opens (SQLite refuses a new allocator once it
/// is initialised, and then simply keeps glibc's: nothing breaks).
/// Returns whether SQLite took it.
pub fn install() -> bool {
    let methods = ffi::sqlite3_mem_methods {
        xMalloc: Some(malloc),
        xFree: Some(free),
        xRealloc: Some(realloc),
        xSize: Some(size),
        xRoundup: Some(roundup),
        xInit: Some(init),
        xShutdown: Some(shutdown),
        pAppData: std::ptr::null_mut(),
    };
    // SAFETY: SQLITE_CONFIG_MALLOC takes a pointer to a sqlite3_mem_methods, which
    // SQLite copies before returning; the functions honour its contract.
    let rc = unsafe {
        ffi::sqlite3_config(
            ffi::SQLITE_CONFIG_MALLOC,
            &methods as *const ffi::sqlite3_mem_methods,
        )
    };
    rc == ffi::SQLITE_OK
}
