//! API.md 2.3 against a model: random filters, sorts and page sizes over a few hundred
//! random records must give exactly what an in-memory model of the same data gives, and
//! keyset pages must stay correct while other clients insert.

mod common;

use common::{spawn_app, TestApp};
use reqwest::Method;
use serde_json::{json, Value};
use std::cmp::Ordering;
use std::collections::HashSet;

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const WORDS: [&str; 6] = ["apple", "Banana", "cherry", "apple pie", "date", "Elder"];

#[derive(Clone, Debug)]
struct Row {
    id: String,
    created_at: String,
    n: Option<i64>,
    s: Option<String>,
    b: Option<bool>,
    r: f64,
}

fn random_body(rng: &mut Rng) -> Value {
    let mut body = json!({"r": (rng.below(1000) as f64) / 10.0});
    if rng.chance(85) {
        body["n"] = json!(rng.below(40) as i64 - 5);
    }
    if rng.chance(80) {
        body["s"] = json!(WORDS[rng.below(WORDS.len() as u64) as usize]);
    }
    if rng.chance(70) {
        body["b"] = json!(rng.chance(50));
    }
    body
}

fn row_from(v: &Value) -> Row {
    Row {
        id: v["id"].as_str().unwrap().into(),
        created_at: v["created_at"].as_str().unwrap().into(),
        n: v["n"].as_i64(),
        s: v["s"].as_str().map(String::from),
        b: v["b"].as_bool(),
        r: v["r"].as_f64().unwrap(),
    }
}

/// One filter atom: its text and its meaning in the model.
type Pred = Box<dyn Fn(&Row) -> bool>;

fn atom(rng: &mut Rng) -> (String, Pred) {
    let k = rng.below(40) as i64 - 5;
    let w = WORDS[rng.below(WORDS.len() as u64) as usize].to_string();
    match rng.below(10) {
        0 => (
            format!("n >= {k}"),
            Box::new(move |r: &Row| r.n.is_some_and(|n| n >= k)),
        ),
        1 => (
            format!("n < {k}"),
            Box::new(move |r: &Row| r.n.is_some_and(|n| n < k)),
        ),
        2 => (format!("n = {k}"), Box::new(move |r: &Row| r.n == Some(k))),
        3 => (format!("n != {k}"), Box::new(move |r: &Row| r.n != Some(k))),
        4 => {
            let frag = w[..3].to_ascii_uppercase();
            let lower = frag.to_ascii_lowercase();
            (
                format!("s ~ '{frag}'"),
                Box::new(move |r: &Row| {
                    r.s.as_ref()
                        .is_some_and(|s| s.to_ascii_lowercase().contains(&lower))
                }),
            )
        }
        5 => (
            format!("s = '{w}'"),
            Box::new(move |r: &Row| r.s.as_deref() == Some(w.as_str())),
        ),
        6 => {
            let b = rng.chance(50);
            (format!("b = {b}"), Box::new(move |r: &Row| r.b == Some(b)))
        }
        7 => ("n is null".into(), Box::new(|r: &Row| r.n.is_none())),
        8 => ("s is not null".into(), Box::new(|r: &Row| r.s.is_some())),
        _ => {
            let f = rng.below(100) as f64;
            (format!("r > {f}"), Box::new(move |r: &Row| r.r > f))
        }
    }
}

fn random_filter(rng: &mut Rng) -> Option<(String, Pred)> {
    if rng.chance(20) {
        return None;
    }
    let (a, pa) = atom(rng);
    if rng.chance(40) {
        return Some((a, pa));
    }
    let (b, pb) = atom(rng);
    Some(match rng.below(3) {
        0 => (
            format!("{a} && {b}"),
            Box::new(move |r: &Row| pa(r) && pb(r)),
        ),
        1 => (
            format!("({a}) || !({b})"),
            Box::new(move |r: &Row| pa(r) || !pb(r)),
        ),
        _ => (
            format!("!({a} || {b})"),
            Box::new(move |r: &Row| !(pa(r) || pb(r))),
        ),
    })
}

/// SQLite's order: NULL first ascending, then values; text compares bytewise.
fn cmp_field(a: &Row, b: &Row, field: &str) -> Ordering {
    match field {
        "n" => a.n.cmp(&b.n),
        "s" => a.s.cmp(&b.s),
        "b" => a.b.cmp(&b.b),
        "r" => a.r.partial_cmp(&b.r).unwrap(),
        "created_at" => a.created_at.cmp(&b.created_at),
        _ => a.id.cmp(&b.id),
    }
}

