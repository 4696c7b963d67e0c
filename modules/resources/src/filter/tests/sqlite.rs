//! Runs compiled filters against a real (in-memory) SQLite table: the SQL is valid and
//! matches the right rows.

use super::ok;
use rusqlite::{params_from_iter, Connection};

const ALL: [&str; 5] = ["a", "b", "c", "d", "e"];

pub(super) fn database() -> Connection {
    let db = Connection::open_in_memory().unwrap();
    db.execute_batch(
        r#"
        CREATE TABLE posts (
            id TEXT PRIMARY KEY, owner TEXT, title TEXT, status TEXT, views INTEGER,
            version INTEGER NOT NULL DEFAULT 1, rating REAL, published INTEGER,
            created_at TEXT, updated_at TEXT, due TEXT, meta TEXT);
        INSERT INTO posts (id, owner, title, status, views, rating, published, created_at, due, meta)
        VALUES
          ('a', 'u1', 'Learning Rust', 'published', 10, 4.5, 1,
           '2026-01-01T00:00:00.000Z', '2026-03-01', '{"k":1}'),
          ('b', 'u2', 'rusty nails 100%', 'draft', 3, 2.0, 0,
           '2025-12-31T21:59:59.999Z', '2026-02-28', NULL),
          ('c', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
          ('d', 'u1', 'Zürich_Guide', 'published', 1000, -1.5, 1,
           '2025-12-31T22:00:00.000Z', '2027-01-01', '[]'),
          ('e', 'u3', 'ZÜRICH notes \ back', 'archived', 0, 0.0, 0,
           '2026-06-15T12:00:00.500Z', '2026-03-01', NULL);
        "#,
    )
    .unwrap();
    db
}

pub(super) fn matching(db: &Connection, filter: &str) -> Vec<String> {
    let c = ok(filter);
    let sql = format!(
        "SELECT id FROM posts WHERE version = 1 AND {} ORDER BY id",
        c.sql
    );
    let mut stmt = db.prepare(&sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let rows = stmt
        .query_map(params_from_iter(c.params.iter()), |row| row.get(0))
        .unwrap();
    rows.collect::<Result<_, _>>().unwrap()
}

#[test]
fn filters_select_the_right_rows() {
    let db = database();
    let cases: &[(&str, &[&str])] = &[
        ("views >= 10", &["a", "d"]),
        ("views < 5", &["b", "e"]),
        ("views != 3", &["a", "c", "d", "e"]),
        ("views = 1e3", &["d"]),
        ("views > 2.5 && views < 10.5", &["a", "b"]),
        ("views in (0, 3, 7)", &["b", "e"]),
        ("views not in (0, 3, 7)", &["a", "c", "d"]),
        ("rating >= 2", &["a", "b"]),
        ("rating = 2", &["b"]),
        ("rating < -1", &["d"]),
        ("published = true", &["a", "d"]),
        ("published = false", &["b", "e"]),
        ("published != true", &["b", "c", "e"]),
        ("published is null", &["c"]),
        // `~` is a case-insensitive contains; wildcards in the text are literal.
        ("title ~ 'rust'", &["a", "b"]),
        ("title ~ 'RUST'", &["a", "b"]),
        ("title !~ 'rust'", &["c", "d", "e"]),
        ("title ~ '100%'", &["b"]),
        ("title ~ '%'", &["b"]),
        ("title ~ '_'", &["d"]),
        (r"title ~ '\\'", &["e"]),
        ("title ~ ''", &["a", "b", "d", "e"]),
        // SQLite's LIKE folds ASCII case only: "ü" does not match "Ü".
        ("title ~ 'zürich'", &["d"]),
        ("title = 'Zürich_Guide'", &["d"]),
        ("title > 'Z'", &["b", "d", "e"]), // binary order: "r" > "Z"
        // Datetimes in any offset compare against the stored UTC form.
        ("created_at = '2026-01-01T02:00:00+02:00'", &["a"]),
        (
            "created_at >= '2026-01-01T00:00:00+02:00'",
            &["a", "d", "e"],
        ),
        ("created_at < '2025-12-31T23:00:00+01:00'", &["b"]),
        ("created_at >= '2026-06-15T12:00:00.5004Z'", &[]),
        ("created_at > '2026-06-15T12:00:00.4996Z'", &["e"]),
        (
            "created_at <= '2026-06-15T12:00:00.5004Z' && created_at > '2026-06-01T00:00:00Z'",
            &["e"],
        ),
        (
            "created_at < '2026-06-15T12:00:00.5001Z' && created_at > '2026-06-01T00:00:00Z'",
            &["e"],
        ),
        ("created_at is null", &["c"]),
        ("due >= '2026-03-01'", &["a", "d", "e"]),
        ("due in ('2026-03-01', '2026-02-28')", &["a", "b", "e"]),
        ("due != '2026-03-01'", &["b", "c", "d"]),
        ("status in ('draft', 'archived')", &["b", "e"]),
        ("status not in ('draft', 'archived')", &["a", "c", "d"]),
        ("meta is null", &["b", "c", "e"]),
        ("meta is not null", &["a", "d"]),
        ("meta != null", &["a", "d"]),
        ("id != 'a' && id != 'b'", &["c", "d", "e"]),
        (
            "owner = 'u1' && (views > 100 || title ~ 'learn')",
            &["a", "d"],
        ),
        // `&&` binds tighter than `||`: e || (b && false).
        (
            "status = 'archived' || views = 3 && published = true",
            &["e"],
        ),
        (
            "(status = 'archived' || views = 3) && published = false",
            &["b", "e"],
        ),
        ("!(title ~ 'rust')", &["c", "d", "e"]),
        ("!!(views >= 10)", &["a", "d"]),
        ("!views >= 10 && !published = false", &["c"]),
        ("updated_at is null", &ALL),
    ];
    for (filter, expected) in cases {
        assert_eq!(matching(&db, filter), *expected, "{filter}");
    }
}

#[test]
fn negation_is_the_exact_complement() {
    // Every condition is two-valued, so `!(f)` selects precisely the rows `f` does not,
    // NULL columns included.
    let db = database();
    for filter in [
        "views >= 10",
        "views != 3",
        "rating < 1",
        "published = true",
        "title ~ 'rust'",
        "title !~ 'rust'",
        "title = 'Learning Rust'",
        "created_at > '2026-01-01T00:00:00Z'",
        "due in ('2026-03-01')",
        "status not in ('draft')",
        "owner is null",
        "views = 3 || title ~ 'guide'",
        "views > 1 && rating > 1",
    ] {
        let yes = matching(&db, filter);
        let no = matching(&db, &format!("!({filter})"));
        let mut all: Vec<_> = yes.iter().chain(&no).cloned().collect();
        all.sort();
        assert_eq!(all, ALL, "{filter}: {yes:?} / {no:?}");
    }
}
