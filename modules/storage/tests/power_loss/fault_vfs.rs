//! A fault-injection VFS for the power-loss test, layered on SQLite's `unix` VFS.
//!
//! Every file SQLite opens under the recorded directory goes to the real file (so the
//! running database reads back what it wrote, as it would from the OS page cache) and,
//! in the same critical section, into one process-wide log of writes, truncates,
//! syncs and deletes, interleaved with the test's own marks (a write acknowledged).
//! `disk.rs` rebuilds from any prefix of that log the files a power cut at that point
//! leaves behind. The real fsync is skipped: the log, not the disk, decides what is
//! durable, and the test runs in seconds instead of minutes.
//!
//! Powersafe overwrite is a claim the VFS makes (`set_powersafe_overwrite`), which
//! decides how SQLite writes (off: it pads each synced commit to a sector boundary);
//! a torn sector never changes bytes outside the write that tore.
//!
//! Only test binaries link this file; the release build never sees it.

use super::forwarding::*;
use rusqlite::ffi;
use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

/// One event, in the order the disk saw it.
#[derive(Clone, Debug)]
pub enum Op {
    Write {
        file: usize,
        offset: u64,
        data: Vec<u8>,
    },
    Truncate {
        file: usize,
        size: u64,
    },
    Sync {
        file: usize,
    },
    /// Unlinking is treated as durable at once (a directory the file system syncs).
    Delete {
        file: usize,
    },
    /// The test saw the write with this id acknowledged.
    Acked(u64),
}

/// What the VFS recorded since `start_recording`.
#[derive(Default)]
pub struct Log {
    /// File names relative to the recorded directory, indexed by `Op::*::file`.
    pub names: Vec<String>,
    pub ops: Vec<Op>,
    dir: Option<PathBuf>,
    ids: HashMap<String, usize>,
    /// Where each file's latest write ended.
    write_end: HashMap<usize, u64>,
    /// Writes to a WAL since a sync inside a frame header (see `stall`).
    since_header_sync: HashMap<usize, u8>,
}

impl Log {
    fn file_id(&mut self, full: &str) -> Option<usize> {
        let rel = Path::new(full)
            .strip_prefix(self.dir.as_ref()?)
            .ok()?
            .to_str()?
            .to_string();
        let next = self.names.len();
        let id = *self.ids.entry(rel.clone()).or_insert(next);
        if id == next {
            self.names.push(rel);
        }
        Some(id)
    }
}

fn log() -> MutexGuard<'static, Log> {
    static LOG: OnceLock<Mutex<Log>> = OnceLock::new();
    LOG.get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

/// Records every file opened under `dir` from now on (an empty log).
pub fn start_recording(dir: &Path) {
    let dir = std::fs::canonicalize(dir).expect("the recorded directory exists");
    *log() = Log {
        dir: Some(dir),
        ..Log::default()
    };
}

/// Stops recording and hands over the log.
pub fn take_log() -> Log {
    std::mem::take(&mut *log())
}

pub fn mark_acked(id: u64) {
    log().ops.push(Op::Acked(id));
}

/// Whether files claim SQLITE_IOCAP_POWERSAFE_OVERWRITE (read at each call, so a
/// connection opened after a change sees it; SQLite reads it when it opens a WAL).
static POWERSAFE_OVERWRITE: AtomicBool = AtomicBool::new(true);

pub fn set_powersafe_overwrite(on: bool) {
    POWERSAFE_OVERWRITE.store(on, Ordering::SeqCst);
}

pub const NAME: &CStr = c"fault";

/// A WAL of 4 KiB pages: a 32-byte header, then frames of a 24-byte header and a page.
fn inside_a_frame_header(wal_end: u64) -> bool {
    let into_frame = wal_end.saturating_sub(32) % (24 + 4096);
    wal_end > 32 && into_frame > 0 && into_frame < 24
}

/// Counts the stalls of `stall` and wakes whoever waits for the next one.
pub fn stalls() -> &'static (Mutex<u64>, Condvar) {
    static STALLS: OnceLock<(Mutex<u64>, Condvar)> = OnceLock::new();
    STALLS.get_or_init(Default::default)
}

/// How long a stalled write waits: long enough for another connection to checkpoint.
const STALL: Duration = Duration::from_millis(3);

