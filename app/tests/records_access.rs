//! API.md 2.2 access rules on records, and OWASP API1 (broken object level
//! authorisation): other callers' records by id, in lists, updates, deletes and expand.

mod common;

use common::posts::{create, setup};
use common::{assert_problem, spawn_app};
use reqwest::Method;
use serde_json::{json, Value};

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
    // Anonymous: no record is theirs, so 401 (sign in) rather than 404 (API.md 2.2).
    let resp = app.req(Method::DELETE, &path, None).send().await.unwrap();
    assert_eq!(resp.headers()["www-authenticate"], "Bearer");
    assert_problem(resp, 401, "unauthenticated").await;
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
    let list: Value = app.get_json("/api/v1/notes?count=true", Some(&alice)).await;
    assert_eq!(list["total"], 2);
    assert!(list["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["text"].as_str().unwrap().starts_with('a')));
    let list: Value = app.get_json("/api/v1/notes?count=true", Some(&admin)).await;
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
    let as_bob: Value = app.get_json("/api/v1/refs?expand=secret", Some(&bob)).await;
    assert!(as_bob["items"][0].get("expand").is_none(), "{as_bob}");
    let anonymous: Value = app.get_json("/api/v1/refs?expand=secret", None).await;
    assert!(anonymous["items"][0].get("expand").is_none());
    let as_alice: Value = app
        .get_json("/api/v1/refs?expand=secret", Some(&alice))
        .await;
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
    let list: Value = app.get_json("/api/v1/secrets?count=true", Some(&bob)).await;
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
