//! The S3 backend, on `object_store` (signing, retries and multipart uploads are its
//! job, not ours). Keys are object names in the bucket as they are.
//!
//! A put gathers up to one part (5 MiB, S3's smallest): a blob that fits is sent with
//! one PUT, a larger one by a multipart upload of 5 MiB parts with at most two in
//! flight, which S3 shows only once completed. Any failure, the limit included,
//! aborts the multipart upload; so does dropping the future midway (from a spawned
//! task). A bucket lifecycle rule that aborts incomplete multipart uploads after a
//! day also catches a process killed in the middle.
//!
//! TLS: rustls with ring, as the rest of Hearth (object_store's default provider,
//! aws-lc-rs, needs cmake and nasm to build). reqwest is built without a provider, so
//! opening a store installs ring as rustls's process default if none is installed.

use crate::config::S3Settings;
use crate::error::StoreError;
use crate::ingest::{Body, Ingest};
use crate::key::BlobKey;
use crate::store::{BlobMeta, ByteRange, Fetched};
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::client::{HttpError, HttpErrorKind};
use object_store::path::Path;
use object_store::{
    Attribute, AttributeValue, Attributes, ClientOptions, GetOptions, GetRange, ObjectMeta,
    ObjectStore, ObjectStoreExt, PutMultipartOptions, PutOptions, PutPayload, RetryConfig,
    WriteMultipart,
};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// S3's smallest part (except the last), and the most a put buffers before it starts
/// a multipart upload.
const PART_BYTES: usize = 5 * 1024 * 1024;

/// Parts uploading at once; with the one being filled, memory per upload stays under
/// three parts.
const PARTS_IN_FLIGHT: usize = 2;

/// Retries are bounded so that an unreachable service becomes `Unavailable` (a 503)
/// within seconds instead of object_store's default three minutes.
const MAX_RETRIES: usize = 3;
const RETRY_TIMEOUT: Duration = Duration::from_secs(15);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A stalled connection fails after this long without a byte. There is no limit on
/// a whole request: a large download streams to a slow client for as long as it takes.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

pub(crate) struct S3Store {
    store: Arc<AmazonS3>,
}

impl S3Store {
    pub(crate) fn open(settings: &S3Settings) -> Result<S3Store, StoreError> {
        // Err means a provider is installed already, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = match &settings.credentials {
            // From the AWS environment first; the settings below win over it.
            None => AmazonS3Builder::from_env(),
            Some((id, secret)) => AmazonS3Builder::new()
                .with_access_key_id(id)
                .with_secret_access_key(secret),
        };
        let allow_http = settings
            .endpoint
            .as_deref()
            .is_some_and(|e| e.starts_with("http://"));
        builder = builder
            .with_bucket_name(&settings.bucket)
            .with_region(&settings.region)
            .with_virtual_hosted_style_request(!settings.path_style)
            .with_retry(RetryConfig {
                max_retries: MAX_RETRIES,
                retry_timeout: RETRY_TIMEOUT,
                ..RetryConfig::default()
            })
            .with_client_options(
                ClientOptions::new()
                    .with_allow_http(allow_http)
                    .with_connect_timeout(CONNECT_TIMEOUT)
                    .with_timeout_disabled()
                    .with_read_timeout(READ_TIMEOUT),
            );
        if let Some(endpoint) = &settings.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        let store = builder
            .build()
            .map_err(|err| StoreError::Backend(format!("invalid S3 settings: {err}")))?;
        Ok(S3Store {
            store: Arc::new(store),
        })
    }

    pub(crate) async fn put(
        &self,
        key: &BlobKey,
        body: &mut Body<'_>,
        ingest: &mut Ingest<'_>,
    ) -> Result<(), StoreError> {
        let path = path_of(key)?;
        let mut first = Vec::new();
        let mut buffered = 0;
        let mut ended = false;
        while buffered < PART_BYTES {
            match ingest.next(body).await? {
                Some(chunk) => {
                    buffered += chunk.len();
                    first.push(chunk);
                }
                None => {
                    ended = true;
                    break;
                }
            }
        }
        // PART_BYTES > SNIFF_BYTES: the type is final now, and stored with the object.
        let attributes =
            Attributes::from_iter([(Attribute::ContentType, AttributeValue::from(ingest.mime()))]);
        if ended {
            let options = PutOptions {
                attributes,
                ..PutOptions::default()
            };
            self.store
                .put_opts(&path, PutPayload::from_iter(first), options)
                .await
                .map_err(|err| classify(err, key))?;
            return Ok(());
        }
        let options = PutMultipartOptions {
            attributes,
            ..PutMultipartOptions::default()
        };
        let upload = self
            .store
            .put_multipart_opts(&path, options)
            .await
            .map_err(|err| classify(err, key))?;
        let mut guard = AbortOnDrop(Some(WriteMultipart::new_with_chunk_size(
            upload, PART_BYTES,
        )));
        let writer = guard.0.as_mut().expect("set above");
        for chunk in first {
            writer.put(chunk);
        }
        let streamed = async {
            loop {
                writer
                    .wait_for_capacity(PARTS_IN_FLIGHT)
                    .await
                    .map_err(|err| classify(err, key))?;
                match ingest.next(body).await? {
                    Some(chunk) => writer.put(chunk),
                    None => return Ok(()),
                }
            }
        }
        .await;
        let writer = guard.0.take().expect("set above");
        match streamed {
            // `finish` aborts the upload itself when completing fails.
            Ok(()) => writer
                .finish()
                .await
                .map(drop)
                .map_err(|err| classify(err, key)),
            Err(err) => {
                if let Err(abort) = writer.abort().await {
                    tracing::warn!(%key, error = %abort, "could not abort an S3 multipart upload; a lifecycle rule for incomplete uploads removes its parts");
                }
                Err(err)
            }
        }
    }

    pub(crate) async fn get(
        &self,
        key: &BlobKey,
        range: Option<ByteRange>,
    ) -> Result<Fetched, StoreError> {
        let path = path_of(key)?;
        // A range is resolved against the size first, so that one S3 cannot satisfy
        // is a clean `RangeNotSatisfiable` (S3's 416 would be an opaque error).
        let range = match range {
            Some(range) => {
                let meta = self.head(key).await?;
                Some(range.resolve(meta.size)?)
            }
            None => None,
        };
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let result = self
            .store
            .get_opts(&path, options)
            .await
            .map_err(|err| classify(err, key))?;
        let (size, range) = (result.meta.size, result.range.clone());
        let last_modified = SystemTime::from(result.meta.last_modified);
        let key = key.clone();
        let stream = result
            .into_stream()
            .map_err(move |err| classify(err, &key))
            .boxed();
        Ok(Fetched {
            size,
            range,
            last_modified,
            stream,
        })
    }

    pub(crate) async fn head(&self, key: &BlobKey) -> Result<BlobMeta, StoreError> {
        let meta = self
            .store
            .head(&path_of(key)?)
            .await
            .map_err(|err| classify(err, key))?;
        Ok(BlobMeta {
            key: key.clone(),
            size: meta.size,
            last_modified: SystemTime::from(meta.last_modified),
        })
    }

    /// S3 answers a DELETE of a missing object with success, so whether one was
    /// removed is not known; counted as removed.
    pub(crate) async fn delete(&self, key: &BlobKey) -> Result<bool, StoreError> {
        match self.store.delete(&path_of(key)?).await {
            Ok(()) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(err) => Err(classify(err, key)),
        }
    }

    pub(crate) fn list(
        &self,
        under: Option<&BlobKey>,
    ) -> BoxStream<'static, Result<BlobMeta, StoreError>> {
        let prefix = match under.map(path_of).transpose() {
            Ok(prefix) => prefix,
            Err(err) => return futures_util::stream::once(async { Err(err) }).boxed(),
        };
        self.store
            .list(prefix.as_ref())
            .map_err(classify_listing)
            .try_filter_map(|meta| async move { Ok(blob_meta(meta)) })
            .boxed()
    }

    pub(crate) async fn probe(&self) -> Result<(), StoreError> {
        let probe = Path::from("hearth-probe");
        self.store
            .list_with_delimiter(Some(&probe))
            .await
            .map(drop)
            .map_err(classify_listing)
    }
}