fn random_sort(rng: &mut Rng) -> Vec<(String, bool)> {
    let fields = ["n", "s", "b", "r", "created_at"];
    let mut keys: Vec<(String, bool)> = Vec::new();
    for _ in 0..rng.below(3) {
        let f = fields[rng.below(fields.len() as u64) as usize];
        if !keys.iter().any(|(k, _)| k == f) {
            keys.push((f.to_string(), rng.chance(50)));
        }
    }
    keys
}

fn model(rows: &[Row], pred: Option<&Pred>, sort: &[(String, bool)]) -> Vec<String> {
    let mut out: Vec<&Row> = rows.iter().filter(|r| pred.is_none_or(|p| p(r))).collect();
    out.sort_by(|a, b| {
        for (field, desc) in sort {
            let o = cmp_field(a, b, field);
            if o != Ordering::Equal {
                return if *desc { o.reverse() } else { o };
            }
        }
        a.id.cmp(&b.id)
    });
    out.into_iter().map(|r| r.id.clone()).collect()
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn setup(rng: &mut Rng, count: usize) -> (TestApp, String, Vec<Row>) {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let resp = app
        .create_collection(
            &admin,
            json!({"name": "things", "fields": [
            {"name": "n", "type": "integer", "indexed": true},
            {"name": "s", "type": "text"},
            {"name": "b", "type": "boolean"},
            {"name": "r", "type": "number", "required": true}],
            "rules": {"list": ["public"], "view": ["public"], "create": ["public"]}}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let mut rows = Vec::new();
    for _ in 0..count {
        let body = random_body(rng);
        let created: Value = app
            .req(Method::POST, "/api/v1/things", None)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        rows.push(row_from(&created));
    }
    (app, admin, rows)
}

fn sort_param(sort: &[(String, bool)]) -> String {
    sort.iter()
        .map(|(f, d)| format!("{}{f}", if *d { "-" } else { "" }))
        .collect::<Vec<_>>()
        .join(",")
}

#[tokio::test]
async fn random_listings_match_the_model() {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let (app, _admin, rows) = setup(&mut rng, 300).await;
    for round in 0..60 {
        let filter = random_filter(&mut rng);
        let sort = random_sort(&mut rng);
        let limit = 1 + rng.below(60);
        let expected = model(&rows, filter.as_ref().map(|(_, p)| p), &sort);
        let mut url = format!(
            "/api/v1/things?limit={limit}&count=true&sort={}",
            sort_param(&sort)
        );
        if let Some((text, _)) = &filter {
            url.push_str(&format!("&filter={}", encode(text)));
        }
        let mut got = Vec::new();
        let mut next = Some(url.clone());
        while let Some(u) = next {
            let resp = app.req(Method::GET, &u, None).send().await.unwrap();
            assert_eq!(resp.status(), 200, "round {round}: {u}");
            let page: Value = resp.json().await.unwrap();
            assert_eq!(
                page["total"].as_u64().unwrap() as usize,
                expected.len(),
                "round {round}: total for {u}"
            );
            let items = page["items"].as_array().unwrap();
            assert!(items.len() as u64 <= limit);
            got.extend(items.iter().map(|i| i["id"].as_str().unwrap().to_string()));
            next = page["next_cursor"]
                .as_str()
                .map(|c| format!("{url}&cursor={c}"));
        }
        assert_eq!(
            got,
            expected,
            "round {round}: filter {:?} sort {:?} limit {limit}",
            filter.as_ref().map(|f| &f.0),
            sort
        );
    }
}

#[tokio::test]
async fn keyset_pages_stay_correct_under_concurrent_inserts() {
    let mut rng = Rng(0x0bad_cafe_f00d_0002);
    let (app, _admin, rows) = setup(&mut rng, 150).await;
    for round in 0..8 {
        let sort = random_sort(&mut rng);
        let expected = model(&rows, None, &sort);
        let url = format!("/api/v1/things?limit=17&sort={}", sort_param(&sort));
        let mut got = Vec::new();
        let mut next = Some(url.clone());
        while let Some(u) = next {
            let page: Value = app.get_json(&u, None).await;
            got.extend(
                page["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i["id"].as_str().unwrap().to_string()),
            );
            next = page["next_cursor"]
                .as_str()
                .map(|c| format!("{url}&cursor={c}"));
            // Someone else writes between our pages.
            for _ in 0..3 {
                let body = random_body(&mut rng);
                app.req(Method::POST, "/api/v1/things", None)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
            }
        }
        let unique: HashSet<&String> = got.iter().collect();
        assert_eq!(
            unique.len(),
            got.len(),
            "round {round}: a record appeared twice"
        );
        let originals: HashSet<&String> = expected.iter().collect();
        let seen_originals: Vec<String> = got
            .into_iter()
            .filter(|id| originals.contains(id))
            .collect();
        assert_eq!(seen_originals, expected, "round {round}: sort {sort:?}");
    }
}
