//! API.md section 2 (records) and the error codes of section 3 that concern them.

mod common;

use common::{assert_problem, spawn_app, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

/// The contract's example collection (API.md 2.2) plus one field of every other type.
fn posts_definition() -> Value {
    json!({"name": "posts", "description": "Blog posts",
     "fields": [
       {"name": "title", "type": "text", "required": true, "min_length": 1, "max_length": 200},
       {"name": "slug", "type": "text", "unique": true, "pattern": "^[a-z0-9-]+$"},
       {"name": "views", "type": "integer", "min": 0, "max": 1000000, "default": 0, "indexed": true},
       {"name": "status", "type": "enum", "values": ["draft", "published"], "default": "draft"},
       {"name": "author", "type": "relation", "collection": "authors", "on_delete": "set_null"},
       {"name": "rating", "type": "number", "min": 0, "max": 5},
       {"name": "featured", "type": "boolean"},
       {"name": "published_at", "type": "datetime"},
       {"name": "day", "type": "date"},
       {"name": "contact", "type": "email"},
       {"name": "link", "type": "url"},
       {"name": "meta", "type": "json", "max_bytes": 200}],
     "rules": {"list": ["public"], "view": ["public"], "create": ["authenticated"],
               "update": ["owner", "role:editor"], "delete": ["owner"]}})
}

async fn setup() -> (TestApp, String) {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let resp = app
        .create_collection(&admin, json!({"name": "authors", "fields": [{"name": "name", "type": "text", "required": true}],
            "rules": {"list": ["public"], "view": ["public"], "create": ["authenticated"]}}))
        .await;
    assert_eq!(resp.status(), 201);
    let resp = app.create_collection(&admin, posts_definition()).await;
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    (app, admin)
}

async fn create(app: &TestApp, token: &str, path: &str, body: Value) -> reqwest::Response {
    app.req(Method::POST, path, Some(token))
        .json(&body)
        .send()
        .await
        .unwrap()
}

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
    let got: Value = app
        .req(Method::GET, &location, None)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got, body);
    let got: Value = app
        .req(Method::GET, &location, Some(&admin))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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
    let list: Value = app
        .req(Method::GET, "/api/v1/posts?count=true", None)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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
    let list: Value = app
        .req(Method::GET, "/api/v1/posts?count=true", None)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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

