//! The collections most record tests use: `authors`, and `posts` (the contract's
//! example, API.md 2.2, plus one field of every other type).
#![allow(dead_code)]

use super::{spawn_app, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

pub fn posts_definition() -> Value {
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

pub async fn setup() -> (TestApp, String) {
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

pub async fn create(app: &TestApp, token: &str, path: &str, body: Value) -> reqwest::Response {
    app.req(Method::POST, path, Some(token))
        .json(&body)
        .send()
        .await
        .unwrap()
}
