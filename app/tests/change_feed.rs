//! Issue 16: the durable change feed behind realtime streams. Every record change that
//! commits (through the API, a cascade, a user's deletion) is one `changes` row in the
//! change's own transaction; writes that fail leave none; definition changes are
//! `schema` rows; a row's snapshot renders exactly as GET renders the record.

mod common;

use common::posts::setup;
use common::{spawn_app, spawn_app_with, TestApp};
use feed::{Change, ChangeKind};
use reqwest::Method;
use serde_json::{json, Value};

async fn newest(app: &TestApp) -> i64 {
    app.feed.bounds().await.unwrap().newest
}

/// The changes after `seq`, in order.
async fn after(app: &TestApp, seq: i64) -> Vec<Change> {
    app.feed.read_after(seq, 1000).await.unwrap()
}

fn summary(changes: &[Change]) -> Vec<(&str, ChangeKind)> {
    changes
        .iter()
        .map(|c| (c.collection.as_str(), c.kind))
        .collect()
}

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut req = app.req(method, path, Some(token));
    if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await.unwrap()
}

async fn create(app: &TestApp, token: &str, collection: &str, body: Value) -> Value {
    let resp = send(
        app,
        Method::POST,
        &format!("/api/v1/{collection}"),
        token,
        Some(body),
    )
    .await;
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    resp.json().await.unwrap()
}

/// GET's exact body for a record.
async fn get_bytes(app: &TestApp, token: &str, collection: &str, id: &str) -> Vec<u8> {
    let resp = send(
        app,
        Method::GET,
        &format!("/api/v1/{collection}/{id}"),
        token,
        None,
    )
    .await;
    assert_eq!(resp.status(), 200);
    resp.bytes().await.unwrap().to_vec()
}

fn rendered(app: &TestApp, change: &Change) -> (serde_json::Map<String, Value>, Vec<u8>) {
    app.resources
        .record_from_change(&change.collection, change.data.as_deref().unwrap())
        .expect("a record snapshot")
}

