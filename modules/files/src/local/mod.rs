//! The local backend: one file per blob under the root (`<data_dir>/files/`), its path
//! the key's segments (already checked by `BlobKey`, so none can leave the root).
//!
//! A put streams to `.tmp/<uuid>`, fsyncs it, renames it into place and fsyncs the
//! directory (and any directory it had to create, in its parent): after a crash a blob
//! is either whole under its key or not there at all, and the temporary file is
//! removed at the next open.

mod hold;
mod walk;
mod write;

use crate::error::StoreError;
use crate::ingest::{Body, Ingest};
use crate::key::BlobKey;
use crate::store::{BlobMeta, ByteRange, Fetched};
use bytes::BytesMut;
use futures_util::stream::{self, BoxStream};
use futures_util::StreamExt;
pub use hold::DeletionHold;
use std::fs;
use std::io;
use std::path::PathBuf;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio::sync::mpsc;
use walk::walk;
use write::{move_into_place, TempFile};

/// The temporary directory under the root; no key can name it (segments never start
/// with `.`).
pub(super) const TMP_DIR: &str = ".tmp";

/// Bytes per chunk of a `get` stream.
const READ_CHUNK_BYTES: usize = 256 * 1024;

/// Blobs queued by `list` before the walk waits for the reader.
const LIST_QUEUE: usize = 256;

pub(crate) struct LocalStore {
    root: PathBuf,
    tmp: PathBuf,
}

impl LocalStore {
    pub(crate) fn open(root: PathBuf) -> Result<LocalStore, StoreError> {
        storage::private_files::private_dir(&root)?;
        let tmp = root.join(TMP_DIR);
        storage::private_files::private_dir(&tmp)?;
        let mut removed = 0;
        for entry in fs::read_dir(&tmp)? {
            let entry = entry?;
            match fs::remove_file(entry.path()) {
                Ok(()) => removed += 1,
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) => return Err(err.into()),
            }
        }
        if removed > 0 {
            tracing::info!(removed, "removed unfinished uploads left by an earlier run");
        }
        Ok(LocalStore { root, tmp })
    }

    fn path_of(&self, key: &BlobKey) -> PathBuf {
        let mut path = self.root.clone();
        path.extend(key.segments());
        path
    }

    pub(crate) async fn put(
        &self,
        key: &BlobKey,
        body: &mut Body<'_>,
        ingest: &mut Ingest<'_>,
    ) -> Result<(), StoreError> {
        // The guard removes the temporary file on every way out but success, a
        // dropped future included, before `put` returns.
        let (temp, mut file) =
            TempFile::create(self.tmp.join(uuid::Uuid::now_v7().to_string())).await?;
        // tokio's file writes each chunk with a short blocking call: a slow client
        // holds no thread of the blocking pool while its next chunk is on the way.
        while let Some(chunk) = ingest.next(body).await? {
            file.write_all(&chunk).await?;
        }
        // Flushes the write still in flight, then fsyncs.
        file.sync_all().await?;
        drop(file);
        let (root, key) = (self.root.clone(), key.clone());
        let path = temp.path().to_path_buf();
        tokio::task::spawn_blocking(move || move_into_place(&root, &path, &key))
            .await
            .map_err(|err| StoreError::Io(io::Error::other(err.to_string())))??;
        temp.keep();
        Ok(())
    }

    pub(crate) async fn get(
        &self,
        key: &BlobKey,
        range: Option<ByteRange>,
    ) -> Result<Fetched, StoreError> {
        let not_found = || StoreError::NotFound {
            key: key.to_string(),
        };
        let mut file = match tokio::fs::File::open(self.path_of(key)).await {
            Ok(file) => file,
            Err(err) if is_missing(&err) => return Err(not_found()),
            Err(err) => return Err(err.into()),
        };
        let meta = file.metadata().await?;
        if !meta.is_file() {
            return Err(not_found());
        }
        let size = meta.len();
        let range = match range {
            Some(range) => range.resolve(size)?,
            None => 0..size,
        };
        if range.start > 0 {
            file.seek(io::SeekFrom::Start(range.start)).await?;
        }
        let remaining = range.end - range.start;
        let stream = stream::try_unfold((file, remaining), |(mut file, remaining)| async move {
            if remaining == 0 {
                return Ok(None);
            }
            let want = remaining.min(READ_CHUNK_BYTES as u64) as usize;
            let mut buf = BytesMut::with_capacity(want);
            while buf.len() < want {
                let n = (&mut file)
                    .take((want - buf.len()) as u64)
                    .read_buf(&mut buf)
                    .await?;
                if n == 0 {
                    return Err(StoreError::Io(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the file became shorter while it was read",
                    )));
                }
            }
            let got = buf.len() as u64;
            Ok(Some((buf.freeze(), (file, remaining - got))))
        });
        Ok(Fetched {
            size,
            range,
            last_modified: meta.modified()?,
            stream: stream.boxed(),
        })
    }

    pub(crate) async fn head(&self, key: &BlobKey) -> Result<BlobMeta, StoreError> {
        match tokio::fs::metadata(self.path_of(key)).await {
            Ok(meta) if meta.is_file() => Ok(BlobMeta {
                key: key.clone(),
                size: meta.len(),
                last_modified: meta.modified()?,
            }),
            Ok(_) => Err(StoreError::NotFound {
                key: key.to_string(),
            }),
            Err(err) if is_missing(&err) => Err(StoreError::NotFound {
                key: key.to_string(),
            }),
            Err(err) => Err(err.into()),
        }
    }

    /// Whether a file was removed. Directories the removal empties are removed too
    /// (up to the root), so deleted records leave no empty directories behind.
    /// Waits while a backup holds deletions (`DeletionHold`).
    pub(crate) async fn delete(&self, key: &BlobKey) -> Result<bool, StoreError> {
        let path = self.path_of(key);
        let root = self.root.clone();
        let permit = hold::delete_permit(&root).await?;
        let removed = tokio::task::spawn_blocking(move || -> io::Result<bool> {
            let _permit = permit;
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(err) if is_missing(&err) => return Ok(false),
                Err(err) => return Err(err),
            }
            // No fsync: a removal lost to a crash leaves an unreferenced blob, which
            // the orphan sweep removes.
            let mut dir = path.parent();
            while let Some(d) = dir.filter(|d| *d != root) {
                if fs::remove_dir(d).is_err() {
                    break; // not empty (or already gone): stop there.
                }
                dir = d.parent();
            }
            Ok(true)
        })
        .await
        .map_err(|err| StoreError::Io(io::Error::other(err.to_string())))??;
        Ok(removed)
    }

    pub(crate) fn list(
        &self,
        under: Option<&BlobKey>,
    ) -> BoxStream<'static, Result<BlobMeta, StoreError>> {
        let (tx, rx) = mpsc::channel(LIST_QUEUE);
        let root = self.root.clone();
        let start = under
            .map(|key| self.path_of(key))
            .unwrap_or_else(|| root.clone());
        tokio::task::spawn_blocking(move || {
            if let Err(err) = walk(&root, &start, &tx) {
                let _ = tx.blocking_send(Err(err.into()));
            }
        });
        stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        })
        .boxed()
    }

    pub(crate) async fn probe(&self) -> Result<(), StoreError> {
        let meta = tokio::fs::metadata(&self.tmp).await?;
        if !meta.is_dir() {
            return Err(StoreError::Io(io::Error::other(format!(
                "{} is not a directory",
                self.tmp.display()
            ))));
        }
        Ok(())
    }
}

/// NotFound, or NotADirectory: a key whose parent is a file names nothing.
pub(super) fn is_missing(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}
