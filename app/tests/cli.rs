//! API.md section 6, through the real binary: configuration errors exit 2 with one
//! line, `admin create` + `serve` + login, SIGTERM exits 0, `backup` while serving,
//! `migrate`, `openapi`.

mod common;

use common::binary::{hearth, listening_address};
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn run(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = hearth(dir, args);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn assert_usage_error(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
}

#[test]
fn bad_configuration_exits_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = run(d, &["serve"], &[("HEARTH_BIND", "not-an-address")]);
    assert_usage_error(&out, "invalid bind \"not-an-address\" (from HEARTH_BIND)");

    std::fs::write(
        d.join("hearth.toml"),
        "bind = \"127.0.0.1:0\"\ncolour = \"blue\"\n",
    )
    .unwrap();
    let out = run(d, &["serve"], &[]);
    assert_usage_error(&out, "unknown key `colour`");
    std::fs::remove_file(d.join("hearth.toml")).unwrap();

    std::fs::write(d.join("a-file"), "x").unwrap();
    let out = run(
        d,
        &[
            "serve",
            "--data-dir",
            "a-file/data",
            "--bind",
            "127.0.0.1:0",
        ],
        &[],
    );
    assert_usage_error(&out, "is not writable");

    let out = run(d, &["serve", "--config", "missing.toml"], &[]);
    assert_usage_error(&out, "cannot read config file missing.toml");

    let out = run(d, &["serve", "--body-limit", "huge"], &[]);
    assert_usage_error(&out, "invalid body_limit");

    let out = run(d, &["serve", "--no-such-flag"], &[]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn admin_create_needs_a_valid_password() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        &["admin", "create", "--email", "a@example.org"],
        &[],
    );
    assert_usage_error(&out, "no password given");
    let out = run(
        dir.path(),
        &["admin", "create", "--email", "a@example.org"],
        &[("HEARTH_ADMIN_PASSWORD", "short")],
    );
    assert_usage_error(&out, "invalid password");
    let out = run(
        dir.path(),
        &["admin", "create", "--email", "not-an-email"],
        &[("HEARTH_ADMIN_PASSWORD", "long enough pw")],
    );
    assert_usage_error(&out, "invalid email");
}

#[test]
fn migrate_applies_once_and_openapi_prints_the_document() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["migrate"], &[]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "applied migrations: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11"
    );
    assert!(
        dir.path().join("hearth_data/hearth.db").exists(),
        "default data dir"
    );
    let out = run(dir.path(), &["migrate"], &[]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "database is up to date"
    );

    let out = run(dir.path(), &["openapi"], &[]);
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON only");
    assert!(doc["paths"]["/auth/login"].is_object());
}

struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(dir: &Path) -> Server {
        let mut child = hearth(
            dir,
            &["serve", "--bind", "127.0.0.1:0", "--log-format", "text"],
        )
        .env("NO_COLOR", "1")
        .env("HEARTH_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
        let addr = listening_address(&mut child);
        Server { child, addr }
    }

    fn sigterm(&mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "server did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn login(addr: &str, password: &str) -> reqwest::StatusCode {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        reqwest::Client::new()
            .post(format!("http://{addr}/api/v1/auth/login"))
            .json(&serde_json::json!({"email": "ops@example.org", "password": password}))
            .send()
            .await
            .unwrap()
            .status()
    })
}

#[test]
fn admin_create_then_serve_login_backup_and_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut child = hearth(
        d,
        &[
            "admin",
            "create",
            "--email",
            "ops@example.org",
            "--password-stdin",
        ],
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .spawn()
    .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a long admin password\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("admin ops@example.org created"));

    let mut server = Server::start(d);
    assert_eq!(login(&server.addr, "a long admin password"), 200);
    assert_eq!(login(&server.addr, "wrong password!"), 401);

    // Backup while logins write tokens in the background.
    let addr = server.addr.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                assert_eq!(login(&addr, "a long admin password"), 200);
                n += 1;
            }
            n
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    let out = run(d, &["backup", "copy.db"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(writer.join().unwrap() > 0);
    let copy = rusqlite::Connection::open(d.join("copy.db")).unwrap();
    let check: String = copy
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let admins: i64 = copy
        .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
        .unwrap();
    assert_eq!(admins, 1);
    let out = run(d, &["backup", "copy.db"], &[]);
    assert_usage_error(&out, "already exists");

    let port = server.addr.rsplit(':').next().unwrap().to_string();
    let out = run(
        d,
        &["healthcheck", "--bind", &format!("0.0.0.0:{port}")],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok");

    let status = server.sigterm();
    assert_eq!(status.code(), Some(0));
    let out = run(
        d,
        &["healthcheck", "--bind", &format!("127.0.0.1:{port}")],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "nothing listens any more");
    let wal = d.join("hearth_data/hearth.db-wal");
    assert_eq!(std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0), 0);
}
