//! Issue 14 item 13: the database, its WAL and SHM, the lock file and backups are
//! created 0600 in 0700 directories, and ones found wider are narrowed at start-up,
//! whatever the umask (tests run under the usual 022).
#![cfg(unix)]

mod common;

use common::{spawn_app_with, TestApp};
use hearth::config::BackupConfig;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A write, so the WAL and SHM exist.
async fn write_something(app: &TestApp) {
    let admin = app.admin_token().await;
    let resp = app
        .create_collection(
            &admin,
            serde_json::json!({"name": "notes", "fields": [{"name": "t", "type": "text"}]}),
        )
        .await;
    assert_eq!(resp.status(), 201);
}

/// A finished scheduled backup: a `hearth-<time>` directory (unfinished ones are
/// `.hearth-<time>.partial`).
async fn wait_for_backup(dir: &Path) -> PathBuf {
    for _ in 0..100 {
        if let Some(found) = std::fs::read_dir(dir).ok().and_then(|entries| {
            entries.filter_map(|e| e.ok().map(|e| e.path())).find(|p| {
                p.is_dir()
                    && p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("hearth-"))
            })
        }) {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no backup appeared in {}", dir.display());
}

#[tokio::test]
async fn data_files_and_backups_are_owner_only() {
    let root = tempfile::tempdir().unwrap();
    set_mode(root.path(), 0o755);
    let data = root.path().join("data");
    let backups = data.join("backups");
    let (d, b) = (data.clone(), backups.clone());
    let app = spawn_app_with(move |c| {
        c.data_dir = d;
        c.backups = Some(BackupConfig {
            interval: Duration::from_millis(200),
            dir: b,
            keep: 2,
        });
    })
    .await;
    write_something(&app).await;
    assert_eq!(mode(&data), 0o700, "data directory");
    for file in ["hearth.db", "hearth.db-wal", "hearth.db-shm", "hearth.lock"] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }
    let backup = wait_for_backup(&backups).await;
    assert_eq!(mode(&backups), 0o700, "backups directory");
    assert_eq!(mode(&backup), 0o700, "{}", backup.display());
    let db = backup.join("hearth.db");
    assert_eq!(mode(&db), 0o600, "{}", db.display());
}

#[tokio::test]
async fn files_found_wider_are_narrowed_at_start() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let d = data.clone();
    let app = spawn_app_with(move |c| c.data_dir = d).await;
    write_something(&app).await;
    app.stop().await;
    set_mode(&data, 0o755);
    set_mode(&data.join("hearth.db"), 0o644);

    let d = data.clone();
    let app = spawn_app_with(move |c| c.data_dir = d).await;
    let resp = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("hearth.db")), 0o600);
    assert_eq!(mode(&data.join("hearth.db-wal")), 0o600);
}
