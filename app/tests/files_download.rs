//! API.md 10.2 (files): downloads over a real socket: whole files, ranges, validators,
//! HEAD, sniffed types and dispositions, curl as the client, the OpenAPI description.

mod common;
#[path = "files_download/support.rs"]
mod support;

use common::{assert_problem, spawn_app};
use serde_json::json;
use support::*;

#[tokio::test]
async fn whole_files_ranges_head_and_validators() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    albums_collection(&app, &admin).await;
    let content = noise(BIG_SIZE);
    let id = record_with_files(
        &app,
        &admin,
        "albums",
        json!({"attachments": [BIG, "tiny_abcdefghij.bin"]}),
        &[(BIG, content.clone()), ("tiny_abcdefghij.bin", noise(10))],
    )
    .await;
    let path = format!("/api/v1/files/albums/{id}/{BIG}");

    let whole = get(&app, &path, &[]).await;
    assert_eq!(whole.status(), 200);
    let h = whole.headers().clone();
    assert_eq!(header(&h, "content-type"), "application/octet-stream");
    assert_eq!(header(&h, "content-length"), BIG_SIZE.to_string());
    assert_eq!(header(&h, "accept-ranges"), "bytes");
    assert_eq!(header(&h, "x-content-type-options"), "nosniff");
    assert_eq!(
        header(&h, "content-security-policy"),
        "sandbox; default-src 'none'"
    );
    assert_eq!(
        header(&h, "content-disposition"),
        format!("attachment; filename*=UTF-8''{BIG}")
    );
    assert_eq!(header(&h, "cache-control"), "public, max-age=86400");
    let etag = header(&h, "etag").to_owned();
    assert!(
        etag.starts_with('"') && !etag.starts_with("W/"),
        "strong: {etag}"
    );
    assert_eq!(whole.bytes().await.unwrap(), content);

    for (range, expected, content_range) in [
        ("bytes=10-19", 10..20, "bytes 10-19/100000"),
        (
            "bytes=-5",
            BIG_SIZE - 5..BIG_SIZE,
            "bytes 99995-99999/100000",
        ),
        ("bytes=99990-", 99_990..BIG_SIZE, "bytes 99990-99999/100000"),
        (
            "bytes=99990-200000",
            99_990..BIG_SIZE,
            "bytes 99990-99999/100000",
        ),
        ("bytes=9000-60000", 9_000..60_001, "bytes 9000-60000/100000"),
    ] {
        let resp = get(&app, &path, &[("range", range)]).await;
        assert_eq!(resp.status(), 206, "{range}");
        assert_eq!(header(resp.headers(), "content-range"), content_range);
        assert_eq!(header(resp.headers(), "etag"), etag);
        assert_eq!(
            &resp.bytes().await.unwrap()[..],
            &content[expected],
            "{range}"
        );
    }
    // Several ranges: the whole file.
    let several = get(&app, &path, &[("range", "bytes=0-1,5-6")]).await;
    assert_eq!(several.status(), 200);
    assert_eq!(several.bytes().await.unwrap().len(), BIG_SIZE);
    // If-Range with another validator: the range is ignored.
    let stale = get(
        &app,
        &path,
        &[("range", "bytes=0-1"), ("if-range", "\"old\"")],
    )
    .await;
    assert_eq!(stale.status(), 200);
    let fresh = get(&app, &path, &[("range", "bytes=0-1"), ("if-range", &etag)]).await;
    assert_eq!(fresh.status(), 206);

    let past = get(&app, &path, &[("range", "bytes=100000-")]).await;
    assert_eq!(header(past.headers(), "content-range"), "bytes */100000");
    assert_problem(past, 416, "range_not_satisfiable").await;

    let not_modified = get(&app, &path, &[("if-none-match", &etag)]).await;
    assert_eq!(not_modified.status(), 304);
    assert_eq!(header(not_modified.headers(), "etag"), etag);
    assert!(not_modified.bytes().await.unwrap().is_empty());
    let other = get(&app, &path, &[("if-none-match", "\"something-else\"")]).await;
    assert_eq!(other.status(), 200);

    let head = app.client.head(app.url(&path)).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(
        header(head.headers(), "content-length"),
        BIG_SIZE.to_string()
    );
    assert_eq!(header(head.headers(), "etag"), etag);
    assert!(head.bytes().await.unwrap().is_empty());

    // A file shorter than the sniffed prefix is answered from it; ranges work the same.
    let tiny = format!("/api/v1/files/albums/{id}/tiny_abcdefghij.bin");
    let resp = get(&app, &tiny, &[("range", "bytes=2-4")]).await;
    assert_eq!(resp.status(), 206);
    assert_eq!(header(resp.headers(), "content-range"), "bytes 2-4/10");
    assert_eq!(&resp.bytes().await.unwrap()[..], &noise(10)[2..5]);

    // Everything sent was counted (the HEAD and the 304 sent no body).
    let served = app.downloads.metrics().bytes_served();
    assert!(served >= (2 * BIG_SIZE + 3) as u64, "{served}");
}

