//! API.md 10 (files): downloads over a real socket. Blobs are put straight into the
//! server's store and their names written into the record's column, as an upload
//! leaves them (a JSON body may only name files a record already holds).

mod common;

use common::{assert_problem, spawn_app, TestApp};
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// `albums`: public downloads, a one-file field with thumbnails and a list of files.
async fn albums_collection(app: &TestApp, admin: &str) {
    let resp = app
        .create_collection(
            admin,
            json!({"name": "albums", "fields": [
                {"name": "title", "type": "text"},
                {"name": "picture", "type": "file", "thumbs": ["50x50", "40x0", "0x30"]},
                {"name": "attachments", "type": "file", "max_files": 10}],
             "rules": {"list": ["public"], "view": ["public"], "create": ["authenticated"]}}),
        )
        .await;
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
}

/// Creates a record of `collection`, puts each `(name, bytes)` blob under it and makes
/// its file fields hold `files` (field → stored name, or a list of them); returns the
/// record id.
async fn record_with_files(
    app: &TestApp,
    token: &str,
    collection: &str,
    files: Value,
    blobs: &[(&str, Vec<u8>)],
) -> String {
    let resp = app
        .req(Method::POST, &format!("/api/v1/{collection}"), Some(token))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    let id = resp.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (name, bytes) in blobs {
        let key = files::BlobKey::for_file(collection, &id, name).unwrap();
        let body = futures_util::stream::once({
            let bytes = bytes.clone();
            async move { Ok::<_, std::io::Error>(bytes::Bytes::from(bytes)) }
        });
        app.files.put(&key, body, u64::MAX).await.unwrap();
    }
    for (field, value) in files.as_object().unwrap() {
        set_file_column(app, collection, &id, field, value.clone()).await;
    }
    id
}

/// Writes a file field's column as the record service stores it: the name, or the JSON
/// array of names.
async fn set_file_column(app: &TestApp, collection: &str, id: &str, field: &str, value: Value) {
    let sql = format!("UPDATE \"rec_{collection}\" SET \"{field}\" = ?1 WHERE id = ?2");
    let text = match value {
        Value::String(name) => name,
        list => list.to_string(),
    };
    let id = id.to_owned();
    let changed = app
        .db
        .write(move |c| {
            c.execute(&sql, rusqlite::params![text, id])
                .map_err(storage::StorageError::from)
        })
        .await
        .unwrap();
    assert_eq!(changed, 1);
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x * 7) as u8, (y * 13) as u8, ((x + y) * 3) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// Bytes no sniffer takes for anything (binary, no magic number).
fn noise(len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_u32;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8 | 0x80
        })
        .collect()
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> &'h str {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

async fn get(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = app.client.get(app.url(path));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.send().await.unwrap()
}

const BIG: &str = "data_abcdefghij.bin";
const BIG_SIZE: usize = 100_000;

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

/// `vault`: records only their owner may view, with a protected file field.
async fn vault(app: &TestApp, admin: &str) {
    let resp = app
        .create_collection(
            admin,
            json!({"name": "vault", "fields": [
                {"name": "doc", "type": "file", "protected": true}],
             "rules": {"list": ["owner"], "view": ["owner"], "create": ["authenticated"]}}),
        )
        .await;
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
}

