//! `put` on the local backend: what it stores and returns, the limit, failures and
//! cancellation leaving nothing, concurrency, and keys that try to escape.

use crate::common::*;
use bytes::Bytes;
use files::{BlobKey, BlobStore, FilesConfig, StoreError};
use futures_util::StreamExt;
use std::sync::atomic::Ordering;
use std::time::Duration;

#[tokio::test]
async fn a_put_stores_the_bytes_under_the_key_and_reports_size_hash_and_sniffed_type() {
    let (dir, store) = local();
    let mut data = PNG.to_vec();
    data.extend(content(300_000, 7));
    let k = key("posts/rec1/photo_abc.png");
    let stored = store
        .put(&k, chunked(&data, 16 * 1024), 1 << 20)
        .await
        .unwrap();
    assert_eq!(stored.size, data.len() as u64);
    assert_eq!(stored.sha256_hex, sha256_hex(&data));
    assert_eq!(stored.mime, "image/png");
    assert_eq!(
        std::fs::read(root(&dir).join("posts/rec1/photo_abc.png")).unwrap(),
        data
    );
    assert_eq!(read_all(&store, &k).await, data);
    assert!(tmp_files(&dir).is_empty());

    let m = store.metrics().snapshot();
    assert_eq!(m.bytes_written, data.len() as u64);
    assert_eq!(m.bytes_read, data.len() as u64);
    assert_eq!((m.blobs_written, m.uploads_in_progress), (1, 0));
}

#[tokio::test]
async fn the_client_s_claimed_type_is_never_used_only_the_bytes() {
    let (_dir, store) = local();
    // An HTML page named like a picture.
    let html = b"<!DOCTYPE html><html><script>alert(1)</script></html>";
    let stored = store
        .put(&key("a/b/cat_x.png"), chunked(html, 8), 1024)
        .await
        .unwrap();
    assert_eq!(stored.mime, "text/html");
    let stored = store
        .put(
            &key("a/b/notes_x.txt"),
            chunked("plain words\n".as_bytes(), 4),
            1024,
        )
        .await
        .unwrap();
    assert_eq!(stored.mime, "text/plain");
}

#[tokio::test]
async fn an_empty_file_and_a_file_exactly_at_the_limit_are_stored() {
    let (_dir, store) = local();
    let empty = store
        .put(&key("a/b/empty_x"), chunked(b"", 1), 0)
        .await
        .unwrap();
    assert_eq!(empty.size, 0);
    assert_eq!(empty.sha256_hex, sha256_hex(b""));
    let data = content(4096, 1);
    let full = store
        .put(&key("a/b/full_x"), chunked(&data, 1000), 4096)
        .await
        .unwrap();
    assert_eq!(full.size, 4096);
}

#[tokio::test]
async fn too_large_fails_at_the_first_chunk_past_the_limit_and_leaves_nothing() {
    let (dir, store) = local();
    let data = content(100 * 1024, 3);
    // 1 KiB chunks, limit 10.5 KiB: the 11th chunk crosses it.
    let (taken, stream) = counted(&data, 1024);
    let k = key("posts/rec1/big_x.bin");
    let err = store.put(&k, stream, 10 * 1024 + 512).await.unwrap_err();
    assert!(
        matches!(err, StoreError::TooLarge { limit } if limit == 10 * 1024 + 512),
        "{err:?}"
    );
    assert_eq!(
        taken.load(Ordering::SeqCst),
        11,
        "the rest of the body was not read"
    );
    assert!(matches!(
        store.head(&k).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(
        files_under(&root(&dir)).is_empty(),
        "{:?}",
        files_under(&root(&dir))
    );
    let m = store.metrics().snapshot();
    assert_eq!(
        (m.uploads_too_large, m.uploads_in_progress, m.blobs_written),
        (1, 0, 0)
    );
}

#[tokio::test]
async fn a_failing_stream_leaves_nothing_and_keeps_the_blob_it_would_have_replaced() {
    let (dir, store) = local();
    let k = key("posts/rec1/doc_x.txt");
    store
        .put(&k, chunked(b"old version", 4), 1024)
        .await
        .unwrap();
    let broken = chunked(&content(50_000, 2), 4096)
        .take(5)
        .chain(futures_util::stream::once(async {
            Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "client went away",
            ))
        }));
    let err = store.put(&k, broken, 1 << 20).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Source(e) if e.to_string().contains("client went away")),
        "{err:?}"
    );
    assert_eq!(read_all(&store, &k).await, b"old version");
    assert!(tmp_files(&dir).is_empty());
    assert_eq!(store.metrics().snapshot().uploads_failed, 1);
}

