//! API.md 10.2 (files): thumbnails: listed sizes only, made once (also under
//! concurrent requests), kept in the store, served like files; sources without
//! thumbnails are served as they are.

mod common;
#[path = "files_download/support.rs"]
mod support;

use common::{assert_problem, spawn_app};
use serde_json::json;
use support::*;

#[tokio::test]
async fn thumbnails_of_listed_sizes_are_made_once_and_served_like_files() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    albums_collection(&app, &admin).await;
    let name = "cat_abcdefghij.png";
    let text = "readme_abcdefghij.png";
    let id = record_with_files(
        &app,
        &admin,
        "albums",
        json!({"picture": name, "attachments": [text]}),
        &[(name, png(200, 100)), (text, b"not an image".to_vec())],
    )
    .await;
    let path = format!("/api/v1/files/albums/{id}/{name}");
    let original_etag = header(get(&app, &path, &[]).await.headers(), "etag").to_owned();
    let generated = || app.downloads.metrics().thumbnails_generated();
    assert_eq!(generated(), 0);

    for (size, width, height) in [("50x50", 50, 50), ("40x0", 40, 20)] {
        let resp = get(&app, &format!("{path}?thumb={size}"), &[]).await;
        assert_eq!(resp.status(), 200, "{size}");
        let h = resp.headers().clone();
        assert_eq!(header(&h, "content-type"), "image/png");
        assert_eq!(
            header(&h, "content-disposition"),
            format!("inline; filename*=UTF-8''{size}_{name}")
        );
        assert_ne!(header(&h, "etag"), original_etag);
        let thumb = image::load_from_memory(&resp.bytes().await.unwrap()).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (width, height), "{size}");
    }
    assert_eq!(generated(), 2);

    // Again: served from the store, not made again; ranges and validators apply.
    let again = get(&app, &format!("{path}?thumb=50x50"), &[]).await;
    assert_eq!(again.status(), 200);
    let etag = header(again.headers(), "etag").to_owned();
    let cached = get(
        &app,
        &format!("{path}?thumb=50x50"),
        &[("if-none-match", &etag)],
    )
    .await;
    assert_eq!(cached.status(), 304);
    let ranged = get(
        &app,
        &format!("{path}?thumb=50x50"),
        &[("range", "bytes=0-7")],
    )
    .await;
    assert_eq!(ranged.status(), 206);
    assert_eq!(&ranged.bytes().await.unwrap()[..], b"\x89PNG\r\n\x1a\n");
    assert_eq!(generated(), 2);
    let folder = files::BlobKey::parse(&format!("albums/{id}/thumbs_{name}")).unwrap();
    let mut stored: Vec<String> =
        futures_util::StreamExt::collect::<Vec<_>>(app.files.list(Some(&folder)))
            .await
            .into_iter()
            .map(|meta| meta.unwrap().key.as_str().to_owned())
            .collect();
    stored.sort();
    assert_eq!(
        stored,
        [
            format!("albums/{id}/thumbs_{name}/40x0"),
            format!("albums/{id}/thumbs_{name}/50x50")
        ]
    );

    // Many at once for a new size: made once.
    let thumb_path = format!("{path}?thumb=0x30");
    let requests = (0..8).map(|_| get(&app, &thumb_path, &[]));
    for resp in futures_util::future::join_all(requests).await {
        assert_eq!(resp.status(), 200);
        let thumb = image::load_from_memory(&resp.bytes().await.unwrap()).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (60, 30));
    }
    assert_eq!(generated(), 3);

    // A size the field does not list, or no sizes at all: 400 naming what is allowed.
    let body = assert_problem(
        get(&app, &format!("{path}?thumb=10x10"), &[]).await,
        400,
        "invalid_query",
    )
    .await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("50x50, 40x0, 0x30"),
        "{body}"
    );
    let text_path = format!("/api/v1/files/albums/{id}/{text}");
    assert_problem(
        get(&app, &format!("{text_path}?thumb=50x50"), &[]).await,
        400,
        "invalid_query",
    )
    .await;

    // /metrics carries the counters.
    let scrape = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        scrape.contains("hearth_files_thumbnails_generated_total 3"),
        "{scrape}"
    );
    assert!(scrape.contains("hearth_files_download_bytes_total"));
    assert!(
        scrape.contains(r#"route="/api/v1/files/{collection}/{record_id}/{filename}""#),
        "{scrape}"
    );
}

#[tokio::test]
async fn sources_without_thumbnails_are_served_as_they_are() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    albums_collection(&app, &admin).await;
    let name = "notes_abcdefghij.png";
    let id = record_with_files(
        &app,
        &admin,
        "albums",
        json!({"picture": name}),
        &[(name, b"plain text, whatever the name says".to_vec())],
    )
    .await;
    let resp = get(
        &app,
        &format!("/api/v1/files/albums/{id}/{name}?thumb=50x50"),
        &[],
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        header(resp.headers(), "content-type"),
        "text/plain; charset=utf-8"
    );
    assert_eq!(
        &resp.bytes().await.unwrap()[..],
        b"plain text, whatever the name says"
    );
    assert_eq!(app.downloads.metrics().thumbnails_generated(), 0);

    // A PNG by its magic bytes that does not decode: the original, and a failure counted.
    let broken = "broken_abcdefghij.png";
    let mut bytes = png(20, 20);
    bytes.truncate(40);
    set_file_column(&app, "albums", &id, "picture", json!(broken)).await;
    let key = files::BlobKey::for_file("albums", &id, broken).unwrap();
    let body = futures_util::stream::once({
        let bytes = bytes.clone();
        async move { Ok::<_, std::io::Error>(bytes::Bytes::from(bytes)) }
    });
    app.files.put(&key, body, u64::MAX).await.unwrap();
    let resp = get(
        &app,
        &format!("/api/v1/files/albums/{id}/{broken}?thumb=50x50"),
        &[],
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header(resp.headers(), "content-type"), "image/png");
    assert_eq!(resp.bytes().await.unwrap(), bytes);
    assert_eq!(app.downloads.metrics().thumbnails_failed(), 1);
    assert_eq!(app.downloads.metrics().thumbnails_generated(), 0);
}
