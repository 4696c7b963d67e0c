//! API.md section 2 (records): CRUD, conditional requests, idempotency, and the record
//! error codes of section 3.

mod common;

use common::assert_problem;
use common::posts::{create, setup};
use reqwest::Method;
use serde_json::{json, Value};

#[tokio::test]
async fn section_2_create_returns_201_location_etag_defaults_and_owner() {
    let (app, admin) = setup().await;
    let (user_id, token) = app.user_token("writer@example.org", &[]).await;
    let resp = create(
        &app,
        &token,
        "/api/v1/posts",
        json!({"title": "Hello", "slug": "hello"}),
    )
    .await;
    assert_eq!(resp.status(), 201);
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(resp.headers()["etag"], "\"1\"");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        location,
        format!("/api/v1/posts/{}", body["id"].as_str().unwrap())
    );
    assert_eq!(body["version"], 1);
    assert_eq!(body["views"], 0, "default applied");
    assert_eq!(body["status"], "draft");
    assert_eq!(body["owner"], user_id.as_str());
    assert_eq!(body["featured"], Value::Null);
    let id = body["id"].as_str().unwrap();
    assert_eq!(uuid_version(id), 7);
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(
        &keys[..5],
        ["id", "created_at", "updated_at", "version", "owner"]
    );
    // Anyone may view (public), and the admin sees the same record.
    let got: Value = app.get_json(&location, None).await;
    assert_eq!(got, body);
    let got: Value = app.get_json(&location, Some(&admin)).await;
    assert_eq!(got["id"], body["id"]);
}

fn uuid_version(id: &str) -> u32 {
    u32::from_str_radix(&id[14..15], 16).unwrap()
}

