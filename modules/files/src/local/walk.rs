//! Listing the local store: a walk of the directory tree on the blocking pool.

use super::{is_missing, TMP_DIR};
use crate::error::StoreError;
use crate::key::BlobKey;
use crate::store::BlobMeta;
use std::fs;
use std::io;
use std::path::Path;
use tokio::sync::mpsc;

/// Sends every regular file under `start` (skipping the root's `.tmp/` and anything
/// whose path is not a valid key) until the receiver goes away.
pub(super) fn walk(
    root: &Path,
    start: &Path,
    tx: &mpsc::Sender<Result<BlobMeta, StoreError>>,
) -> io::Result<()> {
    let mut pending = vec![start.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(err) if is_missing(&err) => continue,
            Err(err) => return Err(err),
        };
        for entry in entries {
            let entry = entry?;
            let path = entry.path();
            let kind = entry.file_type()?;
            if kind.is_dir() {
                if path != root.join(TMP_DIR) {
                    pending.push(path);
                }
                continue;
            }
            if !kind.is_file() {
                continue; // symlinks and the like were not made by this store
            }
            let Some(key) = key_of(root, &path) else {
                continue;
            };
            let meta = match entry.metadata() {
                Ok(meta) => meta,
                Err(err) if is_missing(&err) => continue, // deleted meanwhile
                Err(err) => return Err(err),
            };
            let blob = BlobMeta {
                key,
                size: meta.len(),
                last_modified: meta.modified()?,
            };
            if tx.blocking_send(Ok(blob)).is_err() {
                return Ok(());
            }
        }
    }
    Ok(())
}

fn key_of(root: &Path, path: &Path) -> Option<BlobKey> {
    let relative = path.strip_prefix(root).ok()?;
    let mut key = String::new();
    for part in relative.components() {
        let std::path::Component::Normal(part) = part else {
            return None;
        };
        if !key.is_empty() {
            key.push('/');
        }
        key.push_str(part.to_str()?);
    }
    BlobKey::parse(&key).ok()
}
