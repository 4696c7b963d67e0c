//! API.md 1 (503 after a failed sync): once an fsync of the database fails, the disk
//! may have dropped pages Hearth wrote, and a later fsync that succeeds proves nothing
//! (the kernel may have marked them clean). So the writer stops for good: every later
//! write is refused with 503, /readyz reports not ready, reads go on, and no write is
//! acknowledged after the failure. The failure is injected by a VFS layered between
//! Hearth's and the operating system's, as a failing disk would be (this test
//! binary's own process, so it affects no other test).

mod common;

use common::{assert_problem, spawn_app_with, TestApp};
use reqwest::Method;
use rusqlite::ffi;
use serde_json::{json, Value};
use std::ffi::{c_char, c_int};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

static FAIL_SYNC: AtomicBool = AtomicBool::new(false);

struct Ptr<T>(*const T);
// SAFETY: pointers to SQLite's VFS and method tables, which live for the process.
unsafe impl<T> Send for Ptr<T> {}
unsafe impl<T> Sync for Ptr<T> {}

/// The VFS below (the unix one), and per method table it hands out, a copy whose xSync
/// can fail.
static BELOW: OnceLock<Ptr<ffi::sqlite3_vfs>> = OnceLock::new();
static TABLES: std::sync::Mutex<Vec<(usize, usize)>> = std::sync::Mutex::new(Vec::new());

fn original_sync(methods: *const ffi::sqlite3_io_methods) -> ffi::sqlite3_io_methods {
    let tables = TABLES.lock().unwrap();
    let (original, _) = tables
        .iter()
        .find(|(_, copy)| *copy == methods as usize)
        .expect("a table handed out by open");
    // SAFETY: the original table lives for the process.
    unsafe { std::ptr::read(*original as *const ffi::sqlite3_io_methods) }
}

unsafe extern "C" fn sync(file: *mut ffi::sqlite3_file, flags: c_int) -> c_int {
    if FAIL_SYNC.load(Ordering::SeqCst) {
        return ffi::SQLITE_IOERR_FSYNC;
    }
    // SAFETY: forwarding to the method the file was opened with.
    unsafe {
        let original = original_sync((*file).pMethods);
        original.xSync.expect("xSync")(file, flags)
    }
}

/// Opens through the unix VFS, then swaps in a copy of the file's method table
/// whose xSync fails on demand (every other method is the original, given the same
/// file, so it works unchanged).
unsafe extern "C" fn open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let below = BELOW.get().unwrap().0 as *mut ffi::sqlite3_vfs;
    // SAFETY: forwarding SQLite's arguments to the VFS below, which set pMethods.
    unsafe {
        let rc = (*below).xOpen.unwrap()(below, name, file, flags, out_flags);
        if rc != ffi::SQLITE_OK || (*file).pMethods.is_null() {
            return rc;
        }
        let original = (*file).pMethods as usize;
        let mut tables = TABLES.lock().unwrap();
        let copy = match tables.iter().find(|(o, _)| *o == original) {
            Some(&(_, copy)) => copy,
            None => {
                let mut methods = std::ptr::read((*file).pMethods);
                methods.xSync = Some(sync);
                let copy = Box::into_raw(Box::new(methods)) as usize;
                tables.push((original, copy));
                copy
            }
        };
        (*file).pMethods = copy as *const ffi::sqlite3_io_methods;
        rc
    }
}

/// Registers the failing VFS as the default, then lets Hearth set SQLite up, so that
/// Hearth's VFS wraps it. (SQLite is initialised first here, so Hearth's page-cache
/// wrapper stays out: it only makes writes faster.)
fn install_failing_sync_vfs() {
    // SAFETY: the unix VFS lives for the process; the copy is leaked, so it does too.
    unsafe {
        let below = ffi::sqlite3_vfs_find(c"unix".as_ptr());
        assert!(!below.is_null());
        BELOW.set(Ptr(below)).ok().unwrap();
        let mut vfs = std::ptr::read(below);
        vfs.zName = c"failing-sync".as_ptr();
        vfs.pNext = std::ptr::null_mut();
        vfs.xOpen = Some(open);
        let rc = ffi::sqlite3_vfs_register(Box::into_raw(Box::new(vfs)), 1);
        assert_eq!(rc, ffi::SQLITE_OK);
    }
    storage::prepare_sqlite();
}

