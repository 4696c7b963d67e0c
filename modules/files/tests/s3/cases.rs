//! What the S3 backend must do, each case in a fresh bucket.

use crate::server::S3Server;
use bytes::Bytes;
use files::{BlobKey, BlobStore, ByteRange, StoreError};
use futures_util::{Stream, StreamExt, TryStreamExt};
use sha2::{Digest, Sha256};
use std::io::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const MIB: usize = 1024 * 1024;
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";

pub async fn run_all(s3: &S3Server) {
    macro_rules! case {
        ($name:ident) => {
            let _ = writeln!(std::io::stderr(), "--- s3 case {}", stringify!($name));
            $name(s3).await;
        };
    }
    case!(a_small_blob_is_one_put_with_its_sniffed_type_and_reads_back_in_ranges);
    case!(a_large_blob_is_a_multipart_upload_that_reads_back_whole);
    case!(a_multipart_blob_is_invisible_until_complete);
    case!(too_large_aborts_the_multipart_upload_and_leaves_nothing);
    case!(too_large_within_the_first_part_sends_nothing);
    case!(a_failing_stream_aborts_the_multipart_upload);
    case!(a_dropped_put_aborts_its_multipart_upload);
    case!(list_head_delete_and_probe);
}

pub fn chunked(
    data: &[u8],
    chunk: usize,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    let chunks: Vec<Bytes> = data.chunks(chunk).map(Bytes::copy_from_slice).collect();
    futures_util::stream::iter(chunks.into_iter().map(Ok))
}

fn content(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[2] ^ seed)
        .collect()
}

fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn key(s: &str) -> BlobKey {
    BlobKey::parse(s).unwrap()
}

async fn read(
    store: &BlobStore,
    k: &BlobKey,
    range: Option<ByteRange>,
) -> (u64, std::ops::Range<u64>, Vec<u8>) {
    let fetched = store.get(k, range).await.unwrap();
    let chunks: Vec<Bytes> = fetched.stream.try_collect().await.unwrap();
    (fetched.size, fetched.range, chunks.concat())
}

fn missing(result: Result<files::BlobMeta, StoreError>) -> bool {
    matches!(result, Err(StoreError::NotFound { .. }))
}

/// A stream fed through a channel, so a test decides when it moves and ends.
fn fed() -> (
    tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
    impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
) {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let stream =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
    (tx, stream)
}