#[tokio::test]
async fn writes_through_the_api_append_one_change_each_and_failed_ones_none() {
    let (app, admin) = setup().await;
    let (user_id, user) = app.user_token("writer@example.org", &[]).await;
    let start = newest(&app).await;
    let post = create(
        &app,
        &user,
        "posts",
        json!({"title": "One", "slug": "one", "rating": 0.3}),
    )
    .await;
    let id = post["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/posts/{id}");
    let resp = send(
        &app,
        Method::PATCH,
        &path,
        &user,
        Some(json!({"title": "Two"})),
    )
    .await;
    assert_eq!(resp.status(), 200);

    // Writes that fail or change nothing leave no row.
    let resp = send(
        &app,
        Method::POST,
        "/api/v1/posts",
        &user,
        Some(json!({"title": "Dup", "slug": "one"})),
    )
    .await;
    assert_eq!(resp.status(), 409, "unique violation");
    let resp = app
        .req(Method::PATCH, &path, Some(&user))
        .header("if-match", "\"1\"")
        .json(&json!({"title": "Stale"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 412, "If-Match mismatch");
    let resp = send(&app, Method::PATCH, &path, &user, Some(json!({}))).await;
    assert_eq!(resp.status(), 200, "an empty patch");
    let resp = send(
        &app,
        Method::POST,
        "/api/v1/posts",
        &user,
        Some(json!({"title": ""})),
    )
    .await;
    assert_eq!(resp.status(), 422);

    let body_before_delete = get_bytes(&app, &admin, "posts", &id).await;
    let resp = send(&app, Method::DELETE, &path, &user, None).await;
    assert_eq!(resp.status(), 204);

    let changes = after(&app, start).await;
    assert_eq!(
        summary(&changes),
        [
            ("posts", ChangeKind::Created),
            ("posts", ChangeKind::Updated),
            ("posts", ChangeKind::Deleted)
        ]
    );
    assert!(changes.windows(2).all(|w| w[0].seq < w[1].seq));
    for c in &changes {
        assert_eq!(c.record_id.as_deref(), Some(id.as_str()));
        assert_eq!(c.owner.as_deref(), Some(user_id.as_str()));
    }
    let (created, _) = rendered(&app, &changes[0]);
    assert_eq!(
        (created["title"].as_str(), created["version"].as_i64()),
        (Some("One"), Some(1))
    );
    assert_eq!(created["rating"], 0.3);
    let (updated, _) = rendered(&app, &changes[1]);
    assert_eq!(
        (updated["title"].as_str(), updated["version"].as_i64()),
        (Some("Two"), Some(2))
    );
    // A delete carries the record as it was: exactly what GET showed before it.
    let (_, deleted) = rendered(&app, &changes[2]);
    assert_eq!(
        String::from_utf8(deleted).unwrap(),
        String::from_utf8(body_before_delete).unwrap()
    );
}

#[tokio::test]
async fn a_change_renders_byte_for_byte_as_get_for_every_field_type() {
    let (app, admin) = setup().await;
    let author = create(&app, &admin, "authors", json!({"name": "Ada"})).await;
    let start = newest(&app).await;
    let bodies = [
        json!({"title": "All \"fields\" 😀\n", "slug": "all-fields", "views": 999_999,
               "status": "published", "author": author["id"], "rating": 0.30000000000000004,
               "featured": true, "published_at": "2026-01-02T03:04:05.678Z", "day": "2026-01-02",
               "contact": "a@example.org", "link": "https://example.org/?q=\"x\"",
               "meta": {"k": [1, 2.5, null, true, 1e300], "nested": {"s": "\u{1}"}}}),
        json!({"title": "Nulls"}),
        json!({"title": "Extremes", "rating": 4.999999999999999, "views": 0, "featured": false, "meta": "text"}),
    ];
    for body in &bodies {
        create(&app, &admin, "posts", body.clone()).await;
    }
    let changes = after(&app, start).await;
    assert_eq!(changes.len(), bodies.len());
    for change in &changes {
        let id = change.record_id.as_deref().unwrap();
        let get = get_bytes(&app, &admin, "posts", id).await;
        let (map, bytes) = rendered(&app, change);
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            String::from_utf8(get.clone()).unwrap()
        );
        assert_eq!(
            Value::Object(map),
            serde_json::from_slice::<Value>(&get).unwrap()
        );
    }
    assert!(app
        .resources
        .record_from_change("nonexistent", changes[0].data.as_deref().unwrap())
        .is_none());
}

#[tokio::test]
async fn cascades_and_a_deleted_user_append_a_change_per_affected_record() {
    let (app, admin) = setup().await;
    let resp = app
        .create_collection(
            &admin,
            json!({"name": "comments", "fields": [
            {"name": "text", "type": "text"},
            {"name": "post", "type": "relation", "collection": "posts", "on_delete": "cascade"}],
            "rules": {"create": ["authenticated"], "view": ["public"], "list": ["public"]}}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let (user_id, user) = app.user_token("owner@example.org", &[]).await;
    let author = create(&app, &admin, "authors", json!({"name": "Ada"})).await;
    let post = create(
        &app,
        &user,
        "posts",
        json!({"title": "P", "author": author["id"]}),
    )
    .await;
    let c1 = create(
        &app,
        &user,
        "comments",
        json!({"text": "a", "post": post["id"]}),
    )
    .await;
    let c2 = create(
        &app,
        &admin,
        "comments",
        json!({"text": "b", "post": post["id"]}),
    )
    .await;

    // set_null: deleting the author updates the post that pointed at it.
    let start = newest(&app).await;
    let resp = send(
        &app,
        Method::DELETE,
        &format!("/api/v1/authors/{}", author["id"].as_str().unwrap()),
        &admin,
        None,
    )
    .await;
    assert_eq!(resp.status(), 204);
    let changes = after(&app, start).await;
    assert_eq!(
        summary(&changes),
        [
            ("posts", ChangeKind::Updated),
            ("authors", ChangeKind::Deleted)
        ]
    );
    assert_eq!(rendered(&app, &changes[0]).0["author"], Value::Null);

    // Deleting the user: its records keep a null owner, each an update.
    let start = newest(&app).await;
    let resp = send(
        &app,
        Method::DELETE,
        &format!("/api/v1/users/{user_id}"),
        &admin,
        None,
    )
    .await;
    assert_eq!(resp.status(), 204);
    let changes = after(&app, start).await;
    let mut ids: Vec<&str> = changes
        .iter()
        .map(|c| c.record_id.as_deref().unwrap())
        .collect();
    ids.sort();
    let mut expected = vec![post["id"].as_str().unwrap(), c1["id"].as_str().unwrap()];
    expected.sort();
    assert_eq!(ids, expected);
    assert!(
        changes
            .iter()
            .all(|c| c.kind == ChangeKind::Updated && c.owner.is_none()),
        "{changes:?}"
    );

    // cascade: deleting the post deletes both comments, one change each.
    let start = newest(&app).await;
    let resp = send(
        &app,
        Method::DELETE,
        &format!("/api/v1/posts/{}", post["id"].as_str().unwrap()),
        &admin,
        None,
    )
    .await;
    assert_eq!(resp.status(), 204);
    let changes = after(&app, start).await;
    let mut got: Vec<(&str, ChangeKind, &str)> = changes
        .iter()
        .map(|c| {
            (
                c.collection.as_str(),
                c.kind,
                c.record_id.as_deref().unwrap(),
            )
        })
        .collect();
    got.sort();
    let mut want = vec![
        ("comments", ChangeKind::Deleted, c1["id"].as_str().unwrap()),
        ("comments", ChangeKind::Deleted, c2["id"].as_str().unwrap()),
        ("posts", ChangeKind::Deleted, post["id"].as_str().unwrap()),
    ];
    want.sort();
    assert_eq!(got, want);
}

fn schema_data(change: &Change) -> Value {
    assert_eq!(change.kind, ChangeKind::Schema);
    assert_eq!(
        (change.record_id.as_deref(), change.owner.as_deref()),
        (None, None)
    );
    serde_json::from_str(change.data.as_deref().unwrap()).unwrap()
}

async fn triggers(app: &TestApp) -> Vec<(String, String)> {
    app.db
        .read(|c| {
            c.prepare("SELECT tbl_name, name FROM sqlite_schema WHERE type = 'trigger' ORDER BY tbl_name, name")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(storage::StorageError::from)
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn definition_changes_are_schema_rows_and_keep_the_triggers_current() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let start = newest(&app).await;
    let resp = app
        .create_collection(&admin, json!({"name": "notes", "fields": [{"name": "a", "type": "text"}, {"name": "b", "type": "integer"}]}))
        .await;
    assert_eq!(resp.status(), 201);
    let changes = after(&app, start).await;
    assert_eq!(changes.len(), 1);
    assert_eq!(
        schema_data(&changes[0]),
        json!({"change": "created", "schema_version": 1, "fields": ["a", "b"]})
    );
    assert_eq!(
        triggers(&app).await,
        ["created", "deleted", "updated"]
            .map(|k| ("rec_notes".to_string(), format!("rec_notes__feed_{k}")))
    );
    let first = create(&app, &admin, "notes", json!({"a": "x", "b": 1})).await;

    // A dry run appends nothing.
    let start = newest(&app).await;
    let new_def = json!({"name": "notes", "fields": [
        {"name": "a", "type": "text"}, {"name": "c", "type": "number", "default": 1.5}]});
    let resp = send(
        &app,
        Method::PUT,
        "/api/v1/collections/notes?dry_run=true",
        &admin,
        Some(new_def.clone()),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert!(after(&app, start).await.is_empty());

    // A rebuild (one field dropped, one added): one schema row, then writes feed the
    // new columns through the rebuilt table's triggers.
    let resp = send(
        &app,
        Method::PUT,
        "/api/v1/collections/notes",
        &admin,
        Some(new_def),
    )
    .await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let changes = after(&app, start).await;
    assert_eq!(
        changes.len(),
        1,
        "the rebuild's copy appends no record changes"
    );
    let data = schema_data(&changes[0]);
    assert_eq!(
        (
            &data["change"],
            &data["schema_version"],
            &data["added"],
            &data["removed"],
            &data["rebuilt"]
        ),
        (
            &json!("updated"),
            &json!(2),
            &json!(["c"]),
            &json!(["b"]),
            &json!(true)
        )
    );
    // The snapshot taken before renders with the new definition, as GET shows the record.
    let created_before = after(&app, 0)
        .await
        .into_iter()
        .find(|c| c.kind == ChangeKind::Created)
        .unwrap();
    let (_, old_bytes) = rendered(&app, &created_before);
    let first_id = first["id"].as_str().unwrap();
    assert_eq!(old_bytes, get_bytes(&app, &admin, "notes", first_id).await);
    let start = newest(&app).await;
    let second = create(&app, &admin, "notes", json!({"a": "y", "c": 2.25})).await;
    let changes = after(&app, start).await;
    assert_eq!(changes.len(), 1);
    let snapshot: Value = serde_json::from_str(changes[0].data.as_deref().unwrap()).unwrap();
    assert_eq!(snapshot["c"], 2.25);
    assert!(snapshot.get("b").is_none(), "{snapshot}");
    assert_eq!(
        rendered(&app, &changes[0]).1,
        get_bytes(&app, &admin, "notes", second["id"].as_str().unwrap()).await
    );

    // An index-only change keeps the triggers too.
    let resp = send(&app, Method::PUT, "/api/v1/collections/notes", &admin, Some(json!({"name": "notes", "fields": [
        {"name": "a", "type": "text", "indexed": true}, {"name": "c", "type": "number", "default": 1.5}]}))).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(triggers(&app).await.len(), 3);
    let start = newest(&app).await;
    let resp = send(
        &app,
        Method::PATCH,
        &format!("/api/v1/notes/{first_id}"),
        &admin,
        Some(json!({"a": "z"})),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        summary(&after(&app, start).await),
        [("notes", ChangeKind::Updated)]
    );

    // Dropping the collection: one schema row, no triggers left behind.
    let start = newest(&app).await;
    let resp = send(
        &app,
        Method::DELETE,
        "/api/v1/collections/notes",
        &admin,
        None,
    )
    .await;
    assert_eq!(resp.status(), 204);
    let changes = after(&app, start).await;
    assert_eq!(
        changes.len(),
        1,
        "records go with the table, without a change each"
    );
    assert_eq!(
        schema_data(&changes[0]),
        json!({"change": "deleted", "schema_version": 4})
    );
    assert!(triggers(&app).await.is_empty());
    assert!(app
        .resources
        .record_from_change("notes", created_before.data.as_deref().unwrap())
        .is_none());

    // A new collection of the same name does not take the old one's records as its own.
    let resp = app
        .create_collection(
            &admin,
            json!({"name": "notes", "fields": [{"name": "a", "type": "text"}]}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    assert!(app
        .resources
        .record_from_change("notes", created_before.data.as_deref().unwrap())
        .is_none());
    let start = newest(&app).await;
    create(&app, &admin, "notes", json!({"a": "new"})).await;
    let changes = after(&app, start).await;
    assert_eq!(rendered(&app, &changes[0]).0["a"], "new");
}

/// A database from before the feed has record tables without triggers: the next start
/// gives them theirs. The feed's seqs keep increasing across restarts.
#[tokio::test]
async fn tables_from_before_the_feed_get_their_triggers_at_start() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let resp = app
        .create_collection(
            &admin,
            json!({"name": "old", "fields": [{"name": "a", "type": "text"}],
            "rules": {"create": ["public"], "list": ["public"], "view": ["public"]}}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    create(&app, &admin, "old", json!({"a": "before"})).await;
    let before = newest(&app).await;
    let dir = app.stop().await;
    {
        let conn = rusqlite::Connection::open(dir.path().join("hearth.db")).unwrap();
        for sql in feed::drop_triggers_sql("rec_old") {
            conn.execute_batch(&sql).unwrap();
        }
        conn.execute(
            "INSERT INTO rec_old (id, created_at, updated_at, a) VALUES ('unfed', 'x', 'x', 'y')",
            [],
        )
        .unwrap();
    }
    let path = dir.path().to_path_buf();
    let app = spawn_app_with(move |c| c.data_dir = path).await;
    assert_eq!(
        newest(&app).await,
        before,
        "the write without triggers appended nothing"
    );
    assert_eq!(triggers(&app).await.len(), 3);
    let resp = app
        .req(Method::POST, "/api/v1/old", None)
        .json(&json!({"a": "after"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let changes = after(&app, before).await;
    assert_eq!(summary(&changes), [("old", ChangeKind::Created)]);
    assert_eq!(changes[0].seq, before + 1);
    drop(dir);
}

#[tokio::test]
async fn the_feed_follows_its_configuration() {
    let app = spawn_app_with(|c| {
        c.realtime = feed::FeedConfig {
            retention: std::time::Duration::from_secs(3600),
            max_rows: 2,
        };
    })
    .await;
    let admin = app.admin_token().await;
    assert_eq!(app.feed.config().max_rows, 2);
    let resp = app
        .create_collection(
            &admin,
            json!({"name": "few", "fields": [{"name": "a", "type": "integer"}]}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    for a in 0..5 {
        create(&app, &admin, "few", json!({"a": a})).await;
    }
    app.feed.prune().await.unwrap();
    let bounds = app.feed.bounds().await.unwrap();
    assert_eq!(bounds.oldest, Some(bounds.newest - 1), "{bounds:?}");
}
