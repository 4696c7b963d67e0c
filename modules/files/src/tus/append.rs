//! A PATCH: its body streamed to the staging file at the offset, made durable, then
//! its new offset committed. What is kept of a body that fails is decided here.

use super::error::UploadError;
use super::locks::RunningHash;
use super::repo;
use super::service::{UploadInfo, Uploads};
use super::staging::hex;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use kernel::clock;
use sha2::{Digest, Sha256};
use std::io;
use tokio::io::AsyncWriteExt;

/// What a PATCH declares about its chunk.
pub(super) struct Chunk {
    pub offset: u64,
    /// `Upload-Checksum`'s SHA-256 of the body.
    pub checksum: Option<[u8; 32]>,
    /// `Content-Length`, when sent.
    pub declared: Option<u64>,
}

impl Uploads {
    /// Appends the body of a PATCH. Runs on a task of its own: a client that goes away
    /// drops the request, but what arrived must still be made durable and counted.
    pub(super) async fn append<S>(
        &self,
        id: &str,
        owner: &str,
        chunk: Chunk,
        body: S,
    ) -> Result<UploadInfo, UploadError>
    where
        S: Stream<Item = io::Result<Bytes>> + Send + Unpin + 'static,
    {
        let (this, id, owner) = (self.clone(), id.to_owned(), owner.to_owned());
        tokio::spawn(async move { this.append_now(&id, &owner, chunk, body).await })
            .await
            .unwrap_or_else(|e| Err(UploadError::Io(io::Error::other(e.to_string()))))
    }

    async fn append_now<S>(
        &self,
        id: &str,
        owner: &str,
        chunk: Chunk,
        mut body: S,
    ) -> Result<UploadInfo, UploadError>
    where
        S: Stream<Item = io::Result<Bytes>> + Unpin,
    {
        let mut held = self.lock(id).await?;
        let mut row = self.load(id, owner).await?;
        let start = self.settle(&row, &mut held).await?;
        if chunk.offset != start {
            return Err(UploadError::OffsetMismatch {
                current: start,
                sent: chunk.offset,
            });
        }
        let remaining = row.length - start;
        if row.is_finished() {
            // Every byte is there: only an empty PATCH is in order.
            while let Some(item) = body.next().await {
                if item.is_ok_and(|b| !b.is_empty()) {
                    return Err(UploadError::TooLarge { limit: row.length });
                }
            }
            return Ok(UploadInfo::of(&row));
        }
        if chunk.declared.is_some_and(|n| n > remaining) {
            return Err(UploadError::TooLarge { limit: row.length });
        }
        // The hash of the whole file so far, if this process saw every byte of it.
        let before = held.hash.take().filter(|h| h.offset == start).or_else(|| {
            (start == 0).then(|| RunningHash {
                offset: 0,
                hasher: Sha256::new(),
            })
        });
        let mut running = before.clone();
        let mut chunk_hash = chunk.checksum.map(|_| Sha256::new());
        let mut file = self.inner.staging.open_at(id, start).await?;
        let mut written = 0u64;
        let mut failure = None;
        while let Some(item) = body.next().await {
            let bytes = match item {
                Ok(bytes) => bytes,
                Err(e) => {
                    failure = Some(UploadError::Body(e));
                    break;
                }
            };
            if written + bytes.len() as u64 > remaining {
                failure = Some(UploadError::TooLarge { limit: row.length });
                break;
            }
            if let Err(e) = file.write_all(&bytes).await {
                failure = Some(UploadError::Io(e));
                break;
            }
            written += bytes.len() as u64;
            if let Some(h) = chunk_hash.as_mut() {
                h.update(&bytes);
            }
            if let Some(r) = running.as_mut() {
                r.hasher.update(&bytes);
            }
        }
        let flushed = file.flush().await;
        let mismatch = match (chunk.checksum, chunk_hash) {
            (Some(want), Some(got)) if failure.is_none() => got.finalize().as_slice() != want,
            _ => false,
        };
        // Kept: a whole chunk that matched its checksum, or whatever arrived of one
        // without a checksum that the client cut off.
        let keep = !mismatch
            && flushed.is_ok()
            && match &failure {
                None => true,
                Some(UploadError::Body(_)) => chunk.checksum.is_none(),
                Some(_) => false,
            };
        if !keep {
            drop(file);
            self.inner.staging.reconcile(id, start).await?;
            held.hash = before;
            return Err(match (failure, flushed) {
                (Some(f), _) => f,
                (None, Err(e)) => UploadError::Io(e),
                (None, Ok(())) => UploadError::ChecksumMismatch,
            });
        }
        // Durable before the offset is acknowledged, in the table or to the client.
        file.sync_data().await?;
        drop(file);
        let offset = start + written;
        let sha256 = if offset == row.length {
            Some(match running.take() {
                Some(r) => hex(&r.hasher.finalize()),
                None => self.inner.staging.sha256_hex(id).await?,
            })
        } else {
            None
        };
        let expires = clock::from_now(self.inner.config.ttl);
        let (key, at, digest) = (id.to_owned(), expires.clone(), sha256.clone());
        self.inner
            .db
            .write(move |conn| {
                repo::advance(conn, &key, offset, &at, digest.as_deref()).map_err(UploadError::from)
            })
            .await?;
        held.hash = running.map(|mut r| {
            r.offset = offset;
            r
        });
        if let Some(failure) = failure {
            return Err(failure);
        }
        row.offset = offset;
        row.expires_at = expires;
        row.sha256 = sha256;
        Ok(UploadInfo::of(&row))
    }
}
