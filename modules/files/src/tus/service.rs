//! `Uploads`: creating, reading, appending to and terminating tus uploads. The HTTP
//! side (endpoint.rs) only translates headers to these calls and their results back.

use super::config::UploadsConfig;
use super::error::UploadError;
use super::locks::{Held, Locks};
use super::repo::{self, Row};
use super::staging::{hex, Staging};
use crate::store::BlobStore;
use kernel::{clock, FieldCode, FieldError, Principal};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::sync::Arc;
use storage::Db;

/// The largest file the `field` of `collection` accepts (its `max_size`), or `None`
/// when there is no such collection or it is not a file field. The app implements it
/// with the collection registry.
/// The `max_size` of file field (collection, field) for this caller, or None when there
/// is no such field *or the caller may not write records there* (the same answer, so a
/// creation tells nothing of collections the caller cannot use).
pub type UploadLimit = Arc<dyn Fn(&Principal, &str, &str) -> Option<u64> + Send + Sync>;

/// The tus uploads of one server. Cheap to clone.
#[derive(Clone)]
pub struct Uploads {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub db: Db,
    pub store: BlobStore,
    pub staging: Staging,
    pub config: UploadsConfig,
    pub limit: UploadLimit,
    pub locks: Locks,
    /// Dropped with the last `Uploads`, which ends the expiry task.
    pub _alive: tokio::sync::watch::Sender<()>,
}

/// One upload as its owner may see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadInfo {
    pub id: String,
    /// `Upload-Length`.
    pub length: u64,
    /// The acknowledged bytes (`Upload-Offset`).
    pub offset: u64,
    /// `Upload-Metadata`, decoded.
    pub metadata: BTreeMap<String, String>,
    /// When an unfinished upload expires (RFC 3339), or a finished one unattached.
    pub expires_at: String,
    /// SHA-256 of the whole file (lowercase hex), once every byte arrived.
    pub sha256_hex: Option<String>,
}

impl UploadInfo {
    pub fn is_finished(&self) -> bool {
        self.sha256_hex.is_some()
    }

    /// The client's file name (`filename` metadata), if it gave one.
    pub fn filename(&self) -> Option<&str> {
        self.metadata.get("filename").map(String::as_str)
    }

    /// The collection and file field it was created for.
    pub fn target(&self) -> Option<(&str, &str)> {
        Some((
            self.metadata.get("collection")?.as_str(),
            self.metadata.get("field")?.as_str(),
        ))
    }

    pub(super) fn of(row: &Row) -> UploadInfo {
        UploadInfo {
            id: row.id.clone(),
            length: row.length,
            offset: row.offset,
            metadata: row.metadata.clone(),
            expires_at: row.expires_at.clone(),
            sha256_hex: row.sha256.clone(),
        }
    }
}

impl Uploads {
    /// Opens the staging directory `<data_dir>/uploads/` (blocking: call at start-up)
    /// and starts the expiry task on the current tokio runtime (it ends when the last
    /// clone is dropped or the database closes).
    pub fn open(
        db: Db,
        store: BlobStore,
        data_dir: &Path,
        config: UploadsConfig,
        limit: UploadLimit,
    ) -> io::Result<Uploads> {
        let staging = Staging::open(data_dir.join("uploads"))?;
        let (alive, watching) = tokio::sync::watch::channel(());
        let uploads = Uploads {
            inner: Arc::new(Inner {
                db,
                store,
                staging,
                config,
                limit,
                locks: Locks::default(),
                _alive: alive,
            }),
        };
        super::expiry::start(&uploads, watching);
        Ok(uploads)
    }

    pub fn config(&self) -> &UploadsConfig {
        &self.inner.config
    }

    pub(super) async fn lock(&self, id: &str) -> Result<Held, UploadError> {
        self.inner
            .locks
            .lock(id, self.inner.config.lock_wait)
            .await
            .ok_or(UploadError::Busy)
    }

    /// The row of `id` if it belongs to `owner` and has not expired.
    pub(super) async fn load(&self, id: &str, owner: &str) -> Result<Row, UploadError> {
        if !kernel::ids::is_uuid(id) {
            return Err(UploadError::NotFound);
        }
        let key = id.to_owned();
        let row = self
            .inner
            .db
            .read(move |conn| repo::get(conn, &key).map_err(UploadError::from))
            .await?;
        match row {
            Some(row) if row.owner_id == owner => {
                if row.is_expired(&clock::now()) {
                    Err(UploadError::Expired)
                } else {
                    Ok(row)
                }
            }
            _ => Err(UploadError::NotFound),
        }
    }

