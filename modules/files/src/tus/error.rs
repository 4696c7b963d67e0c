//! How an upload request fails, and the problem each failure is answered with.

use crate::error::StoreError;
use kernel::{FieldError, Problem, ProblemCode};
use storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// No such upload, or not the caller's (404 either way, so ids do not leak).
    #[error("no such upload")]
    NotFound,
    #[error("the upload expired")]
    Expired,
    #[error("Upload-Offset is {sent}, but the upload is at {current}")]
    OffsetMismatch { current: u64, sent: u64 },
    #[error("the upload may be at most {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("the chunk's SHA-256 does not match Upload-Checksum")]
    ChecksumMismatch,
    /// The caller has `UploadsConfig::max_unfinished_per_user` unfinished uploads.
    #[error("you have {limit} unfinished uploads, the most one user may have; finish or DELETE some first")]
    TooMany { limit: u64 },
    /// Another request holds the upload (a PATCH still running).
    #[error("another request is writing this upload; retry shortly")]
    Busy,
    #[error("{0}")]
    BadRequest(String),
    /// `Upload-Metadata` names no file field it may be attached to.
    #[error("the upload's metadata is invalid")]
    Invalid(Vec<FieldError>),
    /// The body stopped before its end (the client went away, or sent nothing for
    /// the body read timeout); what arrived was kept unless a checksum was given.
    #[error("the request body failed: {0}")]
    Body(std::io::Error),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("staging file error: {0}")]
    Io(#[from] std::io::Error),
}

impl From<rusqlite::Error> for UploadError {
    fn from(e: rusqlite::Error) -> Self {
        UploadError::Storage(e.into())
    }
}

impl From<UploadError> for Problem {
    fn from(e: UploadError) -> Problem {
        let with =
            |code: ProblemCode, e: &UploadError| Problem::new(code).with_detail(e.to_string());
        match e {
            UploadError::NotFound => Problem::not_found().with_detail("no upload with this id"),
            UploadError::Expired => with(ProblemCode::UploadExpired, &e),
            UploadError::OffsetMismatch { .. } => with(ProblemCode::UploadOffsetMismatch, &e),
            UploadError::TooLarge { .. } => with(ProblemCode::PayloadTooLarge, &e),
            UploadError::ChecksumMismatch => with(ProblemCode::ChecksumMismatch, &e),
            UploadError::Busy | UploadError::TooMany { .. } => with(ProblemCode::Conflict, &e),
            UploadError::BadRequest(detail) => {
                Problem::new(ProblemCode::BadRequest).with_detail(detail)
            }
            UploadError::Invalid(errors) => Problem::validation(errors),
            UploadError::Body(ref io) if io.kind() == std::io::ErrorKind::TimedOut => {
                with(ProblemCode::RequestTimeout, &e)
            }
            UploadError::Body(_) => with(ProblemCode::BadRequest, &e),
            UploadError::Storage(s) => s.into(),
            UploadError::Io(io) => store_problem(StoreError::from(io)),
        }
    }
}

/// Why `Uploads::take` did not store the upload.
#[derive(Debug, thiserror::Error)]
pub enum TakeError {
    /// No such upload of this owner (or it expired).
    #[error("no such upload")]
    NotFound,
    /// The upload has not received all its bytes yet.
    #[error("the upload is not finished: {offset} of {length} bytes arrived")]
    NotFinished { offset: u64, length: u64 },
    /// Another request holds the upload.
    #[error("another request is using this upload; retry shortly")]
    Busy,
    /// The staged bytes no longer hash to what was received (the disk changed them).
    #[error("the staged upload is damaged: {0}")]
    Corrupt(String),
    /// From `BlobStore::put`: `TooLarge` past `max_bytes`, `Unavailable`, `Full`, ….
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("staging file error: {0}")]
    Io(#[from] std::io::Error),
}

impl From<rusqlite::Error> for TakeError {
    fn from(e: rusqlite::Error) -> Self {
        TakeError::Storage(e.into())
    }
}

impl From<TakeError> for Problem {
    fn from(e: TakeError) -> Problem {
        match e {
            TakeError::NotFound => Problem::not_found().with_detail("no upload with this id"),
            TakeError::NotFinished { .. } | TakeError::Busy => {
                Problem::new(ProblemCode::Conflict).with_detail(e.to_string())
            }
            TakeError::Store(s) => store_problem(s),
            TakeError::Storage(s) => s.into(),
            TakeError::Io(io) => store_problem(StoreError::from(io)),
            TakeError::Corrupt(_) => Problem::internal(),
        }
    }
}

/// A store failure as the client sees it: a full disk 507, an unreachable store 503
/// (retry), too large 413; the rest are the server's own trouble (500, cause logged).
fn store_problem(e: StoreError) -> Problem {
    match e {
        StoreError::TooLarge { limit } => Problem::new(ProblemCode::PayloadTooLarge)
            .with_detail(format!("the file may be at most {limit} bytes")),
        StoreError::Full => Problem::new(ProblemCode::InsufficientStorage),
        StoreError::Unavailable(_) => Problem::new(ProblemCode::Unavailable)
            .with_detail("the file store cannot be reached; try again")
            .with_retry_after(5),
        other => {
            tracing::error!(error = %other, "tus upload storage failed");
            Problem::internal()
        }
    }
}
