//! Every refusal: each a problem+json with `Tus-Resumable`, and none changes the upload.

use crate::common::assert_problem;
use crate::helpers::*;
use reqwest::{Method, Response};
use serde_json::{json, Value};

/// The problem, after checking that it carries `Tus-Resumable` too.
async fn refused(r: Response, status: u16, code: &str) -> Value {
    assert_eq!(r.headers()["tus-resumable"], "1.0.0", "{code}");
    assert_problem(r, status, code).await
}

#[tokio::test]
async fn tus_resumable_is_required_and_anonymous_callers_are_refused() {
    let t = setup().await;
    for version in [None, Some("0.2.2")] {
        let mut req = t
            .app
            .req(Method::POST, "/api/v1/uploads", Some(&t.token))
            .header("Upload-Length", "10")
            .header("Upload-Metadata", for_attachment("a.txt"));
        if let Some(v) = version {
            req = req.header("Tus-Resumable", v);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.headers()["tus-version"], "1.0.0");
        refused(r, 412, "tus_version_unsupported").await;
    }
    let r = t
        .tus(Method::POST, "/api/v1/uploads", None)
        .header("Upload-Length", "10")
        .header("Upload-Metadata", for_attachment("a.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    refused(r, 401, "unauthenticated").await;
    let path = t.create(10).await;
    let r = t.tus(Method::HEAD, &path, None).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = t
        .tus(Method::GET, &path, Some(&t.token))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["allow"], "OPTIONS, HEAD, PATCH, DELETE");
    refused(r, 405, "method_not_allowed").await;
}

#[tokio::test]
async fn creation_checks_the_length_against_the_field_and_the_metadata() {
    let t = setup_with(|c| c.max_size = 500_000).await;
    let create = |length: &str, metadata: String| {
        t.tus(Method::POST, "/api/v1/uploads", Some(&t.token))
            .header("Upload-Length", length)
            .header("Upload-Metadata", metadata)
            .send()
    };
    // Over the global cap (the field allows 4 MB), then over the field's max_size.
    let body = refused(
        create("500001", for_attachment("a")).await.unwrap(),
        413,
        "payload_too_large",
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("500000"),
        "{body}"
    );
    let t2 = setup().await;
    let r = t2
        .create_as(&t2.token, FIELD_MAX + 1, &for_attachment("a"))
        .await;
    refused(r, 413, "payload_too_large").await;
    assert_eq!(
        t2.create_as(&t2.token, FIELD_MAX, &for_attachment("a"))
            .await
            .status(),
        201
    );

    for bad in ["", "-1", "ten", "1.5"] {
        refused(
            create(bad, for_attachment("a")).await.unwrap(),
            400,
            "bad_request",
        )
        .await;
    }
    let r = t
        .tus(Method::POST, "/api/v1/uploads", Some(&t.token))
        .header("Upload-Defer-Length", "1")
        .header("Upload-Metadata", for_attachment("a"))
        .send()
        .await
        .unwrap();
    refused(r, 400, "bad_request").await;
    refused(
        create("10", "filename !!notbase64".into()).await.unwrap(),
        400,
        "bad_request",
    )
    .await;

    let body = refused(
        create("10", metadata(&[("filename", "a")])).await.unwrap(),
        422,
        "validation_failed",
    )
    .await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["Upload-Metadata.collection", "Upload-Metadata.field"]
    );
    for (collection, field) in [
        ("nope", "attachment"),
        ("papers", "nope"),
        ("papers", "title"),
    ] {
        let m = metadata(&[("collection", collection), ("field", field)]);
        let body = refused(create("10", m).await.unwrap(), 422, "validation_failed").await;
        assert_eq!(
            body["errors"][0]["field"], "Upload-Metadata.field",
            "{body}"
        );
    }
    // Creation with upload is not offered.
    let r = t
        .tus(Method::POST, "/api/v1/uploads", Some(&t.token))
        .header("Upload-Length", "3")
        .header("Upload-Metadata", for_attachment("a"))
        .header("Content-Type", "application/offset+octet-stream")
        .body("abc")
        .send()
        .await
        .unwrap();
    refused(r, 400, "bad_request").await;
    // Nothing was staged by any of it.
    let staged = std::fs::read_dir(t.app.data_dir.path().join("uploads"))
        .unwrap()
        .count();
    assert_eq!(staged, 0);
}

