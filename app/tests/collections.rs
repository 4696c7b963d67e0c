//! API.md 2.2: managing collections (admins only) and changing definitions as
//! migrations that keep what fits and refuse what existing data violates.

mod common;

use common::{assert_problem, spawn_app, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

async fn put(
    app: &TestApp,
    token: &str,
    name: &str,
    def: Value,
    dry_run: bool,
) -> reqwest::Response {
    let q = if dry_run { "?dry_run=true" } else { "" };
    app.req(
        Method::PUT,
        &format!("/api/v1/collections/{name}{q}"),
        Some(token),
    )
    .json(&def)
    .send()
    .await
    .unwrap()
}

async fn add(app: &TestApp, token: &str, name: &str, body: Value) -> Value {
    let resp = app
        .req(Method::POST, &format!("/api/v1/{name}"), Some(token))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    resp.json().await.unwrap()
}

async fn items(app: &TestApp, token: &str, name: &str) -> Vec<Value> {
    let page: Value = app
        .req(
            Method::GET,
            &format!("/api/v1/{name}?limit=200&sort=created_at"),
            Some(token),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    page["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn collections_are_admin_only() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let (_, user) = app.user_token("u@example.org", &[]).await;
    let def = json!({"name": "things", "fields": []});
    assert_problem(
        app.req(Method::GET, "/api/v1/collections", None)
            .send()
            .await
            .unwrap(),
        401,
        "unauthenticated",
    )
    .await;
    assert_problem(
        app.req(Method::GET, "/api/v1/collections", Some(&user))
            .send()
            .await
            .unwrap(),
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        app.create_collection(&user, def.clone()).await,
        403,
        "forbidden",
    )
    .await;
    let resp = app.create_collection(&admin, def.clone()).await;
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.headers()["location"], "/api/v1/collections/things");
    assert_problem(
        app.req(Method::DELETE, "/api/v1/collections/things", Some(&user))
            .send()
            .await
            .unwrap(),
        403,
        "forbidden",
    )
    .await;
    let list: Value = app.get_json("/api/v1/collections", Some(&admin)).await;
    assert_eq!(list["items"][0]["name"], "things");
    assert_eq!(list["items"][0]["schema_version"], 1);
}

#[tokio::test]
async fn bad_definitions_are_refused_with_every_problem() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for reserved in ["auth", "users", "collections", "metrics"] {
        let resp = app
            .create_collection(&admin, json!({"name": reserved, "fields": []}))
            .await;
        assert_problem(resp, 422, "validation_failed").await;
    }
    let resp = app
        .create_collection(
            &admin,
            json!({"name": "Bad-Name", "fields": [
            {"name": "id", "type": "text"}, {"name": "x", "type": "integer", "min": 3, "max": 1},
            {"name": "r", "type": "relation", "collection": "missing"}]}),
        )
        .await;
    let problem = assert_problem(resp, 422, "validation_failed").await;
    assert!(
        problem["errors"].as_array().unwrap().len() >= 3,
        "{problem}"
    );
    let resp = app.create_collection(&admin, json!({"name": "ok", "fields": [{"name": "r", "type": "relation", "collection": "missing"}]})).await;
    let problem = assert_problem(resp, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["code"], "relation_not_found");
    let resp = app
        .create_collection(
            &admin,
            json!({"name": "ok", "fields": [{"name": "t", "type": "novel"}]}),
        )
        .await;
    assert_problem(resp, 400, "invalid_json").await;
    assert_eq!(
        app.create_collection(&admin, json!({"name": "ok", "fields": []}))
            .await
            .status(),
        201
    );
    assert_problem(
        app.create_collection(&admin, json!({"name": "ok", "fields": []}))
            .await,
        409,
        "conflict",
    )
    .await;
}

#[tokio::test]
async fn adding_fields_keeps_data_and_applies_defaults() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.create_collection(
        &admin,
        json!({"name": "tasks", "fields": [{"name": "title", "type": "text", "required": true}]}),
    )
    .await;
    let before = add(&app, &admin, "tasks", json!({"title": "write tests"})).await;
    let resp = put(
        &app,
        &admin,
        "tasks",
        json!({"name": "tasks", "fields": [
        {"name": "title", "type": "text", "required": true},
        {"name": "done", "type": "boolean", "required": true, "default": false},
        {"name": "priority", "type": "integer"}]}),
        false,
    )
    .await;
    assert_eq!(resp.status(), 200);
    let change: Value = resp.json().await.unwrap();
    assert_eq!(change["applied"], true);
    assert_eq!(change["rows_copied"], 1);
    assert_eq!(change["collection"]["schema_version"], 2);
    assert!(change["steps"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s == "add field `done` (boolean)"));
    let rows = items(&app, &admin, "tasks").await;
    assert_eq!(rows[0]["id"], before["id"]);
    assert_eq!(rows[0]["title"], "write tests");
    assert_eq!(rows[0]["done"], false, "default filled in");
    assert_eq!(rows[0]["priority"], Value::Null);
    // The history keeps both definitions.
    let history: i64 = app
        .db
        .read(|c| {
            c.query_row(
                "SELECT count(*) FROM collection_history WHERE name = 'tasks'",
                [],
                |r| r.get(0),
            )
            .map_err(storage::StorageError::from)
        })
        .await
        .unwrap();
    assert_eq!(history, 2);
}

