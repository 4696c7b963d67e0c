//! Issue 14, items 5, 6 and 9: what one access rule must not give away through another.
//! An `update` rule never grants reading; a relation never points at what its writer
//! cannot see; anonymous callers do not share idempotency keys.

mod common;

use common::posts::create;
use common::{assert_problem, spawn_app, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

/// `notes`: anyone signed in may create and update, only the owner may view.
async fn notes_app() -> (TestApp, String) {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let resp = app
        .create_collection(
            &admin,
            json!({"name": "notes", "fields": [{"name": "text", "type": "text"}],
                   "rules": {"list": ["authenticated"], "view": ["owner"],
                             "create": ["authenticated"], "update": ["authenticated"]}}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    (app, admin)
}

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Value,
) -> reqwest::Response {
    app.req(method, path, Some(token))
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_update_rule_does_not_grant_reading() {
    let (app, admin) = notes_app().await;
    let (_, alice) = app.user_token("alice@example.org", &[]).await;
    let (_, mallory) = app.user_token("mallory@example.org", &[]).await;
    let note: Value = create(&app, &alice, "/api/v1/notes", json!({"text": "secret"}))
        .await
        .json()
        .await
        .unwrap();
    let path = format!("/api/v1/notes/{}", note["id"].as_str().unwrap());
    // The review's attack: another user's empty PATCH returned the whole record and
    // bumped its version. Now: 204, no body, nothing changed.
    let resp = send(&app, Method::PATCH, &path, &mallory, json!({})).await;
    assert_eq!(resp.status(), 204);
    assert!(resp.headers().get("etag").is_none());
    assert!(resp.text().await.unwrap().is_empty());
    let seen: Value = app.get_json(&path, Some(&alice)).await;
    assert_eq!(seen["version"], 1, "an empty patch bumps nothing");
    assert_eq!(seen["updated_at"], note["updated_at"]);
    // A real change by the updater is applied but not shown to it.
    let resp = send(
        &app,
        Method::PATCH,
        &path,
        &mallory,
        json!({"text": "defaced"}),
    )
    .await;
    assert_eq!(resp.status(), 204);
    assert!(resp.text().await.unwrap().is_empty());
    let resp = send(&app, Method::PUT, &path, &mallory, json!({"text": "again"})).await;
    assert_eq!(resp.status(), 204);
    let seen: Value = app.get_json(&path, Some(&alice)).await;
    assert_eq!(
        (seen["text"].as_str(), seen["version"].as_i64()),
        (Some("again"), Some(3))
    );
    // The owner still gets the record back; so does an admin.
    let resp = send(&app, Method::PATCH, &path, &alice, json!({"text": "mine"})).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("etag").is_some());
    let resp = send(&app, Method::PATCH, &path, &admin, json!({})).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["version"],
        4,
        "no-op: no bump"
    );
    // An If-Match that no longer matches still fails, even for a no-op.
    let resp = app
        .req(Method::PATCH, &path, Some(&alice))
        .header("if-match", "\"1\"")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 412, "precondition_failed").await;
}

#[tokio::test]
async fn a_list_shows_only_records_the_view_rule_shows() {
    let (app, _admin) = notes_app().await;
    let (_, alice) = app.user_token("alice@example.org", &[]).await;
    let (_, bob) = app.user_token("bob@example.org", &[]).await;
    create(&app, &alice, "/api/v1/notes", json!({"text": "alice's"})).await;
    create(&app, &bob, "/api/v1/notes", json!({"text": "bob's"})).await;
    // `list: authenticated` alone would list both; `view: owner` hides bob's from alice.
    let page = app.get_json("/api/v1/notes?count=true", Some(&alice)).await;
    let texts: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["alice's"]);
    assert_eq!(
        page["total"], 1,
        "the count does not reveal hidden records either"
    );
    let page = app
        .get_json("/api/v1/notes?filter=text%20~%20'bob'", Some(&alice))
        .await;
    assert_eq!(page["items"], json!([]));
}

