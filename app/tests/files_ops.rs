//! Operating the file store (issue 17): the orphan sweep keeps records' files and their
//! thumbnails and deletes what nothing references, the `hearth_files_*` metrics,
//! `/readyz`'s report of the store, and the file settings' start-up errors.

mod common;

use common::binary::hearth;
use common::{spawn_app_with, TestApp};
use reqwest::multipart::{Form, Part};
use reqwest::Method;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// A 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

/// An app whose sweep and usage count run every 200 ms (the grace period stays 1 h:
/// the test ages the blobs it wants swept), with a collection `pics` and one record
/// holding a file. Returns the app, an admin token, the record id and its file's name.
async fn setup() -> (TestApp, String, String, String) {
    let app = spawn_app_with(|c| {
        c.files_schedule.sweep.every = Duration::from_millis(200);
        c.files_schedule.usage_every = Duration::from_millis(200);
    })
    .await;
    let token = app.admin_token().await;
    let r = app
        .create_collection(
            &token,
            json!({"name": "pics", "fields": [
                {"name": "title", "type": "text"},
                {"name": "cover", "type": "file", "thumbs": ["100x100"]},
                {"name": "docs", "type": "file", "max_files": 3}]}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let form = Form::new()
        .text("title", "a cat")
        .part("cover", Part::bytes(PNG.to_vec()).file_name("cat.png"));
    let r = app
        .req(Method::POST, "/api/v1/pics", Some(&token))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let record: Value = r.json().await.unwrap();
    let id = record["id"].as_str().unwrap().to_owned();
    let cover = record["cover"].as_str().unwrap().to_owned();
    (app, token, id, cover)
}

fn files_dir(app: &TestApp) -> PathBuf {
    app.data_dir.path().join("files")
}

/// Writes a blob straight into the local store, last modified two hours ago (past
/// the sweep's grace period).
fn plant_old(root: &Path, key: &str) -> PathBuf {
    let path = root.join(key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, b"planted").unwrap();
    age(&path);
    path
}

fn age(path: &Path) {
    let two_hours_ago = SystemTime::now() - Duration::from_secs(2 * 60 * 60);
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(two_hours_ago)
        .unwrap();
}

async fn metrics(app: &TestApp, token: &str) -> String {
    let r = app
        .req(Method::GET, "/metrics", Some(token))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

/// The value of the series `name` (with its labels, as rendered), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

#[tokio::test]
async fn the_sweep_deletes_old_unreferenced_blobs_and_keeps_records_files_and_thumbnails() {
    let (app, token, id, cover) = setup().await;
    let root = files_dir(&app);
    // Old enough to be examined: the record's own file and a thumbnail of it (kept),
    // and four orphans: a file of no record, a file the record does not hold, a
    // thumbnail of such a file, and a blob outside every collection.
    age(&root.join(format!("pics/{id}/{cover}")));
    let kept = [
        root.join(format!("pics/{id}/{cover}")),
        plant_old(&root, &format!("pics/{id}/thumbs_{cover}/100x100")),
    ];
    let orphans = [
        plant_old(&root, "pics/no_such_record/lost.png"),
        plant_old(&root, &format!("pics/{id}/replaced_long_ago.png")),
        plant_old(
            &root,
            &format!("pics/{id}/thumbs_replaced_long_ago.png/100x100"),
        ),
        plant_old(&root, "dropped_collection/r1/file.txt"),
    ];
    // A young blob nothing references: within the grace period, left alone.
    let young = root.join("pics/no_such_record/just_uploaded.png");
    std::fs::write(&young, b"young").unwrap();

    let mut left: Vec<&PathBuf> = orphans.iter().collect();
    for _ in 0..100 {
        left = orphans.iter().filter(|p| p.exists()).collect();
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(left.is_empty(), "not swept: {left:?}");
    for path in &kept {
        assert!(
            path.exists(),
            "swept although referenced: {}",
            path.display()
        );
    }
    assert!(young.exists(), "a blob within the grace period was swept");
    let text = metrics(&app, &token).await;
    assert!(
        sample(&text, "hearth_files_orphans_deleted_total") >= Some(4.0),
        "{text}"
    );
    // The record still reads and its file is still there after more sweeps.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(kept.iter().all(|p| p.exists()));
    let got: Value = app
        .req(Method::GET, &format!("/api/v1/pics/{id}"), Some(&token))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["cover"], cover.as_str());
}

#[tokio::test]
async fn files_metrics_count_uploads_bytes_deletions_and_usage_per_collection() {
    let (app, token, id, _) = setup().await;
    // A refused upload (too many files) counts as an upload that ended too.
    let mut form = Form::new();
    for i in 0..4 {
        form = form.part(
            "docs",
            Part::bytes(PNG.to_vec()).file_name(format!("{i}.png")),
        );
    }
    let r = app
        .req(Method::PATCH, &format!("/api/v1/pics/{id}"), Some(&token))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let png = PNG.len() as f64;
    let mut text = String::new();
    for _ in 0..50 {
        text = metrics(&app, &token).await;
        if sample(&text, r#"hearth_files_stored_bytes{collection="pics"}"#) == Some(png) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        sample(&text, r#"hearth_files_stored_bytes{collection="pics"}"#),
        Some(png),
        "{text}"
    );
    assert_eq!(
        sample(&text, r#"hearth_files_stored_blobs{collection="pics"}"#),
        Some(1.0)
    );
    assert!(sample(&text, "hearth_files_upload_bytes_total") >= Some(png * 5.0));
    assert_eq!(
        sample(&text, r#"hearth_files_uploads_total{outcome="stored"}"#),
        Some(5.0),
        "the cover, then the 4 docs of the refused write (removed again): {text}"
    );
    assert_eq!(sample(&text, "hearth_files_uploads_in_progress"), Some(0.0));
    assert_eq!(sample(&text, "hearth_files_deletions_pending"), Some(0.0));
    assert!(sample(&text, "hearth_files_read_bytes_total").is_some());
    assert!(sample(&text, "hearth_files_deletion_failures_total").is_some());
    // Deleting the record: its blob is deleted by the queue, and usage drops to none.
    let r = app
        .req(Method::DELETE, &format!("/api/v1/pics/{id}"), Some(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    for _ in 0..50 {
        text = metrics(&app, &token).await;
        if sample(&text, r#"hearth_files_stored_bytes{collection="pics"}"#).is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        sample(&text, r#"hearth_files_stored_bytes{collection="pics"}"#),
        None,
        "{text}"
    );
    assert!(sample(&text, "hearth_files_blobs_deleted_total") >= Some(5.0));
}

#[tokio::test]
async fn readyz_reports_the_file_store_without_failing_on_it() {
    let app = spawn_app_with(|_| {}).await;
    // The local store keeps its temporary files in files/.tmp; without it, nothing can
    // be stored.
    std::fs::remove_dir_all(files_dir(&app).join(".tmp")).unwrap();
    let r = app.req(Method::GET, "/readyz", None).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body, json!({"status": "ready", "files": "unavailable"}));

    let app = spawn_app_with(|_| {}).await;
    let body: Value = app
        .req(Method::GET, "/readyz", None)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body, json!({"status": "ready", "files": "ok"}));
}

/// Runs `cmd` to its end; a server that starts serving instead fails the test (killed
/// after 30 s) rather than hanging it.
fn output_of(mut cmd: std::process::Command) -> std::process::Output {
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!(
                "still running after 30 s: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn assert_usage_error(out: &std::process::Output, needle: &str, secret: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
    assert!(!stderr.contains(secret), "the secret is printed: {stderr}");
}

#[test]
fn bad_file_settings_stop_the_start_with_one_line_and_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = d.join("data");
    let data = data.to_str().unwrap();
    let serve = ["serve", "--bind", "127.0.0.1:0", "--data-dir", data];
    let secret = "hunter2-very-secret";

    let mut cmd = hearth(d, &serve);
    cmd.env("HEARTH_FILES_BACKEND", "s3");
    let out = output_of(cmd);
    assert_usage_error(&out, "s3_bucket is not set", secret);

    let mut cmd = hearth(d, &serve);
    cmd.args(["--files-backend", "azure"]);
    let out = output_of(cmd);
    assert_usage_error(
        &out,
        "invalid files_backend \"azure\" (from --files-backend)",
        secret,
    );

    // S3 settings while the backend is local would be silently ignored.
    let mut cmd = hearth(d, &serve);
    cmd.env("HEARTH_S3_SECRET_ACCESS_KEY", secret);
    let out = output_of(cmd);
    assert_usage_error(
        &out,
        "s3_secret_access_key set but files_backend is \"local\"",
        secret,
    );

    std::fs::write(
        d.join("hearth.toml"),
        format!(
            "files_backend = \"s3\"\ns3_bucket = \"b\"\ns3_endpoint = \"s3.example.org\"\n\
             s3_access_key_id = \"id\"\ns3_secret_access_key = \"{secret}\"\n"
        ),
    )
    .unwrap();
    let cmd = hearth(d, &serve);
    let out = output_of(cmd);
    assert_usage_error(
        &out,
        "s3_endpoint \"s3.example.org\" is not an http",
        secret,
    );

    // The secret file is read when the store opens: still a configuration error.
    std::fs::write(
        d.join("hearth.toml"),
        "files_backend = \"s3\"\ns3_bucket = \"b\"\ns3_path_style = true\n\
         s3_endpoint = \"http://127.0.0.1:9\"\ns3_access_key_id = \"id\"\n",
    )
    .unwrap();
    let mut cmd = hearth(d, &serve);
    cmd.env(
        "HEARTH_S3_SECRET_ACCESS_KEY_FILE",
        d.join("missing-secret").to_str().unwrap(),
    );
    let out = output_of(cmd);
    assert_usage_error(&out, "cannot read s3_secret_access_key_file", secret);
}