#[tokio::test]
async fn a_change_the_data_violates_is_409_and_changes_nothing() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.create_collection(&admin, json!({"name": "tasks", "fields": [{"name": "title", "type": "text"}, {"name": "code", "type": "text"}]})).await;
    for (title, code) in [("a", "12"), ("bb", "x7"), ("ccc", "x7")] {
        add(&app, &admin, "tasks", json!({"title": title, "code": code})).await;
    }
    let base = json!({"name": "tasks", "fields": [{"name": "title", "type": "text"}, {"name": "code", "type": "text"}]});
    let cases = [
        (
            json!([{"name": "title", "type": "text"}, {"name": "code", "type": "text"}, {"name": "due", "type": "date", "required": true}]),
            "field `due`: 3 row(s) would be required",
        ),
        (
            json!([{"name": "title", "type": "text", "max_length": 2}, {"name": "code", "type": "text"}]),
            "field `title`: 1 row(s) would be too_long",
        ),
        (
            json!([{"name": "title", "type": "text"}, {"name": "code", "type": "integer"}]),
            "field `code`: 2 row(s) would be wrong_type",
        ),
        (
            json!([{"name": "title", "type": "text"}, {"name": "code", "type": "text", "unique": true}]),
            "field `code`",
        ),
    ];
    for (fields, needle) in cases {
        let mut def = base.clone();
        def["fields"] = fields;
        let problem = assert_problem(
            put(&app, &admin, "tasks", def, false).await,
            409,
            "schema_conflict",
        )
        .await;
        assert!(
            problem["detail"].as_str().unwrap().contains(needle),
            "{needle}: {problem}"
        );
    }
    let col: Value = app
        .get_json("/api/v1/collections/tasks", Some(&admin))
        .await;
    assert_eq!(col["schema_version"], 1, "nothing changed");
    assert_eq!(items(&app, &admin, "tasks").await.len(), 3);
}

#[tokio::test]
async fn rename_type_change_and_dry_run() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.create_collection(&admin, json!({"name": "items", "fields": [{"name": "qty", "type": "text"}, {"name": "gone", "type": "text"}]})).await;
    add(&app, &admin, "items", json!({"qty": "42", "gone": "bye"})).await;
    let new = json!({"name": "items", "fields": [{"name": "quantity", "type": "integer", "renamed_from": "qty", "min": 0}]});
    // Dry run: the steps, the data check, and no change.
    let change: Value = put(&app, &admin, "items", new.clone(), true)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(change["applied"], false);
    let steps: Vec<&str> = change["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(
        steps.contains(&"rename field `qty` to `quantity`"),
        "{steps:?}"
    );
    assert!(
        steps.contains(&"convert `quantity` from text to integer"),
        "{steps:?}"
    );
    assert!(
        steps.contains(&"drop field `gone` and its data"),
        "{steps:?}"
    );
    assert_eq!(items(&app, &admin, "items").await[0]["qty"], "42");
    // For real.
    let resp = put(&app, &admin, "items", new, false).await;
    assert_eq!(resp.status(), 200);
    let row = &items(&app, &admin, "items").await[0];
    assert_eq!(row["quantity"], 42);
    assert!(row.get("qty").is_none() && row.get("gone").is_none());
    // Renaming a collection is not a thing.
    let resp = put(
        &app,
        &admin,
        "items",
        json!({"name": "other", "fields": []}),
        false,
    )
    .await;
    assert_problem(resp, 422, "validation_failed").await;
}