    /// Creates an upload of `length` bytes for `owner`; `metadata` must name the
    /// `collection` and `field` it is for.
    pub async fn create(
        &self,
        caller: &Principal,
        length: u64,
        metadata: BTreeMap<String, String>,
    ) -> Result<UploadInfo, UploadError> {
        let owner = caller.user_id.as_str();
        let limit = self.limit_for(caller, &metadata)?;
        if length > limit {
            return Err(UploadError::TooLarge { limit });
        }
        let now = clock::now();
        let finished = length == 0;
        let row = Row {
            id: kernel::ids::new_id(),
            owner_id: owner.to_owned(),
            length,
            offset: 0,
            metadata,
            created_at: now.clone(),
            expires_at: clock::from_now(self.inner.config.ttl),
            finished_at: finished.then(|| now.clone()),
            sha256: finished.then(|| hex(&Sha256::digest([]))),
        };
        let insert = row.clone();
        let cap = self.inner.config.max_unfinished_per_user;
        self.inner
            .db
            .write(move |conn| {
                // Counted in the write job that inserts: concurrent creations cannot
                // pass the cap together (the writer runs one job at a time).
                if !finished && repo::unfinished_of(conn, &insert.owner_id)? >= cap {
                    return Err(UploadError::TooMany { limit: cap });
                }
                repo::insert(conn, &insert).map_err(UploadError::from)
            })
            .await?;
        // After the row: a crash between leaves a row whose file `reconcile` makes.
        self.inner.staging.create(&row.id).await?;
        Ok(UploadInfo::of(&row))
    }

    fn limit_for(
        &self,
        caller: &Principal,
        metadata: &BTreeMap<String, String>,
    ) -> Result<u64, UploadError> {
        let required = |key: &str| {
            FieldError::new(
                format!("Upload-Metadata.{key}"),
                FieldCode::Required,
                format!("name the {key} the file is for"),
            )
        };
        let (collection, field) = match (metadata.get("collection"), metadata.get("field")) {
            (Some(c), Some(f)) => (c, f),
            (c, f) => {
                let mut errors = Vec::new();
                if c.is_none() {
                    errors.push(required("collection"));
                }
                if f.is_none() {
                    errors.push(required("field"));
                }
                return Err(UploadError::Invalid(errors));
            }
        };
        let field_limit = (self.inner.limit)(caller, collection, field).ok_or_else(|| {
            UploadError::Invalid(vec![FieldError::new(
                "Upload-Metadata.field",
                FieldCode::Invalid,
                format!("`{collection}` has no file field `{field}` you may write"),
            )])
        })?;
        Ok(field_limit.min(self.inner.config.max_size))
    }

    /// The upload as HEAD reports it (waiting for a PATCH in progress to finish).
    pub async fn status(&self, id: &str, owner: &str) -> Result<UploadInfo, UploadError> {
        let mut held = self.lock(id).await?;
        let mut row = self.load(id, owner).await?;
        row.offset = self.settle(&row, &mut held).await?;
        Ok(UploadInfo::of(&row))
    }

    /// Makes the staging file hold exactly the acknowledged bytes and returns their
    /// count: bytes of a PATCH that never committed are cut off; if the disk lost
    /// acknowledged bytes, the offset goes back to what is there (the client resends).
    pub(super) async fn settle(&self, row: &Row, held: &mut Held) -> Result<u64, UploadError> {
        let len = self.inner.staging.reconcile(&row.id, row.offset).await?;
        if len < row.offset {
            tracing::warn!(upload = %row.id, acknowledged = row.offset, found = len,
                "a staged upload lost acknowledged bytes; its offset goes back");
            held.hash = None;
            let (id, expires) = (row.id.clone(), row.expires_at.clone());
            self.inner
                .db
                .write(move |conn| {
                    repo::advance(conn, &id, len, &expires, None).map_err(UploadError::from)
                })
                .await?;
        }
        Ok(len)
    }

    /// Removes the upload and its bytes (DELETE).
    pub async fn terminate(&self, id: &str, owner: &str) -> Result<(), UploadError> {
        let mut held = self.lock(id).await?;
        self.load(id, owner).await?;
        let key = id.to_owned();
        self.inner
            .db
            .write(move |conn| repo::delete(conn, &key).map_err(UploadError::from))
            .await?;
        held.hash = None;
        // A file left by a failure here has no row: the expiry task removes it.
        if let Err(e) = self.inner.staging.remove(id).await {
            tracing::warn!(upload = id, error = %e, "could not remove a terminated upload's file");
        }
        Ok(())
    }
}
