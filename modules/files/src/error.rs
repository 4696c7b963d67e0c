//! How a store operation fails, in the terms the HTTP layer answers with: `TooLarge`
//! is 413, `NotFound` 404, `RangeNotSatisfiable` 416, `Unavailable` 503, `Full` 507,
//! and the rest 500 (with the cause in the log).

use crate::key::KeyError;

/// An error from the stream of bytes handed to `put` (a client that went away, a
/// body read timeout), kept as it was.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The content passed `max_bytes`; nothing was kept.
    #[error("the file is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("no blob at {key}")]
    NotFound { key: String },
    #[error(transparent)]
    InvalidKey(#[from] KeyError),
    /// The range starts at or past the end of a blob of `size` bytes (or is empty).
    #[error("the requested range is outside the blob's {size} bytes")]
    RangeNotSatisfiable { size: u64 },
    /// The stream given to `put` failed; nothing was kept.
    #[error("the upload stream failed: {0}")]
    Source(#[source] BoxError),
    /// The S3 service could not be reached, timed out, or answered with a server error
    /// after the client's retries: the request may succeed later.
    #[error("the file store is unavailable: {0}")]
    Unavailable(String),
    /// The disk (or quota) holding local files is full.
    #[error("the disk holding the files is full; free space, then retry")]
    Full,
    #[error("file storage error: {0}")]
    Io(#[source] std::io::Error),
    /// An S3 error that is not about availability (refused credentials, a missing
    /// bucket, a malformed answer): retrying will not help until the cause is fixed.
    #[error("S3 error: {0}")]
    Backend(String),
}

impl StoreError {
    /// True for failures worth retrying later without changing anything: the store
    /// was unreachable, or the disk was full.
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Unavailable(_) | StoreError::Full)
    }
}

impl From<std::io::Error> for StoreError {
    fn from(err: std::io::Error) -> Self {
        match err.kind() {
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => StoreError::Full,
            _ => StoreError::Io(err),
        }
    }
}
