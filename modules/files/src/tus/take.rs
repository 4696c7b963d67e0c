//! Attaching a finished upload: `take` moves its bytes into the blob store, `info`
//! tells what it is (for checks before attaching).

use super::error::{TakeError, UploadError};
use super::repo;
use super::service::{UploadInfo, Uploads};
use crate::ingest::Stored;
use crate::key::BlobKey;
use bytes::BytesMut;
use futures_util::stream;
use tokio::io::AsyncReadExt;

/// Bytes read from the staging file per chunk given to `BlobStore::put`.
const READ_CHUNK: usize = 256 * 1024;

impl Uploads {
    /// The upload `id` of `owner`: its metadata (`filename`, `collection`, `field`),
    /// length, offset and, once finished, SHA-256. `NotFound` for anyone else's,
    /// `Expired` for one past its expiry.
    pub async fn info(&self, id: &str, owner: &str) -> Result<UploadInfo, UploadError> {
        let row = self.load(id, owner).await?;
        Ok(UploadInfo::of(&row))
    }

    /// Streams the finished upload `id` of `owner_user_id` into the blob store under
    /// `key` (`BlobStore::put` with `max_bytes`: `TooLarge` past it), then forgets the
    /// upload (its row, then its staging file), and returns what was stored.
    ///
    /// Crash safety: the blob is complete and durable before the row goes, so a crash
    /// leaves the upload (the blob not yet written, or written and unreferenced, which
    /// the orphan sweep removes), or the blob with the upload gone (a staging file
    /// left without its row is removed by the expiry task), never neither. Call it
    /// before the record write that names the key; if that write fails, delete the
    /// blob (the upload is gone: the client uploads again).
    pub async fn take(
        &self,
        id: &str,
        owner_user_id: &str,
        key: &BlobKey,
        max_bytes: u64,
    ) -> Result<Stored, TakeError> {
        let mut held = self.lock(id).await.map_err(|_| TakeError::Busy)?;
        let row = match self.load(id, owner_user_id).await {
            Ok(row) => row,
            Err(UploadError::NotFound | UploadError::Expired) => return Err(TakeError::NotFound),
            Err(UploadError::Storage(e)) => return Err(TakeError::Storage(e)),
            Err(e) => return Err(TakeError::Io(std::io::Error::other(e.to_string()))),
        };
        let Some(want) = row.sha256.clone() else {
            return Err(TakeError::NotFinished {
                offset: row.offset,
                length: row.length,
            });
        };
        let file = match self.inner.staging.open_read(id).await {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(TakeError::Corrupt("the staged file is missing".into()))
            }
            Err(e) => return Err(e.into()),
        };
        let body = stream::unfold(file, |mut file| async move {
            let mut buf = BytesMut::with_capacity(READ_CHUNK);
            match file.read_buf(&mut buf).await {
                Ok(0) => None,
                Ok(_) => Some((Ok(buf.freeze()), file)),
                Err(e) => Some((Err(e), file)),
            }
        });
        let stored = self.inner.store.put(key, Box::pin(body), max_bytes).await?;
        if stored.sha256_hex != want || stored.size != row.length {
            let _ = self.inner.store.delete(key).await;
            return Err(TakeError::Corrupt(format!(
                "upload {id} staged {} bytes hashing to {}, but {} bytes hashing to {want} arrived",
                stored.size, stored.sha256_hex, row.length
            )));
        }
        let forget = id.to_owned();
        self.inner
            .db
            .write(move |conn| repo::delete(conn, &forget).map_err(TakeError::from))
            .await?;
        held.hash = None;
        if let Err(e) = self.inner.staging.remove(id).await {
            tracing::warn!(upload = id, error = %e, "could not remove an attached upload's staging file; the expiry task will");
        }
        Ok(stored)
    }
}
