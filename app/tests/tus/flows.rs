//! The core flow: capabilities, creation, chunks (with and without checksums), HEAD,
//! `take` into the blob store, termination, and a PATCH cut off midway.

use crate::helpers::*;
use files::tus::UploadError;
use files::BlobKey;
use reqwest::Method;
use tokio::io::AsyncWriteExt;

#[tokio::test]
async fn options_advertise_tus_and_its_extensions() {
    let t = setup().await;
    for path in [
        "/api/v1/uploads",
        "/api/v1/uploads/0190abcd-0000-7000-8000-000000000000",
    ] {
        // No token and no Tus-Resumable: discovery is open, as tus requires.
        let r = t.app.req(Method::OPTIONS, path, None).send().await.unwrap();
        assert_eq!(r.status(), 204, "{path}");
        let h = r.headers();
        assert_eq!(h["tus-resumable"], "1.0.0");
        assert_eq!(h["tus-version"], "1.0.0");
        assert_eq!(
            h["tus-extension"],
            "creation,termination,expiration,checksum"
        );
        assert_eq!(h["tus-checksum-algorithm"], "sha256");
        assert_eq!(
            h["tus-max-size"],
            files::tus::DEFAULT_MAX_SIZE.to_string().as_str()
        );
    }
    // Upload ids are UUIDs: any other is no upload.
    let r = t
        .app
        .req(Method::OPTIONS, "/api/v1/uploads/nope", None)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn chunks_reach_the_length_and_the_finished_upload_is_taken_into_the_store() {
    let t = setup().await;
    let data = content(300_000);
    let path = t.create(data.len() as u64).await;
    assert!(path.starts_with("/api/v1/uploads/"), "{path}");
    let r = t.head_as(&path, &t.token).await;
    assert_eq!(r.status(), 200);
    let h = r.headers();
    assert_eq!(h["upload-offset"], "0");
    assert_eq!(h["upload-length"], "300000");
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["tus-resumable"], "1.0.0");
    assert!(h["upload-expires"].to_str().unwrap().ends_with(" GMT"));
    // Keys in order, as created.
    assert_eq!(h["upload-metadata"], for_attachment("report.pdf").as_str());

    // Three chunks, the middle one with its checksum.
    let r = t.patch(&path, 0, &data[..100_000], None).await;
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["upload-offset"], "100000");
    assert_eq!(r.headers()["tus-resumable"], "1.0.0");
    assert!(r.headers().contains_key("upload-expires"));
    let middle = &data[100_000..200_000];
    let r = t
        .patch(&path, 100_000, middle, Some(&checksum(middle)))
        .await;
    assert_eq!(r.status(), 204);
    assert_eq!(t.offset(&path).await, 200_000);
    let r = t.patch(&path, 200_000, &data[200_000..], None).await;
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["upload-offset"], "300000");
    // Finished: nothing expires any more for the client to see.
    assert!(!r.headers().contains_key("upload-expires"));
    assert_eq!(t.offset(&path).await, 300_000);
    assert_eq!(std::fs::read(t.staged(&path)).unwrap(), data);
    // An empty PATCH at the end is in order; more bytes are not.
    assert_eq!(t.patch(&path, 300_000, b"", None).await.status(), 204);
    assert_eq!(t.patch(&path, 300_000, b"x", None).await.status(), 413);

    let uploads = t.library();
    let id = id_of(&path);
    let info = uploads.info(id, &t.user_id).await.unwrap();
    assert_eq!(info.filename(), Some("report.pdf"));
    assert_eq!(info.target(), Some(("papers", "attachment")));
    assert_eq!((info.length, info.offset), (300_000, 300_000));
    assert_eq!(info.sha256_hex.as_deref(), Some(sha256_hex(&data).as_str()));

    let key = BlobKey::parse("papers/0190abcd-0000-7000-8000-000000000001/report_x.pdf").unwrap();
    // Not someone else's, and not past the field's limit.
    assert!(matches!(
        uploads.take(id, "someone-else", &key, FIELD_MAX).await,
        Err(files::tus::TakeError::NotFound)
    ));
    assert!(matches!(
        uploads.take(id, &t.user_id, &key, 1000).await,
        Err(files::tus::TakeError::Store(
            files::StoreError::TooLarge { .. }
        ))
    ));
    let stored = uploads.take(id, &t.user_id, &key, FIELD_MAX).await.unwrap();
    assert_eq!(stored.size, 300_000);
    assert_eq!(stored.sha256_hex, sha256_hex(&data));
    let blob = t.app.data_dir.path().join("files").join(key.as_str());
    assert_eq!(std::fs::read(blob).unwrap(), data);
    // The upload is gone: its file, its row, its URL.
    assert!(!t.staged(&path).exists());
    assert!(matches!(
        uploads.info(id, &t.user_id).await,
        Err(UploadError::NotFound)
    ));
    assert_eq!(t.head_as(&path, &t.token).await.status(), 404);
}

#[tokio::test]
async fn an_unfinished_upload_cannot_be_taken_and_delete_terminates_it() {
    let t = setup().await;
    let path = t.create(10).await;
    assert_eq!(t.patch(&path, 0, b"12345", None).await.status(), 204);
    let key = BlobKey::parse("papers/r/x.bin").unwrap();
    assert!(matches!(
        t.library()
            .take(id_of(&path), &t.user_id, &key, FIELD_MAX)
            .await,
        Err(files::tus::TakeError::NotFinished {
            offset: 5,
            length: 10
        })
    ));
    let r = t
        .tus(Method::DELETE, &path, Some(&t.token))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["tus-resumable"], "1.0.0");
    assert!(!t.staged(&path).exists());
    assert_eq!(t.head_as(&path, &t.token).await.status(), 404);
    assert_eq!(t.patch(&path, 5, b"67890", None).await.status(), 404);
}

