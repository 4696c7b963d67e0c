//! Thumbnails as downloads see them: made once per file and size, kept in the store
//! next to the file, and served from there afterwards.
//!
//! Layout (PocketBase's): the `100x100` thumbnail of `<collection>/<record>/<name>` is
//! `<collection>/<record>/thumbs_<name>/100x100`. The orphan sweep must keep a
//! thumbnail whose file is referenced: [`original_of_thumb`] names that file.

use crate::metrics::DownloadsMetrics;
use crate::serve::Probe;
use bytes::{Bytes, BytesMut};
use files::{BlobKey, BlobStore, StoreError};
use futures_util::TryStreamExt;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use thumbs::{ThumbSpec, Thumbnailer, SUPPORTED_MIME_TYPES};
use tokio::sync::Semaphore;

/// Sources above this are not thumbnailed (the original is served): a thumbnail is
/// made from the whole file in memory.
pub const DEFAULT_MAX_SOURCE_BYTES: u64 = 50 * 1024 * 1024;

/// A thumbnail is at most 4096 × 4096 pixels; even as an uncompressed PNG that is
/// below this, so only a broken encoder could reach it.
const MAX_THUMB_BYTES: u64 = 80 * 1024 * 1024;

const PREFIX: &str = "thumbs_";

/// The key of `spec`'s thumbnail of the file at `original` (a file key, three
/// segments), if that makes a valid key.
pub fn thumb_key(original: &BlobKey, spec: &ThumbSpec) -> Option<BlobKey> {
    let mut segments = original.segments();
    let (collection, record, name) = (segments.next()?, segments.next()?, segments.next()?);
    if segments.next().is_some() {
        return None;
    }
    BlobKey::parse(&format!("{collection}/{record}/{PREFIX}{name}/{spec}")).ok()
}

/// The folder holding every thumbnail of the file at `original`: what to list and
/// remove when the file goes.
pub fn thumbs_folder(original: &BlobKey) -> Option<BlobKey> {
    let mut segments = original.segments();
    let (collection, record, name) = (segments.next()?, segments.next()?, segments.next()?);
    if segments.next().is_some() {
        return None;
    }
    BlobKey::parse(&format!("{collection}/{record}/{PREFIX}{name}")).ok()
}

/// The file a thumbnail key was made from, or `None` for a key that is not a
/// thumbnail's. For the orphan sweep: a thumbnail lives as long as its file.
pub fn original_of_thumb(key: &BlobKey) -> Option<BlobKey> {
    let segments: Vec<&str> = key.segments().collect();
    let [collection, record, folder, spec] = segments.as_slice() else {
        return None;
    };
    let name = folder.strip_prefix(PREFIX)?;
    spec.parse::<ThumbSpec>().ok()?;
    BlobKey::for_file(collection, record, name).ok()
}

pub(crate) struct Thumbnails {
    store: BlobStore,
    thumbnailer: Thumbnailer,
    metrics: DownloadsMetrics,
    max_source_bytes: u64,
    /// Sources held in memory at once: as many as the thumbnailer decodes at once, so
    /// that requests waiting for a decoding slot do not each hold a 50 MiB source.
    sources: Semaphore,
    /// One lock per thumbnail being made: a second request for it waits for the first
    /// and then finds it in the store, instead of decoding the same image again.
    in_flight: Mutex<HashMap<BlobKey, Arc<tokio::sync::Mutex<()>>>>,
}

impl Thumbnails {
    pub fn new(
        store: BlobStore,
        thumbnailer: Thumbnailer,
        metrics: DownloadsMetrics,
        max_source_bytes: u64,
    ) -> Self {
        Thumbnails {
            sources: Semaphore::new(thumbnailer.config().concurrency),
            store,
            thumbnailer,
            metrics,
            max_source_bytes,
            in_flight: Mutex::default(),
        }
    }

