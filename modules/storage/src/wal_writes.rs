//! One write per commit to the WAL instead of two per page.
//!
//! SQLite appends a commit to the WAL as frames, each a 24-byte header and a page,
//! each written with its own `pwrite`: ~26 system calls for a typical group commit of
//! creates, a third of the writer thread. This VFS wraps the default one and, for WAL
//! files only, gathers consecutive frame writes in memory and writes them with one
//! call when the commit frame (the one whose header carries the database size) is
//! complete, which is always the last write of a commit.
//!
//! So every frame is in the file before SQLite publishes the commit to readers (it
//! does so after the frames are written, in shared memory, with no file call), and a
//! failed write (a full disk) is still reported by the write that completes the
//! commit, so SQLite abandons the commit exactly as before. Anything else done to the
//! WAL file (a read, sync, size query, truncate, file control, close) first writes out
//! what is gathered. The one write SQLite does that is not followed by another file
//! call, the rewrite of a frame header's checksums, always comes right after reading
//! that frame, so a write right after a read goes straight through.
//!
//! Files without powersafe overwrite are not gathered at all. There (a base VFS
//! without `SQLITE_IOCAP_POWERSAFE_OVERWRITE`, a `psow=0` URI, a build with
//! `SQLITE_POWERSAFE_OVERWRITE=0`) SQLite with synchronous=FULL pads each commit to a
//! sector boundary with copies of its commit frame and syncs at that boundary, which
//! may fall inside a padding frame's header: the writes after that sync are the last
//! of the commit but are not a commit frame's page, so gathering them would leave a
//! published frame in memory only (another connection, the checkpointer included,
//! would read a stale page; measured: about one commit in 170 lost its value). As a
//! second line, writes after a sync go straight to the file until one ends a frame
//! header's worth of bytes or more (the tail of a split header is shorter than that).

use crate::wal_gathered::Gathered;
#[cfg(test)]
use crate::wal_gathered::{FRAME_HEADER, MAX_CALL};
use rusqlite::ffi;
use std::ffi::{c_char, c_int, c_void};
use std::sync::OnceLock;

/// A WAL file as SQLite sees it: our methods, then the default VFS's file after it.
#[repr(C)]
struct WalFile {
    /// Must come first: SQLite reads `pMethods` through the pointer it was given.
    base: ffi::sqlite3_file,
    real: *mut ffi::sqlite3_file,
    gathered: Gathered,
    /// A sync of this file failed (see `sync_failed`).
    sync_failed: bool,
}

/// Where the default VFS's file starts inside our allocation.
const REAL_OFFSET: usize = std::mem::size_of::<WalFile>().next_multiple_of(16);

struct Base(*mut ffi::sqlite3_vfs);
// SAFETY: SQLite's default VFS, registered for the life of the process and safe to
// call from any thread.
unsafe impl Send for Base {}
unsafe impl Sync for Base {}
static BASE: OnceLock<Base> = OnceLock::new();

/// Registers the wrapping VFS as SQLite's default, once per process. Returns whether
/// it is in place (only a missing default VFS or an SQLite error prevents it; then
/// the default is used unchanged).
pub(crate) fn install() -> bool {
    static DONE: OnceLock<bool> = OnceLock::new();
    *DONE.get_or_init(|| register().is_some())
}

fn register() -> Option<()> {
    // SAFETY: a null name asks for the default VFS, which lives for the process.
    let base = unsafe { ffi::sqlite3_vfs_find(std::ptr::null()) };
    if base.is_null() || BASE.set(Base(base)).is_err() {
        return None;
    }
    // SAFETY: `base` is a valid VFS; copying it keeps its other methods, which
    // only read the fields copied with them (pAppData, mxPathname).
    let mut vfs = unsafe { std::ptr::read(base) };
    let real_size = usize::try_from(vfs.szOsFile).ok()?;
    vfs.szOsFile = c_int::try_from(REAL_OFFSET + real_size).ok()?;
    vfs.zName = c"hearth".as_ptr();
    vfs.pNext = std::ptr::null_mut();
    vfs.xOpen = Some(open);
    let vfs = Box::into_raw(Box::new(vfs));
    // SAFETY: the VFS is leaked, so it outlives every connection; 1 makes it the
    // default for every connection opened from now on.
    let rc = unsafe { ffi::sqlite3_vfs_register(vfs, 1) };
    (rc == ffi::SQLITE_OK).then_some(())
}

fn base() -> *mut ffi::sqlite3_vfs {
    BASE.get().expect("set before the VFS is registered").0
}

