//! Stores, streams and databases for the tests.

use bytes::Bytes;
use files::{BlobKey, BlobStore};
use futures_util::{Stream, StreamExt, TryStreamExt};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use storage::{Db, Migration, StorageConfig};
use tempfile::TempDir;

pub const DELETIONS_SQL: &str = include_str!("../../../../migrations/0010_file_deletions.sql");

pub const MIGRATIONS: &[Migration] = &[Migration {
    version: 10,
    name: "file_deletions",
    sql: DELETIONS_SQL,
}];

pub const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";

/// A local store under a fresh directory (its root is `dir/files`).
pub fn local() -> (TempDir, BlobStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::local(dir.path().join("files")).unwrap();
    (dir, store)
}

pub fn root(dir: &TempDir) -> std::path::PathBuf {
    dir.path().join("files")
}

pub fn key(s: &str) -> BlobKey {
    BlobKey::parse(s).unwrap()
}

/// Deterministic bytes that are not all alike, so a misplaced chunk shows.
pub fn content(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[2] ^ seed)
        .collect()
}

pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `data` as a stream of `chunk`-byte chunks.
pub fn chunked(
    data: &[u8],
    chunk: usize,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    let chunks: Vec<Bytes> = data.chunks(chunk).map(Bytes::copy_from_slice).collect();
    futures_util::stream::iter(chunks.into_iter().map(Ok))
}

/// `chunked`, counting how many chunks were taken from it.
pub fn counted(
    data: &[u8],
    chunk: usize,
) -> (
    Arc<AtomicUsize>,
    impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
) {
    let taken = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&taken);
    let stream = chunked(data, chunk).inspect(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    (taken, stream)
}

pub async fn read_all(store: &BlobStore, key: &BlobKey) -> Vec<u8> {
    let fetched = store.get(key, None).await.unwrap();
    collect(fetched.stream).await
}

pub async fn collect(stream: files::ByteStream) -> Vec<u8> {
    let chunks: Vec<Bytes> = stream.try_collect().await.unwrap();
    chunks.concat()
}

/// Every file under `dir` but dot-files (the store's locks), recursively, as paths
/// relative to it.
pub fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            {
                // The store's lock files (`.backup-gate.lock`, `.deleting.lock`): no blob.
            } else {
                out.push(
                    path.strip_prefix(dir)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    out.sort();
    out
}

pub fn tmp_files(dir: &TempDir) -> Vec<String> {
    files_under(&root(dir).join(".tmp"))
}

pub fn open_db(dir: &TempDir) -> Db {
    Db::open(StorageConfig::new(dir.path().join("hearth.db")), MIGRATIONS).unwrap()
}

/// Polls `check` every 20 ms until it holds, for at most `secs` seconds.
pub async fn eventually(secs: u64, what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("not within {secs} s: {what}");
}