    /// The key of `spec`'s thumbnail of `original` (whose probe is `source`), made now
    /// if it is not stored yet; `None` when the original should be served instead (a
    /// format that has no thumbnails, a source too large, or a failure to make it, as
    /// PocketBase does). Only store failures are errors.
    pub async fn get_or_make(
        &self,
        original: &BlobKey,
        source: &Probe,
        spec: ThumbSpec,
    ) -> Result<Option<BlobKey>, StoreError> {
        if !SUPPORTED_MIME_TYPES.contains(&source.mime) || source.size > self.max_source_bytes {
            return Ok(None);
        }
        let Some(key) = thumb_key(original, &spec) else {
            return Ok(None);
        };
        if self.exists(&key).await? {
            return Ok(Some(key));
        }
        let lock = {
            let mut in_flight = self
                .in_flight
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            Arc::clone(in_flight.entry(key.clone()).or_default())
        };
        let _turn = lock.lock().await;
        let made = self.make_unless_stored(original, &key, spec).await;
        // Later requests find the thumbnail in the store (or, after a failure, try
        // again); those already waiting hold their own handle on this lock.
        self.in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&key);
        made.map(|made| made.then_some(key))
    }

    /// Whether the thumbnail is in the store once this returns.
    async fn make_unless_stored(
        &self,
        original: &BlobKey,
        key: &BlobKey,
        spec: ThumbSpec,
    ) -> Result<bool, StoreError> {
        if self.exists(key).await? {
            return Ok(true);
        }
        let acquire = self.sources.acquire();
        let permit = match self.thumbnailer.config().max_wait {
            Some(wait) => tokio::time::timeout(wait, acquire).await.ok(),
            None => Some(acquire.await),
        };
        // Never closed, so only a timeout leaves no permit: too busy, as PocketBase
        // answers that, with the original.
        let Some(Ok(_permit)) = permit else {
            self.metrics.thumb_failed();
            tracing::warn!(file = %original, thumb = %spec,
                "thumbnailing stayed busy; serving the original");
            return Ok(false);
        };
        let source = match self.read_source(original).await {
            Ok(source) => source,
            // Grew past the bound since the probe: not a blob a key should ever be.
            Err(StoreError::TooLarge { .. }) => return Ok(false),
            Err(err) => return Err(err),
        };
        let thumb = match self.thumbnailer.generate(source, spec).await {
            Ok(thumb) => thumb,
            Err(err) => {
                self.metrics.thumb_failed();
                tracing::warn!(file = %original, thumb = %spec, error = %err,
                    "thumbnail not made; serving the original");
                return Ok(false);
            }
        };
        let body =
            futures_util::stream::once(
                async move { Ok::<_, std::io::Error>(Bytes::from(thumb.bytes)) },
            );
        self.store.put(key, body, MAX_THUMB_BYTES).await?;
        self.metrics.thumb_generated();
        Ok(true)
    }

    /// The whole source, already known to be at most `max_source_bytes`.
    async fn read_source(&self, original: &BlobKey) -> Result<Bytes, StoreError> {
        let limit = self.max_source_bytes;
        let fetched = self.store.get(original, None).await?;
        let mut all = BytesMut::with_capacity(fetched.size.min(limit) as usize);
        let mut stream = fetched.stream;
        while let Some(chunk) = stream.try_next().await? {
            if (all.len() + chunk.len()) as u64 > limit {
                return Err(StoreError::TooLarge { limit });
            }
            all.extend_from_slice(&chunk);
        }
        Ok(all.freeze())
    }

    async fn exists(&self, key: &BlobKey) -> Result<bool, StoreError> {
        match self.store.head(key).await {
            Ok(_) => Ok(true),
            Err(StoreError::NotFound { .. }) => Ok(false),
            Err(err) => Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbnail_keys_sit_beside_their_file_and_lead_back_to_it() {
        let file = BlobKey::for_file("posts", "0190abcd", "cat_a1b2c3d4e5.png").unwrap();
        let spec: ThumbSpec = "100x100f".parse().unwrap();
        let thumb = thumb_key(&file, &spec).unwrap();
        assert_eq!(
            thumb.as_str(),
            "posts/0190abcd/thumbs_cat_a1b2c3d4e5.png/100x100f"
        );
        assert_eq!(original_of_thumb(&thumb), Some(file.clone()));
        assert_eq!(
            thumbs_folder(&file).unwrap().as_str(),
            "posts/0190abcd/thumbs_cat_a1b2c3d4e5.png"
        );
        assert_eq!(original_of_thumb(&file), None);
        for other in [
            "posts/1/thumbs_a.png/big",
            "posts/1/a.png/100x100",
            "posts/1/thumbs_a.png/100x100/x",
        ] {
            assert_eq!(original_of_thumb(&BlobKey::parse(other).unwrap()), None);
        }
        let deep = BlobKey::parse("a/b/c/d").unwrap();
        assert_eq!(thumb_key(&deep, &spec), None);
    }
}
