//! The local backend: one file per blob under the root (`<data_dir>/files/`), its path
//! the key's segments (already checked by `BlobKey`, so none can leave the root).
//!
//! A put streams to `.tmp/<uuid>` on a blocking thread, fsyncs it, renames it into
//! place and fsyncs the directory (and any directory it had to create, in its parent):
//! after a crash a blob is either whole under its key or not there at all, and the
//! temporary file is removed at the next open.

use crate::error::StoreError;
use crate::ingest::{Body, Ingest};
use crate::key::BlobKey;
use crate::store::{BlobMeta, ByteRange, Fetched};
use bytes::{Bytes, BytesMut};
use futures_util::stream::{self, BoxStream};
use futures_util::StreamExt;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::mpsc;

/// The temporary directory under the root; no key can name it (segments never start
/// with `.`).
const TMP_DIR: &str = ".tmp";

/// Chunks queued for the writer thread: bounds memory to this many chunks per upload.
const WRITE_QUEUE_CHUNKS: usize = 8;

/// Bytes per chunk of a `get` stream.
const READ_CHUNK_BYTES: usize = 256 * 1024;

/// Blobs queued by `list` before the walk waits for the reader.
const LIST_QUEUE: usize = 256;

/// A rename can find its directory just removed by a `delete` that emptied it: the
/// directories are made again this many times before giving up.
const RENAME_ATTEMPTS: usize = 5;

pub(crate) struct LocalStore {
    root: PathBuf,
    tmp: PathBuf,
}

enum WriteMsg {
    Chunk(Bytes),
    Commit,
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
        let (tx, rx) = mpsc::channel(WRITE_QUEUE_CHUNKS);
        let job = WriteJob {
            root: self.root.clone(),
            tmp: self.tmp.join(uuid::Uuid::now_v7().to_string()),
            key: key.clone(),
        };
        // The writer owns the temporary file: if this future is dropped, the channel
        // closes without a Commit and the writer removes the file by itself.
        let writer = tokio::task::spawn_blocking(move || job.run(rx));
        let streamed: Result<(), StoreError> = async {
            while let Some(chunk) = ingest.next(body).await? {
                if tx.send(WriteMsg::Chunk(chunk)).await.is_err() {
                    // The writer stopped on an error; it is reported below.
                    return Ok(());
                }
            }
            let _ = tx.send(WriteMsg::Commit).await;
            Ok(())
        }
        .await;
        drop(tx);
        let written = writer
            .await
            .map_err(|err| StoreError::Io(io::Error::other(err.to_string())))?;
        streamed?;
        match written {
            Ok(true) => Ok(()),
            Ok(false) => Err(StoreError::Io(io::Error::other(
                "the upload ended before it was committed",
            ))),
            Err(err) => Err(err.into()),
        }
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
    pub(crate) async fn delete(&self, key: &BlobKey) -> Result<bool, StoreError> {
        let path = self.path_of(key);
        let root = self.root.clone();
        let removed = tokio::task::spawn_blocking(move || -> io::Result<bool> {
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

/// One upload on the blocking pool: the temporary file and where it goes.
struct WriteJob {
    root: PathBuf,
    tmp: PathBuf,
    key: BlobKey,
}

impl WriteJob {
    /// `Ok(true)` once the blob is in place and durable; `Ok(false)` when the channel
    /// closed without a Commit (the upload failed or was dropped). Anything but
    /// `Ok(true)` leaves no temporary file.
    fn run(self, rx: mpsc::Receiver<WriteMsg>) -> io::Result<bool> {
        let result = self.write(rx);
        if !matches!(result, Ok(true)) {
            if let Err(err) = fs::remove_file(&self.tmp) {
                if err.kind() != io::ErrorKind::NotFound {
                    tracing::warn!(path = %self.tmp.display(), error = %err, "could not remove a temporary upload file");
                }
            }
        }
        result
    }

    fn write(&self, mut rx: mpsc::Receiver<WriteMsg>) -> io::Result<bool> {
        let mut file = create_private(&self.tmp)?;
        loop {
            match rx.blocking_recv() {
                Some(WriteMsg::Chunk(chunk)) => file.write_all(&chunk)?,
                Some(WriteMsg::Commit) => break,
                None => return Ok(false),
            }
        }
        file.sync_all()?;
        drop(file);
        self.move_into_place()?;
        Ok(true)
    }

    fn move_into_place(&self) -> io::Result<()> {
        let segments: Vec<&str> = self.key.segments().collect();
        let (name, dirs) = segments.split_last().expect("a key has a segment");
        let mut attempt = 0;
        loop {
            attempt += 1;
            let dir = make_dirs(&self.root, dirs)?;
            match fs::rename(&self.tmp, dir.join(name)) {
                Ok(()) => return sync_dir(&dir),
                Err(err) if err.kind() == io::ErrorKind::NotFound && attempt < RENAME_ATTEMPTS => {}
                Err(err) => return Err(err),
            }
        }
    }
}

/// Creates the missing directories of `dirs` under `root`, fsyncing each parent that
/// gained one, and returns the last.
fn make_dirs(root: &Path, dirs: &[&str]) -> io::Result<PathBuf> {
    let mut path = root.to_path_buf();
    for dir in dirs {
        let parent = path.clone();
        path.push(dir);
        match private_dir_once(&path) {
            Ok(()) => sync_dir(&parent)?,
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
            Err(err) => return Err(err),
        }
    }
    Ok(path)
}

fn private_dir_once(path: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(storage::private_files::DIR_MODE);
    }
    builder.create(path)
}

fn create_private(path: &Path) -> io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(storage::private_files::FILE_MODE);
    }
    options.open(path)
}

/// Makes a directory's entries (a rename, a new subdirectory) durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

/// NotFound, or NotADirectory: a key whose parent is a file names nothing.
fn is_missing(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

/// Sends every regular file under `start` (skipping the root's `.tmp/` and anything
/// whose path is not a valid key) until the receiver goes away.
fn walk(
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
