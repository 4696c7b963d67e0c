//! SQLite's own page cache, minus one needless scan per write transaction.
//!
//! At the end of every write transaction SQLite drops cached pages past the end of the
//! database (`xTruncate`). Its cache remembers only the largest page number it has
//! ever held, and a b-tree split that reorders sibling pages parks one page under a
//! temporary number past the 1 GiB lock byte for a moment (`balance_nonroot`). From
//! then on every such truncate thinks pages past the end may exist and walks the whole
//! cache's hash table: 8–10 % of the writer thread under a create load with a random
//! index, where splits are frequent.
//!
//! This wrapper forwards every call to SQLite's default cache and tracks the largest
//! page number that can really be cached, not counting pages parked under the
//! temporary number (those are counted apart until they are renumbered back). A
//! truncate that cannot drop anything is skipped; any other goes to SQLite as before.

use rusqlite::ffi;
use std::ffi::{c_int, c_uint};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// SQLite's lock byte sits at 1 GiB; the page after it is the temporary number.
const PENDING_BYTE: u32 = 0x4000_0000;

/// SQLite's default page cache, as `SQLITE_CONFIG_GETPCACHE2` returned it.
struct DefaultMethods(ffi::sqlite3_pcache_methods2);

// SAFETY: a table of C function pointers and SQLite's own `pArg`, read-only once
// stored; SQLite calls these from any thread, as it would without the wrapper.
unsafe impl Send for DefaultMethods {}
unsafe impl Sync for DefaultMethods {}

static DEFAULT: OnceLock<DefaultMethods> = OnceLock::new();

/// Truncates skipped because nothing could be dropped (see `truncates_skipped`).
static SKIPPED: AtomicU64 = AtomicU64::new(0);

/// Installs the wrapper, once per process, before SQLite initialises. Returns whether
/// it is in place: SQLite refuses configuration after its first connection, so a
/// process that opened one before (some tests) keeps the default, which is correct,
/// only slower.
pub(crate) fn install() -> bool {
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    *INSTALLED.get_or_init(|| {
        let mut default = std::mem::MaybeUninit::<ffi::sqlite3_pcache_methods2>::zeroed();
        // SAFETY: GETPCACHE2 writes the current methods into the pointed-to struct.
        let rc =
            unsafe { ffi::sqlite3_config(ffi::SQLITE_CONFIG_GETPCACHE2, default.as_mut_ptr()) };
        if rc != ffi::SQLITE_OK {
            return false;
        }
        // SAFETY: SQLite filled it in (rc is OK).
        let default = unsafe { default.assume_init() };
        if DEFAULT.set(DefaultMethods(default)).is_err() {
            return false;
        }
        let wrapper = WRAPPER.get_or_init(|| Methods(wrapper_methods(&default)));
        // SAFETY: the methods live in a static for the rest of the process, as
        // SQLite requires; SQLite copies the struct.
        let rc = unsafe { ffi::sqlite3_config(ffi::SQLITE_CONFIG_PCACHE2, &wrapper.0) };
        rc == ffi::SQLITE_OK
    })
}

/// How many end-of-transaction truncates the wrapper found nothing to drop for and
/// skipped; `None` when the wrapper is not installed in this process.
pub fn truncates_skipped() -> Option<u64> {
    let installed = WRAPPER.get().is_some() && install();
    installed.then(|| SKIPPED.load(Ordering::Relaxed))
}

struct Methods(ffi::sqlite3_pcache_methods2);
// SAFETY: as for `DefaultMethods`.
unsafe impl Send for Methods {}
unsafe impl Sync for Methods {}
static WRAPPER: OnceLock<Methods> = OnceLock::new();

fn wrapper_methods(default: &ffi::sqlite3_pcache_methods2) -> ffi::sqlite3_pcache_methods2 {
    ffi::sqlite3_pcache_methods2 {
        iVersion: 1,
        // Global initialisation stays SQLite's, with its own argument.
        pArg: default.pArg,
        xInit: default.xInit,
        xShutdown: default.xShutdown,
        xCreate: Some(create),
        xCachesize: Some(cachesize),
        xPagecount: Some(pagecount),
        xFetch: Some(fetch),
        xUnpin: Some(unpin),
        xRekey: Some(rekey),
        xTruncate: Some(truncate),
        xDestroy: Some(destroy),
        xShrink: Some(shrink),
    }
}

/// One connection's cache: SQLite's, plus what the wrapper knows about its keys.
struct Cache {
    inner: *mut ffi::sqlite3_pcache,
    /// No page with a larger number is cached, parked pages aside.
    max_key: c_uint,
    /// The temporary number for this page size.
    parking: c_uint,
    /// Pages under the temporary number right now.
    parked: c_uint,
}

