//! Hearth's file storage, the foundation of file fields: blobs streamed into a local
//! directory or an S3 bucket with bounded memory, their type sniffed from their bytes,
//! safe stored names, a durable queue of deletions written in the same transaction as
//! the record change, and a sweep for blobs nothing references.
//!
//! This crate knows nothing of collections or records: `resources` (file fields,
//! multipart), the tus endpoint, downloads and thumbnails are built on it.
//! (WIP: the full API guide follows.)

mod config;
mod deletions;
mod error;
mod ingest;
mod key;
mod local;
mod metrics;
mod names;
#[cfg(feature = "s3")]
mod s3;
mod sniff;
mod store;
mod sweep;

pub use config::{ConfigError, FilesBackend, FilesConfig, S3Settings, DEFAULT_S3_REGION};
pub use deletions::{enqueue_deletions, DeletionConfig, DeletionQueue, DeletionRound};
pub use error::{BoxError, StoreError};
pub use ingest::Stored;
pub use key::{BlobKey, KeyError, MAX_KEY_BYTES, MAX_SEGMENT_BYTES};
pub use metrics::{FilesMetrics, MetricsSnapshot};
pub use names::{safe_stored_name, MAX_STORED_NAME_BYTES, RANDOM_SUFFIX_LEN};
pub use sniff::{is_safe_inline_image, sniff_mime, SNIFF_BYTES};
pub use store::{BlobMeta, BlobStore, ByteRange, ByteStream, Fetched, OpenError};
pub use sweep::{sweep_orphans, OrphanSweeper, ReferenceCheck, SweepConfig, SweepReport};
