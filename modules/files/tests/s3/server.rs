//! Finding or starting the S3 server, and plain-HTTP helpers that look at the bucket
//! from outside the store (moto accepts unsigned requests).

use files::{BlobStore, FilesBackend, FilesConfig};
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// moto refuses anonymous reads of objects (as S3 would) but checks no signature:
/// any Authorization header passes.
const MOTO_ANY_SIGNATURE: &str =
    "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0";

pub struct S3Server {
    pub url: String,
    /// Ours to stop; `None` for a server named by HEARTH_TEST_S3_URL.
    child: Option<Child>,
    _log: Option<tempfile::NamedTempFile>,
}

impl S3Server {
    /// HEARTH_TEST_S3_URL if set, else a moto_server started on a free port; `None`
    /// (with a notice that bypasses the test harness's capture) if there is neither.
    pub fn start() -> Option<S3Server> {
        if let Ok(url) = std::env::var("HEARTH_TEST_S3_URL") {
            return Some(S3Server {
                url: url.trim_end_matches('/').to_string(),
                child: None,
                _log: None,
            });
        }
        let Some(moto) = find_moto_server() else {
            let _ = writeln!(
                std::io::stderr(),
                "\n!!! SKIPPED the S3 tests of hearth-files: HEARTH_TEST_S3_URL is not set and no moto_server \
                 was found (HEARTH_TEST_MOTO_SERVER, .venv/files/bin/moto_server, PATH).\n!!! Run \
                 ops/files/s3_test.sh, or ops/files/moto.sh venv once, to test the S3 backend.\n"
            );
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = tempfile::NamedTempFile::new().unwrap();
        let child = Command::new(&moto)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log.reopen().unwrap())
            .stderr(log.reopen().unwrap())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {}: {err}", moto.display()));
        let mut server = S3Server {
            url: format!("http://127.0.0.1:{port}"),
            child: Some(child),
            _log: Some(log),
        };
        server.wait_ready();
        Some(server)
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let addr = self.url.trim_start_matches("http://").to_string();
        while Instant::now() < deadline {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().unwrap()) {
                panic!("moto_server exited with {status}: {}", self.log_tail());
            }
            if std::net::TcpStream::connect(&addr).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "moto_server did not listen within 30 s: {}",
            self.log_tail()
        );
    }

    fn log_tail(&self) -> String {
        let Some(log) = &self._log else {
            return String::new();
        };
        let text = std::fs::read_to_string(log.path()).unwrap_or_default();
        text.chars()
            .rev()
            .take(2000)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect()
    }

    /// A new empty bucket, and a store on it.
    pub async fn bucket(&self, name: &str) -> (String, BlobStore) {
        let bucket = format!("{name}-{}", uuid::Uuid::now_v7().simple());
        let status = reqwest::Client::new()
            .put(format!("{}/{bucket}", self.url))
            .send()
            .await
            .unwrap()
            .status();
        assert!(status.is_success(), "creating bucket {bucket}: {status}");
        (bucket.clone(), store_at(&self.url, &bucket))
    }

    /// Multipart uploads started and neither completed nor aborted.
    pub async fn open_uploads(&self, bucket: &str) -> usize {
        let body = reqwest::Client::new()
            .get(format!("{}/{bucket}?uploads", self.url))
            .header("authorization", MOTO_ANY_SIGNATURE)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(body.contains("ListMultipartUploadsResult"), "{body}");
        body.matches("<Upload>").count()
    }

    /// The Content-Type S3 serves the object with.
    pub async fn content_type(&self, bucket: &str, key: &str) -> String {
        let response = reqwest::Client::new()
            .head(format!("{}/{bucket}/{key}", self.url))
            .header("authorization", MOTO_ANY_SIGNATURE)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{}", response.status());
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_string()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A store as the app would open it, with the secret in a file.
pub fn store_at(url: &str, bucket: &str) -> BlobStore {
    let secret = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(secret.path(), "testing-secret\n").unwrap();
    let config = FilesConfig {
        files_backend: FilesBackend::S3,
        s3_endpoint: Some(url.to_string()),
        s3_bucket: Some(bucket.to_string()),
        s3_region: Some("us-east-1".into()),
        s3_access_key_id: Some("testing".into()),
        s3_secret_access_key_file: Some(secret.path().to_path_buf()),
        s3_path_style: true,
        ..FilesConfig::default()
    };
    let data_dir = std::env::temp_dir();
    BlobStore::open(&config, &data_dir).unwrap()
}

fn find_moto_server() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("HEARTH_TEST_MOTO_SERVER") {
        return Some(PathBuf::from(path));
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/files/bin/moto_server");
    if venv.is_file() {
        return Some(venv);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("moto_server"))
        .find(|p| p.is_file())
}