async fn until_uploads(s3: &S3Server, bucket: &str, n: usize) {
    for _ in 0..500 {
        if s3.open_uploads(bucket).await == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("bucket {bucket} never had {n} open multipart uploads");
}

async fn a_small_blob_is_one_put_with_its_sniffed_type_and_reads_back_in_ranges(s3: &S3Server) {
    let (bucket, store) = s3.bucket("small").await;
    let mut data = PNG.to_vec();
    data.extend(content(100_000, 1));
    let k = key("posts/rec1/photo_abc.png");
    let stored = store
        .put(&k, chunked(&data, 8192), 5 * MIB as u64)
        .await
        .unwrap();
    assert_eq!(stored.size, data.len() as u64);
    assert_eq!(stored.sha256_hex, sha256_hex(&data));
    assert_eq!(stored.mime, "image/png");
    assert_eq!(s3.content_type(&bucket, k.as_str()).await, "image/png");
    assert_eq!(s3.open_uploads(&bucket).await, 0);

    let len = data.len() as u64;
    assert_eq!(read(&store, &k, None).await, (len, 0..len, data.clone()));
    let (_, range, bytes) = read(&store, &k, Some(ByteRange::Bounded(10..20))).await;
    assert_eq!((range, bytes.as_slice()), (10..20, &data[10..20]));
    let (_, range, bytes) = read(&store, &k, Some(ByteRange::From(len - 5))).await;
    assert_eq!(
        (range, bytes.as_slice()),
        (len - 5..len, &data[len as usize - 5..])
    );
    let (_, range, bytes) = read(&store, &k, Some(ByteRange::Suffix(7))).await;
    assert_eq!(
        (range, bytes.as_slice()),
        (len - 7..len, &data[len as usize - 7..])
    );
    let (_, range, _) = read(&store, &k, Some(ByteRange::Bounded(len - 1..len + 100))).await;
    assert_eq!(range, len - 1..len);
    let err = store.get(&k, Some(ByteRange::From(len))).await.unwrap_err();
    assert!(
        matches!(err, StoreError::RangeNotSatisfiable { size } if size == len),
        "{err:?}"
    );

    let m = store.metrics().snapshot();
    assert_eq!(m.bytes_written, len);
    assert_eq!((m.blobs_written, m.uploads_in_progress), (1, 0));
}

async fn a_large_blob_is_a_multipart_upload_that_reads_back_whole(s3: &S3Server) {
    let (bucket, store) = s3.bucket("large").await;
    let data = content(12 * MIB + 12_345, 2);
    let k = key("posts/rec1/video_abc.bin");
    let stored = store
        .put(&k, chunked(&data, 64 * 1024), 100 * MIB as u64)
        .await
        .unwrap();
    assert_eq!(stored.sha256_hex, sha256_hex(&data));
    assert_eq!(stored.mime, "application/octet-stream");
    assert_eq!(s3.open_uploads(&bucket).await, 0);
    let (size, _, bytes) = read(&store, &k, None).await;
    assert_eq!(size, data.len() as u64);
    assert!(bytes == data, "the object differs from what was uploaded");
    // Across the boundary of the first two parts.
    let boundary = 5 * MIB as u64;
    let (_, _, bytes) = read(
        &store,
        &k,
        Some(ByteRange::Bounded(boundary - 3..boundary + 3)),
    )
    .await;
    assert_eq!(bytes, data[boundary as usize - 3..boundary as usize + 3]);
}

async fn a_multipart_blob_is_invisible_until_complete(s3: &S3Server) {
    let (bucket, store) = s3.bucket("invisible").await;
    let k = key("posts/rec1/slow_abc.bin");
    let (tx, body) = fed();
    let put = {
        let (store, k) = (store.clone(), k.clone());
        tokio::spawn(async move { store.put(&k, body, 100 * MIB as u64).await })
    };
    let data = content(7 * MIB, 3);
    for chunk in data.chunks(MIB) {
        tx.send(Ok(Bytes::copy_from_slice(chunk))).await.unwrap();
    }
    until_uploads(s3, &bucket, 1).await;
    assert!(missing(store.head(&k).await), "visible before completion");
    assert_eq!(store.metrics().snapshot().uploads_in_progress, 1);
    drop(tx); // the end of the body
    let stored = put.await.unwrap().unwrap();
    assert_eq!(stored.size, data.len() as u64);
    assert_eq!(store.head(&k).await.unwrap().size, data.len() as u64);
    assert_eq!(s3.open_uploads(&bucket).await, 0);
}

async fn too_large_aborts_the_multipart_upload_and_leaves_nothing(s3: &S3Server) {
    let (bucket, store) = s3.bucket("toolarge").await;
    let data = content(20 * MIB, 4);
    let taken = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&taken);
    let body = chunked(&data, MIB).inspect(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let k = key("posts/rec1/huge_abc.bin");
    let err = store.put(&k, body, 7 * MIB as u64 + 1).await.unwrap_err();
    assert!(matches!(err, StoreError::TooLarge { .. }), "{err:?}");
    assert_eq!(
        taken.load(Ordering::SeqCst),
        8,
        "stopped at the chunk that crossed the limit"
    );
    assert!(missing(store.head(&k).await));
    assert_eq!(
        s3.open_uploads(&bucket).await,
        0,
        "the multipart upload was aborted"
    );
    let m = store.metrics().snapshot();
    assert_eq!((m.uploads_too_large, m.uploads_in_progress), (1, 0));
}

async fn too_large_within_the_first_part_sends_nothing(s3: &S3Server) {
    let (bucket, store) = s3.bucket("toolarge-small").await;
    let k = key("posts/rec1/small_abc.bin");
    let err = store
        .put(&k, chunked(&content(2048, 5), 512), 1024)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::TooLarge { limit: 1024 }),
        "{err:?}"
    );
    assert!(missing(store.head(&k).await));
    assert_eq!(s3.open_uploads(&bucket).await, 0);
}