/// Aborts the multipart upload from a spawned task if the put future is dropped while
/// it holds one.
struct AbortOnDrop(Option<WriteMultipart>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        let Some(writer) = self.0.take() else { return };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    if let Err(err) = writer.abort().await {
                        tracing::warn!(error = %err, "could not abort a dropped S3 multipart upload");
                    }
                });
            }
            Err(_) => tracing::warn!(
                "an S3 multipart upload was dropped outside a runtime and not aborted"
            ),
        }
    }
}

fn path_of(key: &BlobKey) -> Result<Path, StoreError> {
    Path::parse(key.as_str()).map_err(|err| {
        StoreError::Backend(format!(
            "the key {key} is not a valid S3 object path: {err}"
        ))
    })
}

fn blob_meta(meta: ObjectMeta) -> Option<BlobMeta> {
    let key = BlobKey::parse(meta.location.as_ref()).ok()?;
    Some(BlobMeta {
        key,
        size: meta.size,
        last_modified: SystemTime::from(meta.last_modified),
    })
}

fn classify(err: object_store::Error, key: &BlobKey) -> StoreError {
    match err {
        object_store::Error::NotFound { .. } => StoreError::NotFound {
            key: key.to_string(),
        },
        other => classify_other(other),
    }
}

/// For listings, a NotFound is the bucket's, not an object's.
fn classify_listing(err: object_store::Error) -> StoreError {
    classify_other(err)
}

fn classify_other(err: object_store::Error) -> StoreError {
    if is_unavailable(&err) {
        StoreError::Unavailable(err.to_string())
    } else {
        StoreError::Backend(err.to_string())
    }
}

/// Whether the error is the service's absence rather than its answer: a connection
/// refused or timed out, or a 5xx after the retries. object_store does not export its
/// request error type, so a status is recognised by the text that type prints.
fn is_unavailable(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(err);
    while let Some(err) = current {
        if let Some(http) = err.downcast_ref::<HttpError>() {
            if matches!(
                http.kind(),
                HttpErrorKind::Connect
                    | HttpErrorKind::Timeout
                    | HttpErrorKind::Request
                    | HttpErrorKind::Interrupted
            ) {
                return true;
            }
        }
        if err
            .to_string()
            .starts_with("Server returned non-2xx status code: 5")
        {
            return true;
        }
        current = err.source();
    }
    false
}
