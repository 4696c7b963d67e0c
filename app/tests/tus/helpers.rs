//! A tus client's requests, by hand, and a second `Uploads` on the app's database for
//! the library calls (`take`, `info`, `sweep_expired`).

use crate::common::{spawn_app_with, TestApp};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use files::tus::{UploadLimit, Uploads, UploadsConfig};
use reqwest::{Method, Response};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::Arc;

/// The file field's `max_size`.
pub const FIELD_MAX: u64 = 4_000_000;

pub struct Tus {
    pub app: TestApp,
    /// An ordinary user's token and id.
    pub token: String,
    pub user_id: String,
}

pub async fn setup() -> Tus {
    setup_with(|_| {}).await
}

/// The app with a `papers` collection (`attachment`: a file field, `title`: text) and a
/// user.
pub async fn setup_with(adjust: impl FnOnce(&mut UploadsConfig)) -> Tus {
    setup_config(|config| adjust(&mut config.uploads)).await
}

pub async fn setup_config(adjust: impl FnOnce(&mut hearth::Config)) -> Tus {
    let app = spawn_app_with(adjust).await;
    let admin = app.admin_token().await;
    let r = app
        .create_collection(
            &admin,
            json!({"name": "papers", "fields": [
                {"name": "title", "type": "text"},
                {"name": "attachment", "type": "file", "max_size": FIELD_MAX}],
                "rules": {"create": ["authenticated"]}}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let (user_id, token) = app.user_token("uploader@example.org", &[]).await;
    Tus {
        app,
        token,
        user_id,
    }
}

/// `Upload-Metadata` from pairs.
pub fn metadata(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k} {}", STANDARD.encode(v)))
        .collect::<Vec<_>>()
        .join(",")
}

pub fn for_attachment(filename: &str) -> String {
    metadata(&[
        ("collection", "papers"),
        ("field", "attachment"),
        ("filename", filename),
    ])
}

pub fn checksum(data: &[u8]) -> String {
    format!("sha256 {}", STANDARD.encode(Sha256::digest(data)))
}

pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Bytes that are not all alike, so a misplaced chunk shows.
pub fn content(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[2])
        .collect()
}

impl Tus {
    pub fn tus(&self, method: Method, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        self.app
            .req(method, path, token)
            .header("Tus-Resumable", "1.0.0")
    }

    pub async fn create_as(&self, token: &str, length: u64, metadata: &str) -> Response {
        self.tus(Method::POST, "/api/v1/uploads", Some(token))
            .header("Upload-Length", length.to_string())
            .header("Upload-Metadata", metadata)
            .send()
            .await
            .unwrap()
    }

    /// Creates an upload for the file field; its path (`/api/v1/uploads/{id}`).
    pub async fn create(&self, length: u64) -> String {
        let r = self
            .create_as(&self.token, length, &for_attachment("report.pdf"))
            .await;
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        assert_eq!(r.headers()["tus-resumable"], "1.0.0");
        // Only unfinished uploads expire.
        assert_eq!(r.headers().contains_key("upload-expires"), length > 0);
        r.headers()["location"].to_str().unwrap().to_owned()
    }

    pub async fn patch(&self, path: &str, offset: u64, data: &[u8], sum: Option<&str>) -> Response {
        let mut req = self
            .tus(Method::PATCH, path, Some(&self.token))
            .header("Content-Type", "application/offset+octet-stream")
            .header("Upload-Offset", offset.to_string())
            .body(data.to_vec());
        if let Some(sum) = sum {
            req = req.header("Upload-Checksum", sum);
        }
        req.send().await.unwrap()
    }

    pub async fn head_as(&self, path: &str, token: &str) -> Response {
        self.tus(Method::HEAD, path, Some(token))
            .send()
            .await
            .unwrap()
    }

    /// The upload's `Upload-Offset` by HEAD.
    pub async fn offset(&self, path: &str) -> u64 {
        let r = self.head_as(path, &self.token).await;
        assert_eq!(r.status(), 200);
        r.headers()["upload-offset"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap()
    }

    pub fn staged(&self, path: &str) -> PathBuf {
        let id = path.rsplit('/').next().unwrap();
        self.app.data_dir.path().join("uploads").join(id)
    }

    /// A second `Uploads` on the same database and directories, for the library calls.
    pub fn library(&self) -> Uploads {
        let dir = self.app.data_dir.path();
        let store = files::BlobStore::local(dir.join("files")).unwrap();
        let limit: UploadLimit = Arc::new(|_, _, _| Some(FIELD_MAX));
        Uploads::open(
            self.app.db.clone(),
            store,
            dir,
            UploadsConfig {
                sweep_every: std::time::Duration::from_secs(3600),
                ..UploadsConfig::default()
            },
            limit,
        )
        .unwrap()
    }
}

pub fn id_of(path: &str) -> &str {
    path.rsplit('/').next().unwrap()
}
