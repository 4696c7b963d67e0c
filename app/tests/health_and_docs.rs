//! API.md section 1: probes, request ids, the OpenAPI document, the docs pages and
//! embedded static files (tested over a real socket, as browsers see them).

mod common;

use common::{assert_problem, spawn_app};
use serde_json::Value;

#[tokio::test]
async fn healthz_and_readyz_answer_ok() {
    let app = spawn_app().await;
    let resp = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.json::<Value>().await.unwrap(),
        serde_json::json!({"status": "ok"})
    );
    let resp = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["status"], "ready");
}

#[tokio::test]
async fn readyz_is_503_problem_when_the_database_is_closed() {
    let app = spawn_app().await;
    app.db.close().await.unwrap();
    let resp = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert!(resp.headers().contains_key("retry-after"));
    assert_problem(resp, 503, "unavailable").await;
}

#[tokio::test]
async fn request_ids_are_echoed_when_sane_and_generated_otherwise() {
    let app = spawn_app().await;
    let resp = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-request-id"], "abc-123");
    let resp = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "a".repeat(500))
        .send()
        .await
        .unwrap();
    let id = resp.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 36, "replaced by a UUID");
    let a = app.client.get(app.url("/healthz")).send().await.unwrap();
    let b = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_ne!(a.headers()["x-request-id"], b.headers()["x-request-id"]);
}

#[tokio::test]
async fn openapi_document_describes_the_api() {
    let app = spawn_app().await;
    let resp = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let doc: Value = resp.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert_eq!(doc["servers"][0]["url"], "/api/v1");
    assert!(doc["paths"]["/auth/login"]["post"].is_object());
    assert!(doc["paths"]["/auth/me"]["get"]["security"].is_array());
    let problem = &doc["components"]["schemas"]["Problem"];
    assert!(problem["properties"]["code"].is_object());
    let login_responses = &doc["paths"]["/auth/login"]["post"]["responses"];
    assert!(login_responses["4XX"]["content"]["application/problem+json"].is_object());
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}

#[tokio::test]
async fn docs_page_loads_only_local_scripts_under_a_strict_csp() {
    let app = spawn_app().await;
    let resp = app.client.get(app.url("/api/docs")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let csp = resp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-eval"));
    assert_eq!(resp.headers()["x-frame-options"], "DENY");
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    let html = resp.text().await.unwrap();
    assert!(html.contains("data-spec-url=\"/api/v1/openapi.json\""));
    assert!(!html.contains("<script>"), "no inline script");
    // Every asset the page links is served, with long caching for the hashed URL.
    let links: Vec<&str> = html
        .split(['"'])
        .filter(|s| s.starts_with("/static/"))
        .collect();
    assert!(links.len() >= 4, "{links:?}");
    for link in links {
        let resp = app.client.get(app.url(link)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{link}");
        assert!(resp.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable"));
        let etag = resp.headers()["etag"].clone();
        let again = app
            .client
            .get(app.url(link))
            .header("if-none-match", etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{link}");
    }
    let resp = app
        .client
        .get(app.url("/static/nope.js"))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 404, "not_found").await;
}

#[tokio::test]
async fn problems_page_documents_every_code() {
    let app = spawn_app().await;
    let html = app
        .client
        .get(app.url("/api/docs/problems"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for code in kernel::ProblemCode::ALL {
        assert!(
            html.contains(&format!("id=\"{}\"", code.as_str())),
            "{} missing",
            code.as_str()
        );
    }
    for code in kernel::FieldCode::ALL {
        assert!(html.contains(&format!("id=\"field-{}\"", code.as_str())));
    }
}