async fn file_token(app: &TestApp, bearer: &str) -> String {
    let resp = app
        .req(Method::POST, "/api/v1/files/token", Some(bearer))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(header(resp.headers(), "cache-control"), "no-store");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["expires_in"], 120);
    body["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn protected_files_need_view_permission_or_a_file_token() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    vault(&app, &admin).await;
    let (_, alice) = app.user_token("alice@example.org", &[]).await;
    let (_, bob) = app.user_token("bob@example.org", &[]).await;
    let name = "secret_abcdefghij.pdf";
    let content = b"%PDF-1.7\nsecret".to_vec();
    let id = record_with_files(
        &app,
        &alice,
        "vault",
        json!({"doc": name}),
        &[(name, content.clone())],
    )
    .await;
    let path = format!("/api/v1/files/vault/{id}/{name}");
    let status = |token: Option<String>, query: String| {
        let app = &app;
        let path = format!("{path}{query}");
        async move {
            app.req(Method::GET, &path, token.as_deref())
                .send()
                .await
                .unwrap()
        }
    };

    assert_problem(status(None, String::new()).await, 401, "unauthenticated").await;
    assert_problem(
        status(Some(bob.clone()), String::new()).await,
        404,
        "not_found",
    )
    .await;
    let own = status(Some(alice.clone()), String::new()).await;
    assert_eq!(own.status(), 200);
    assert_eq!(header(own.headers(), "cache-control"), "private, no-cache");
    assert_eq!(header(own.headers(), "content-type"), "application/pdf");
    assert_eq!(own.bytes().await.unwrap(), content);
    assert_eq!(
        status(Some(admin.clone()), String::new()).await.status(),
        200
    );
    // A personal token of alice's without the read scope.
    let resp = app
        .req(Method::POST, "/api/v1/auth/tokens", Some(&alice))
        .json(&json!({"name": "writer", "scopes": ["write"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    let write_only = resp.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_problem(
        status(Some(write_only), String::new()).await,
        403,
        "forbidden",
    )
    .await;

    // File tokens: alice's opens her file to a plain link, several times.
    let token = file_token(&app, &alice).await;
    for _ in 0..2 {
        let resp = status(None, format!("?token={token}")).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.bytes().await.unwrap(), content);
    }
    let ranged = app
        .client
        .get(app.url(&format!("{path}?token={token}")))
        .header("range", "bytes=0-3")
        .send()
        .await
        .unwrap();
    assert_eq!(ranged.status(), 206);
    // Bob's token stands for bob: still not his file.
    let bobs = file_token(&app, &bob).await;
    assert_problem(
        status(None, format!("?token={bobs}")).await,
        404,
        "not_found",
    )
    .await;
    // Both a bearer and a file token: ambiguous.
    assert_problem(
        status(Some(alice.clone()), format!("?token={token}")).await,
        400,
        "bad_request",
    )
    .await;
    for garbage in ["", "nope", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"] {
        assert_problem(
            status(None, format!("?token={garbage}")).await,
            401,
            "unauthenticated",
        )
        .await;
    }
    // Expired (every token ended, as after its 120 s): refused.
    app.downloads.revoke_file_tokens();
    assert_problem(
        status(None, format!("?token={token}")).await,
        401,
        "unauthenticated",
    )
    .await;

    // Only authenticated callers get tokens; only POST makes one.
    let anonymous = app
        .req(Method::POST, "/api/v1/files/token", None)
        .send()
        .await
        .unwrap();
    assert_problem(anonymous, 401, "unauthenticated").await;
    let wrong = app
        .req(Method::GET, "/api/v1/files/token", Some(&alice))
        .send()
        .await
        .unwrap();
    assert_eq!(header(wrong.headers(), "allow"), "POST");
    assert_problem(wrong, 405, "method_not_allowed").await;
    let delete = app
        .req(Method::DELETE, &path, Some(&alice))
        .send()
        .await
        .unwrap();
    assert_eq!(header(delete.headers(), "allow"), "GET, HEAD");
    assert_problem(delete, 405, "method_not_allowed").await;
}

/// The status line of a request sent as raw bytes (no client normalising the path).
async fn raw_status(app: &TestApp, target: &str) -> u16 {
    let mut socket = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let request = format!("GET {target} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    socket.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status in {answer:?}"))
}

#[tokio::test]
async fn unknown_names_and_paths_out_of_the_store_are_not_found() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    albums_collection(&app, &admin).await;
    let name = "a_abcdefghij.bin";
    let id = record_with_files(
        &app,
        &admin,
        "albums",
        json!({"attachments": [name]}),
        &[(name, noise(5))],
    )
    .await;
    // A name the record holds but the store lacks (never left by an upload).
    let missing = "gone_abcdefghij.bin";
    set_file_column(&app, "albums", &id, "attachments", json!([name, missing])).await;
    for path in [
        format!("/api/v1/files/albums/{id}/other_abcdefghij.bin"),
        format!("/api/v1/files/albums/{id}/{missing}"),
        format!("/api/v1/files/albums/0190abcd-0000-7000-8000-000000000000/{name}"),
        format!("/api/v1/files/nope/{id}/{name}"),
        format!("/api/v1/files/albums/{id}"),
        format!("/api/v1/files/albums/{id}/{name}/more"),
        "/api/v1/files".to_owned(),
    ] {
        assert_problem(get(&app, &path, &[]).await, 404, "not_found").await;
    }
    let resp = get(
        &app,
        &format!("/api/v1/files/albums/{id}/{name}?size=1"),
        &[],
    )
    .await;
    assert_problem(resp, 400, "invalid_query").await;
    let resp = get(&app, &format!("/api/v1/files/albums/{id}/{name}"), &[]).await;
    assert_eq!(resp.status(), 200);

    // Paths that would leave the record's directory, as a client could send them raw.
    for target in [
        format!("/api/v1/files/albums/{id}/..%2F..%2Fhearth.db"),
        format!("/api/v1/files/albums/{id}/%2e%2e"),
        format!("/api/v1/files/albums/{id}/..%5C..%5Chearth.db"),
        format!("/api/v1/files/albums/..%2F{id}/{name}"),
        format!("/api/v1/files/albums/{id}/../{id}/{name}"),
        format!("/api/v1/files/albums/{id}/%2Fetc%2Fpasswd"),
        "/api/v1/files/albums/../../../hearth.db/x".to_owned(),
        format!("/api/v1/files/albums/{id}/{name}%00"),
    ] {
        let status = raw_status(&app, &target).await;
        assert!(status == 404 || status == 400, "{target}: {status}");
    }
}

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
