//! Backups carry the local files with the database (issue 17, point 6): `hearth backup`
//! against a running server writes the directory format (hearth.db, files/,
//! backup.json), `hearth restore` puts back the files the backed-up database
//! references, and a backup's hold keeps the deletion worker from removing blobs while
//! it copies.

mod common;

use common::{spawn_app, TestApp};
use reqwest::multipart::{Form, Part};
use reqwest::Method;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_hearth");

/// Not an image: any type is allowed on the field.
const CONTENT: &[u8] = b"quarterly report, version 7\n";

async fn setup() -> (TestApp, String) {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let r = app
        .create_collection(
            &token,
            json!({"name": "reports", "fields": [
                {"name": "title", "type": "text"},
                {"name": "attachment", "type": "file"}],
                "rules": {"list": ["public"], "view": ["public"]}}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    (app, token)
}

/// Creates a record with `CONTENT` as its attachment; returns (id, stored name).
async fn upload(app: &TestApp, token: &str, title: &str) -> (String, String) {
    let form = Form::new().text("title", title.to_owned()).part(
        "attachment",
        Part::bytes(CONTENT.to_vec()).file_name("report.txt"),
    );
    let r = app
        .req(Method::POST, "/api/v1/reports", Some(token))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let record: Value = r.json().await.unwrap();
    (
        record["id"].as_str().unwrap().to_owned(),
        record["attachment"].as_str().unwrap().to_owned(),
    )
}

fn blob_path(data_dir: &Path, id: &str, name: &str) -> PathBuf {
    data_dir.join("files/reports").join(id).join(name)
}

fn hearth(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("HEARTH_DATA_DIR")
        .env("HEARTH_LOG", "warn")
        .output()
        .unwrap()
}

async fn delete_record(app: &TestApp, token: &str, id: &str) {
    let r = app
        .req(
            Method::DELETE,
            &format!("/api/v1/reports/{id}"),
            Some(token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
}

async fn wait_until_gone(path: &Path) {
    for _ in 0..250 {
        if !path.exists() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the deletion worker did not remove {}", path.display());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backup_restores_the_files_its_database_references() {
    let (app, token) = setup().await;
    let (id, name) = upload(&app, &token, "kept").await;
    let data_dir = app.data_dir.path().to_path_buf();
    let backup = data_dir.join("backup-1");

    // Online: the server keeps running (the CLI is another process).
    let out = hearth(&data_dir, &["backup", backup.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 files"));
    let copied = std::fs::read(backup.join("files/reports").join(&id).join(&name)).unwrap();
    assert_eq!(copied, CONTENT);
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(backup.join("backup.json")).unwrap()).unwrap();
    assert_eq!(manifest["format"], 1);
    assert_eq!(manifest["files"], 1);
    // Only blobs: neither the store's lock files nor its unfinished uploads.
    assert!(!backup.join("files/.tmp").exists());
    assert!(!backup.join("files/.deleting.lock").exists());
    // A second backup to the same name is refused, the first left alone.
    let again = hearth(&data_dir, &["backup", backup.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(2));
    assert!(backup.join("hearth.db").is_file());

    // The record goes, and the worker removes its blob after the commit.
    delete_record(&app, &token, &id).await;
    wait_until_gone(&blob_path(&data_dir, &id, &name)).await;

    let data_dir = app.stop().await;
    let out = hearth(data_dir.path(), &["restore", backup.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("files: 1 copied back"), "{said}");
    assert_eq!(
        std::fs::read(blob_path(data_dir.path(), &id, &name)).unwrap(),
        CONTENT
    );
    // Nothing half-copied is left in the store's temporary directory.
    let tmp = data_dir.path().join("files/.tmp");
    assert_eq!(std::fs::read_dir(&tmp).map(|d| d.count()).unwrap_or(0), 0);

    // Served again: the record names the file, and the file is there and whole.
    let mut config = common::test_config(data_dir.path());
    config.bind = "127.0.0.1:0".parse().unwrap();
    let app2 = hearth::Application::build(config).await.unwrap();
    let addr = app2.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(app2.run_until_stopped(async {
        let _ = stopped.await;
    }));
    let record: Value = reqwest::get(format!("http://{addr}/api/v1/reports/{id}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(record["attachment"], name.as_str());
    let store = files::BlobStore::local(data_dir.path().join("files")).unwrap();
    let key = files::BlobKey::for_file("reports", &id, &name).unwrap();
    assert_eq!(store.head(&key).await.unwrap().size, CONTENT.len() as u64);
    stop.send(()).unwrap();
    handle.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn deletions_wait_while_a_backup_holds_them() {
    let (app, token) = setup().await;
    let (id, name) = upload(&app, &token, "held").await;
    let path = blob_path(app.data_dir.path(), &id, &name);
    // What a backup holds from before its snapshot to the end of its copy.
    let hold = files::DeletionHold::acquire(&app.data_dir.path().join("files")).unwrap();
    delete_record(&app, &token, &id).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        path.exists(),
        "a blob was deleted while a backup held deletions"
    );
    drop(hold);
    wait_until_gone(&path).await;
}

#[tokio::test]
async fn restore_refuses_a_directory_that_is_not_a_backup_it_can_read() {
    let (app, _token) = setup().await;
    let data_dir = app.stop().await;
    let d = data_dir.path();
    let not_backup = d.join("just-a-dir");
    std::fs::create_dir(&not_backup).unwrap();
    let out = hearth(d, &["restore", not_backup.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no hearth.db"));

    let backup = d.join("b");
    assert!(hearth(d, &["backup", backup.to_str().unwrap()])
        .status
        .success());
    std::fs::write(backup.join("backup.json"), br#"{"format": 2}"#).unwrap();
    let out = hearth(d, &["restore", backup.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("backup format 2"));
}
