//! File fields written with multipart/form-data (issue 17): files stream into the store
//! under the record's folder, only what commits stays, refused uploads leave nothing,
//! a JSON body cannot adopt a blob, and replaced or deleted files are queued for removal
//! in the same transaction.

mod common;

use common::{spawn_app, TestApp};
use reqwest::multipart::{Form, Part};
use reqwest::Method;
use serde_json::{json, Value};
use std::path::PathBuf;

/// A 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

async fn setup() -> (TestApp, String) {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let r = app
        .create_collection(
            &token,
            json!({"name": "pics", "fields": [
                {"name": "title", "type": "text"},
                {"name": "views", "type": "integer"},
                {"name": "cover", "type": "file", "mime_types": ["image/png"], "max_size": 2000},
                {"name": "docs", "type": "file", "max_files": 3}],
                "rules": {"list": ["public"], "view": ["public"], "create": ["authenticated"], "update": ["authenticated"], "delete": ["authenticated"]}}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    (app, token)
}

fn png(name: &str) -> Part {
    Part::bytes(PNG.to_vec())
        .file_name(name.to_owned())
        .mime_str("application/octet-stream")
        .unwrap()
}

async fn send(app: &TestApp, method: Method, path: &str, token: &str, form: Form) -> (u16, Value) {
    let r = app
        .req(method, path, Some(token))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Every blob under the collection's folder, as `record/name`.
fn blobs(app: &TestApp) -> Vec<String> {
    let root: PathBuf = app.data_dir.path().join("files").join("pics");
    let mut out = Vec::new();
    for record in std::fs::read_dir(&root).into_iter().flatten().flatten() {
        for file in std::fs::read_dir(record.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            out.push(format!(
                "{}/{}",
                record.file_name().to_string_lossy(),
                file.file_name().to_string_lossy()
            ));
        }
    }
    out.sort();
    out
}

async fn queued(app: &TestApp) -> Vec<String> {
    app.db
        .read(|conn| {
            let mut stmt = conn.prepare("SELECT key FROM file_deletions ORDER BY key")?;
            let keys = stmt
                .query_map([], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok::<_, storage::StorageError>(keys)
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn a_multipart_create_stores_the_file_and_the_record_names_it() {
    let (app, token) = setup().await;
    let form = Form::new()
        .text("title", "a cat")
        .text("views", "3")
        .part("cover", png("../../etc/Cat Photo.PNG"))
        .part("docs", png("one.png"))
        .part("docs+", png("two.png"));
    let (status, record) = send(&app, Method::POST, "/api/v1/pics", &token, form).await;
    assert_eq!(status, 201, "{record}");
    assert_eq!(record["title"], "a cat");
    assert_eq!(record["views"], 3);
    let cover = record["cover"].as_str().unwrap();
    assert!(!cover.contains('/') && !cover.contains(".."), "{cover}");
    assert!(cover.ends_with(".png"), "{cover}");
    assert_eq!(record["docs"].as_array().unwrap().len(), 2);
    let id = record["id"].as_str().unwrap();
    assert_eq!(blobs(&app), {
        let mut want = vec![format!("{id}/{cover}")];
        for d in record["docs"].as_array().unwrap() {
            want.push(format!("{id}/{}", d.as_str().unwrap()));
        }
        want.sort();
        want
    });
    let stored =
        std::fs::read(app.data_dir.path().join("files/pics").join(id).join(cover)).unwrap();
    assert_eq!(stored, PNG);
    let got: Value = app
        .req(Method::GET, &format!("/api/v1/pics/{id}"), None)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["cover"], record["cover"]);
    assert_eq!(got["docs"], record["docs"]);
    // And it downloads as it was uploaded, typed by its bytes.
    let r = app
        .req(
            Method::GET,
            &format!("/api/v1/files/pics/{id}/{cover}"),
            None,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.bytes().await.unwrap().as_ref(), PNG);
}

#[tokio::test]
async fn refused_uploads_leave_no_blob_and_no_record() {
    let (app, token) = setup().await;
    // Too large for `cover` (2000 bytes): 413, nothing stored.
    let big = Part::bytes([PNG, &vec![0u8; 5000][..]].concat()).file_name("big.png");
    let (status, body) = send(
        &app,
        Method::POST,
        "/api/v1/pics",
        &token,
        Form::new().part("cover", big),
    )
    .await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["code"], "payload_too_large");
    // Not a PNG, whatever its name and declared type say: 422 file_type_not_allowed.
    let html = Part::bytes(b"<html><script>alert(1)</script></html>".to_vec())
        .file_name("cat.png")
        .mime_str("image/png")
        .unwrap();
    let (status, body) = send(
        &app,
        Method::POST,
        "/api/v1/pics",
        &token,
        Form::new().part("cover", html),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["code"], "file_type_not_allowed", "{body}");
    // Four files for a three-file field.
    let mut form = Form::new();
    for i in 0..4 {
        form = form.part("docs", png(&format!("{i}.png")));
    }
    let (status, body) = send(&app, Method::POST, "/api/v1/pics", &token, form).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["code"], "too_many_files");
    // A file part for a field that is not a file field, and an invalid value beside a
    // good file: the file goes with the refused write.
    let (status, _) = send(
        &app,
        Method::POST,
        "/api/v1/pics",
        &token,
        Form::new().part("title", png("x.png")),
    )
    .await;
    assert_eq!(status, 422);
    let (status, body) = send(
        &app,
        Method::POST,
        "/api/v1/pics",
        &token,
        Form::new()
            .text("views", "many")
            .part("cover", png("ok.png")),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(blobs(&app).is_empty(), "left behind: {:?}", blobs(&app));
    let list: Value = app
        .req(Method::GET, "/api/v1/pics", None)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    // Anonymous callers may not create: refused before anything is stored.
    let r = app
        .req(Method::POST, "/api/v1/pics", None)
        .multipart(Form::new().part("cover", png("anon.png")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(blobs(&app).is_empty());
}

#[tokio::test]
async fn a_json_body_cannot_adopt_a_blob_it_did_not_upload() {
    let (app, token) = setup().await;
    let (status, first) = send(
        &app,
        Method::POST,
        "/api/v1/pics",
        &token,
        Form::new().part("cover", png("a.png")),
    )
    .await;
    assert_eq!(status, 201);
    let name = first["cover"].as_str().unwrap();
    // Another record naming the first one's file.
    let r = app
        .req(Method::POST, "/api/v1/pics", Some(&token))
        .json(&json!({"cover": name}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "file_not_found");
    // Keeping its own file in a JSON PATCH is fine.
    let id = first["id"].as_str().unwrap();
    let r = app
        .req(Method::PATCH, &format!("/api/v1/pics/{id}"), Some(&token))
        .json(&json!({"title": "kept", "cover": name}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn replaced_removed_and_deleted_files_are_queued_in_the_writes_transaction() {
    let (app, token) = setup().await;
    let form = Form::new()
        .part("cover", png("a.png"))
        .part("docs", png("d1.png"))
        .part("docs", png("d2.png"));
    let (status, rec) = send(&app, Method::POST, "/api/v1/pics", &token, form).await;
    assert_eq!(status, 201, "{rec}");
    let id = rec["id"].as_str().unwrap().to_owned();
    let old_cover = rec["cover"].as_str().unwrap().to_owned();
    let docs: Vec<String> = rec["docs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap().to_owned())
        .collect();
    // PATCH: a new cover replaces the old; one doc appended, one removed.
    let form = Form::new()
        .part("cover", png("b.png"))
        .part("docs+", png("d3.png"))
        .text("docs-", docs[0].clone());
    let (status, after) = send(
        &app,
        Method::PATCH,
        &format!("/api/v1/pics/{id}"),
        &token,
        form,
    )
    .await;
    assert_eq!(status, 200, "{after}");
    assert_ne!(after["cover"], rec["cover"]);
    let now: Vec<&str> = after["docs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert_eq!(now.len(), 2);
    assert_eq!(now[0], docs[1]);
    // The queue's worker may already have removed them: the blobs are gone or queued.
    let gone_or_queued = |key: &str, queued: &[String], blobs: &[String]| {
        let rel = key.strip_prefix("pics/").unwrap();
        queued.iter().any(|q| q == key) || !blobs.iter().any(|b| b == rel)
    };
    for _ in 0..50 {
        let (q, b) = (queued(&app).await, blobs(&app));
        let old = [
            format!("pics/{id}/{old_cover}"),
            format!("pics/{id}/{}", docs[0]),
        ];
        if old.iter().all(|k| gone_or_queued(k, &q, &b)) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let b = blobs(&app);
    assert!(
        !b.contains(&format!("{id}/{old_cover}"))
            || queued(&app)
                .await
                .contains(&format!("pics/{id}/{old_cover}"))
    );
    assert!(
        b.contains(&format!("{id}/{}", after["cover"].as_str().unwrap())),
        "{b:?}"
    );
    // Deleting the record queues every file it holds.
    let r = app
        .req(Method::DELETE, &format!("/api/v1/pics/{id}"), Some(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    // The worker removes each blob, then its row.
    let (mut left, mut rows) = (blobs(&app), queued(&app).await);
    for _ in 0..100 {
        (left, rows) = (blobs(&app), queued(&app).await);
        if left.is_empty() && rows.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(left.is_empty(), "the deletion worker leaves {left:?}");
    assert!(rows.is_empty(), "still queued: {rows:?}");
}
