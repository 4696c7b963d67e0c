//! Durability: scheduled backups (checked before they replace older ones), `hearth
//! restore` (refused under a running server, checks integrity first), and one server
//! per data directory.

mod common;

use common::{spawn_app, spawn_app_with};
use reqwest::Method;
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_hearth");

fn backups_in(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .map(|r| r.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    v.retain(|p| {
        p.file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("hearth-")
    });
    v.sort();
    v
}

fn integrity(path: &Path) -> String {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn scheduled_backups_are_verified_and_pruned() {
    let backup_dir = tempfile::tempdir().unwrap();
    let dir = backup_dir.path().to_path_buf();
    let app = spawn_app_with(move |c| {
        c.backups = Some(hearth::config::BackupConfig {
            interval: Duration::from_millis(400),
            dir,
            keep: 2,
        });
    })
    .await;
    let admin = app.admin_token().await;
    app.create_collection(
        &admin,
        json!({"name": "notes", "fields": [{"name": "t", "type": "text"}]}),
    )
    .await;
    for i in 0..20 {
        app.req(Method::POST, "/api/v1/notes", Some(&admin))
            .json(&json!({"t": format!("n{i}")}))
            .send()
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let found = backups_in(backup_dir.path());
    assert_eq!(found.len(), 2, "keep = 2: {found:?}");
    for b in &found {
        // Each one a backup directory (backup_format).
        assert_eq!(integrity(&b.join("hearth.db")), "ok");
        assert!(b.join("backup.json").is_file());
    }
    let leftovers: Vec<_> = std::fs::read_dir(backup_dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty());
    let newest = rusqlite::Connection::open(found.last().unwrap().join("hearth.db")).unwrap();
    let n: i64 = newest
        .query_row("SELECT count(*) FROM rec_notes", [], |r| r.get(0))
        .unwrap();
    assert!(n > 0);
}

#[tokio::test]
async fn one_server_per_data_directory() {
    let app = spawn_app().await;
    let mut config = common::test_config(app.data_dir.path());
    config.bind = "127.0.0.1:0".parse().unwrap();
    match hearth::Application::build(config).await {
        Err(hearth::StartError::Locked(msg)) => {
            assert!(msg.contains("another Hearth server"), "{msg}")
        }
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("a second server started on the same data directory"),
    }
}

#[tokio::test]
async fn restore_brings_back_a_backup_and_refuses_under_a_running_server() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.create_collection(&admin, json!({"name": "notes", "fields": [{"name": "t", "type": "text"}], "rules": {"list": ["public"], "view": ["public"]}})).await;
    app.req(Method::POST, "/api/v1/notes", Some(&admin))
        .json(&json!({"t": "before"}))
        .send()
        .await
        .unwrap();
    let backup = app.data_dir.path().join("snapshot.db");
    app.db.backup_to(&backup).await.unwrap();
    app.req(Method::POST, "/api/v1/notes", Some(&admin))
        .json(&json!({"t": "after"}))
        .send()
        .await
        .unwrap();

    let data_dir = app.data_dir.path().to_path_buf();
    let restore = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .arg("--data-dir")
            .arg(&data_dir)
            .env_remove("HEARTH_DATA_DIR")
            .output()
            .unwrap()
    };
    let out = restore(&["restore", backup.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "refused while serving");
    assert!(String::from_utf8_lossy(&out.stderr).contains("another Hearth server"));

    let keep = app.stop().await;
    let data_dir = keep.path().to_path_buf();
    let restore = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .arg("--data-dir")
            .arg(&data_dir)
            .env_remove("HEARTH_DATA_DIR")
            .output()
            .unwrap()
    };
    // A file that is not a database is refused, and nothing changes.
    let junk = data_dir.join("junk.db");
    std::fs::write(&junk, b"not a database at all").unwrap();
    let out = restore(&["restore", junk.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let out = restore(&["restore", backup.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("previous database is kept"));

    // Start on the restored data: only the record from before the backup exists.
    let mut config = common::test_config(&data_dir);
    config.bind = "127.0.0.1:0".parse().unwrap();
    let app2 = hearth::Application::build(config).await.unwrap();
    let addr = app2.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(app2.run_until_stopped(async {
        let _ = stopped.await;
    }));
    let page: Value = reqwest::get(format!("http://{addr}/api/v1/notes"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let texts: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["t"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["before"]);
    stop.send(()).unwrap();
    handle.await.unwrap().unwrap();
}
