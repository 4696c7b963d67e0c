//! The fault VFS's file methods that only forward to the real file: reads, locks,
//! shared memory (which is not the disk: SQLite rebuilds it after a power cut, so it is
//! never logged) and the rest.

use super::fault_vfs::parts;
use rusqlite::ffi;
use std::ffi::{c_int, c_void};

pub(super) unsafe extern "C" fn close(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: see `parts`; nothing uses the file after this.
    unsafe {
        let (f, m) = parts(file);
        let rc = m.xClose.expect("xClose")(f.real);
        (*file).pMethods = std::ptr::null();
        rc
    }
}

pub(super) unsafe extern "C" fn read(
    file: *mut ffi::sqlite3_file,
    buf: *mut c_void,
    n: c_int,
    at: i64,
) -> c_int {
    // SAFETY: see `parts`; forwarding.
    unsafe {
        let (f, m) = parts(file);
        m.xRead.expect("xRead")(f.real, buf, n, at)
    }
}

pub(super) unsafe extern "C" fn file_size(file: *mut ffi::sqlite3_file, out: *mut i64) -> c_int {
    // SAFETY: see `parts`; forwarding.
    unsafe {
        let (f, m) = parts(file);
        m.xFileSize.expect("xFileSize")(f.real, out)
    }
}

pub(super) unsafe extern "C" fn lock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    // SAFETY: see `parts`; forwarding.
    unsafe {
        let (f, m) = parts(file);
        m.xLock.expect("xLock")(f.real, level)
    }
}

pub(super) unsafe extern "C" fn unlock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    // SAFETY: see `parts`; forwarding.
    unsafe {
        let (f, m) = parts(file);
        m.xUnlock.expect("xUnlock")(f.real, level)
    }
}

pub(super) unsafe extern "C" fn check_reserved_lock(
    file: *mut ffi::sqlite3_file,
    out: *mut c_int,
) -> c_int {
    // SAFETY: see `parts`; forwarding.
    unsafe {
        let (f, m) = parts(file);
        m.xCheckReservedLock.expect("xCheckReservedLock")(f.real, out)
    }
}

pub(super) unsafe extern "C" fn file_control(
    file: *mut ffi::sqlite3_file,
    op: c_int,
    arg: *mut c_void,
) -> c_int {
    // SAFETY: see `parts`; forwarding.
    unsafe {
        let (f, m) = parts(file);
        m.xFileControl.expect("xFileControl")(f.real, op, arg)
    }
}

pub(super) unsafe extern "C" fn sector_size(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: see `parts`; forwarding.
    unsafe {
        let (f, m) = parts(file);
        m.xSectorSize.expect("xSectorSize")(f.real)
    }
}

pub(super) unsafe extern "C" fn shm_map(
    file: *mut ffi::sqlite3_file,
    page: c_int,
    size: c_int,
    extend: c_int,
    out: *mut *mut c_void,
) -> c_int {
    // SAFETY: see `parts`; forwarding. Shared memory is not the disk: SQLite rebuilds
    // it after a power cut, so it is never logged.
    unsafe {
        let (f, m) = parts(file);
        m.xShmMap.expect("xShmMap")(f.real, page, size, extend, out)
    }
}

pub(super) unsafe extern "C" fn shm_lock(
    file: *mut ffi::sqlite3_file,
    offset: c_int,
    n: c_int,
    flags: c_int,
) -> c_int {
    // SAFETY: see `parts`; forwarding.
    unsafe {
        let (f, m) = parts(file);
        m.xShmLock.expect("xShmLock")(f.real, offset, n, flags)
    }
}

pub(super) unsafe extern "C" fn shm_barrier(file: *mut ffi::sqlite3_file) {
    // SAFETY: see `parts`; forwarding.
    unsafe {
        let (f, m) = parts(file);
        m.xShmBarrier.expect("xShmBarrier")(f.real)
    }
}

pub(super) unsafe extern "C" fn shm_unmap(file: *mut ffi::sqlite3_file, delete: c_int) -> c_int {
    // SAFETY: see `parts`; forwarding.
    unsafe {
        let (f, m) = parts(file);
        m.xShmUnmap.expect("xShmUnmap")(f.real, delete)
    }
}

pub(super) unsafe extern "C" fn fetch(
    file: *mut ffi::sqlite3_file,
    at: i64,
    n: c_int,
    out: *mut *mut c_void,
) -> c_int {
    // SAFETY: see `parts`; forwarding (reads only: SQLite never writes through a map).
    unsafe {
        let (f, m) = parts(file);
        m.xFetch.expect("xFetch")(f.real, at, n, out)
    }
}

pub(super) unsafe extern "C" fn unfetch(
    file: *mut ffi::sqlite3_file,
    at: i64,
    p: *mut c_void,
) -> c_int {
    // SAFETY: see `parts`; forwarding.
    unsafe {
        let (f, m) = parts(file);
        m.xUnfetch.expect("xUnfetch")(f.real, at, p)
    }
}