#[tokio::test]
async fn a_put_dropped_midway_removes_its_temporary_file() {
    let (dir, store) = local();
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let body =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
    let k = key("posts/rec1/partial_x.bin");
    let put = store.put(&k, body, 1 << 30);
    let feeder = async {
        for _ in 0..4 {
            tx.send(Ok(Bytes::from(content(64 * 1024, 5))))
                .await
                .unwrap();
        }
        // Wait until the temporary file exists, then give up on the upload.
        eventually(5, "a temporary file appears", async || {
            !tmp_files(&dir).is_empty()
        })
        .await;
    };
    tokio::select! {
        _ = put => panic!("the upload cannot finish: its stream never ends"),
        _ = feeder => {}
    }
    eventually(5, "the temporary file is removed", async || {
        tmp_files(&dir).is_empty()
    })
    .await;
    assert!(matches!(
        store.head(&k).await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(store.metrics().snapshot().uploads_in_progress, 0);
}

#[tokio::test]
async fn leftovers_of_a_crash_are_removed_when_the_store_opens() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join("files/.tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::write(tmp.join("0190-unfinished"), b"half an upload").unwrap();
    let store = BlobStore::open(&FilesConfig::default(), dir.path()).unwrap();
    assert!(tmp_files(&dir).is_empty());
    store.probe().await.unwrap();
}

#[tokio::test]
async fn concurrent_puts_each_land_whole_even_on_the_same_key() {
    let (dir, store) = local();
    let shared = key("posts/rec1/shared_x.bin");
    let mut tasks = Vec::new();
    for i in 0..16u8 {
        let store = store.clone();
        let k = if i % 2 == 0 {
            shared.clone()
        } else {
            key(&format!("posts/rec{i}/own_x.bin"))
        };
        tasks.push(tokio::spawn(async move {
            let data = content(200_000 + usize::from(i) * 1000, i);
            let stored = store.put(&k, chunked(&data, 7000), 1 << 20).await.unwrap();
            assert_eq!(stored.sha256_hex, sha256_hex(&data));
            (i, data)
        }));
    }
    let mut written = Vec::new();
    for task in tasks {
        written.push(task.await.unwrap());
    }
    for (i, data) in &written {
        if i % 2 == 1 {
            assert_eq!(
                &read_all(&store, &key(&format!("posts/rec{i}/own_x.bin"))).await,
                data
            );
        }
    }
    // The shared key holds exactly one of the uploads, never a mix.
    let last = read_all(&store, &shared).await;
    assert!(written.iter().any(|(i, data)| i % 2 == 0 && *data == last));
    assert!(tmp_files(&dir).is_empty());
}

#[tokio::test]
async fn keys_cannot_escape_the_root() {
    let (dir, store) = local();
    for bad in [
        "../outside",
        "/etc/passwd",
        "a/../../outside",
        ".tmp/x",
        "a\\..\\b",
        "a//b",
    ] {
        assert!(BlobKey::parse(bad).is_err(), "{bad}");
    }
    assert!(BlobKey::for_file("posts", "../../x", "y").is_err());
    // What is stored stays under the root, whatever the segments look like.
    store
        .put(&key("a/b..c/d..e"), chunked(b"x", 1), 10)
        .await
        .unwrap();
    assert_eq!(
        files_under(dir.path()),
        vec!["files/a/b..c/d..e".to_string()]
    );
}

#[tokio::test]
async fn delete_is_idempotent_and_clears_emptied_directories() {
    let (dir, store) = local();
    let a = key("posts/rec1/a_x");
    let b = key("posts/rec2/b_x");
    store.put(&a, chunked(b"a", 1), 10).await.unwrap();
    store.put(&b, chunked(b"b", 1), 10).await.unwrap();
    store.delete(&a).await.unwrap();
    store.delete(&a).await.unwrap();
    store.delete(&key("never/was/here")).await.unwrap();
    assert!(!root(&dir).join("posts/rec1").exists());
    assert!(root(&dir).join("posts/rec2/b_x").exists());
    assert_eq!(store.metrics().snapshot().blobs_deleted, 1);
    // A put into a directory a delete just removed makes it again.
    store
        .put(&key("posts/rec1/c_x"), chunked(b"c", 1), 10)
        .await
        .unwrap();
    assert_eq!(read_all(&store, &key("posts/rec1/c_x")).await, b"c");
}

#[tokio::test]
async fn a_key_under_a_file_is_simply_missing() {
    let (_dir, store) = local();
    store.put(&key("a/b"), chunked(b"x", 1), 10).await.unwrap();
    assert!(matches!(
        store.head(&key("a/b/c")).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.get(&key("a/b/c"), None).await,
        Err(StoreError::NotFound { .. })
    ));
    // A directory is not a blob either.
    assert!(matches!(
        store.head(&key("a")).await,
        Err(StoreError::NotFound { .. })
    ));
    tokio::time::timeout(Duration::from_secs(5), store.delete(&key("a/b/c")))
        .await
        .unwrap()
        .unwrap();
}
