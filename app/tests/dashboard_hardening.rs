//! Issue 14 item 13: the dashboard in a browser. No CORS headers on `/admin` even for
//! origins the API allows; cookies with `Secure` and `__Host-` behind a trusted TLS
//! proxy; a CSP without `'unsafe-inline'` styles.

mod common;

use common::{spawn_app_with, TestApp};
use hearth::config::CorsConfig;
use reqwest::Method;

const APP_ORIGIN: &str = "https://app.example.org";

fn cors(origins: &[&str], credentials: bool) -> CorsConfig {
    CorsConfig {
        origins: origins.iter().map(|o| o.to_string()).collect(),
        methods: ["GET", "POST", "PATCH", "DELETE"]
            .map(String::from)
            .to_vec(),
        headers: ["authorization", "content-type", "x-csrf-token"]
            .map(String::from)
            .to_vec(),
        credentials,
    }
}

fn cors_headers(resp: &reqwest::Response) -> Vec<String> {
    resp.headers()
        .keys()
        .map(|k| k.as_str().to_string())
        .filter(|k| k.starts_with("access-control-"))
        .collect()
}

async fn from_origin(app: &TestApp, method: Method, path: &str) -> reqwest::Response {
    let mut req = app
        .client
        .request(method.clone(), app.url(path))
        .header("origin", APP_ORIGIN);
    if method == Method::OPTIONS {
        req = req.header("access-control-request-method", "POST").header(
            "access-control-request-headers",
            "content-type, x-csrf-token",
        );
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn the_dashboard_never_answers_with_cors_headers() {
    for config in [cors(&[APP_ORIGIN], true), cors(&["*"], false)] {
        let app = spawn_app_with(|c| c.security.cors = config).await;
        // The API does answer that origin (the control).
        let api = from_origin(&app, Method::GET, "/api/v1/auth/me").await;
        assert!(!cors_headers(&api).is_empty(), "the API allows the origin");
        for path in ["/admin", "/admin/login", "/admin/settings", "/admin/setup"] {
            let resp = from_origin(&app, Method::GET, path).await;
            assert!(resp.status().as_u16() < 500, "{path}");
            assert_eq!(cors_headers(&resp), Vec::<String>::new(), "GET {path}");
            let resp = from_origin(&app, Method::OPTIONS, path).await;
            assert_ne!(resp.status(), 204, "preflight of {path} allowed");
            assert_eq!(cors_headers(&resp), Vec::<String>::new(), "OPTIONS {path}");
            let resp = from_origin(&app, Method::POST, path).await;
            assert_eq!(cors_headers(&resp), Vec::<String>::new(), "POST {path}");
        }
    }
}
