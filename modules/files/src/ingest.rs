//! What every `put` does to the bytes on their way to a backend, whichever it is:
//! count them against the limit (failing on the first byte past it, before the chunk
//! that crosses it is written anywhere), hash them, keep the first `SNIFF_BYTES` for
//! sniffing, and count them in the metrics.

use crate::error::{BoxError, StoreError};
use crate::metrics::FilesMetrics;
use crate::sniff::{sniff_mime, SNIFF_BYTES};
use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

/// The upload stream as backends see it.
pub(crate) type Body<'a> = BoxStream<'a, Result<Bytes, BoxError>>;

/// What `put` returns: the blob is complete and durable under its key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    pub size: u64,
    /// SHA-256 of the content, lowercase hex (tus's checksum, an ETag if wanted).
    pub sha256_hex: String,
    /// Sniffed from the content (`sniff_mime`), never taken from the client.
    pub mime: &'static str,
}

pub(crate) struct Ingest<'m> {
    limit: u64,
    size: u64,
    hasher: Sha256,
    head: Vec<u8>,
    metrics: &'m FilesMetrics,
}

impl<'m> Ingest<'m> {
    pub(crate) fn new(limit: u64, metrics: &'m FilesMetrics) -> Self {
        Ingest {
            limit,
            size: 0,
            hasher: Sha256::new(),
            head: Vec::new(),
            metrics,
        }
    }

    /// The next chunk of `body` after accounting for it; `None` at its end.
    pub(crate) async fn next(&mut self, body: &mut Body<'_>) -> Result<Option<Bytes>, StoreError> {
        loop {
            let chunk = match body.next().await {
                None => return Ok(None),
                Some(Err(err)) => return Err(StoreError::Source(err)),
                Some(Ok(chunk)) => chunk,
            };
            if chunk.is_empty() {
                continue;
            }
            let size = self.size.saturating_add(chunk.len() as u64);
            if size > self.limit {
                return Err(StoreError::TooLarge { limit: self.limit });
            }
            self.size = size;
            self.hasher.update(&chunk);
            if self.head.len() < SNIFF_BYTES {
                let take = (SNIFF_BYTES - self.head.len()).min(chunk.len());
                self.head.extend_from_slice(&chunk[..take]);
            }
            self.metrics.add_written(chunk.len() as u64);
            return Ok(Some(chunk));
        }
    }

    /// The media type of what has come so far (final once `SNIFF_BYTES` have come).
    #[cfg_attr(not(feature = "s3"), allow(dead_code))]
    pub(crate) fn mime(&self) -> &'static str {
        sniff_mime(&self.head)
    }

    pub(crate) fn finish(self) -> Stored {
        let digest = self.hasher.finalize();
        let mut sha256_hex = String::with_capacity(64);
        for byte in digest {
            sha256_hex.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
            sha256_hex.push(char::from(b"0123456789abcdef"[usize::from(byte & 15)]));
        }
        Stored {
            size: self.size,
            sha256_hex,
            mime: sniff_mime(&self.head),
        }
    }
}
