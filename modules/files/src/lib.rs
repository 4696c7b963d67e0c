//! Hearth's file storage, the foundation of file fields: blobs streamed into a local
//! directory or an S3 bucket with bounded memory, their type sniffed from their bytes,
//! safe stored names, a durable queue of deletions written in the same transaction as
//! the record change, and a sweep for blobs nothing references.
//!
//! This crate knows nothing of collections or records: file fields and multipart
//! (`resources`), tus uploads, downloads and thumbnails are built on it. It depends on
//! `kernel` and `storage` only.
//!
//! # Opening
//!
//! ```text
//! let config = FilesConfig { files_backend: FilesBackend::S3, s3_bucket: Some(..), .. };
//! config.validate()?;                                  // or let open() do it
//! let store = BlobStore::open(&config, &data_dir)?;    // local: <data_dir>/files/
//! store.probe().await?;                                // readiness: the bucket answers
//! ```
//!
//! `FilesConfig` fields are the settings' names (`files_backend`, `s3_endpoint`,
//! `s3_bucket`, `s3_region`, `s3_access_key_id`, `s3_secret_access_key` or
//! `s3_secret_access_key_file`, `s3_path_style`); the app fills them from flags,
//! environment and `hearth.toml`. The S3 backend is behind this crate's `s3` feature
//! (off by default; the app enables it). `BlobStore` is cheap to clone.
//!
//! # Keys and names
//!
//! ```text
//! let stored_name = safe_stored_name(client_file_name);   // "photo_k3j2h1g0f9.png"
//! let key = BlobKey::for_file("posts", &record_id, &stored_name)?;  // posts/<id>/<name>
//! BlobKey::parse("posts/<id>/thumbs_<name>/100x100_<name>")?;      // any other layout
//! ```
//!
//! A `BlobKey` is checked when made (no `..`, no absolute path, no `\`, no control
//! characters, no segment starting with `.`), so no key reaches a backend that could
//! name anything outside its root. The client's original name is the caller's to keep
//! as metadata; only the stored name is used on disk and in URLs.
//!
//! # Storing, reading, deleting
//!
//! ```text
//! store.put(&key, body_stream, max_bytes).await? -> Stored { size, sha256_hex, mime }
//! store.get(&key, Some(ByteRange::From(1000))).await? -> Fetched { size, range, last_modified, stream }
//! store.head(&key).await? -> BlobMeta { key, size, last_modified }
//! store.delete(&key).await?           // a missing blob is Ok
//! store.list(Some(&prefix_key))       // a lazy stream of BlobMeta under "<prefix>/"
//! ```
//!
//! `put` takes any `Stream<Item = Result<Bytes, E>>` (a request body) and fails with
//! `StoreError::TooLarge` on the first chunk past `max_bytes`, without reading further
//! (so a 413 can answer at once). A blob appears under its key only complete and
//! durable, and a failed, too large or dropped put leaves nothing behind. `mime` is
//! sniffed from the content (`sniff_mime`); check field allowlists against it, and
//! use `is_safe_inline_image` to decide between `inline` and `attachment`.
//!
//! Errors map to HTTP: `TooLarge` 413, `NotFound` 404, `RangeNotSatisfiable { size }`
//! 416, `Unavailable` 503 (S3 unreachable: the record must not be written), `Full`
//! 507, anything else 500.
//!
//! # Deleting after the commit
//!
//! A record change that drops or replaces a file queues the old blob's key in the
//! same write job, so the blob is deleted if and only if the change commits, and only
//! after it:
//!
//! ```text
//! db.write(move |conn| {
//!     conn.execute("UPDATE rec_posts SET cover = ?1 WHERE id = ?2", params![new_name, id])?;
//!     files::enqueue_deletions(conn, &[old_key])?;       // rusqlite::Result<()>
//!     Ok(())
//! }).await?;
//!
//! let deletions = DeletionQueue::start(db.clone(), store.clone(), DeletionConfig::default());
//! ```
//!
//! The queue is the table `file_deletions` (`migrations/0010_file_deletions.sql`). Its
//! worker wakes after commits that queued keys, deletes the blobs, and removes each
//! row only once its blob is gone; a failing store is retried with exponential
//! backoff (5 s doubling to 1 h) for as long as it takes.
//!
//! # Orphans
//!
//! ```text
//! let check = Arc::new(|key: BlobKey| async move { Ok::<_, BoxError>(referenced(&key).await?) });
//! let sweeper = OrphanSweeper::start(store.clone(), SweepConfig::default(), check);
//! ```
//!
//! At start and every 6 h, blobs older than the grace period (1 h, so uploads whose
//! record is about to commit are safe) that the check does not claim are deleted. The
//! check must claim everything it keeps (finished tus uploads not yet attached,
//! thumbnails), and the store must be Hearth's alone: give Hearth its own bucket.
//!
//! # Backups
//!
//! ```text
//! let hold = DeletionHold::acquire(&data_dir.join("files"))?;   // blocking
//! // snapshot the database, then copy the files: nothing is deleted meanwhile
//! drop(hold);
//! ```
//!
//! Every local delete (the queue's, the sweep's, a failed upload's clean-up) waits
//! while a hold lives, in this process or another (`flock`s in the store's root), so
//! a blob the snapshot references is still there when the copy reaches it.
//!
//! # Resumable uploads
//!
//! `tus` serves tus 1.0 uploads (`Uploads`, `UploadsEndpoint`): bytes staged under
//! `<data_dir>/uploads/`, then moved into the store by `Uploads::take`. See its docs.
//!
//! # Metrics
//!
//! `store.metrics().snapshot()` returns counters (bytes written and read, uploads in
//! progress, too large, failed, deletions, orphans) for the app to publish.

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
pub mod tus;

pub use config::{ConfigError, FilesBackend, FilesConfig, S3Settings, DEFAULT_S3_REGION};
pub use deletions::{
    enqueue_deletions, note_possible_deletions, DeletionConfig, DeletionQueue, DeletionRound,
};
pub use error::{BoxError, StoreError};
pub use ingest::Stored;
pub use key::{BlobKey, KeyError, MAX_KEY_BYTES, MAX_SEGMENT_BYTES};
pub use local::DeletionHold;
pub use metrics::{FilesMetrics, MetricsSnapshot};
pub use names::{safe_stored_name, MAX_STORED_NAME_BYTES, RANDOM_SUFFIX_LEN};
pub use sniff::{is_safe_inline_image, sniff_mime, SNIFF_BYTES};
pub use store::{BlobMeta, BlobStore, ByteRange, ByteStream, Fetched, OpenError};
pub use sweep::{sweep_orphans, OrphanSweeper, ReferenceCheck, SweepConfig, SweepReport};
