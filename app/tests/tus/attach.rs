//! A finished upload attached to a record by `{"upload": "<id>"}` in a JSON write: the
//! bytes move into the record's folder, the record names them and they download as
//! uploaded; someone else's upload, an unfinished one, or one made for another field is
//! refused and nothing is written.

use crate::helpers::*;
use reqwest::Method;
use serde_json::{json, Value};

async fn finished(t: &Tus, data: &[u8]) -> String {
    let path = t.create(data.len() as u64).await;
    assert_eq!(t.patch(&path, 0, data, None).await.status(), 204);
    id_of(&path).to_owned()
}

#[tokio::test]
async fn a_finished_upload_becomes_the_records_file() {
    let t = setup().await;
    let data = content(250_000);
    let id = finished(&t, &data).await;
    let r = t
        .app
        .req(Method::POST, "/api/v1/papers", Some(&t.token))
        .json(&json!({"title": "report", "attachment": {"upload": id}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    // The collection's records are the admins' to view: the creator gets the Location.
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let admin = t.app.admin_token().await;
    let record: Value = t
        .app
        .req(Method::GET, &location, Some(&admin))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let name = record["attachment"].as_str().unwrap().to_owned();
    assert!(
        name.starts_with("report") && name.ends_with(".pdf"),
        "{name}"
    );
    let rid = record["id"].as_str().unwrap();
    let got = t
        .app
        .req(
            Method::GET,
            &format!("/api/v1/files/papers/{rid}/{name}"),
            None,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.bytes().await.unwrap().as_ref(), &data[..]);
    // Taken: the upload is gone, and cannot be attached twice.
    let again = t
        .app
        .req(Method::POST, "/api/v1/papers", Some(&t.token))
        .json(&json!({"attachment": {"upload": id}}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 422);
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "file_not_found");
}

#[tokio::test]
async fn others_uploads_unfinished_ones_and_anonymous_callers_are_refused() {
    let t = setup().await;
    let id = finished(&t, &content(1000)).await;
    let (_, other) = t.app.user_token("someone@example.org", &[]).await;
    let try_with = |token: Option<String>, body: Value| {
        let app = &t.app;
        async move {
            let r = app
                .req(Method::POST, "/api/v1/papers", token.as_deref())
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (status, body) = try_with(Some(other), json!({"attachment": {"upload": id}})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["code"], "file_not_found");
    let (status, _) = try_with(None, json!({"attachment": {"upload": id}})).await;
    assert_eq!(status, 401);
    let unfinished = t.create(5000).await;
    let (status, body) = try_with(
        Some(t.token.clone()),
        json!({"attachment": {"upload": id_of(&unfinished)}}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    // Nothing was written, and the finished upload is still there to attach.
    let list: Value = t
        .app
        .req(
            Method::GET,
            "/api/v1/papers",
            Some(&t.app.admin_token().await),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    let (status, _) = try_with(Some(t.token.clone()), json!({"attachment": {"upload": id}})).await;
    assert_eq!(status, 201);
}
