//! Record forms with file fields (issue 17 point 7): the dashboard posts multipart with
//! its session cookie and CSRF token; files are added, listed with a download link and a
//! thumbnail preview, removed, and refused uploads come back next to their field.

mod common;

use common::{spawn_app, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD};
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};

/// A 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

fn csrf(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("csrf input");
    let rest = &html[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// A signed-in dashboard session (cookies kept, redirects not followed) and a
/// collection `pics` with a one-image field `cover` (100x100 thumbs) and a three-file
/// field `docs`.
async fn setup() -> (TestApp, reqwest::Client) {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let r = app
        .create_collection(
            &token,
            json!({"name": "pics", "fields": [
                {"name": "title", "type": "text"},
                {"name": "cover", "type": "file", "mime_types": ["image/png"], "max_size": 2000, "thumbs": ["300x300", "100x100"]},
                {"name": "docs", "type": "file", "max_files": 3, "protected": true}],
                "rules": {"list": ["public"], "view": ["public"]}}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = c.get(app.url("/admin/login")).send().await.unwrap();
    let token = csrf(&page.text().await.unwrap());
    let r = c
        .post(app.url("/admin/login"))
        .form(&[
            ("email", ADMIN_EMAIL),
            ("password", ADMIN_PASSWORD),
            ("csrf", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    (app, c)
}

fn file(name: &str, bytes: &[u8]) -> Part {
    Part::bytes(bytes.to_vec())
        .file_name(name.to_owned())
        .mime_str("application/octet-stream")
        .unwrap()
}

async fn page(app: &TestApp, c: &reqwest::Client, path: &str) -> String {
    let r = c.get(app.url(path)).send().await.unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.text().await.unwrap()
}

async fn records(app: &TestApp) -> Vec<Value> {
    let body: Value = app
        .client
        .get(app.url("/api/v1/pics"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_record_form_uploads_lists_previews_and_removes_files() {
    let (app, c) = setup().await;
    let html = page(&app, &c, "/admin/collections/pics/records/new").await;
    assert!(html.contains("enctype=\"multipart/form-data\""), "{html}");
    assert!(
        html.contains("name=\"cover+\" type=\"file\" accept=\"image/png\""),
        "{html}"
    );
    assert!(
        html.contains("name=\"docs+\" type=\"file\" multiple"),
        "{html}"
    );
    assert!(html.contains("id=\"upload-bar\""), "{html}");
    let token = csrf(&html);

    // Create with a file.
    let form = Form::new()
        .text("csrf", token.clone())
        .text("version", "0")
        .text("f.title", "first")
        .part("cover+", file("cat.png", PNG))
        .part("docs+", file("", b""));
    let r = c
        .post(app.url("/admin/collections/pics/records/new"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = r.status();
    assert_eq!(status, 303, "{}", r.text().await.unwrap());
    let rec = records(&app).await.remove(0);
    assert_eq!(rec["title"], "first");
    let cover = rec["cover"].as_str().expect("a stored name").to_owned();
    assert!(cover.ends_with(".png"), "{rec}");
    let id = rec["id"].as_str().unwrap().to_owned();

    // The edit form lists it: a download link, the smallest thumbnail as preview, and a
    // box to remove it; the preview and the link both answer.
    let edit = format!("/admin/collections/pics/records/{id}");
    let html = page(&app, &c, &edit).await;
    let download = format!("/api/v1/files/pics/{id}/{cover}");
    assert!(
        html.contains(&format!("href=\"{download}\" download")),
        "{html}"
    );
    assert!(
        html.contains(&format!("src=\"{download}?thumb=100x100\"")),
        "{html}"
    );
    assert!(
        html.contains(&format!("name=\"cover-\" value=\"{cover}\"")),
        "{html}"
    );
    for url in [download.clone(), format!("{download}?thumb=100x100")] {
        let r = c.get(app.url(&url)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{url}");
    }

    // Edit: remove the cover, add two documents, one larger than `body_limit` (1 MiB):
    // the form streams as the API's multipart writes do.
    let version = rec["version"].to_string();
    let form = Form::new()
        .text("csrf", token.clone())
        .text("version", version)
        .text("f.title", "second")
        .text("cover-", cover.clone())
        .part("docs+", file("a.txt", b"alpha"))
        .part("docs+", file("b.txt", &vec![b'b'; 1536 * 1024]));
    let r = c.post(app.url(&edit)).multipart(form).send().await.unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let rec = records(&app).await.remove(0);
    assert_eq!(rec["title"], "second");
    assert!(rec["cover"].is_null(), "{rec}");
    assert_eq!(rec["docs"].as_array().map(Vec::len), Some(2), "{rec}");
    let html = page(&app, &c, &edit).await;
    assert!(!html.contains(&cover), "{html}");
    // Not images: a link, no preview.
    // Protected: named, without a link the session could not follow.
    assert!(
        html.contains("protected: download through the API"),
        "{html}"
    );
    let docs: Vec<&str> = rec["docs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        docs.iter()
            .all(|d| html.contains(&format!("<span class=\"mono\">{d}</span>"))),
        "{html}"
    );
    assert!(!html.contains("?thumb="), "{html}");
}

#[tokio::test]
async fn refused_uploads_come_back_on_their_field_and_csrf_is_required() {
    let (app, c) = setup().await;
    let html = page(&app, &c, "/admin/collections/pics/records/new").await;
    let token = csrf(&html);
    let post = |form: Form| {
        c.post(app.url("/admin/collections/pics/records/new"))
            .multipart(form)
            .send()
    };

    // The wrong type: 422, the message under `cover`, the other values kept.
    let r = post(
        Form::new()
            .text("csrf", token.clone())
            .text("f.title", "kept")
            .part("cover+", file("notes.txt", b"plain text")),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"f-cover-err\""), "{html}");
    assert!(html.contains("image/png"), "{html}");
    assert!(html.contains(">kept</textarea>"), "{html}");

    // Too large (over 2000 bytes): 413, the message under `cover`.
    let big = [PNG, &[0u8; 3000][..]].concat();
    let r = post(
        Form::new()
            .text("csrf", token.clone())
            .part("cover+", file("big.png", &big)),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 413);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"f-cover-err\""), "{html}");
    assert!(html.contains("at most 2000 bytes"), "{html}");

    // Without the token, with a wrong one, or with the token after a file (it must be
    // the first part, so that nothing is read before it): refused, nothing written.
    for form in [
        Form::new().part("cover+", file("cat.png", PNG)),
        Form::new()
            .part("cover+", file("cat.png", PNG))
            .text("csrf", token.clone()),
        Form::new()
            .text("csrf", "not-the-token")
            .part("cover+", file("cat.png", PNG)),
    ] {
        let r = post(form).await.unwrap();
        assert_eq!(r.status(), 403);
    }
    assert!(records(&app).await.is_empty());
}
