//! API.md 2.3 listing: filter, sort, fields, expand, count, keyset pages and errors;
//! and the record routes' method and path errors.

mod common;

use common::assert_problem;
use common::posts::{create, setup};
use reqwest::Method;
use serde_json::{json, Value};

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
    let list: Value = app.get_json("/api/v1/posts?limit=1&sort=title", None).await;
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
