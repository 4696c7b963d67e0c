//! Expiration: `Upload-Expires` moves with each chunk; an expired upload answers 410
//! and is removed (row and file) by the background task; lone staging files go too.

use crate::common::assert_problem;
use crate::helpers::*;
use reqwest::Method;
use std::time::Duration;

#[tokio::test]
async fn an_expired_upload_answers_410_until_the_sweep_removes_it() {
    let t = setup_with(|c| {
        c.ttl = Duration::from_secs(1);
        c.sweep_every = Duration::from_secs(3600);
    })
    .await;
    let path = t.create(10).await;
    assert_eq!(t.patch(&path, 0, b"abc", None).await.status(), 204);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let r = t.patch(&path, 3, b"def", None).await;
    assert_eq!(r.headers()["tus-resumable"], "1.0.0");
    assert_problem(r, 410, "upload_expired").await;
    assert_eq!(t.head_as(&path, &t.token).await.status(), 410);
    // A file nothing owns (a crash between a row's removal and its file's).
    let lone = t
        .app
        .data_dir
        .path()
        .join("uploads")
        .join("0190abcd-0000-7000-8000-0000000000ff");
    std::fs::write(&lone, b"left behind").unwrap();
    // (The library's own task sweeps once at its start too, so either may count them.)
    t.library().sweep_expired().await.unwrap();
    assert!(!t.staged(&path).exists());
    assert!(!lone.exists());
    assert_eq!(t.head_as(&path, &t.token).await.status(), 404);
}

#[tokio::test]
async fn the_background_task_removes_expired_uploads_and_chunks_move_the_expiry() {
    let t = setup_with(|c| {
        c.ttl = Duration::from_millis(1500);
        c.sweep_every = Duration::from_millis(100);
    })
    .await;
    let kept = t.create(10).await;
    let dropped = t.create(10).await;
    // Chunks to `kept` every 500 ms keep it alive past the first expiry.
    for i in 0..4u64 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let r = t.patch(&kept, i, b"x", None).await;
        assert_eq!(r.status(), 204, "chunk {i}");
    }
    assert!(t.staged(&kept).exists());
    let mut gone = false;
    for _ in 0..50 {
        if !t.staged(&dropped).exists() {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(gone, "the expired upload's file is still there");
    let r = t
        .tus(Method::HEAD, &dropped, Some(&t.token))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(t.offset(&kept).await, 4);
}