/// A schema change commits by itself (an exclusive job): its failed sync stops
/// writes just the same.
async fn a_failed_sync_in_a_schema_change_stops_writes_too() {
    let app = spawn_app_with(|c| c.synchronous = storage::Synchronous::Full).await;
    let admin = app.admin_token().await;
    let resp = app
        .create_collection(
            &admin,
            json!({"name": "notes", "fields": [{"name": "n", "type": "integer"}]}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    FAIL_SYNC.store(true, Ordering::SeqCst);
    let resp = app
        .create_collection(&admin, json!({"name": "other", "fields": []}))
        .await;
    FAIL_SYNC.store(false, Ordering::SeqCst);
    assert!(resp.status().is_server_error(), "{}", resp.status());
    assert_problem(create(&app, &admin, 1).await, 503, "unavailable").await;
    let ready = app.req(Method::GET, "/readyz", None).send().await.unwrap();
    assert_eq!(ready.status(), 503);
}

async fn create(app: &TestApp, token: &str, n: i64) -> reqwest::Response {
    app.req(Method::POST, "/api/v1/notes", Some(token))
        .json(&json!({"n": n}))
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_failed_fsync_writes_are_refused_and_readyz_is_not_ready() {
    install_failing_sync_vfs();
    a_failed_sync_in_a_schema_change_stops_writes_too().await;
    let app = spawn_app_with(|c| c.synchronous = storage::Synchronous::Full).await;
    let admin = app.admin_token().await;
    let resp = app
        .create_collection(
            &admin,
            json!({"name": "notes", "fields": [{"name": "n", "type": "integer"}]}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let resp = create(&app, &admin, 1).await;
    assert_eq!(resp.status(), 201);
    let kept: Value = resp.json().await.unwrap();
    let ready = app.req(Method::GET, "/readyz", None).send().await.unwrap();
    assert_eq!(ready.status(), 200);

    // The disk fails one sync: that write is not acknowledged.
    FAIL_SYNC.store(true, Ordering::SeqCst);
    let failed = create(&app, &admin, 2).await;
    assert_problem(failed, 503, "unavailable").await;
    // The disk "recovers": nothing is written or acknowledged any more regardless.
    FAIL_SYNC.store(false, Ordering::SeqCst);
    for n in 3..6 {
        let problem = assert_problem(create(&app, &admin, n).await, 503, "unavailable").await;
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert!(detail.contains("restart"), "{problem}");
    }
    let ready = app.req(Method::GET, "/readyz", None).send().await.unwrap();
    let problem = assert_problem(ready, 503, "unavailable").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("sync"),
        "{problem}"
    );
    // Reads still answer from what was acknowledged.
    let got = app
        .get_json(
            &format!("/api/v1/notes/{}", kept["id"].as_str().unwrap()),
            Some(&admin),
        )
        .await;
    assert_eq!(got["n"], 1);
    let listed = app.get_json("/api/v1/notes", Some(&admin)).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");

    // Shutdown still succeeds (without its checkpoint), and a restart, SQLite's
    // recovery reading the WAL, has the acknowledged record and none of the refused
    // ones (the one whose sync failed may be there: its outcome was never told).
    let data_dir = app.stop().await;
    // Not even closing the last connection checkpointed: the WAL is left as it was.
    let wal = data_dir.path().join("hearth.db-wal");
    let wal_len = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert!(
        wal_len > 0,
        "the -wal file was emptied or removed after the failed sync"
    );
    let restarted = common::spawn_app_with(|c| {
        *c = common::test_config(data_dir.path());
    })
    .await;
    let token = restarted
        .login(common::ADMIN_EMAIL, common::ADMIN_PASSWORD)
        .await;
    let listed = restarted
        .get_json("/api/v1/notes?limit=50", Some(&token))
        .await;
    let ns: Vec<i64> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["n"].as_i64().unwrap())
        .collect();
    assert!(ns.contains(&1) && ns.iter().all(|n| *n <= 2), "{ns:?}");
    assert_eq!(create(&restarted, &token, 6).await.status(), 201);
    drop(data_dir);
}