unsafe extern "C" fn open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let base = base();
    // SAFETY: `base` is the default VFS, whose xOpen is always set.
    let base_open = unsafe { (*base).xOpen.expect("a VFS has xOpen") };
    if flags & ffi::SQLITE_OPEN_WAL == 0 {
        // Everything but WAL files is the default VFS's file, at the same address.
        // SAFETY: our szOsFile is at least the default's.
        return unsafe { base_open(base, name, file, flags, out_flags) };
    }
    let wal = file.cast::<WalFile>();
    // SAFETY: SQLite gave us szOsFile bytes (8-byte aligned); WalFile and the real
    // file after REAL_OFFSET both fit.
    unsafe {
        let real = file
            .cast::<u8>()
            .add(REAL_OFFSET)
            .cast::<ffi::sqlite3_file>();
        std::ptr::write(
            wal,
            WalFile {
                base: ffi::sqlite3_file {
                    pMethods: std::ptr::null(),
                },
                real,
                gathered: Gathered::default(),
                sync_failed: false,
            },
        );
        let rc = base_open(base, name, real, flags, out_flags);
        if rc != ffi::SQLITE_OK {
            // SQLite calls no method of a file whose open failed (pMethods null).
            std::ptr::drop_in_place(wal);
            (*file).pMethods = std::ptr::null();
            return rc;
        }
        if !powersafe_overwrite(name, real) {
            (*wal).gathered = Gathered::passing_through();
        }
        (*file).pMethods = &WAL_METHODS;
    }
    ffi::SQLITE_OK
}

/// Whether writes to the file can be gathered safely: the file reports powersafe
/// overwrite and its name does not turn it off with `psow=0` (the unix VFS reads that
/// parameter itself; a base VFS might not).
///
/// # Safety
/// `real` is an open file of the default VFS; `name` is the name SQLite passed to
/// xOpen (null or a filename SQLite made, whose URI parameters it can read).
unsafe fn powersafe_overwrite(name: *const c_char, real: *mut ffi::sqlite3_file) -> bool {
    // SAFETY: as above; the real file's methods are set once it is open.
    unsafe {
        let characteristics = match (*(*real).pMethods).xDeviceCharacteristics {
            Some(f) => f(real),
            None => 0,
        };
        let uri_allows = name.is_null() || ffi::sqlite3_uri_boolean(name, c"psow".as_ptr(), 1) != 0;
        characteristics & ffi::SQLITE_IOCAP_POWERSAFE_OVERWRITE != 0 && uri_allows
    }
}

/// Whether a sync of `conn`'s WAL file has ever failed. Commits sync only the WAL, so
/// this sees a failed commit sync whoever ran the COMMIT (an exclusive job does its
/// own, and its error reaches only the job's caller); see `fail_stop`.
pub(crate) fn sync_failed(conn: &rusqlite::Connection) -> bool {
    let mut file: *mut ffi::sqlite3_file = std::ptr::null_mut();
    // SAFETY: the handle is valid while `conn` is borrowed and used by this thread
    // only; JOURNAL_POINTER (answered by SQLite itself, not the VFS) writes one
    // pointer, to the WAL file while the database is in WAL mode. Only a file whose
    // methods are ours is a WalFile.
    unsafe {
        let rc = ffi::sqlite3_file_control(
            conn.handle(),
            c"main".as_ptr(),
            ffi::SQLITE_FCNTL_JOURNAL_POINTER,
            (&mut file as *mut *mut ffi::sqlite3_file).cast(),
        );
        rc == ffi::SQLITE_OK
            && !file.is_null()
            && std::ptr::eq((*file).pMethods, &WAL_METHODS)
            && (*file.cast::<WalFile>()).sync_failed
    }
}

static WAL_METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    // Version 1: a WAL file has no shared memory and is never memory-mapped.
    iVersion: 1,
    xClose: Some(close),
    xRead: Some(read),
    xWrite: Some(write),
    xTruncate: Some(truncate),
    xSync: Some(sync),
    xFileSize: Some(file_size),
    xLock: Some(lock),
    xUnlock: Some(unlock),
    xCheckReservedLock: Some(check_reserved_lock),
    xFileControl: Some(file_control),
    xSectorSize: Some(sector_size),
    xDeviceCharacteristics: Some(device_characteristics),
    xShmMap: None,
    xShmLock: None,
    xShmBarrier: None,
    xShmUnmap: None,
    xFetch: None,
    xUnfetch: None,
};

/// # Safety
/// `file` is a WalFile that `open` set up and `close` has not torn down; SQLite calls
/// one file's methods from one thread at a time.
unsafe fn wal<'a>(file: *mut ffi::sqlite3_file) -> &'a mut WalFile {
    unsafe { &mut *file.cast::<WalFile>() }
}

/// The default VFS's methods for the real file.
///
/// # Safety
/// As for `wal`; the real file was opened successfully, so its methods are set.
unsafe fn real_methods(w: &WalFile) -> &'static ffi::sqlite3_io_methods {
    unsafe { &*(*w.real).pMethods }
}

/// Writes `bytes` at `offset` through the real file.
fn real_writer(real: *mut ffi::sqlite3_file) -> impl FnMut(&[u8], i64) -> c_int {
    move |bytes, offset| {
        let Ok(len) = c_int::try_from(bytes.len()) else {
            return ffi::SQLITE_IOERR_WRITE;
        };
        // SAFETY: `real` is an open file of the default VFS; the bytes are live for
        // the call.
        unsafe {
            let methods = &*(*real).pMethods;
            methods.xWrite.expect("xWrite")(real, bytes.as_ptr().cast::<c_void>(), len, offset)
        }
    }
}