#[tokio::test]
async fn patch_refusals_leave_the_upload_as_it_was() {
    let t = setup().await;
    let path = t.create(10).await;
    assert_eq!(t.patch(&path, 0, b"abc", None).await.status(), 204);

    // Wrong content type.
    let r = t
        .tus(Method::PATCH, &path, Some(&t.token))
        .header("Content-Type", "application/octet-stream")
        .header("Upload-Offset", "3")
        .body("def")
        .send()
        .await
        .unwrap();
    refused(r, 415, "unsupported_media_type").await;
    // Missing or malformed offset.
    let r = t
        .tus(Method::PATCH, &path, Some(&t.token))
        .header("Content-Type", "application/offset+octet-stream")
        .body("def")
        .send()
        .await
        .unwrap();
    refused(r, 400, "bad_request").await;
    // The wrong offset: 409 with the right one.
    let r = t.patch(&path, 2, b"cdef", None).await;
    assert_eq!(r.headers()["upload-offset"], "3");
    refused(r, 409, "upload_offset_mismatch").await;
    // Past the length: declared, then streamed without a length.
    refused(
        t.patch(&path, 3, b"defghijk", None).await,
        413,
        "payload_too_large",
    )
    .await;
    let chunks: Vec<Result<&'static [u8], std::io::Error>> = vec![Ok(b"defg"), Ok(b"hijk")];
    let r = t
        .tus(Method::PATCH, &path, Some(&t.token))
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", "3")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    refused(r, 413, "payload_too_large").await;
    // A checksum that does not match, and an algorithm that is not offered.
    refused(
        t.patch(&path, 3, b"def", Some(&checksum(b"xyz"))).await,
        460,
        "checksum_mismatch",
    )
    .await;
    refused(
        t.patch(&path, 3, b"def", Some("md5 AAAA")).await,
        400,
        "bad_request",
    )
    .await;
    assert_eq!(t.offset(&path).await, 3);
    assert_eq!(std::fs::read(t.staged(&path)).unwrap(), b"abc");
    // And the upload goes on from where it was.
    assert_eq!(
        t.patch(&path, 3, b"defghij", Some(&checksum(b"defghij")))
            .await
            .status(),
        204
    );
    assert_eq!(std::fs::read(t.staged(&path)).unwrap(), b"abcdefghij");
}

#[tokio::test]
async fn one_user_may_hold_only_so_many_unfinished_uploads() {
    let t = setup_with(|c| c.max_unfinished_per_user = 2).await;
    let first = t.create(1).await;
    t.create(1).await;
    let body = refused(
        t.create_as(&t.token, 1, &for_attachment("a")).await,
        409,
        "conflict",
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("2 unfinished"),
        "{body}"
    );
    // Another user is not held back, and finishing one makes room.
    let (_, other) = t.app.user_token("other@example.org", &[]).await;
    assert_eq!(
        t.create_as(&other, 1, &for_attachment("a")).await.status(),
        201
    );
    assert_eq!(t.patch(&first, 0, b"x", None).await.status(), 204);
    assert_eq!(
        t.create_as(&t.token, 1, &for_attachment("a"))
            .await
            .status(),
        201
    );
}

#[tokio::test]
async fn unknown_uploads_are_404() {
    let t = setup().await;
    for path in [
        "/api/v1/uploads/0190abcd-0000-7000-8000-000000000000",
        "/api/v1/uploads/not-a-uuid",
        "/api/v1/uploads/..%2F..%2Fhearth.db",
    ] {
        let r = t.patch(path, 0, b"abc", None).await;
        refused(r, 404, "not_found").await;
        let r = t
            .tus(Method::DELETE, path, Some(&t.token))
            .send()
            .await
            .unwrap();
        refused(r, 404, "not_found").await;
    }
}

#[tokio::test]
async fn refusals_from_in_front_of_the_endpoint_carry_tus_resumable_too() {
    let t = setup().await;
    // A bad token is refused by the authentication middleware, before the endpoint.
    let r = t
        .tus(
            Method::HEAD,
            "/api/v1/uploads/0190abcd-0000-7000-8000-000000000000",
            Some("hth_not_a_token"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["tus-resumable"], "1.0.0");
    // Other paths are not tus's.
    let r = t
        .app
        .req(Method::GET, "/api/v1/papers", Some("hth_not_a_token"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(!r.headers().contains_key("tus-resumable"));
}

#[tokio::test]
async fn a_read_only_token_may_look_at_an_upload_but_not_change_it() {
    let t = setup().await;
    let path = t.create(3).await;
    let r = t
        .app
        .req(Method::POST, "/api/v1/auth/tokens", Some(&t.token))
        .json(&serde_json::json!({"name": "ro", "scopes": ["read"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let read_only = r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(t.head_as(&path, &read_only).await.status(), 200);
    refused(
        t.create_as(&read_only, 3, &for_attachment("a")).await,
        403,
        "forbidden",
    )
    .await;
    let r = t
        .tus(Method::PATCH, &path, Some(&read_only))
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", "0")
        .body("abc")
        .send()
        .await
        .unwrap();
    refused(r, 403, "forbidden").await;
    let r = t
        .tus(Method::DELETE, &path, Some(&read_only))
        .send()
        .await
        .unwrap();
    refused(r, 403, "forbidden").await;
    assert_eq!(t.offset(&path).await, 0);
}

#[tokio::test]
async fn a_collection_the_caller_may_not_write_is_refused_as_if_it_did_not_exist() {
    let t = setup().await;
    let admin = t.app.admin_token().await;
    let r = t
        .app
        .create_collection(
            &admin,
            json!({"name": "secret", "fields": [{"name": "attachment", "type": "file"}]}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let answer = |collection: &'static str| {
        let t = &t;
        async move {
            let meta = metadata(&[("collection", collection), ("field", "attachment")]);
            let r = t.create_as(&t.token, 10, &meta).await;
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap();
            (
                status,
                body["errors"][0]["message"]
                    .as_str()
                    .unwrap_or("")
                    .replace(collection, "C"),
            )
        }
    };
    let hidden = answer("secret").await;
    let missing = answer("nosuch").await;
    assert_eq!(hidden.0, 422);
    assert_eq!(
        hidden, missing,
        "an admin-only collection must look like a missing one"
    );
    // The admin may.
    let meta = metadata(&[("collection", "secret"), ("field", "attachment")]);
    assert_eq!(t.create_as(&admin, 10, &meta).await.status(), 201);
}