#[tokio::test]
async fn an_empty_upload_is_finished_at_creation() {
    let t = setup().await;
    let path = t.create(0).await;
    assert_eq!(t.offset(&path).await, 0);
    let info = t.library().info(id_of(&path), &t.user_id).await.unwrap();
    assert_eq!(info.sha256_hex.as_deref(), Some(sha256_hex(b"").as_str()));
}

#[tokio::test]
async fn uploads_belong_to_their_creator() {
    let t = setup().await;
    let path = t.create(4).await;
    let (_, other) = t.app.user_token("other@example.org", &[]).await;
    let admin = t
        .app
        .login(crate::common::ADMIN_EMAIL, crate::common::ADMIN_PASSWORD)
        .await;
    for token in [&other, &admin] {
        assert_eq!(t.head_as(&path, token).await.status(), 404);
        let r = t
            .tus(Method::PATCH, &path, Some(token))
            .header("Content-Type", "application/offset+octet-stream")
            .header("Upload-Offset", "0")
            .body("abcd")
            .send()
            .await
            .unwrap();
        crate::common::assert_problem(r, 404, "not_found").await;
        let r = t
            .tus(Method::DELETE, &path, Some(token))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
    }
    assert!(matches!(
        t.library().info(id_of(&path), "someone-else").await,
        Err(UploadError::NotFound)
    ));
    // Still the creator's, untouched.
    assert_eq!(t.patch(&path, 0, b"abcd", None).await.status(), 204);
}

/// Sends a PATCH declaring `declared` bytes but only `sent` of them, then closes the
/// connection, as a client that is killed midway.
async fn cut_off_patch(
    t: &Tus,
    path: &str,
    offset: u64,
    data: &[u8],
    declared: usize,
    sum: Option<&str>,
) {
    let mut socket = tokio::net::TcpStream::connect(t.app.addr).await.unwrap();
    let mut head = format!(
        "PATCH {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nTus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\nUpload-Offset: {offset}\r\nContent-Length: {declared}\r\n",
        t.app.addr, t.token
    );
    if let Some(sum) = sum {
        head.push_str(&format!("Upload-Checksum: {sum}\r\n"));
    }
    head.push_str("\r\n");
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(data).await.unwrap();
    socket.flush().await.unwrap();
    // Let the server take the bytes in before the connection goes.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    drop(socket);
}

#[tokio::test]
async fn a_patch_cut_off_midway_keeps_what_arrived_and_the_upload_resumes() {
    let t = setup().await;
    let data = content(200_000);
    let path = t.create(data.len() as u64).await;
    cut_off_patch(&t, &path, 0, &data[..50_000], data.len(), None).await;
    // HEAD waits for the cut-off PATCH to record its bytes.
    assert_eq!(t.offset(&path).await, 50_000);
    let r = t.patch(&path, 50_000, &data[50_000..], None).await;
    assert_eq!(r.status(), 204);
    assert_eq!(std::fs::read(t.staged(&path)).unwrap(), data);
    let info = t.library().info(id_of(&path), &t.user_id).await.unwrap();
    assert_eq!(info.sha256_hex.as_deref(), Some(sha256_hex(&data).as_str()));
}

#[tokio::test]
async fn a_patch_with_a_checksum_cut_off_midway_keeps_nothing() {
    let t = setup().await;
    let data = content(100_000);
    let path = t.create(data.len() as u64).await;
    assert_eq!(t.patch(&path, 0, &data[..10_000], None).await.status(), 204);
    let rest = &data[10_000..];
    cut_off_patch(
        &t,
        &path,
        10_000,
        &rest[..40_000],
        rest.len(),
        Some(&checksum(rest)),
    )
    .await;
    assert_eq!(t.offset(&path).await, 10_000);
    assert_eq!(std::fs::metadata(t.staged(&path)).unwrap().len(), 10_000);
    assert_eq!(
        t.patch(&path, 10_000, rest, Some(&checksum(rest)))
            .await
            .status(),
        204
    );
    assert_eq!(std::fs::read(t.staged(&path)).unwrap(), data);
}

#[tokio::test]
async fn a_browser_tus_client_may_read_the_tus_headers() {
    let origin = "https://app.example.org";
    let t = setup_config(|c| c.security.cors.origins = vec![origin.into()]).await;
    let path = t.create(3).await;
    let r = t
        .tus(Method::HEAD, &path, Some(&t.token))
        .header("Origin", origin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["access-control-allow-origin"], origin);
    let exposed = r.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap();
    for name in [
        "Location",
        "Upload-Offset",
        "Upload-Length",
        "Upload-Expires",
        "Tus-Resumable",
    ] {
        assert!(
            exposed.split(", ").any(|e| e == name),
            "{name} in {exposed}"
        );
    }
}

#[tokio::test]
async fn a_patch_larger_than_the_body_limit_streams_through() {
    // `body_limit` (1 MiB by default) holds JSON bodies; a tus chunk goes to disk.
    let t = setup().await;
    let data = content(3_000_000);
    let path = t.create(data.len() as u64).await;
    let r = t.patch(&path, 0, &data, Some(&checksum(&data))).await;
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["upload-offset"], "3000000");
    assert_eq!(std::fs::read(t.staged(&path)).unwrap(), data);
}