#[tokio::test]
async fn section_2_2_rules_owner_roles_and_denials() {
    let (app, _admin) = setup().await;
    let (_, alice) = app.user_token("alice@example.org", &[]).await;
    let (_, bob) = app.user_token("bob@example.org", &[]).await;
    let (_, editor) = app.user_token("ed@example.org", &["editor"]).await;
    // create: authenticated → anonymous gets 401 with WWW-Authenticate.
    let resp = app
        .req(Method::POST, "/api/v1/posts", None)
        .json(&json!({"title": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["www-authenticate"], "Bearer");
    assert_problem(resp, 401, "unauthenticated").await;
    let post: Value = create(&app, &alice, "/api/v1/posts", json!({"title": "alice's"}))
        .await
        .json()
        .await
        .unwrap();
    let path = format!("/api/v1/posts/{}", post["id"].as_str().unwrap());
    // update: owner or role:editor. Bob is neither: 404, never 403, so ids don't leak.
    let resp = app
        .req(Method::PATCH, &path, Some(&bob))
        .json(&json!({"title": "bob was here"}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 404, "not_found").await;
    let resp = app
        .req(Method::PATCH, &path, Some(&editor))
        .json(&json!({"title": "edited"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = app
        .req(Method::PATCH, &path, Some(&alice))
        .json(&json!({"title": "mine again"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // delete: owner only. The editor's role does not help here.
    assert_problem(
        app.req(Method::DELETE, &path, Some(&editor))
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
    assert_problem(
        app.req(Method::DELETE, &path, None).send().await.unwrap(),
        404,
        "not_found",
    )
    .await;
    assert_eq!(
        app.req(Method::DELETE, &path, Some(&alice))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    // Mass assignment of owner is refused.
    let resp = create(
        &app,
        &bob,
        "/api/v1/posts",
        json!({"title": "x", "owner": "someone"}),
    )
    .await;
    assert_eq!(
        assert_problem(resp, 422, "validation_failed").await["errors"][0]["code"],
        "read_only_field"
    );
}

#[tokio::test]
async fn section_2_2_owner_rule_on_list_filters_to_own_records_and_admin_only_by_default() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let resp = app
        .create_collection(
            &admin,
            json!({"name": "notes", "fields": [{"name": "text", "type": "text"}],
            "rules": {"list": ["owner"], "view": ["owner"], "create": ["authenticated"]}}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let (_, alice) = app.user_token("alice@example.org", &[]).await;
    let (_, bob) = app.user_token("bob@example.org", &[]).await;
    for (token, text) in [(&alice, "a1"), (&alice, "a2"), (&bob, "b1")] {
        assert_eq!(
            create(&app, token, "/api/v1/notes", json!({"text": text}))
                .await
                .status(),
            201
        );
    }
    let list: Value = app
        .req(Method::GET, "/api/v1/notes?count=true", Some(&alice))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 2);
    assert!(list["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["text"].as_str().unwrap().starts_with('a')));
    let list: Value = app
        .req(Method::GET, "/api/v1/notes?count=true", Some(&admin))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 3, "admins pass every rule");
    assert_problem(
        app.req(Method::GET, "/api/v1/notes", None)
            .send()
            .await
            .unwrap(),
        401,
        "unauthenticated",
    )
    .await;
    // update and delete have no grants: admins only (403 for create/list, 404 for others).
    let id = list["items"][0]["id"].as_str().unwrap().to_string();
    let resp = app
        .req(Method::PATCH, &format!("/api/v1/notes/{id}"), Some(&alice))
        .json(&json!({"text": "z"}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 404, "not_found").await;
}

#[tokio::test]
async fn section_2_3_listing_filter_sort_fields_expand_count_and_errors() {
    let (app, admin) = setup().await;
    let author: Value = create(&app, &admin, "/api/v1/authors", json!({"name": "Ada"}))
        .await
        .json()
        .await
        .unwrap();
    for (title, views, status) in [
        ("Rust tips", 50, "published"),
        ("Go notes", 5, "published"),
        ("rusty nails", 20, "draft"),
        ("Zig", 10, "draft"),
    ] {
        let resp = create(
            &app,
            &admin,
            "/api/v1/posts",
            json!({"title": title, "views": views, "status": status, "author": author["id"]}),
        )
        .await;
        assert_eq!(resp.status(), 201);
    }
    let q = "/api/v1/posts?filter=views%20%3E%3D%2010%20%26%26%20(status%20%3D%20'published'%20%7C%7C%20title%20~%20'rust')&sort=-views&count=true&fields=title,views&expand=author";
    let resp = app.req(Method::GET, q, None).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let list: Value = resp.json().await.unwrap();
    let titles: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Rust tips", "rusty nails"]);
    assert_eq!(list["total"], 2);
    assert_eq!(list["next_cursor"], Value::Null);
    let first = list["items"][0].as_object().unwrap();
    assert_eq!(
        first.keys().collect::<Vec<_>>(),
        ["title", "views", "expand"]
    );
    assert_eq!(first["expand"]["author"]["name"], "Ada");
    // Without count there is no total.
    let list: Value = app
        .req(Method::GET, "/api/v1/posts?limit=1&sort=title", None)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(list.get("total").is_none());
    assert!(list["next_cursor"].is_string());
    // Errors: each names what is wrong.
    for (query, code) in [
        ("filter=views%20%3E%3D", "invalid_filter"),
        ("filter=nope%20%3D%201", "invalid_filter"),
        ("limit=0", "invalid_query"),
        ("limit=201", "invalid_query"),
        ("limit=abc", "invalid_query"),
        ("sort=nope", "invalid_query"),
        ("sort=meta", "invalid_query"),
        ("fields=nope", "invalid_query"),
        ("expand=title", "invalid_query"),
        ("cursor=garbage", "invalid_query"),
        ("offset=-1", "invalid_query"),
        ("count=maybe", "invalid_query"),
        ("colour=blue", "invalid_query"),
        ("limit=1&limit=2", "invalid_query"),
    ] {
        let resp = app
            .req(Method::GET, &format!("/api/v1/posts?{query}"), None)
            .send()
            .await
            .unwrap();
        let problem = assert_problem(resp, 400, code).await;
        assert!(problem["detail"].is_string(), "{query}");
    }
    let resp = app
        .req(Method::GET, "/api/v1/posts?filter=views%20%3E%3D", None)
        .send()
        .await
        .unwrap();
    let problem = assert_problem(resp, 400, "invalid_filter").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("at byte 8"),
        "{problem}"
    );
    let long = "a".repeat(5000);
    let resp = app
        .req(Method::GET, &format!("/api/v1/posts?filter={long}"), None)
        .send()
        .await
        .unwrap();
    assert_problem(resp, 400, "invalid_filter").await;
    // Invalid UTF-8 in the query string.
    let resp = app
        .req(Method::GET, "/api/v1/posts?filter=%FF%FE", None)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
}

#[tokio::test]
async fn section_2_3_keyset_pages_link_header_and_offset() {
    let (app, admin) = setup().await;
    for i in 0..7 {
        create(
            &app,
            &admin,
            "/api/v1/posts",
            json!({"title": format!("p{i}"), "views": i % 3}),
        )
        .await;
    }
    let mut seen = Vec::new();
    let mut url = "/api/v1/posts?limit=3&sort=-views,title".to_string();
    loop {
        let resp = app.req(Method::GET, &url, None).send().await.unwrap();
        let link = resp
            .headers()
            .get("link")
            .map(|l| l.to_str().unwrap().to_string());
        let page: Value = resp.json().await.unwrap();
        for item in page["items"].as_array().unwrap() {
            seen.push(item["title"].as_str().unwrap().to_string());
        }
        match (page["next_cursor"].as_str(), link) {
            (Some(_), Some(link)) => {
                assert!(link.ends_with(">; rel=\"next\""));
                url = link[1..link.find('>').unwrap()].to_string();
            }
            (None, None) => break,
            other => panic!("cursor and Link disagree: {other:?}"),
        }
    }
    assert_eq!(seen, ["p2", "p5", "p1", "p4", "p0", "p3", "p6"]);
    let page: Value = app
        .req(
            Method::GET,
            "/api/v1/posts?limit=2&offset=5&sort=title",
            None,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let titles: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["p5", "p6"]);
    let resp = app
        .req(Method::GET, "/api/v1/posts?offset=1&cursor=abc", None)
        .send()
        .await
        .unwrap();
    assert_problem(resp, 400, "invalid_query").await;
}

#[tokio::test]
async fn section_2_wrong_methods_and_deep_paths() {
    let (app, admin) = setup().await;
    let resp = app
        .req(Method::DELETE, "/api/v1/posts", Some(&admin))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["allow"], "GET, POST");
    assert_problem(resp, 405, "method_not_allowed").await;
    let resp = app
        .req(Method::POST, "/api/v1/posts/x", Some(&admin))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 405, "method_not_allowed").await;
    let resp = app
        .req(Method::GET, "/api/v1/posts/x/y", None)
        .send()
        .await
        .unwrap();
    assert_problem(resp, 404, "not_found").await;
}

#[tokio::test]
async fn owasp_bola_expand_never_inlines_records_the_caller_may_not_view() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let owner_only = json!({"list": ["owner"], "view": ["owner"], "create": ["authenticated"]});
    app.create_collection(
        &admin,
        json!({"name": "secrets", "fields": [{"name": "s", "type": "text"}], "rules": owner_only}),
    )
    .await;
    app.create_collection(&admin, json!({"name": "refs", "fields": [{"name": "secret", "type": "relation", "collection": "secrets"}],
        "rules": {"list": ["public"], "view": ["public"], "create": ["authenticated"]}})).await;
    let (_, alice) = app.user_token("alice@example.org", &[]).await;
    let (_, bob) = app.user_token("bob@example.org", &[]).await;
    let secret: Value = create(
        &app,
        &alice,
        "/api/v1/secrets",
        json!({"s": "alice's diary"}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        create(
            &app,
            &alice,
            "/api/v1/refs",
            json!({"secret": secret["id"]})
        )
        .await
        .status(),
        201
    );
    let as_bob: Value = app
        .req(Method::GET, "/api/v1/refs?expand=secret", Some(&bob))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(as_bob["items"][0].get("expand").is_none(), "{as_bob}");
    let anonymous: Value = app
        .req(Method::GET, "/api/v1/refs?expand=secret", None)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(anonymous["items"][0].get("expand").is_none());
    let as_alice: Value = app
        .req(Method::GET, "/api/v1/refs?expand=secret", Some(&alice))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        as_alice["items"][0]["expand"]["secret"]["s"],
        "alice's diary"
    );
    // Bob cannot read, list, change or delete it directly either.
    let path = format!("/api/v1/secrets/{}", secret["id"].as_str().unwrap());
    assert_problem(
        app.req(Method::GET, &path, Some(&bob))
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
    let list: Value = app
        .req(Method::GET, "/api/v1/secrets?count=true", Some(&bob))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 0);
    assert_problem(
        app.req(Method::DELETE, &path, Some(&bob))
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
    let resp = app
        .req(Method::PUT, &path, Some(&bob))
        .json(&json!({"s": "x"}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 404, "not_found").await;
}
