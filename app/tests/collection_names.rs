//! API.md 2.2: the SQL names Hearth derives from a collection (`rec_<name>` for its
//! table, `rec_<name>__<suffix>` for its indexes and for the table a migration
//! rebuilds into) never collide: `__` is refused in new collection names, and a name
//! already taken by something else (a collection created before the rule) is a 409
//! naming it, never "corrupt, restore a backup".

mod common;

use common::{assert_problem, spawn_app, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

async fn put(app: &TestApp, token: &str, name: &str, def: Value) -> reqwest::Response {
    app.req(
        Method::PUT,
        &format!("/api/v1/collections/{name}"),
        Some(token),
    )
    .json(&def)
    .send()
    .await
    .unwrap()
}

/// A table standing in for one a collection made before `__` was reserved left behind.
async fn legacy_table(app: &TestApp, table: &str) {
    let sql = format!("CREATE TABLE \"{table}\" (id TEXT PRIMARY KEY) STRICT");
    app.db
        .write(move |c| c.execute_batch(&sql).map_err(storage::StorageError::from))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_new_collection_name_containing_the_separator_is_refused() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for name in ["a__i_b", "posts__new", "x__"] {
        let resp = app
            .create_collection(&admin, json!({"name": name, "fields": []}))
            .await;
        let problem = assert_problem(resp, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "name", "{problem}");
        let message = problem["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("`__`"), "{message}");
    }
    // A single underscore is still fine.
    let resp = app
        .create_collection(&admin, json!({"name": "a_i_b", "fields": []}))
        .await;
    assert_eq!(resp.status(), 201);
}

#[tokio::test]
async fn an_index_name_taken_by_another_table_is_a_conflict_not_corruption() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let resp = app
        .create_collection(
            &admin,
            json!({"name": "a", "fields": [{"name": "b", "type": "integer"}]}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    // What collection `a__i_b` (allowed before) occupies: `a`'s index on `b`.
    legacy_table(&app, "rec_a__i_b").await;
    let resp = put(
        &app,
        &admin,
        "a",
        json!({"name": "a", "fields": [{"name": "b", "type": "integer", "indexed": true}]}),
    )
    .await;
    let problem = assert_problem(resp, 409, "schema_conflict").await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("rec_a__i_b"), "{detail}");
    assert!(!detail.contains("backup"), "{detail}");
    // Nothing changed, and the collection still works.
    let def: Value = app.get_json("/api/v1/collections/a", Some(&admin)).await;
    assert_eq!(def["fields"][0]["indexed"], false, "{def}");
    let resp = app
        .req(Method::POST, "/api/v1/a", Some(&admin))
        .json(&json!({"b": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    // Creating a collection whose own index name is taken is the same 409.
    legacy_table(&app, "rec_c__created_at").await;
    let resp = app
        .create_collection(&admin, json!({"name": "c", "fields": []}))
        .await;
    let problem = assert_problem(resp, 409, "schema_conflict").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("rec_c__created_at"),
        "{problem}"
    );
}

#[tokio::test]
async fn a_rebuild_is_not_blocked_by_a_table_named_like_its_temporary_table() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let resp = app
        .create_collection(
            &admin,
            json!({"name": "posts", "fields": [{"name": "title", "type": "text"}, {"name": "n", "type": "integer"}]}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let resp = app
        .req(Method::POST, "/api/v1/posts", Some(&admin))
        .json(&json!({"title": "kept", "n": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let id = resp.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Collection `posts__new` (allowed before) owns the name a rebuild used to take.
    legacy_table(&app, "rec_posts__new").await;
    // Dropping a field rebuilds the table; twice, so the second rebuild runs too.
    for fields in [
        json!([{"name": "title", "type": "text"}]),
        json!([{"name": "title", "type": "text", "required": true}]),
    ] {
        let resp = put(
            &app,
            &admin,
            "posts",
            json!({"name": "posts", "fields": fields}),
        )
        .await;
        assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    }
    let rec = app
        .get_json(&format!("/api/v1/posts/{id}"), Some(&admin))
        .await;
    assert_eq!(rec["title"], "kept", "{rec}");
    assert!(rec.get("n").is_none(), "{rec}");
}