#[tokio::test]
async fn relations_survive_rebuilds_and_deleting_a_referenced_collection_needs_force() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.create_collection(
        &admin,
        json!({"name": "authors", "fields": [{"name": "name", "type": "text"}]}),
    )
    .await;
    app.create_collection(
        &admin,
        json!({"name": "books", "fields": [
        {"name": "title", "type": "text"},
        {"name": "author", "type": "relation", "collection": "authors", "on_delete": "cascade"}]}),
    )
    .await;
    let ada = add(&app, &admin, "authors", json!({"name": "Ada"})).await;
    add(
        &app,
        &admin,
        "books",
        json!({"title": "Notes", "author": ada["id"]}),
    )
    .await;
    // Rebuilding the referenced table must not cascade-delete the books.
    let resp = put(
        &app,
        &admin,
        "authors",
        json!({"name": "authors", "fields": [
        {"name": "name", "type": "text", "max_length": 100}, {"name": "born", "type": "integer"}]}),
        false,
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        items(&app, &admin, "books").await.len(),
        1,
        "no cascade during the rebuild"
    );
    // The foreign key still works after the rebuild: deleting the author cascades.
    let resp = app
        .req(
            Method::DELETE,
            &format!("/api/v1/authors/{}", ada["id"].as_str().unwrap()),
            Some(&admin),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(items(&app, &admin, "books").await.len(), 0);

    let resp = app
        .req(Method::DELETE, "/api/v1/collections/authors", Some(&admin))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(resp, 409, "conflict").await;
    assert!(problem["detail"].as_str().unwrap().contains("books"));
    let resp = app
        .req(
            Method::DELETE,
            "/api/v1/collections/authors?force=true",
            Some(&admin),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let books: Value = app
        .get_json("/api/v1/collections/books", Some(&admin))
        .await;
    assert_eq!(
        books["fields"].as_array().unwrap().len(),
        1,
        "the relation field went with it"
    );
    assert_problem(
        app.req(Method::GET, "/api/v1/authors", Some(&admin))
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn restrict_relations_refuse_deleting_a_referenced_record() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.create_collection(&admin, json!({"name": "teams", "fields": []}))
        .await;
    app.create_collection(&admin, json!({"name": "players", "fields": [{"name": "team", "type": "relation", "collection": "teams"}]})).await;
    let team = add(&app, &admin, "teams", json!({})).await;
    add(&app, &admin, "players", json!({"team": team["id"]})).await;
    let resp = app
        .req(
            Method::DELETE,
            &format!("/api/v1/teams/{}", team["id"].as_str().unwrap()),
            Some(&admin),
        )
        .send()
        .await
        .unwrap();
    assert_problem(resp, 409, "conflict").await;
}

#[tokio::test]
async fn the_openapi_document_follows_collections() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.create_collection(&admin, json!({"name": "pets", "fields": [
        {"name": "name", "type": "text", "required": true, "max_length": 30, "pattern": "^[A-Z]"},
        {"name": "age", "type": "integer", "min": 0},
        {"name": "kind", "type": "enum", "values": ["cat", "dog"]},
        {"name": "email", "type": "email"}, {"name": "site", "type": "url"}, {"name": "born", "type": "datetime"}],
        "rules": {"list": ["public"], "view": ["public"]}})).await;
    let doc: Value = app.get_json("/api/v1/openapi.json", None).await;
    for op in ["get", "post"] {
        assert!(doc["paths"]["/pets"][op].is_object(), "{op} /pets");
    }
    for op in ["get", "put", "patch", "delete"] {
        assert!(
            doc["paths"]["/pets/{id}"][op].is_object(),
            "{op} /pets/{{id}}"
        );
    }
    let create = &doc["components"]["schemas"]["pets.Create"];
    assert_eq!(create["required"], json!(["name"]));
    assert_eq!(create["additionalProperties"], false);
    let props = &create["properties"];
    assert_eq!(props["name"]["maxLength"], 30);
    assert_eq!(props["name"]["pattern"], "^[A-Z]");
    assert_eq!(props["age"]["minimum"], 0);
    assert_eq!(props["kind"]["enum"], json!(["cat", "dog"]));
    assert_eq!(props["email"]["format"], "email");
    assert_eq!(props["site"]["format"], "uri");
    assert_eq!(props["born"]["format"], "date-time");
    assert_eq!(
        doc["components"]["schemas"]["pets.Record"]["properties"]["id"]["format"],
        "uuid"
    );
    assert_eq!(
        doc["paths"]["/pets"]["get"]["security"],
        json!([{}, {"bearer": []}]),
        "public list"
    );
    assert_eq!(
        doc["paths"]["/pets"]["post"]["security"],
        json!([{"bearer": []}])
    );
    let params: Vec<&str> = doc["paths"]["/pets"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        params,
        ["filter", "sort", "limit", "cursor", "offset", "fields", "expand", "count"]
    );
    // Gone with the collection.
    app.req(Method::DELETE, "/api/v1/collections/pets", Some(&admin))
        .send()
        .await
        .unwrap();
    let doc: Value = app.get_json("/api/v1/openapi.json", None).await;
    assert!(doc["paths"].get("/pets").is_none());
    assert!(doc["components"]["schemas"].get("pets.Create").is_none());
}

#[tokio::test]
async fn collections_are_reloaded_after_a_restart() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.create_collection(&admin, json!({"name": "keep", "fields": [{"name": "n", "type": "integer"}], "rules": {"view": ["public"], "list": ["public"]}})).await;
    let rec = add(&app, &admin, "keep", json!({"n": 7})).await;
    let data_dir = app.stop().await;
    let mut config = common::test_config(data_dir.path());
    config.bind = "127.0.0.1:0".parse().unwrap();
    let app2 = hearth::Application::build(config).await.unwrap();
    let addr = app2.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(app2.run_until_stopped(async {
        let _ = stopped.await;
    }));
    let got: Value = reqwest::get(format!(
        "http://{addr}/api/v1/keep/{}",
        rec["id"].as_str().unwrap()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(got["n"], 7);
    let doc: Value = reqwest::get(format!("http://{addr}/api/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["paths"]["/keep"].is_object());
    stop.send(()).unwrap();
    handle.await.unwrap().unwrap();
}