#[tokio::test]
async fn creating_without_view_rights_answers_201_with_the_location_only() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    // A drop box: anyone may post, only admins may read.
    let resp = app
        .create_collection(
            &admin,
            json!({"name": "inbox", "fields": [{"name": "text", "type": "text"}],
                   "rules": {"create": ["public"]}}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let resp = app
        .req(Method::POST, "/api/v1/inbox", None)
        .header("idempotency-key", "k1")
        .json(&json!({"text": "hello"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    assert!(resp.headers().get("etag").is_none());
    assert!(resp.text().await.unwrap().is_empty());
    let stored = app.get_json(&location, Some(&admin)).await;
    assert_eq!(stored["text"], "hello");
    // The replay of the key answers the same, still without the record.
    let replay = app
        .req(Method::POST, "/api/v1/inbox", None)
        .header("idempotency-key", "k1")
        .json(&json!({"text": "hello"}))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 201);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert!(replay.text().await.unwrap().is_empty());
}

/// `papers` (owner-only) and `links` (anyone signed in) with a `restrict` relation to papers.
async fn relation_app() -> TestApp {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for def in [
        json!({"name": "papers", "fields": [{"name": "title", "type": "text"}],
               "rules": {"list": ["owner"], "view": ["owner"], "create": ["authenticated"],
                         "delete": ["owner"]}}),
        json!({"name": "links", "fields": [{"name": "doc", "type": "relation", "collection": "papers",
                                            "on_delete": "restrict"},
                                           {"name": "note", "type": "text"}],
               "rules": {"list": ["owner"], "view": ["owner"], "create": ["authenticated"],
                         "update": ["owner"]}}),
    ] {
        let resp = app.create_collection(&admin, def).await;
        assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    }
    app
}

#[tokio::test]
async fn a_relation_to_a_record_the_caller_cannot_see_is_refused_like_a_missing_one() {
    let app = relation_app().await;
    let (_, alice) = app.user_token("alice@example.org", &[]).await;
    let (_, mallory) = app.user_token("mallory@example.org", &[]).await;
    let doc: Value = create(&app, &alice, "/api/v1/papers", json!({"title": "plan"}))
        .await
        .json()
        .await
        .unwrap();
    let doc_id = doc["id"].as_str().unwrap();
    let missing = "01890000-0000-7000-8000-000000000000";
    // Mallory points at alice's doc, and at an id that does not exist: the two answers
    // are identical but for the id, so the 422 reveals nothing.
    let hidden = create(&app, &mallory, "/api/v1/links", json!({"doc": doc_id})).await;
    let hidden = assert_problem(hidden, 422, "validation_failed").await;
    let absent = create(&app, &mallory, "/api/v1/links", json!({"doc": missing})).await;
    let absent = assert_problem(absent, 422, "validation_failed").await;
    assert_eq!(hidden["errors"][0]["code"], "relation_not_found");
    assert_eq!(
        hidden["errors"][0]["message"]
            .as_str()
            .unwrap()
            .replace(doc_id, "ID"),
        absent["errors"][0]["message"]
            .as_str()
            .unwrap()
            .replace(missing, "ID")
    );
    // So mallory cannot pin alice's doc with `restrict`: alice deletes it freely.
    let resp = app
        .req(
            Method::DELETE,
            &format!("/api/v1/papers/{doc_id}"),
            Some(&alice),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    // The owner may link her own doc, and edit the link's other fields later.
    let doc: Value = create(&app, &alice, "/api/v1/papers", json!({"title": "v2"}))
        .await
        .json()
        .await
        .unwrap();
    let link = create(&app, &alice, "/api/v1/links", json!({"doc": doc["id"]})).await;
    assert_eq!(link.status(), 201);
    let link: Value = link.json().await.unwrap();
    let path = format!("/api/v1/links/{}", link["id"].as_str().unwrap());
    let resp = send(&app, Method::PATCH, &path, &alice, json!({"note": "kept"})).await;
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn anonymous_callers_do_not_share_idempotency_keys() {
    let app = common::spawn_app_with(|c| {
        // Client addresses from X-Forwarded-For, as behind a proxy on loopback.
        c.security.trusted_proxies = vec![hearth::config::Cidr::parse("127.0.0.1").unwrap()];
    })
    .await;
    let admin = app.admin_token().await;
    let resp = app
        .create_collection(
            &admin,
            json!({"name": "orders", "fields": [{"name": "item", "type": "text"}],
                   "rules": {"create": ["public"], "view": ["public"], "list": ["public"]}}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let post = |from: &'static str, item: &'static str| {
        app.req(Method::POST, "/api/v1/orders", None)
            .header("x-forwarded-for", from)
            .header("idempotency-key", "order-1")
            .json(&json!({"item": item}))
            .send()
    };
    let first = post("198.51.100.7", "tea").await.unwrap();
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    // Another client with the same key and body gets its own record, not a replay of
    // the first client's response.
    let other = post("203.0.113.9", "tea").await.unwrap();
    assert_eq!(other.status(), 201);
    assert!(other.headers().get("idempotent-replayed").is_none());
    let other: Value = other.json().await.unwrap();
    assert_ne!(other["id"], first["id"]);
    // The first client's own retry is a replay.
    let again = post("198.51.100.7", "tea").await.unwrap();
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap()["id"], first["id"]);
    // A signed-in user's keys are its own as well.
    let (_, alice) = app.user_token("alice@example.org", &[]).await;
    let mine = app
        .req(Method::POST, "/api/v1/orders", Some(&alice))
        .header("idempotency-key", "order-1")
        .json(&json!({"item": "tea"}))
        .send()
        .await
        .unwrap();
    assert_eq!(mine.status(), 201);
    assert!(mine.headers().get("idempotent-replayed").is_none());
}

#[tokio::test]
async fn a_unique_field_in_a_private_collection_is_defined_with_a_warning() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let resp = app
        .create_collection(
            &admin,
            json!({"name": "profiles", "fields": [{"name": "phone", "type": "text", "unique": true}],
                   "rules": {"list": ["authenticated"], "view": ["owner"], "create": ["authenticated"]}}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let created: Value = resp.json().await.unwrap();
    let warnings: Vec<&str> = created["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].contains("`list` rule admits callers"));
    assert!(warnings[1].starts_with("`phone` is unique"));
    // What the warning is about: a duplicate tells bob that someone holds the value.
    let (_, alice) = app.user_token("alice@example.org", &[]).await;
    let (_, bob) = app.user_token("bob@example.org", &[]).await;
    let mine = create(
        &app,
        &alice,
        "/api/v1/profiles",
        json!({"phone": "555-0100"}),
    )
    .await;
    assert_eq!(mine.status(), 201);
    let probe = create(&app, &bob, "/api/v1/profiles", json!({"phone": "555-0100"})).await;
    assert_problem(probe, 409, "unique_violation").await;
    // The same warnings come with the definition later; a public one has none.
    let got = app
        .get_json("/api/v1/collections/profiles", Some(&admin))
        .await;
    assert_eq!(got["warnings"].as_array().unwrap().len(), 2);
    let resp = app
        .create_collection(
            &admin,
            json!({"name": "handles", "fields": [{"name": "nick", "type": "text", "unique": true}],
                   "rules": {"list": ["public"], "view": ["public"]}}),
        )
        .await;
    assert_eq!(resp.json::<Value>().await.unwrap()["warnings"], json!([]));
}

#[tokio::test]
async fn the_openapi_document_shows_a_caller_only_the_collections_it_may_use() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for def in [
        json!({"name": "payroll", "fields": [{"name": "salary", "type": "integer"}]}),
        json!({"name": "team", "fields": [{"name": "boss", "type": "relation", "collection": "payroll",
                                           "on_delete": "set_null"}],
               "rules": {"list": ["authenticated"], "view": ["authenticated"]}}),
        json!({"name": "news", "fields": [{"name": "t", "type": "text"}],
               "rules": {"list": ["public"], "view": ["public"]}}),
        json!({"name": "inbox", "fields": [{"name": "t", "type": "text"}],
               "rules": {"create": ["public"]}}),
    ] {
        assert_eq!(app.create_collection(&admin, def).await.status(), 201);
    }
    let doc = |token: Option<String>| {
        let app = &app;
        async move {
            let resp = app
                .req(Method::GET, "/api/v1/openapi.json", token.as_deref())
                .send()
                .await
                .unwrap();
            assert_eq!(resp.headers()["vary"], "authorization");
            resp.text().await.unwrap()
        }
    };
    let anonymous = doc(None).await;
    assert!(anonymous.contains("\"/news\"") && anonymous.contains("\"/inbox\""));
    assert!(!anonymous.contains("payroll") && !anonymous.contains("salary"));
    assert!(!anonymous.contains("\"/team\""));
    let (_, alice) = app.user_token("alice@example.org", &[]).await;
    let signed_in = doc(Some(alice)).await;
    assert!(signed_in.contains("\"/team\""));
    // The relation field says where it points (that is part of `team`), but the target's
    // paths and fields stay out.
    assert!(!signed_in.contains("\"/payroll\"") && !signed_in.contains("salary"));
    assert!(!signed_in.contains("payroll.Record"));
    let parsed: Value = serde_json::from_str(&signed_in).unwrap();
    let boss = &parsed["components"]["schemas"]["team.RecordPartial"]["properties"]["expand"]
        ["properties"]["boss"];
    assert_eq!(boss["type"], "object");
    let everything = doc(Some(admin)).await;
    assert!(everything.contains("\"/payroll\"") && everything.contains("salary"));
    // A bad token is refused, not served the anonymous document.
    let resp = app
        .req(Method::GET, "/api/v1/openapi.json", Some("hth_not_a_token"))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 401, "unauthenticated").await;
}