fn sqlite_default() -> &'static ffi::sqlite3_pcache_methods2 {
    // Set before the wrapper is installed, so before any of its methods can run.
    &DEFAULT.get().expect("installed with the wrapper").0
}

/// # Safety
/// `p` is a pointer `create` returned and `destroy` has not freed; SQLite calls a
/// cache's methods from one thread at a time.
unsafe fn cache<'a>(p: *mut ffi::sqlite3_pcache) -> &'a mut Cache {
    unsafe { &mut *p.cast::<Cache>() }
}

unsafe extern "C" fn create(
    sz_page: c_int,
    sz_extra: c_int,
    purgeable: c_int,
) -> *mut ffi::sqlite3_pcache {
    // SAFETY: forwarding SQLite's own call to its own implementation.
    let inner = unsafe { sqlite_default().xCreate.expect("xCreate")(sz_page, sz_extra, purgeable) };
    if inner.is_null() {
        return inner;
    }
    let parking = PENDING_BYTE / (sz_page.max(1) as c_uint) + 1;
    let cache = Box::new(Cache {
        inner,
        max_key: 0,
        parking,
        parked: 0,
    });
    Box::into_raw(cache).cast()
}

unsafe extern "C" fn cachesize(p: *mut ffi::sqlite3_pcache, n: c_int) {
    // SAFETY: see `cache`; forwarding.
    unsafe { sqlite_default().xCachesize.expect("xCachesize")(cache(p).inner, n) }
}

unsafe extern "C" fn pagecount(p: *mut ffi::sqlite3_pcache) -> c_int {
    // SAFETY: see `cache`; forwarding.
    unsafe { sqlite_default().xPagecount.expect("xPagecount")(cache(p).inner) }
}

unsafe extern "C" fn fetch(
    p: *mut ffi::sqlite3_pcache,
    key: c_uint,
    create: c_int,
) -> *mut ffi::sqlite3_pcache_page {
    // SAFETY: see `cache`; forwarding.
    let c = unsafe { cache(p) };
    let page = unsafe { sqlite_default().xFetch.expect("xFetch")(c.inner, key, create) };
    if !page.is_null() {
        c.max_key = c.max_key.max(key);
    }
    page
}

unsafe extern "C" fn unpin(
    p: *mut ffi::sqlite3_pcache,
    page: *mut ffi::sqlite3_pcache_page,
    discard: c_int,
) {
    // SAFETY: see `cache`; forwarding.
    unsafe { sqlite_default().xUnpin.expect("xUnpin")(cache(p).inner, page, discard) }
}

unsafe extern "C" fn rekey(
    p: *mut ffi::sqlite3_pcache,
    page: *mut ffi::sqlite3_pcache_page,
    old: c_uint,
    new: c_uint,
) {
    // SAFETY: see `cache`; forwarding.
    let c = unsafe { cache(p) };
    unsafe { sqlite_default().xRekey.expect("xRekey")(c.inner, page, old, new) };
    if old == c.parking {
        c.parked = c.parked.saturating_sub(1);
    }
    if new == c.parking {
        c.parked += 1;
    } else {
        c.max_key = c.max_key.max(new);
    }
}

unsafe extern "C" fn truncate(p: *mut ffi::sqlite3_pcache, limit: c_uint) {
    // SAFETY: see `cache`.
    let c = unsafe { cache(p) };
    if c.parked == 0 && c.max_key < limit {
        // Nothing cached at or past `limit`: nothing to drop.
        SKIPPED.fetch_add(1, Ordering::Relaxed);
        return;
    }
    // SAFETY: forwarding.
    unsafe { sqlite_default().xTruncate.expect("xTruncate")(c.inner, limit) };
    c.max_key = c.max_key.min(limit.saturating_sub(1));
    if c.parking >= limit {
        c.parked = 0;
    }
}

unsafe extern "C" fn destroy(p: *mut ffi::sqlite3_pcache) {
    // SAFETY: `p` came from `create` (Box::into_raw) and SQLite destroys it once.
    let c = unsafe { Box::from_raw(p.cast::<Cache>()) };
    unsafe { sqlite_default().xDestroy.expect("xDestroy")(c.inner) };
}

unsafe extern "C" fn shrink(p: *mut ffi::sqlite3_pcache) {
    // SAFETY: see `cache`; forwarding.
    unsafe { sqlite_default().xShrink.expect("xShrink")(cache(p).inner) }
}
