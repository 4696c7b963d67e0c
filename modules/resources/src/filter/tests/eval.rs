//! The evaluator on chosen cases: SQLite's corners (NUL, -0.0, 2^53, sub-millisecond
//! literals, ASCII-only case folding), records with missing keys, identical errors, and
//! the promise that `matches` does not allocate.

use super::differential::{collection, memory_ids, sql_ids};
use super::{lookup, SCHEMA};
use crate::filter::{compile, CompiledPredicate};
use crate::repo::records::record_from_row;
use rusqlite::Connection;
use serde_json::{json, Map, Value};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Rows of `all` written straight in SQL, bypassing the field validators, so that values
/// the API refuses (a NUL in text) are covered too: `id, t, i, n, dt` as SQL literals.
const ROWS: &[&str] = &[
    "'a', 'ab' || char(0) || 'cd', 9007199254740993, -0.0, '2026-06-15T12:00:00.500Z'",
    "'b', 'ZÜRICH', 9007199254740992, 0.0, '2026-06-15T12:00:00.499Z'",
    "'c', 'zürich 100%', -1, 0.5, '2026-06-15T12:00:00.501Z'",
    "'d', NULL, NULL, NULL, '0000-01-01T00:00:00.000Z'",
];

fn database() -> (Connection, Vec<Map<String, Value>>) {
    let col = collection();
    let db = Connection::open_in_memory().unwrap();
    db.execute_batch("PRAGMA foreign_keys = OFF; CREATE TABLE users (id TEXT PRIMARY KEY)")
        .unwrap();
    db.execute_batch(&crate::ddl::create_table(&col.def, &col.table))
        .unwrap();
    for row in ROWS {
        let now = "'2026-01-01T00:00:00.000Z'";
        db.execute_batch(&format!(
            "INSERT INTO rec_all (id, t, i, n, dt, created_at, updated_at) \
             VALUES ({row}, {now}, {now})"
        ))
        .unwrap_or_else(|e| panic!("{row}: {e}"));
    }
    let records = {
        let mut stmt = db
            .prepare(&format!("SELECT {} FROM rec_all", col.select_list))
            .unwrap();
        let rows = stmt.query_map([], |r| record_from_row(&col, r)).unwrap();
        rows.map(|r| r.unwrap().json).collect()
    };
    (db, records)
}

#[test]
fn corners_of_sqlite_agree_with_the_sql() {
    let (db, records) = database();
    let col = collection();
    let cases: &[(&str, &[&str])] = &[
        // LIKE reads text up to its first NUL, and a pattern too (losing its closing %).
        ("t ~ 'cd'", &[]),
        ("t ~ 'ab'", &["a"]),
        ("t !~ 'cd'", &["a", "b", "c", "d"]),
        ("t ~ 'xab\0'", &[]),
        ("t ~ 'AB\0zz'", &["a"]),
        ("t ~ 'ch\0'", &["b"]),
        ("t ~ '\0'", &["a", "b", "c"]),
        // `=` compares the whole text, NUL included.
        ("t = 'ab'", &[]),
        ("t > 'ab'", &["a", "c"]), // binary order: 'Z' < 'a'
        // ASCII-only case folding.
        ("t ~ 'zürich'", &["c"]),
        ("t ~ 'züRICH'", &["c"]),
        ("t ~ 'ZÜrich'", &["b"]),
        ("t ~ '0%'", &["c"]),
        // -0.0 equals 0.0 and 0.
        ("n = 0", &["a", "b"]),
        ("n = -0.0", &["a", "b"]),
        ("n < 0", &[]),
        ("n in (-0.0)", &["a", "b"]),
        // Integers against reals, exactly: no double holds 2^53 + 1.
        ("i = 9007199254740992.0", &["b"]),
        ("i > 9007199254740992.0", &["a"]),
        ("i in (9007199254740992.0, -1.0)", &["b", "c"]),
        ("i not in (9007199254740992.0, -1.0)", &["a", "d"]),
        ("i < 9223372036854775808", &["a", "b", "c"]),
        ("i > -0.5 && i < 0.5", &[]),
        // Sub-millisecond literals: `=` truncates, `>=` and `<` round up.
        ("dt = '2026-06-15T12:00:00.5004Z'", &["a"]),
        ("dt >= '2026-06-15T12:00:00.5004Z'", &["c"]),
        ("dt <= '2026-06-15T12:00:00.5004Z'", &["a", "b", "d"]),
        ("dt < '2026-06-15T14:00:00.5004+02:00'", &["a", "b", "d"]),
        // NULL columns: every negative form matches them, and `!` is the complement.
        ("!(t ~ 'b')", &["b", "c", "d"]),
        ("!(i > 0) && !(n = 0.5)", &["d"]),
        (
            "j is null && b != true && r not in ('x')",
            &["a", "b", "c", "d"],
        ),
    ];
    for (filter, expected) in cases {
        let expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            sql_ids(&db, &col, filter),
            Ok(expected.clone()),
            "SQL {filter}"
        );
        assert_eq!(
            memory_ids(&records, &col, filter),
            Ok(expected),
            "memory {filter}"
        );
    }
}

