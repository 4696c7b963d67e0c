//! `BlobStore`: the one handle the rest of Hearth uses for blobs, whichever backend
//! holds them. It checks what is common (limits, hashing, sniffing, metrics, range
//! resolution) once, here, and leaves the backends only the storing.

use crate::config::{ConfigError, FilesBackend, FilesConfig};
use crate::error::{BoxError, StoreError};
use crate::ingest::{Body, Ingest, Stored};
use crate::key::BlobKey;
use crate::local::LocalStore;
use crate::metrics::{FilesMetrics, UploadOutcome};
use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt, TryStreamExt};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

/// A blob's bytes, as `get` hands them out.
pub type ByteStream = BoxStream<'static, Result<Bytes, StoreError>>;

/// Which bytes of a blob `get` returns: HTTP's three forms of one range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ByteRange {
    /// `start..end` (end exclusive; `bytes=a-b` is `a..b+1`). An end past the blob is
    /// cut to the blob's end.
    Bounded(Range<u64>),
    /// From `start` to the end (`bytes=a-`).
    From(u64),
    /// The last `n` bytes, or all of a shorter blob (`bytes=-n`).
    Suffix(u64),
}

impl ByteRange {
    /// The bytes of a blob of `size` bytes this range selects, or `RangeNotSatisfiable`
    /// when it selects none (starts at or past the end, is empty, or the blob is).
    pub fn resolve(&self, size: u64) -> Result<Range<u64>, StoreError> {
        let unsatisfiable = || StoreError::RangeNotSatisfiable { size };
        match *self {
            ByteRange::Bounded(ref r) if r.start < r.end && r.start < size => {
                Ok(r.start..r.end.min(size))
            }
            ByteRange::From(start) if start < size => Ok(start..size),
            ByteRange::Suffix(n) if n > 0 && size > 0 => Ok(size.saturating_sub(n)..size),
            _ => Err(unsatisfiable()),
        }
    }
}

/// What `get` returns.
pub struct Fetched {
    /// The whole blob's size (for `Content-Range: bytes a-b/size`).
    pub size: u64,
    /// The bytes `stream` yields, within `0..size`.
    pub range: Range<u64>,
    pub last_modified: SystemTime,
    pub stream: ByteStream,
}

impl std::fmt::Debug for Fetched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetched")
            .field("size", &self.size)
            .field("range", &self.range)
            .field("last_modified", &self.last_modified)
            .finish_non_exhaustive()
    }
}

/// One blob as `head` and `list` describe it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobMeta {
    pub key: BlobKey,
    pub size: u64,
    /// When it was written (the local file's mtime, S3's Last-Modified).
    pub last_modified: SystemTime,
}

/// Why `BlobStore::open` failed.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The blob store. Cheap to clone; clones share the backend and the metrics.
#[derive(Clone)]
pub struct BlobStore {
    backend: Arc<Backend>,
    metrics: Arc<FilesMetrics>,
}

enum Backend {
    Local(LocalStore),
    #[cfg(feature = "s3")]
    S3(crate::s3::S3Store),
}

impl BlobStore {
    /// The store `config` names: `local` under `<data_dir>/files/`, or `s3`. Validates
    /// the configuration first. Does blocking file I/O (creating the directories,
    /// clearing temporary files a crash left): call it at start-up. Opening S3 makes
    /// no request; `probe` checks that the bucket answers.
    pub fn open(config: &FilesConfig, data_dir: &Path) -> Result<BlobStore, OpenError> {
        config.validate()?;
        match config.files_backend {
            FilesBackend::Local => Ok(BlobStore::local(data_dir.join("files"))?),
            FilesBackend::S3 => {
                #[cfg(feature = "s3")]
                {
                    let settings = config.s3_settings()?;
                    Ok(BlobStore::s3(&settings)?)
                }
                #[cfg(not(feature = "s3"))]
                Err(OpenError::Config(ConfigError(
                    "files_backend is \"s3\" but this build of hearth has no S3 support; build it with the `s3` feature of hearth-files".into(),
                )))
            }
        }
    }

    /// A local store whose blobs live under `root` (the app passes
    /// `<data_dir>/files`), with its temporary files in `root/.tmp/`. The directory
    /// must belong to this process alone (the app's data directory lock sees to
    /// that): temporary files found there at open are a crash's leftovers, removed.
    pub fn local(root: impl Into<PathBuf>) -> Result<BlobStore, StoreError> {
        Ok(BlobStore::with_backend(Backend::Local(LocalStore::open(
            root.into(),
        )?)))
    }

    /// An S3 store from validated settings (`FilesConfig::s3_settings`).
    #[cfg(feature = "s3")]
    pub fn s3(settings: &crate::config::S3Settings) -> Result<BlobStore, StoreError> {
        Ok(BlobStore::with_backend(Backend::S3(
            crate::s3::S3Store::open(settings)?,
        )))
    }

    fn with_backend(backend: Backend) -> BlobStore {
        BlobStore {
            backend: Arc::new(backend),
            metrics: Arc::default(),
        }
    }

    pub fn backend(&self) -> FilesBackend {
        match &*self.backend {
            Backend::Local(_) => FilesBackend::Local,
            #[cfg(feature = "s3")]
            Backend::S3(_) => FilesBackend::S3,
        }
    }

    pub fn metrics(&self) -> &FilesMetrics {
        &self.metrics
    }

