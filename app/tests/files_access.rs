//! API.md 10.2 (files): who may download what: protected files, file tokens, unknown
//! names, and paths that try to leave the store.

mod common;
#[path = "files_download/support.rs"]
mod support;

use common::{assert_problem, spawn_app, TestApp};
use reqwest::Method;
use serde_json::{json, Value};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// `vault`: records only their owner may view, with a protected file field.
async fn vault(app: &TestApp, admin: &str) {
    let resp = app
        .create_collection(
            admin,
            json!({"name": "vault", "fields": [
                {"name": "doc", "type": "file", "protected": true}],
             "rules": {"list": ["owner"], "view": ["owner"], "create": ["authenticated"]}}),
        )
        .await;
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
}

async fn file_token(app: &TestApp, bearer: &str) -> String {
    let resp = app
        .req(Method::POST, "/api/v1/files/token", Some(bearer))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(header(resp.headers(), "cache-control"), "no-store");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["expires_in"], 120);
    body["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn protected_files_need_view_permission_or_a_file_token() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    vault(&app, &admin).await;
    let (_, alice) = app.user_token("alice@example.org", &[]).await;
    let (_, bob) = app.user_token("bob@example.org", &[]).await;
    let name = "secret_abcdefghij.pdf";
    let content = b"%PDF-1.7\nsecret".to_vec();
    let id = record_with_files(
        &app,
        &alice,
        "vault",
        json!({"doc": name}),
        &[(name, content.clone())],
    )
    .await;
    let path = format!("/api/v1/files/vault/{id}/{name}");
    let status = |token: Option<String>, query: String| {
        let app = &app;
        let path = format!("{path}{query}");
        async move {
            app.req(Method::GET, &path, token.as_deref())
                .send()
                .await
                .unwrap()
        }
    };

    assert_problem(status(None, String::new()).await, 401, "unauthenticated").await;
    assert_problem(
        status(Some(bob.clone()), String::new()).await,
        404,
        "not_found",
    )
    .await;
    let own = status(Some(alice.clone()), String::new()).await;
    assert_eq!(own.status(), 200);
    assert_eq!(header(own.headers(), "cache-control"), "private, no-cache");
    assert_eq!(header(own.headers(), "content-type"), "application/pdf");
    assert_eq!(own.bytes().await.unwrap(), content);
    assert_eq!(
        status(Some(admin.clone()), String::new()).await.status(),
        200
    );
    // A personal token of alice's without the read scope.
    let resp = app
        .req(Method::POST, "/api/v1/auth/tokens", Some(&alice))
        .json(&json!({"name": "writer", "scopes": ["write"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    let write_only = resp.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_problem(
        status(Some(write_only), String::new()).await,
        403,
        "forbidden",
    )
    .await;

    // File tokens: alice's opens her file to a plain link, several times.
    let token = file_token(&app, &alice).await;
    for _ in 0..2 {
        let resp = status(None, format!("?token={token}")).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.bytes().await.unwrap(), content);
    }
    let ranged = app
        .client
        .get(app.url(&format!("{path}?token={token}")))
        .header("range", "bytes=0-3")
        .send()
        .await
        .unwrap();
    assert_eq!(ranged.status(), 206);
    // Bob's token stands for bob: still not his file.
    let bobs = file_token(&app, &bob).await;
    assert_problem(
        status(None, format!("?token={bobs}")).await,
        404,
        "not_found",
    )
    .await;
    // Both a bearer and a file token: ambiguous.
    assert_problem(
        status(Some(alice.clone()), format!("?token={token}")).await,
        400,
        "bad_request",
    )
    .await;
    for garbage in ["", "nope", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"] {
        assert_problem(
            status(None, format!("?token={garbage}")).await,
            401,
            "unauthenticated",
        )
        .await;
    }
    // Expired (every token ended, as after its 120 s): refused.
    app.downloads.revoke_file_tokens();
    assert_problem(
        status(None, format!("?token={token}")).await,
        401,
        "unauthenticated",
    )
    .await;

    // Only authenticated callers get tokens; only POST makes one.
    let anonymous = app
        .req(Method::POST, "/api/v1/files/token", None)
        .send()
        .await
        .unwrap();
    assert_problem(anonymous, 401, "unauthenticated").await;
    let wrong = app
        .req(Method::GET, "/api/v1/files/token", Some(&alice))
        .send()
        .await
        .unwrap();
    assert_eq!(header(wrong.headers(), "allow"), "POST");
    assert_problem(wrong, 405, "method_not_allowed").await;
    let delete = app
        .req(Method::DELETE, &path, Some(&alice))
        .send()
        .await
        .unwrap();
    assert_eq!(header(delete.headers(), "allow"), "GET, HEAD");
    assert_problem(delete, 405, "method_not_allowed").await;
}

/// The status line of a request sent as raw bytes (no client normalising the path).
async fn raw_status(app: &TestApp, target: &str) -> u16 {
    let mut socket = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let request = format!("GET {target} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    socket.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status in {answer:?}"))
}

#[tokio::test]
async fn unknown_names_and_paths_out_of_the_store_are_not_found() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    albums_collection(&app, &admin).await;
    let name = "a_abcdefghij.bin";
    let id = record_with_files(
        &app,
        &admin,
        "albums",
        json!({"attachments": [name]}),
        &[(name, noise(5))],
    )
    .await;
    // A name the record holds but the store lacks (never left by an upload).
    let missing = "gone_abcdefghij.bin";
    set_file_column(&app, "albums", &id, "attachments", json!([name, missing])).await;
    for path in [
        format!("/api/v1/files/albums/{id}/other_abcdefghij.bin"),
        format!("/api/v1/files/albums/{id}/{missing}"),
        format!("/api/v1/files/albums/0190abcd-0000-7000-8000-000000000000/{name}"),
        format!("/api/v1/files/nope/{id}/{name}"),
        format!("/api/v1/files/albums/{id}"),
        format!("/api/v1/files/albums/{id}/{name}/more"),
        "/api/v1/files".to_owned(),
    ] {
        assert_problem(get(&app, &path, &[]).await, 404, "not_found").await;
    }
    let resp = get(
        &app,
        &format!("/api/v1/files/albums/{id}/{name}?size=1"),
        &[],
    )
    .await;
    assert_problem(resp, 400, "invalid_query").await;
    let resp = get(&app, &format!("/api/v1/files/albums/{id}/{name}"), &[]).await;
    assert_eq!(resp.status(), 200);

    // Paths that would leave the record's directory, as a client could send them raw.
    for target in [
        format!("/api/v1/files/albums/{id}/..%2F..%2Fhearth.db"),
        format!("/api/v1/files/albums/{id}/%2e%2e"),
        format!("/api/v1/files/albums/{id}/..%5C..%5Chearth.db"),
        format!("/api/v1/files/albums/..%2F{id}/{name}"),
        format!("/api/v1/files/albums/{id}/../{id}/{name}"),
        format!("/api/v1/files/albums/{id}/%2Fetc%2Fpasswd"),
        "/api/v1/files/albums/../../../hearth.db/x".to_owned(),
        format!("/api/v1/files/albums/{id}/{name}%00"),
    ] {
        let status = raw_status(&app, &target).await;
        assert!(status == 404 || status == 400, "{target}: {status}");
    }
}