#[test]
fn a_missing_key_reads_as_null() {
    let p = |f: &str| CompiledPredicate::new(f, &lookup).unwrap();
    let empty = Map::new();
    assert!(p("title is null").matches(&empty));
    assert!(p("title != 'x' && views not in (1) && title !~ 'x'").matches(&empty));
    assert!(!p("title = 'x' || views > 0 || views < 0 || title ~ ''").matches(&empty));
    let one = json!({"title": "Rust", "views": 3});
    let one = one.as_object().unwrap();
    assert!(p("title ~ 'rUs' && views >= 2.5 && published is null").matches(one));
}

#[test]
fn errors_are_the_compilers() {
    for input in [
        "",
        "title ~ 5",
        "views ~ 'x'",
        "nope = 1",
        "Title = 'x'",
        "meta = 1",
        "meta in (1)",
        "published > true",
        "views in (1, null)",
        "views > null",
        "created_at >= '9999-12-31T23:59:59.9999Z'",
        "due = '2026-02-30'",
        "(views = 1",
        "views = 1 and views = 2",
    ] {
        let expected = compile(input, &lookup).unwrap_err();
        let got = CompiledPredicate::new(input, &lookup).unwrap_err();
        assert_eq!(got, expected, "{input:?}");
    }
    // A datetime the round-up pushes past year 9999 is refused for `>=` only.
    assert!(CompiledPredicate::new("created_at > '9999-12-31T23:59:59.9999Z'", &lookup).is_ok());
}

#[test]
fn a_long_needle_over_a_long_text_stays_linear() {
    // Naive substring search would take needle × text = 4e9 steps here.
    let text = "a".repeat(1_000_000);
    let needle = format!("{}b", "a".repeat(4000));
    let p = CompiledPredicate::new(&format!("title ~ '{needle}'"), &lookup).unwrap();
    let record = json!({"title": text});
    assert!(!p.matches(record.as_object().unwrap()));
    let record = json!({"title": format!("{text}{needle}")});
    assert!(p.matches(record.as_object().unwrap()));
}

#[test]
fn predicates_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<CompiledPredicate>();
}

/// Counts allocations on threads that ask for it; every other allocation (all other
/// tests of this binary) only pays one thread-local read.
struct CountingAllocator;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCATIONS.with(|n| n.set(n.get() + 1));
        }
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

#[test]
fn matching_does_not_allocate() {
    // An `&&` chain of true conditions, so that every one of them is evaluated.
    let filter = "views > 2 && title ~ 'rust' && !(status in ('a', 'b')) \
                  && created_at < '2026-01-01T00:00:00+02:00' && meta is not null \
                  && published = false && rating > 2.5 && title !~ 'x\0' \
                  && due = '2026-03-01' && owner is null && id in ('b', 'a') && version != 2";
    let p = CompiledPredicate::new(filter, &lookup).unwrap();
    let record = json!({
        "id": "a", "owner": null, "title": "Learning Rust", "status": "draft", "views": 3,
        "version": 1, "rating": 4.5, "published": false, "created_at": "2025-01-01T00:00:00.000Z",
        "updated_at": "2025-01-01T00:00:00.000Z", "due": "2026-03-01", "meta": {"k": [1]}
    });
    assert_eq!(record.as_object().unwrap().len(), SCHEMA.len());
    let record = record.as_object().unwrap();
    COUNTING.with(|c| c.set(true));
    let mut hits = 0;
    for _ in 0..100 {
        hits += usize::from(p.matches(record));
    }
    COUNTING.with(|c| c.set(false));
    assert_eq!(hits, 100);
    assert_eq!(ALLOCATIONS.with(Cell::get), 0);
}
