//! Issue 14 item 3: nobody can lock an account out. Wrong passwords slow down the address
//! that sends them (delays doubling up to 15 minutes), never the account: a correct
//! password from an address that has not been failing is accepted at once, however hard
//! another address hammers the account.

mod common;

use common::{assert_problem, spawn_app_with, TestApp};
use hearth::config::Cidr;
use reqwest::Method;
use serde_json::json;

async fn attempt(app: &TestApp, from: &str, email: &str, password: &str) -> reqwest::Response {
    app.req(Method::POST, "/api/v1/auth/login", None)
        .header("x-forwarded-for", from)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
}

fn retry_after(resp: &reqwest::Response) -> u64 {
    resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn hammering_from_one_address_never_keeps_the_owner_out() {
    // The test client is the trusted proxy, so X-Forwarded-For names the client.
    let app =
        spawn_app_with(|c| c.security.trusted_proxies = vec![Cidr::parse("127.0.0.1").unwrap()])
            .await;
    let (victim, right) = ("admin@example.org", "the admin's real password");
    app.auth.create_admin(victim, right).await.unwrap();

    let attacker = "203.0.113.66";
    let mut refused = 0;
    for _ in 0..40 {
        let resp = attempt(&app, attacker, victim, "guess").await;
        match resp.status().as_u16() {
            401 => {}
            429 => {
                assert!(retry_after(&resp) >= 1);
                refused += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(refused >= 30, "only {refused} of 40 guesses were delayed");
    // Even the right password waits while its address is being delayed…
    let resp = attempt(&app, attacker, victim, right).await;
    assert_problem(resp, 429, "rate_limited").await;
    // …but the owner, from an address that has not been failing, gets in at once.
    let resp = attempt(&app, "198.51.100.10", victim, right).await;
    assert_eq!(resp.status(), 200);
    let resp = attempt(&app, "2001:db8:aaaa:1::5", victim, right).await;
    assert_eq!(resp.status(), 200);

    // The account is under attack, so a second address gets one free guess, not five.
    let second = "203.0.113.77";
    assert_eq!(attempt(&app, second, victim, "guess").await.status(), 401);
    let resp = attempt(&app, second, victim, "guess").await;
    assert_problem(resp, 429, "rate_limited").await;

    // Delays grow: the attacker waits out its delay, fails once more, and waits longer.
    let fresh = "192.0.2.200";
    let other = "someone@example.org";
    app.auth
        .create_user(other, "another real password", &[])
        .await
        .unwrap();
    for _ in 0..5 {
        assert_eq!(attempt(&app, fresh, other, "guess").await.status(), 401);
    }
    let first = attempt(&app, fresh, other, "guess").await;
    assert_eq!(retry_after(&first), 1);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(attempt(&app, fresh, other, "guess").await.status(), 401);
    let second_wait = attempt(&app, fresh, other, "guess").await;
    assert_eq!(retry_after(&second_wait), 2);
}