async fn a_failing_stream_aborts_the_multipart_upload(s3: &S3Server) {
    let (bucket, store) = s3.bucket("broken").await;
    let k = key("posts/rec1/broken_abc.bin");
    let body = chunked(&content(6 * MIB, 6), MIB).chain(futures_util::stream::once(async {
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "client went away",
        ))
    }));
    let err = store.put(&k, body, 100 * MIB as u64).await.unwrap_err();
    assert!(matches!(err, StoreError::Source(_)), "{err:?}");
    assert!(missing(store.head(&k).await));
    assert_eq!(s3.open_uploads(&bucket).await, 0);
}

async fn a_dropped_put_aborts_its_multipart_upload(s3: &S3Server) {
    let (bucket, store) = s3.bucket("dropped").await;
    let k = key("posts/rec1/dropped_abc.bin");
    let (tx, body) = fed();
    let put = {
        let (store, k) = (store.clone(), k.clone());
        tokio::spawn(async move { store.put(&k, body, 100 * MIB as u64).await })
    };
    for chunk in content(6 * MIB, 7).chunks(MIB) {
        tx.send(Ok(Bytes::copy_from_slice(chunk))).await.unwrap();
    }
    until_uploads(s3, &bucket, 1).await;
    put.abort(); // as a request handler dropped when its client disconnects
    assert!(put.await.unwrap_err().is_cancelled());
    until_uploads(s3, &bucket, 0).await;
    assert!(missing(store.head(&k).await));
    assert_eq!(store.metrics().snapshot().uploads_in_progress, 0);
}

async fn list_head_delete_and_probe(s3: &S3Server) {
    let (bucket, store) = s3.bucket("listing").await;
    store.probe().await.unwrap();
    let keys = ["p/r1/a_x", "p/r1/b_x", "p/r2/c_x", "q/r3/d_x"];
    for (i, k) in keys.iter().enumerate() {
        store
            .put(&key(k), chunked(&content(10 * (i + 1), 0), 7), 1000)
            .await
            .unwrap();
    }
    let mut all: Vec<(String, u64)> = store
        .list(None)
        .map_ok(|b| (b.key.to_string(), b.size))
        .try_collect()
        .await
        .unwrap();
    all.sort();
    let expected: Vec<(String, u64)> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (k.to_string(), 10 * (i as u64 + 1)))
        .collect();
    assert_eq!(all, expected);
    let mut under: Vec<String> = store
        .list(Some(&key("p/r1")))
        .map_ok(|b| b.key.to_string())
        .try_collect()
        .await
        .unwrap();
    under.sort();
    assert_eq!(under, ["p/r1/a_x", "p/r1/b_x"]);
    let meta = store.head(&key("p/r2/c_x")).await.unwrap();
    assert_eq!(meta.size, 30);
    assert!(meta.last_modified.elapsed().unwrap_or_default() < Duration::from_secs(600));

    store.delete(&key("p/r2/c_x")).await.unwrap();
    store.delete(&key("p/r2/c_x")).await.unwrap(); // twice is fine
    assert!(missing(store.head(&key("p/r2/c_x")).await));
    assert!(matches!(
        store.get(&key("p/r2/c_x"), None).await,
        Err(StoreError::NotFound { .. })
    ));

    // A bucket that does not exist answers: it is an error, not an outage.
    let gone = crate::server::store_at(&s3.url, &format!("{bucket}-missing"));
    let err = gone.probe().await.unwrap_err();
    assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
}
