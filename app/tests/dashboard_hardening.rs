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

/// The `Set-Cookie` values of a response.
fn set_cookies(resp: &reqwest::Response) -> Vec<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// `name=value` of the first `Set-Cookie` whose name is `name`.
fn cookie_pair(cookies: &[String], name: &str) -> String {
    cookies
        .iter()
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} in {cookies:?}"))
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

fn csrf(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("csrf input") + 19;
    html[at..at + html[at..].find('"').unwrap()].to_owned()
}

/// Logs in through the dashboard form, sending `headers` on every request (the cookie
/// jar is by hand: reqwest's would not send `Secure` cookies over plain HTTP). Returns
/// every `Set-Cookie` seen and the session's `name=value`.
async fn dashboard_login(
    app: &TestApp,
    headers: &[(&str, &str)],
    session_name: &str,
    pre_name: &str,
) -> (Vec<String>, String) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let with = |mut req: reqwest::RequestBuilder| {
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req
    };
    let page = with(client.get(app.url("/admin/login")))
        .send()
        .await
        .unwrap();
    let mut seen = set_cookies(&page);
    let pre = cookie_pair(&seen, pre_name);
    let token = csrf(&page.text().await.unwrap());
    let resp = with(client.post(app.url("/admin/login")))
        .header("cookie", pre)
        .form(&[
            ("email", common::ADMIN_EMAIL),
            ("password", common::ADMIN_PASSWORD),
            ("csrf", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303, "logged in");
    seen.extend(set_cookies(&resp));
    let session = cookie_pair(&seen, session_name);
    let resp = with(client.get(app.url("/admin")))
        .header("cookie", session.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "the session works");
    (seen, session)
}

#[tokio::test]
async fn behind_a_trusted_tls_proxy_cookies_are_secure_with_the_host_prefix() {
    let app = spawn_app_with(|c| {
        c.security.trusted_proxies = vec![hearth::config::Cidr::parse("127.0.0.1").unwrap()];
    })
    .await;
    app.auth
        .create_admin(common::ADMIN_EMAIL, common::ADMIN_PASSWORD)
        .await
        .unwrap();
    let proxied = [
        ("x-forwarded-proto", "https"),
        ("x-forwarded-for", "203.0.113.9"),
    ];
    let (cookies, _) = dashboard_login(
        &app,
        &proxied,
        "__Host-hearth_admin",
        "__Host-hearth_admin_pre",
    )
    .await;
    for cookie in &cookies {
        assert!(cookie.starts_with("__Host-"), "{cookie}");
        assert!(cookie.contains("; Secure"), "{cookie}");
        assert!(cookie.contains("; Path=/"), "{cookie}");
        assert!(!cookie.to_ascii_lowercase().contains("domain="), "{cookie}");
    }
    // Plain HTTP through the same proxy keeps working as before.
    let (cookies, _) = dashboard_login(&app, &[], "hearth_admin", "hearth_admin_pre").await;
    assert!(cookies
        .iter()
        .all(|c| !c.contains("Secure") && !c.starts_with("__Host-")));
}

#[tokio::test]
async fn forwarded_proto_from_an_untrusted_peer_is_ignored() {
    let app = spawn_app_with(|_| {}).await;
    app.auth
        .create_admin(common::ADMIN_EMAIL, common::ADMIN_PASSWORD)
        .await
        .unwrap();
    let spoofed = [("x-forwarded-proto", "https")];
    let (cookies, _) = dashboard_login(&app, &spoofed, "hearth_admin", "hearth_admin_pre").await;
    assert!(cookies.iter().all(|c| !c.contains("Secure")), "{cookies:?}");
}

#[tokio::test]
async fn the_dashboard_csp_allows_no_inline_style() {
    let app = spawn_app_with(|_| {}).await;
    for path in ["/admin/login", "/admin/setup?token=x"] {
        let resp = app.client.get(app.url(path)).send().await.unwrap();
        let csp = resp.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(csp.contains("style-src 'self';"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        let html = resp.text().await.unwrap();
        assert!(!html.contains("style="), "{path} has a style attribute");
        assert!(!html.contains("<style"), "{path} has a style element");
    }
    // Only the Swagger UI page keeps inline styles, never inline script.
    let resp = app.client.get(app.url("/api/docs")).send().await.unwrap();
    let csp = resp.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self';"), "{csp}");
}