    /// Streams `body` into the blob `key`, replacing any blob there, and returns its
    /// size, SHA-256 and sniffed type. Memory stays bounded whatever the size (local:
    /// one chunk and its write in flight; S3: at most three 5 MiB parts).
    ///
    /// The blob is visible under `key` only once complete and durable (local: fsynced
    /// temporary file renamed into place, directory fsynced; S3: a single PUT, or a
    /// multipart upload that only appears when completed). On any failure nothing is
    /// left: the temporary file is removed, the multipart upload aborted.
    ///
    /// Fails with `TooLarge` as soon as the content passes `max_bytes` (the rest of
    /// `body` is not read), with `Source` when `body` yields an error, and with
    /// `Unavailable` when S3 cannot be reached. Dropping the future midway also
    /// leaves nothing (the removal or abort then finishes in the background).
    pub async fn put<S, E>(
        &self,
        key: &BlobKey,
        body: S,
        max_bytes: u64,
    ) -> Result<Stored, StoreError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: Into<BoxError>,
    {
        let mut body: Body<'_> = body.map_err(Into::into).boxed();
        let mut upload = UploadGuard::start(&self.metrics);
        let mut ingest = Ingest::new(max_bytes, &self.metrics);
        let result = match &*self.backend {
            Backend::Local(local) => local.put(key, &mut body, &mut ingest).await,
            #[cfg(feature = "s3")]
            Backend::S3(s3) => s3.put(key, &mut body, &mut ingest).await,
        };
        upload.end(match &result {
            Ok(()) => UploadOutcome::Stored,
            Err(StoreError::TooLarge { .. }) => UploadOutcome::TooLarge,
            Err(_) => UploadOutcome::Failed,
        });
        result.map(|()| ingest.finish())
    }

    /// The blob's bytes, all of them or `range`. `NotFound` for a missing blob,
    /// `RangeNotSatisfiable` (with the size, for a 416's `Content-Range`) for a range
    /// that selects nothing.
    pub async fn get(
        &self,
        key: &BlobKey,
        range: Option<ByteRange>,
    ) -> Result<Fetched, StoreError> {
        let mut fetched = match &*self.backend {
            Backend::Local(local) => local.get(key, range).await?,
            #[cfg(feature = "s3")]
            Backend::S3(s3) => s3.get(key, range).await?,
        };
        let metrics = Arc::clone(&self.metrics);
        fetched.stream = fetched
            .stream
            .inspect_ok(move |chunk| metrics.add_read(chunk.len() as u64))
            .boxed();
        Ok(fetched)
    }

    /// Size and time of the blob, or `NotFound`.
    pub async fn head(&self, key: &BlobKey) -> Result<BlobMeta, StoreError> {
        match &*self.backend {
            Backend::Local(local) => local.head(key).await,
            #[cfg(feature = "s3")]
            Backend::S3(s3) => s3.head(key).await,
        }
    }

    /// Removes the blob. A missing blob is not an error (deleting twice is fine).
    pub async fn delete(&self, key: &BlobKey) -> Result<(), StoreError> {
        let removed = match &*self.backend {
            Backend::Local(local) => local.delete(key).await?,
            #[cfg(feature = "s3")]
            Backend::S3(s3) => s3.delete(key).await?,
        };
        if removed {
            self.metrics.blob_deleted();
        }
        Ok(())
    }

    /// Every blob whose key is `under` followed by `/` (or every blob, for `None`), in
    /// no particular order, read lazily. Objects whose names are not valid keys (put
    /// there by something else) are skipped.
    pub fn list(
        &self,
        under: Option<&BlobKey>,
    ) -> BoxStream<'static, Result<BlobMeta, StoreError>> {
        match &*self.backend {
            Backend::Local(local) => local.list(under),
            #[cfg(feature = "s3")]
            Backend::S3(s3) => s3.list(under),
        }
    }

    /// Whether the store answers now (for readiness): the local directory exists, or
    /// the bucket can be listed.
    pub async fn probe(&self) -> Result<(), StoreError> {
        match &*self.backend {
            Backend::Local(local) => local.probe().await,
            #[cfg(feature = "s3")]
            Backend::S3(s3) => s3.probe().await,
        }
    }
}

/// Counts an upload in progress until `end`, or as failed if the put future is
/// dropped first.
struct UploadGuard<'m> {
    metrics: &'m FilesMetrics,
    ended: bool,
}

impl<'m> UploadGuard<'m> {
    fn start(metrics: &'m FilesMetrics) -> Self {
        metrics.upload_started();
        UploadGuard {
            metrics,
            ended: false,
        }
    }

    fn end(&mut self, outcome: UploadOutcome) {
        self.ended = true;
        self.metrics.upload_ended(outcome);
    }
}

impl Drop for UploadGuard<'_> {
    fn drop(&mut self) {
        if !self.ended {
            self.metrics.upload_ended(UploadOutcome::Failed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_resolve_like_http() {
        let r = |range: ByteRange, size| range.resolve(size).ok();
        assert_eq!(r(ByteRange::Bounded(0..10), 100), Some(0..10));
        assert_eq!(r(ByteRange::Bounded(90..200), 100), Some(90..100));
        assert_eq!(r(ByteRange::Bounded(100..200), 100), None);
        assert_eq!(r(ByteRange::Bounded(5..5), 100), None);
        assert_eq!(r(ByteRange::From(99), 100), Some(99..100));
        assert_eq!(r(ByteRange::From(100), 100), None);
        assert_eq!(r(ByteRange::Suffix(10), 100), Some(90..100));
        assert_eq!(r(ByteRange::Suffix(500), 100), Some(0..100));
        assert_eq!(r(ByteRange::Suffix(0), 100), None);
        assert_eq!(r(ByteRange::Suffix(1), 0), None);
        assert!(matches!(
            ByteRange::From(0).resolve(0),
            Err(StoreError::RangeNotSatisfiable { size: 0 })
        ));
    }
}
