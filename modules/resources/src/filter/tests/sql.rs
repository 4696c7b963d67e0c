//! The SQL and parameters produced for each operator and kind of field.

use super::{ok, text};
use rusqlite::types::Value;

fn check(input: &str, sql: &str, params: Vec<Value>) {
    let c = ok(input);
    assert_eq!(c.sql, sql, "{input}");
    assert_eq!(c.params, params, "{input}");
}

#[test]
fn comparisons_on_text() {
    check("title = 'a'", r#"("title" IS ?)"#, vec![text("a")]);
    check("title != 'a'", r#"("title" IS NOT ?)"#, vec![text("a")]);
    for op in [">", ">=", "<", "<="] {
        check(
            &format!("title {op} 'm'"),
            &format!(r#"("title" IS NOT NULL AND "title" {op} ?)"#),
            vec![text("m")],
        );
    }
}

#[test]
fn contains_escapes_like_wildcards() {
    check(
        "title ~ 'Rust'",
        r#"("title" IS NOT NULL AND "title" LIKE ? ESCAPE '\')"#,
        vec![text("%Rust%")],
    );
    check(
        "title !~ 'Rust'",
        r#"("title" IS NULL OR "title" NOT LIKE ? ESCAPE '\')"#,
        vec![text("%Rust%")],
    );
    check(
        r"title ~ '100%_a\\b'",
        r#"("title" IS NOT NULL AND "title" LIKE ? ESCAPE '\')"#,
        vec![text(r"%100\%\_a\\b%")],
    );
}

#[test]
fn numbers_booleans_and_dates() {
    check("views = 3", r#"("views" IS ?)"#, vec![Value::Integer(3)]);
    check(
        "views > 1.5",
        r#"("views" IS NOT NULL AND "views" > ?)"#,
        vec![Value::Real(1.5)],
    );
    check(
        "views < 1e3",
        r#"("views" IS NOT NULL AND "views" < ?)"#,
        vec![Value::Real(1000.0)],
    );
    check(
        "rating >= -2",
        r#"("rating" IS NOT NULL AND "rating" >= ?)"#,
        vec![Value::Integer(-2)],
    );
    check(
        "published = true",
        r#"("published" IS ?)"#,
        vec![Value::Integer(1)],
    );
    check(
        "published != FALSE",
        r#"("published" IS NOT ?)"#,
        vec![Value::Integer(0)],
    );
    check(
        "due <= '2026-02-28'",
        r#"("due" IS NOT NULL AND "due" <= ?)"#,
        vec![text("2026-02-28")],
    );
    check(
        "due = '2028-02-29'",
        r#"("due" IS ?)"#,
        vec![text("2028-02-29")],
    );
}

#[test]
fn datetimes_are_normalised_to_stored_form() {
    let cases = [
        ("2026-01-01T00:00:00Z", "2026-01-01T00:00:00.000Z"),
        ("2026-01-01T00:00:00+02:00", "2025-12-31T22:00:00.000Z"),
        ("2026-01-01t10:30:00.5-01:30", "2026-01-01T12:00:00.500Z"),
        ("2026-06-01T12:00:00.123456Z", "2026-06-01T12:00:00.123Z"),
    ];
    for (given, stored) in cases {
        check(
            &format!("created_at = '{given}'"),
            r#"("created_at" IS ?)"#,
            vec![text(stored)],
        );
    }
}

#[test]
fn sub_millisecond_datetimes_round_so_ordering_stays_exact() {
    // stored >= 12.0005 means stored >= 12.001; stored < 12.0005 means stored < 12.001.
    for (op, stored) in [
        (">", "12.000"),
        (">=", "12.001"),
        ("<", "12.001"),
        ("<=", "12.000"),
        ("=", "12.000"),
    ] {
        let c = ok(&format!("created_at {op} '2026-01-01T00:00:12.0005Z'"));
        assert_eq!(
            c.params,
            vec![text(&format!("2026-01-01T00:00:{stored}Z"))],
            "{op}"
        );
    }
}

#[test]
fn null_comparisons() {
    check("title = null", r#"("title" IS NULL)"#, vec![]);
    check("title != NULL", r#"("title" IS NOT NULL)"#, vec![]);
    check("views is null", r#"("views" IS NULL)"#, vec![]);
    check("views IS NOT NULL", r#"("views" IS NOT NULL)"#, vec![]);
    check("meta is null", r#"("meta" IS NULL)"#, vec![]);
    check("meta is not null", r#"("meta" IS NOT NULL)"#, vec![]);
    check("meta = null", r#"("meta" IS NULL)"#, vec![]);
}

#[test]
fn in_lists() {
    check(
        "status in ('a', \"b\")",
        r#"("status" IS NOT NULL AND "status" IN (?, ?))"#,
        vec![text("a"), text("b")],
    );
    check(
        "views not in (1, 2.5, 3)",
        r#"("views" IS NULL OR "views" NOT IN (?, ?, ?))"#,
        vec![Value::Integer(1), Value::Real(2.5), Value::Integer(3)],
    );
    check(
        "created_at in ('2026-01-01T01:00:00+01:00')",
        r#"("created_at" IS NOT NULL AND "created_at" IN (?))"#,
        vec![text("2026-01-01T00:00:00.000Z")],
    );
    check(
        "published in (true, false)",
        r#"("published" IS NOT NULL AND "published" IN (?, ?))"#,
        vec![Value::Integer(1), Value::Integer(0)],
    );
    let hundred = vec!["1"; 100].join(",");
    assert_eq!(ok(&format!("views in ({hundred})")).params.len(), 100);
}

#[test]
fn boolean_structure_is_fully_parenthesised() {
    check(
        "views = 1 || views = 2 && title = 'x'",
        r#"(("views" IS ?) OR (("views" IS ?) AND ("title" IS ?)))"#,
        vec![Value::Integer(1), Value::Integer(2), text("x")],
    );
    check(
        "(views = 1 || views = 2) && !(title = 'x')",
        r#"((("views" IS ?) OR ("views" IS ?)) AND (NOT ("title" IS ?)))"#,
        vec![Value::Integer(1), Value::Integer(2), text("x")],
    );
    check("!!id = 'x'", r#"(NOT (NOT ("id" IS ?)))"#, vec![text("x")]);
    check(
        "owner is null && id != 'a' && version >= 2",
        r#"(("owner" IS NULL) AND ("id" IS NOT ?) AND ("version" IS NOT NULL AND "version" >= ?))"#,
        vec![text("a"), Value::Integer(2)],
    );
}

#[test]
fn keywords_are_case_insensitive() {
    assert_eq!(ok("status IN ('a')"), ok("status in ('a')"));
    assert_eq!(ok("status NoT In ('a')"), ok("status not in ('a')"));
    assert_eq!(ok("status Is NoT NuLl"), ok("status is not null"));
    assert_eq!(ok("published = TRUE"), ok("published = true"));
}