/// Writes out what is gathered before a call that depends on the file's contents.
fn flush(w: &mut WalFile) -> c_int {
    w.gathered.note_other_call();
    w.gathered.flush(&mut real_writer(w.real))
}

unsafe extern "C" fn close(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: see `wal`; after this the WalFile is dropped and never used again.
    unsafe {
        let w = wal(file);
        let flushed = flush(w);
        let closed = real_methods(w).xClose.expect("xClose")(w.real);
        std::ptr::drop_in_place(file.cast::<WalFile>());
        (*file).pMethods = std::ptr::null();
        if flushed != ffi::SQLITE_OK {
            flushed
        } else {
            closed
        }
    }
}

unsafe extern "C" fn read(
    file: *mut ffi::sqlite3_file,
    buf: *mut c_void,
    amount: c_int,
    offset: i64,
) -> c_int {
    // SAFETY: see `wal`; forwarding SQLite's own arguments.
    unsafe {
        let w = wal(file);
        let rc = flush(w);
        if rc != ffi::SQLITE_OK {
            return rc;
        }
        w.gathered.write_next_straight();
        real_methods(w).xRead.expect("xRead")(w.real, buf, amount, offset)
    }
}

unsafe extern "C" fn write(
    file: *mut ffi::sqlite3_file,
    buf: *const c_void,
    amount: c_int,
    offset: i64,
) -> c_int {
    // SAFETY: see `wal`; SQLite's buffer holds `amount` bytes for the call.
    unsafe {
        let w = wal(file);
        let data =
            std::slice::from_raw_parts(buf.cast::<u8>(), usize::try_from(amount).unwrap_or(0));
        w.gathered.write(data, offset, &mut real_writer(w.real))
    }
}

unsafe extern "C" fn truncate(file: *mut ffi::sqlite3_file, size: i64) -> c_int {
    // SAFETY: see `wal`.
    unsafe {
        let w = wal(file);
        match flush(w) {
            ffi::SQLITE_OK => real_methods(w).xTruncate.expect("xTruncate")(w.real, size),
            rc => rc,
        }
    }
}

unsafe extern "C" fn sync(file: *mut ffi::sqlite3_file, flags: c_int) -> c_int {
    // SAFETY: see `wal`.
    unsafe {
        let w = wal(file);
        let rc = match flush(w) {
            ffi::SQLITE_OK => {
                let rc = real_methods(w).xSync.expect("xSync")(w.real, flags);
                w.sync_failed |= rc != ffi::SQLITE_OK;
                rc
            }
            rc => rc,
        };
        w.gathered.write_next_straight();
        rc
    }
}

unsafe extern "C" fn file_size(file: *mut ffi::sqlite3_file, size: *mut i64) -> c_int {
    // SAFETY: see `wal`.
    unsafe {
        let w = wal(file);
        match flush(w) {
            ffi::SQLITE_OK => real_methods(w).xFileSize.expect("xFileSize")(w.real, size),
            rc => rc,
        }
    }
}

unsafe extern "C" fn lock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    // SAFETY: see `wal`.
    unsafe {
        let w = wal(file);
        match flush(w) {
            ffi::SQLITE_OK => real_methods(w).xLock.expect("xLock")(w.real, level),
            rc => rc,
        }
    }
}

unsafe extern "C" fn unlock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    // SAFETY: see `wal`.
    unsafe {
        let w = wal(file);
        match flush(w) {
            ffi::SQLITE_OK => real_methods(w).xUnlock.expect("xUnlock")(w.real, level),
            rc => rc,
        }
    }
}

unsafe extern "C" fn check_reserved_lock(file: *mut ffi::sqlite3_file, out: *mut c_int) -> c_int {
    // SAFETY: see `wal`; forwarding.
    unsafe {
        let w = wal(file);
        real_methods(w)
            .xCheckReservedLock
            .expect("xCheckReservedLock")(w.real, out)
    }
}

unsafe extern "C" fn file_control(
    file: *mut ffi::sqlite3_file,
    op: c_int,
    arg: *mut c_void,
) -> c_int {
    // SAFETY: see `wal`.
    unsafe {
        let w = wal(file);
        match flush(w) {
            ffi::SQLITE_OK => real_methods(w).xFileControl.expect("xFileControl")(w.real, op, arg),
            rc => rc,
        }
    }
}

unsafe extern "C" fn sector_size(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: see `wal`; forwarding.
    unsafe {
        let w = wal(file);
        real_methods(w).xSectorSize.expect("xSectorSize")(w.real)
    }
}

unsafe extern "C" fn device_characteristics(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: see `wal`; forwarding.
    unsafe {
        let w = wal(file);
        real_methods(w)
            .xDeviceCharacteristics
            .expect("xDeviceCharacteristics")(w.real)
    }
}

#[cfg(test)]
#[path = "wal_writes_tests.rs"]
mod tests;