/// A slow disk at the moment that matters. With powersafe overwrite off SQLite syncs
/// the WAL at sector boundaries, now and then inside a frame header; it then writes
/// the header's tail and the frame's page. The write after that tail (the page, or,
/// when a layer above holds the page back, whatever comes next) stalls here while
/// whoever waits on `stalls` is woken: a checkpoint then runs while the commit is
/// complete as far as SQLite knows, which is exactly when the page must already be in
/// the file (the WAL-gathering VFS's defect, issue 15, shows up here).
fn stall(file: usize) {
    let stall = {
        let mut log = log();
        match log.since_header_sync.get_mut(&file) {
            Some(writes) if *writes >= 1 => {
                log.since_header_sync.remove(&file);
                true
            }
            Some(writes) => {
                *writes += 1;
                false
            }
            None => false,
        }
    };
    if stall {
        let (count, woken) = stalls();
        *count.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        woken.notify_all();
        std::thread::sleep(STALL);
    }
}

struct Vfs(*mut ffi::sqlite3_vfs);
// SAFETY: VFS structs registered for the life of the process, which SQLite calls from
// any thread.
unsafe impl Send for Vfs {}
unsafe impl Sync for Vfs {}
static BASE: OnceLock<Vfs> = OnceLock::new();
static FAULT: OnceLock<Vfs> = OnceLock::new();

/// Registers the VFS (wrapping `unix`) as the process default. Call it before the
/// first `Db::open`: Hearth's WAL-gathering VFS then wraps this one, which models the
/// disk below it.
pub fn install() {
    FAULT.get_or_init(|| {
        // SAFETY: "unix" is SQLite's built-in VFS, alive for the process.
        let base = unsafe { ffi::sqlite3_vfs_find(c"unix".as_ptr()) };
        assert!(!base.is_null(), "no unix VFS");
        let _ = BASE.set(Vfs(base));
        // SAFETY: copying keeps the base's other methods, which only read the fields
        // copied with them (pAppData, mxPathname).
        let mut vfs = unsafe { std::ptr::read(base) };
        vfs.szOsFile += c_int::try_from(REAL_OFFSET).unwrap();
        vfs.zName = NAME.as_ptr();
        vfs.pNext = std::ptr::null_mut();
        vfs.xOpen = Some(open);
        vfs.xDelete = Some(delete);
        let vfs = Box::into_raw(Box::new(vfs));
        // SAFETY: leaked, so it outlives every connection.
        let rc = unsafe { ffi::sqlite3_vfs_register(vfs, 1) };
        assert_eq!(rc, ffi::SQLITE_OK);
        Vfs(vfs)
    });
}

/// Makes the named VFS the default for connections opened from now on: `hearth` (the
/// gathering VFS, over this one) or `fault` (this one alone).
pub fn make_default(name: &CStr) {
    // SAFETY: a registered VFS lives for the process; registering it again only moves
    // it to the head of SQLite's list.
    unsafe {
        let vfs = ffi::sqlite3_vfs_find(name.as_ptr());
        assert!(!vfs.is_null(), "VFS {name:?} is not registered");
        assert_eq!(ffi::sqlite3_vfs_register(vfs, 1), ffi::SQLITE_OK);
    }
}

fn base() -> *mut ffi::sqlite3_vfs {
    BASE.get().expect("installed").0
}

#[repr(C)]
pub(super) struct FaultFile {
    /// First: SQLite reads `pMethods` through the pointer it gave us.
    base: ffi::sqlite3_file,
    pub(super) real: *mut ffi::sqlite3_file,
    /// In the log, when the file is under the recorded directory.
    id: Option<usize>,
}

const REAL_OFFSET: usize = std::mem::size_of::<FaultFile>().next_multiple_of(16);

fn name_of(name: *const c_char) -> Option<String> {
    if name.is_null() {
        return None;
    }
    // SAFETY: SQLite passes a NUL-terminated path.
    unsafe { CStr::from_ptr(name) }
        .to_str()
        .ok()
        .map(str::to_string)
}

unsafe extern "C" fn open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let base = base();
    let id = name_of(name).and_then(|n| log().file_id(&n));
    // SAFETY: SQLite gave us szOsFile bytes: FaultFile, then the real file.
    unsafe {
        let real = file
            .cast::<u8>()
            .add(REAL_OFFSET)
            .cast::<ffi::sqlite3_file>();
        std::ptr::write(
            file.cast::<FaultFile>(),
            FaultFile {
                base: ffi::sqlite3_file {
                    pMethods: std::ptr::null(),
                },
                real,
                id,
            },
        );
        let rc = (*base).xOpen.expect("xOpen")(base, name, real, flags, out_flags);
        if rc != ffi::SQLITE_OK {
            (*file).pMethods = std::ptr::null();
            return rc;
        }
        (*file).pMethods = &METHODS;
    }
    ffi::SQLITE_OK
}

