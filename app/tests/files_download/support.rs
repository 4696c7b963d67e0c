//! What the file download tests share: a collection with file fields, records whose
//! files are put straight into the server's store (their names written into the
//! record's column, as an upload leaves them: a JSON body may only name files a record
//! already holds), and small request helpers.
#![allow(dead_code)]

use super::common::TestApp;
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};

/// `albums`: public downloads, a one-file field with thumbnails and a list of files.
pub async fn albums_collection(app: &TestApp, admin: &str) {
    let resp = app
        .create_collection(
            admin,
            json!({"name": "albums", "fields": [
                {"name": "title", "type": "text"},
                {"name": "picture", "type": "file", "thumbs": ["50x50", "40x0", "0x30"]},
                {"name": "attachments", "type": "file", "max_files": 10}],
             "rules": {"list": ["public"], "view": ["public"], "create": ["authenticated"]}}),
        )
        .await;
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
}

/// Creates a record of `collection`, puts each `(name, bytes)` blob under it and makes
/// its file fields hold `files` (field → stored name, or a list of them); returns the
/// record id.
pub async fn record_with_files(
    app: &TestApp,
    token: &str,
    collection: &str,
    files: Value,
    blobs: &[(&str, Vec<u8>)],
) -> String {
    let resp = app
        .req(Method::POST, &format!("/api/v1/{collection}"), Some(token))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    let id = resp.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (name, bytes) in blobs {
        let key = files::BlobKey::for_file(collection, &id, name).unwrap();
        let body = futures_util::stream::once({
            let bytes = bytes.clone();
            async move { Ok::<_, std::io::Error>(bytes::Bytes::from(bytes)) }
        });
        app.files.put(&key, body, u64::MAX).await.unwrap();
    }
    for (field, value) in files.as_object().unwrap() {
        set_file_column(app, collection, &id, field, value.clone()).await;
    }
    id
}

/// Writes a file field's column as the record service stores it: the name, or the JSON
/// array of names.
pub async fn set_file_column(app: &TestApp, collection: &str, id: &str, field: &str, value: Value) {
    let sql = format!("UPDATE \"rec_{collection}\" SET \"{field}\" = ?1 WHERE id = ?2");
    let text = match value {
        Value::String(name) => name,
        list => list.to_string(),
    };
    let id = id.to_owned();
    let changed = app
        .db
        .write(move |c| {
            c.execute(&sql, rusqlite::params![text, id])
                .map_err(storage::StorageError::from)
        })
        .await
        .unwrap();
    assert_eq!(changed, 1);
}

pub fn png(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x * 7) as u8, (y * 13) as u8, ((x + y) * 3) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// Bytes no sniffer takes for anything (binary, no magic number).
pub fn noise(len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_u32;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8 | 0x80
        })
        .collect()
}

pub fn header<'h>(headers: &'h HeaderMap, name: &str) -> &'h str {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

pub async fn get(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = app.client.get(app.url(path));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.send().await.unwrap()
}

pub const BIG: &str = "data_abcdefghij.bin";
pub const BIG_SIZE: usize = 100_000;