#[tokio::test]
async fn section_2_get_etag_and_if_none_match_304() {
    let (app, admin) = setup().await;
    let body: Value = create(&app, &admin, "/api/v1/posts", json!({"title": "A"}))
        .await
        .json()
        .await
        .unwrap();
    let path = format!("/api/v1/posts/{}", body["id"].as_str().unwrap());
    let resp = app.req(Method::GET, &path, None).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let etag = resp.headers()["etag"].clone();
    let resp = app
        .req(Method::GET, &path, None)
        .header("if-none-match", etag.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 304);
    assert_eq!(resp.headers()["etag"], etag);
    let resp = app
        .req(Method::GET, &path, None)
        .header("if-none-match", "\"99\"")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let missing = "/api/v1/posts/01939b6e-0000-7000-8000-000000000000";
    assert_problem(
        app.req(Method::GET, missing, None).send().await.unwrap(),
        404,
        "not_found",
    )
    .await;
    assert_problem(
        app.req(Method::GET, "/api/v1/nothing/x", None)
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn section_2_put_replaces_and_if_match_guards_with_412() {
    let (app, admin) = setup().await;
    let body: Value = create(
        &app,
        &admin,
        "/api/v1/posts",
        json!({"title": "A", "views": 5, "featured": true}),
    )
    .await
    .json()
    .await
    .unwrap();
    let path = format!("/api/v1/posts/{}", body["id"].as_str().unwrap());
    let resp = app
        .req(Method::PUT, &path, Some(&admin))
        .header("if-match", "\"7\"")
        .json(&json!({"title": "B"}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 412, "precondition_failed").await;
    let resp = app
        .req(Method::PUT, &path, Some(&admin))
        .header("if-match", "\"1\"")
        .json(&json!({"title": "B"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["etag"], "\"2\"");
    let updated: Value = resp.json().await.unwrap();
    assert_eq!(updated["title"], "B");
    assert_eq!(
        updated["featured"],
        Value::Null,
        "PUT replaces: absent optional fields become null"
    );
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["created_at"], body["created_at"]);
    // The old ETag no longer matches.
    let resp = app
        .req(Method::PUT, &path, Some(&admin))
        .header("if-match", "\"1\"")
        .json(&json!({"title": "C"}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 412, "precondition_failed").await;
    // Required fields are required on PUT.
    let resp = app
        .req(Method::PUT, &path, Some(&admin))
        .json(&json!({"views": 1}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(resp, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["code"], "required");
}

#[tokio::test]
async fn section_2_patch_is_a_json_merge_patch() {
    let (app, admin) = setup().await;
    let body: Value = create(
        &app,
        &admin,
        "/api/v1/posts",
        json!({"title": "A", "featured": true, "meta": {"a": 1, "b": {"c": 2}}}),
    )
    .await
    .json()
    .await
    .unwrap();
    let path = format!("/api/v1/posts/{}", body["id"].as_str().unwrap());
    let resp = app
        .req(Method::PATCH, &path, Some(&admin))
        .header("content-type", "application/merge-patch+json")
        .header("if-match", "\"1\"")
        .body(json!({"views": 3, "featured": null, "meta": {"b": {"c": null, "d": 4}}}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let patched: Value = resp.json().await.unwrap();
    assert_eq!(patched["title"], "A", "untouched");
    assert_eq!(patched["views"], 3);
    assert_eq!(patched["featured"], Value::Null, "null removes");
    assert_eq!(
        patched["meta"],
        json!({"a": 1, "b": {"d": 4}}),
        "json fields merge recursively"
    );
    assert_eq!(patched["version"], 2);
    let resp = app
        .req(Method::PATCH, &path, Some(&admin))
        .json(&json!({"title": null}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(resp, 422, "validation_failed").await;
    assert_eq!(
        problem["errors"][0],
        json!({"field": "title", "code": "required", "message": "is required"})
    );
    let resp = app
        .req(Method::PATCH, &path, Some(&admin))
        .header("if-match", "\"1\"")
        .json(&json!({"views": 4}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 412, "precondition_failed").await;
    let resp = app
        .req(Method::PATCH, &path, Some(&admin))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_problem(resp, 415, "unsupported_media_type").await;
}

#[tokio::test]
async fn section_2_delete_is_204_and_honours_if_match() {
    let (app, admin) = setup().await;
    let body: Value = create(&app, &admin, "/api/v1/posts", json!({"title": "A"}))
        .await
        .json()
        .await
        .unwrap();
    let path = format!("/api/v1/posts/{}", body["id"].as_str().unwrap());
    let resp = app
        .req(Method::DELETE, &path, Some(&admin))
        .header("if-match", "\"5\"")
        .send()
        .await
        .unwrap();
    assert_problem(resp, 412, "precondition_failed").await;
    let resp = app
        .req(Method::DELETE, &path, Some(&admin))
        .header("if-match", "\"1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_problem(
        app.req(Method::GET, &path, None).send().await.unwrap(),
        404,
        "not_found",
    )
    .await;
    assert_problem(
        app.req(Method::DELETE, &path, Some(&admin))
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn section_3_every_per_field_code() {
    let (app, admin) = setup().await;
    let resp = create(&app, &admin, "/api/v1/posts", json!({
        "slug": "Not A Slug", "views": -1, "status": "archived", "author": "01939b6e-0000-7000-8000-000000000000",
        "rating": 9.5, "featured": "yes", "published_at": "yesterday", "day": "2026-02-30",
        "contact": "nobody", "link": "ftp://x", "meta": {"big": "x".repeat(300)},
        "id": "mine", "surprise": 1})).await;
    let problem = assert_problem(resp, 422, "validation_failed").await;
    let codes: Vec<(String, String)> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_string(),
                e["code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for (field, code) in [
        ("title", "required"),
        ("slug", "pattern_mismatch"),
        ("views", "too_small"),
        ("status", "not_in_enum"),
        ("rating", "too_large"),
        ("featured", "wrong_type"),
        ("published_at", "invalid_datetime"),
        ("day", "invalid_datetime"),
        ("contact", "invalid_email"),
        ("link", "invalid_url"),
        ("meta", "too_long"),
        ("id", "read_only_field"),
        ("surprise", "unknown_field"),
    ] {
        assert!(
            codes.contains(&(field.to_string(), code.to_string())),
            "{field}/{code} missing from {codes:?}"
        );
    }
    let resp = create(
        &app,
        &admin,
        "/api/v1/posts",
        json!({"title": "x".repeat(201)}),
    )
    .await;
    assert_eq!(
        assert_problem(resp, 422, "validation_failed").await["errors"][0]["code"],
        "too_long"
    );
    let resp = create(&app, &admin, "/api/v1/posts", json!({"title": ""})).await;
    assert_eq!(
        assert_problem(resp, 422, "validation_failed").await["errors"][0]["code"],
        "too_short"
    );
    let resp = create(
        &app,
        &admin,
        "/api/v1/posts",
        json!({"title": "t", "views": 2000000}),
    )
    .await;
    assert_eq!(
        assert_problem(resp, 422, "validation_failed").await["errors"][0]["code"],
        "too_large"
    );
    // A relation to a record that does not exist.
    let resp = create(
        &app,
        &admin,
        "/api/v1/posts",
        json!({"title": "t", "author": "01939b6e-0000-7000-8000-000000000000"}),
    )
    .await;
    let problem = assert_problem(resp, 422, "validation_failed").await;
    assert_eq!(
        problem["errors"][0],
        json!({"field": "author", "code": "relation_not_found",
        "message": "no record 01939b6e-0000-7000-8000-000000000000 in `authors`"})
    );
    // Not an object, not JSON.
    let resp = app
        .req(Method::POST, "/api/v1/posts", Some(&admin))
        .json(&json!([1]))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 400, "invalid_json").await;
    let resp = app
        .req(Method::POST, "/api/v1/posts", Some(&admin))
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_problem(resp, 400, "invalid_json").await;
    // Nothing was written by any of these.
    let list: Value = app.get_json("/api/v1/posts?count=true", None).await;
    assert_eq!(list["total"], 0);
}

#[tokio::test]
async fn section_3_unique_violation_is_409() {
    let (app, admin) = setup().await;
    assert_eq!(
        create(
            &app,
            &admin,
            "/api/v1/posts",
            json!({"title": "a", "slug": "same"})
        )
        .await
        .status(),
        201
    );
    let resp = create(
        &app,
        &admin,
        "/api/v1/posts",
        json!({"title": "b", "slug": "same"}),
    )
    .await;
    let problem = assert_problem(resp, 409, "unique_violation").await;
    assert_eq!(problem["errors"][0]["field"], "slug");
}

#[tokio::test]
async fn section_5_idempotency_key_replays_and_refuses_a_different_body() {
    let (app, admin) = setup().await;
    let send = |body: Value| {
        app.req(Method::POST, "/api/v1/posts", Some(&admin))
            .header("idempotency-key", "key-1")
            .json(&body)
            .send()
    };
    let first = send(json!({"title": "once", "views": 1})).await.unwrap();
    assert_eq!(first.status(), 201);
    let first_location = first.headers()["location"].clone();
    let first_body: Value = first.json().await.unwrap();
    // Same key, same body (keys in another order): the first response, nothing new.
    let again = send(json!({"views": 1, "title": "once"})).await.unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["location"], first_location);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap(), first_body);
    let other = send(json!({"title": "twice"})).await.unwrap();
    assert_problem(other, 422, "idempotency_key_reused").await;
    let list: Value = app.get_json("/api/v1/posts?count=true", None).await;
    assert_eq!(list["total"], 1);
    // Keys are per caller: another user may use the same key.
    let (_, token) = app.user_token("other@example.org", &[]).await;
    let resp = app
        .req(Method::POST, "/api/v1/posts", Some(&token))
        .header("idempotency-key", "key-1")
        .json(&json!({"title": "twice"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let resp = app
        .req(Method::POST, "/api/v1/posts", Some(&admin))
        .header("idempotency-key", "bad key")
        .json(&json!({"title": "x"}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 400, "bad_request").await;
}