unsafe extern "C" fn delete(
    _vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    sync_dir: c_int,
) -> c_int {
    let base = base();
    let mut log = log();
    // SAFETY: forwarding SQLite's arguments to the base VFS.
    let rc = unsafe { (*base).xDelete.expect("xDelete")(base, name, sync_dir) };
    if rc == ffi::SQLITE_OK {
        if let Some(file) = name_of(name).and_then(|n| log.file_id(&n)) {
            log.ops.push(Op::Delete { file });
        }
    }
    rc
}

/// Writes, truncates and syncs are recorded here; the rest only forward
/// (`forwarding.rs`).
static METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 3,
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
    xShmMap: Some(shm_map),
    xShmLock: Some(shm_lock),
    xShmBarrier: Some(shm_barrier),
    xShmUnmap: Some(shm_unmap),
    xFetch: Some(fetch),
    xUnfetch: Some(unfetch),
};

/// # Safety
/// `file` was set up by `open` and not yet closed.
pub(super) unsafe fn parts<'a>(
    file: *mut ffi::sqlite3_file,
) -> (&'a FaultFile, &'static ffi::sqlite3_io_methods) {
    unsafe {
        let f = &*file.cast::<FaultFile>();
        (f, &*(*f.real).pMethods)
    }
}

unsafe extern "C" fn write(
    file: *mut ffi::sqlite3_file,
    buf: *const c_void,
    n: c_int,
    at: i64,
) -> c_int {
    // SAFETY: see `parts`; SQLite's buffer holds `n` bytes for the call.
    unsafe {
        let (f, m) = parts(file);
        let Some(id) = f.id else {
            return m.xWrite.expect("xWrite")(f.real, buf, n, at);
        };
        stall(id);
        // The log lock is held across the real write, so the log's order is the
        // order the file saw, whichever connection wrote.
        let mut log = log();
        let rc = m.xWrite.expect("xWrite")(f.real, buf, n, at);
        if rc == ffi::SQLITE_OK {
            let data = std::slice::from_raw_parts(buf.cast::<u8>(), n as usize).to_vec();
            log.write_end.insert(id, at as u64 + data.len() as u64);
            log.ops.push(Op::Write {
                file: id,
                offset: at as u64,
                data,
            });
        }
        rc
    }
}

unsafe extern "C" fn truncate(file: *mut ffi::sqlite3_file, size: i64) -> c_int {
    // SAFETY: see `parts`.
    unsafe {
        let (f, m) = parts(file);
        let Some(id) = f.id else {
            return m.xTruncate.expect("xTruncate")(f.real, size);
        };
        let mut log = log();
        let rc = m.xTruncate.expect("xTruncate")(f.real, size);
        if rc == ffi::SQLITE_OK {
            log.ops.push(Op::Truncate {
                file: id,
                size: size as u64,
            });
        }
        rc
    }
}

unsafe extern "C" fn sync(file: *mut ffi::sqlite3_file, flags: c_int) -> c_int {
    // SAFETY: see `parts`.
    unsafe {
        let (f, _) = parts(file);
        // No real fsync, for any file: recorded files are durable from here in the
        // log, the others are the test's scratch copies; fsyncs would only cost time
        // (most of the test's, on a real disk).
        let _ = flags;
        if let Some(id) = f.id {
            let mut log = log();
            log.ops.push(Op::Sync { file: id });
            let end = log.write_end.get(&id).copied().unwrap_or(0);
            if log.names[id].ends_with("-wal") && inside_a_frame_header(end) {
                log.since_header_sync.insert(id, 0);
            }
        }
        ffi::SQLITE_OK
    }
}

unsafe extern "C" fn device_characteristics(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: see `parts`; forwarding.
    let real = unsafe {
        let (f, m) = parts(file);
        m.xDeviceCharacteristics.expect("xDeviceCharacteristics")(f.real)
    };
    if POWERSAFE_OVERWRITE.load(Ordering::SeqCst) {
        real | ffi::SQLITE_IOCAP_POWERSAFE_OVERWRITE
    } else {
        real & !ffi::SQLITE_IOCAP_POWERSAFE_OVERWRITE
    }
}