#[tokio::test]
async fn types_are_sniffed_and_only_raster_images_are_inline() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    albums_collection(&app, &admin).await;
    let html = b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>".to_vec();
    let svg =
        br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#.to_vec();
    // Names that claim another type: the content decides.
    let blobs: Vec<(&str, Vec<u8>)> = vec![
        ("page_abcdefghij.png", html),
        ("drawing_abcdefghij.png", svg),
        ("photo_abcdefghij.txt", png(4, 4)),
        ("notes_abcdefghij.html", "héllo\n".as_bytes().to_vec()),
    ];
    let names: Vec<&str> = blobs.iter().map(|(n, _)| *n).collect();
    let id = record_with_files(
        &app,
        &admin,
        "albums",
        json!({"attachments": names}),
        &blobs,
    )
    .await;
    for (name, mime, disposition) in [
        ("page_abcdefghij.png", "text/html", "attachment"),
        ("drawing_abcdefghij.png", "image/svg+xml", "attachment"),
        ("photo_abcdefghij.txt", "image/png", "inline"),
        (
            "notes_abcdefghij.html",
            "text/plain; charset=utf-8",
            "attachment",
        ),
    ] {
        let resp = get(&app, &format!("/api/v1/files/albums/{id}/{name}"), &[]).await;
        assert_eq!(resp.status(), 200, "{name}");
        let h = resp.headers();
        assert_eq!(header(h, "content-type"), mime, "{name}");
        assert_eq!(
            header(h, "content-disposition"),
            format!("{disposition}; filename*=UTF-8''{name}")
        );
        assert_eq!(header(h, "x-content-type-options"), "nosniff");
        // Not relaxed to the dashboard's policy for HTML (which allows 'self' scripts).
        assert_eq!(
            header(h, "content-security-policy"),
            "sandbox; default-src 'none'",
            "{name}"
        );
    }
}

#[tokio::test]
async fn the_openapi_document_describes_downloads_and_file_tokens() {
    let app = spawn_app().await;
    let doc = app.get_json("/api/v1/openapi.json", None).await;
    let download = &doc["paths"]["/files/{collection}/{record_id}/{filename}"];
    assert_eq!(download["get"]["operationId"], "download_file");
    assert_eq!(download["head"]["operationId"], "head_file");
    assert_eq!(
        doc["paths"]["/files/token"]["post"]["operationId"],
        "create_file_token"
    );
    assert!(doc["components"]["schemas"]["FileToken"].is_object());
}

/// curl, a client nobody here wrote, run as a process: `args`, then its stdout.
async fn curl(args: Vec<String>) -> String {
    tokio::task::spawn_blocking(move || {
        let out = std::process::Command::new("curl")
            .arg("-sS")
            .args(&args)
            .output()
            .expect("curl runs (the test needs curl on PATH)");
        assert!(
            out.status.success(),
            "curl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn curl_downloads_resumes_and_revalidates() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    albums_collection(&app, &admin).await;
    let content = noise(BIG_SIZE);
    let id = record_with_files(
        &app,
        &admin,
        "albums",
        json!({"attachments": [BIG]}),
        &[(BIG, content.clone())],
    )
    .await;
    let url = app.url(&format!("/api/v1/files/albums/{id}/{BIG}"));
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();

    let headers = curl(vec![
        "-o".into(),
        path("full.bin"),
        "-D".into(),
        "-".into(),
        url.clone(),
    ])
    .await;
    assert!(headers.starts_with("HTTP/1.1 200"), "{headers}");
    assert_eq!(std::fs::read(path("full.bin")).unwrap(), content);
    let etag = headers
        .lines()
        .find_map(|line| line.strip_prefix("etag: "))
        .expect("an etag")
        .trim()
        .to_owned();

    // An interrupted download, resumed: curl asks for `bytes=30000-` and appends.
    std::fs::write(path("part.bin"), &content[..30_000]).unwrap();
    let status = curl(vec![
        "-C".into(),
        "-".into(),
        "-o".into(),
        path("part.bin"),
        "-w".into(),
        "%{http_code}".into(),
        url.clone(),
    ])
    .await;
    assert_eq!(status, "206");
    assert_eq!(std::fs::read(path("part.bin")).unwrap(), content);

    let status = |extra: Vec<&str>| {
        let mut args: Vec<String> = vec![
            "-o".into(),
            "/dev/null".into(),
            "-w".into(),
            "%{http_code}".into(),
        ];
        args.extend(extra.into_iter().map(str::to_owned));
        args.push(url.clone());
        curl(args)
    };
    assert_eq!(
        status(vec!["-H", &format!("If-None-Match: {etag}")]).await,
        "304"
    );
    assert_eq!(status(vec!["-r", "200000-"]).await, "416");
    assert_eq!(status(vec!["-r", "0-9"]).await, "206");
    let head = curl(vec!["-I".into(), url.clone()]).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("content-length: 100000"), "{head}");
}
