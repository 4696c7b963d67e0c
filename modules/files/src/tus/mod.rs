//! Resumable uploads by the tus 1.0 protocol (<https://tus.io/protocols/resumable-upload>):
//! core, creation, termination, expiration and checksum (sha256), served at
//! `/api/v1/uploads` and `/api/v1/uploads/{id}` by [`UploadsEndpoint`], for
//! authenticated callers only; an upload belongs to its creator (anyone else gets 404).
//!
//! ```text
//! let limit: UploadLimit = Arc::new(|caller, collection, field| max_size_for(caller, collection, field));
//! let uploads = Uploads::open(db, store, &data_dir, UploadsConfig::default(), limit)?;
//! let endpoint = UploadsEndpoint::new(uploads.clone());      // mounted inside /api/v1
//! // attaching a finished upload to a record:
//! let stored = uploads.take(&upload_id, &user_id, &key, field_max_size).await?;
//! ```
//!
//! - Creation needs `Upload-Length` (no deferred length) and `Upload-Metadata` naming
//!   the `collection` and `field` the file is for: the field's `max_size` (from the
//!   injected [`UploadLimit`]) and [`UploadsConfig::max_size`] bound the length (413).
//!   `filename` is kept as metadata.
//! - Bytes are staged on the local disk, `<data_dir>/uploads/<id>`, even when the blob
//!   store is S3 (staging.rs says why). Every PATCH fsyncs the file before it commits
//!   the new offset and answers it, so an acknowledged offset survives a crash; a PATCH
//!   cut off midway keeps what arrived (without a checksum), a checksum mismatch or a
//!   body past `Upload-Length` keeps nothing of that PATCH.
//! - Unfinished uploads expire [`UploadsConfig::ttl`] after their last chunk, finished
//!   ones that nobody attached that long after they finished; a background task
//!   removes expired uploads and staging files without a row.
//! - [`Uploads::take`] streams a finished upload into the [`BlobStore`](crate::BlobStore)
//!   and then forgets it; [`Uploads::info`] tells its file name and length.
//!
//! The table is `uploads` (`migrations/0011_uploads.sql`).

mod append;
mod config;
mod endpoint;
mod error;
mod expiry;
mod locks;
mod openapi;
mod protocol;
mod repo;
mod service;
mod staging;
mod take;

pub use config::{UploadsConfig, DEFAULT_MAX_SIZE};
pub use endpoint::UploadsEndpoint;
pub use error::{TakeError, UploadError};
pub use openapi::paths as openapi_paths;
pub use service::{UploadInfo, UploadLimit, Uploads};
