//! Property tests: no input panics, and no input puts its own text into the SQL.

use super::{lookup, SCHEMA};
use crate::filter::{compile, parse, CompiledFilter};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::Config;
use rusqlite::{params_from_iter, Connection};

/// Everything the compiler may write besides quoted schema names and `'\'`.
const SQL_WORDS: &[&str] = &[
    "?", "=", ">", ">=", "<", "<=", "AND", "OR", "NOT", "IS", "NULL", "IN", "LIKE", "ESCAPE",
];

/// Checks that `c.sql` contains no user-supplied text (only schema names, which are known,
/// and the compiler's own words) and that every `?` has its parameter.
fn assert_sql_is_ours(input: &str, c: &CompiledFilter) {
    assert_eq!(
        c.sql.matches('?').count(),
        c.params.len(),
        "{input:?} -> {}",
        c.sql
    );
    let mut rest = c.sql.replace(r"ESCAPE '\'", "ESCAPE");
    for (name, _) in SCHEMA {
        rest = rest.replace(&format!("\"{name}\""), " ");
    }
    for word in rest.split([' ', '(', ')', ',']).filter(|w| !w.is_empty()) {
        assert!(
            SQL_WORDS.contains(&word),
            "{input:?} -> {}: unexpected {word:?}",
            c.sql
        );
    }
    let opens = c.sql.matches('(').count();
    assert_eq!(opens, c.sql.matches(')').count(), "{}", c.sql);
    assert!(c.sql.starts_with('(') && c.sql.ends_with(')'), "{}", c.sql);
}

thread_local! {
    static DB: Connection = super::sqlite::database();
}

/// Compiles; if that succeeds, checks the SQL and runs it against SQLite.
fn exercise(input: &str) {
    let parsed = parse(input);
    let compiled = compile(input, &lookup);
    if let Err(e) = &parsed {
        assert_eq!(compiled.as_ref().err(), Some(e), "{input:?}");
    }
    if let Err(e) = &compiled {
        assert!(e.position <= input.len().max(crate::filter::MAX_FILTER_BYTES));
        assert!(!e.message.is_empty());
    }
    let Ok(c) = compiled else { return };
    assert_sql_is_ours(input, &c);
    DB.with(|db| {
        let sql = format!("SELECT count(*) FROM posts WHERE {}", c.sql);
        let n: i64 = db
            .query_row(&sql, params_from_iter(c.params.iter()), |r| r.get(0))
            .unwrap_or_else(|e| panic!("{input:?} -> {sql}: {e}"));
        assert!((0..=5).contains(&n));
    });
}

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Characters the language gives meaning to, and a few it does not.
const ALPHABET: &[char] = &[
    '(', ')', '!', '&', '|', '=', '<', '>', '~', '\'', '"', '\\', ',', '.', '-', '+', ' ', '\t',
    '0', '1', '9', 'e', 'E', 'a', 'i', 'n', 's', 't', 'u', 'l', 'v', 'w', '_', 'é', '✓', ';', '%',
    '\0',
];

fn arbitrary_input() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        prop::collection::vec(select(ALPHABET), 0..80).prop_map(|v| v.into_iter().collect()),
        prop::collection::vec(any::<u8>(), 0..80)
            .prop_map(|v| String::from_utf8_lossy(&v).into_owned()),
    ]
}

/// A quoted string literal holding `s`, correctly escaped.
fn quoted(s: &str, quote: char) -> String {
    let mut out = String::from(quote);
    for c in s.chars() {
        if c == quote || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push(quote);
    out
}

fn user_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        select(vec![
            "'; DROP TABLE posts; --",
            "\" OR \"1\"=\"1",
            "?",
            "%_\\",
            "Robert'); DROP TABLE students;--",
            "\"title\"",
            "AND OR NOT",
            "2026-01-01T00:00:00+02:00",
            "2026-03-01",
        ])
        .prop_map(String::from),
    ]
}

fn string_lit() -> impl Strategy<Value = String> {
    (user_text(), select(vec!['\'', '"'])).prop_map(|(s, q)| quoted(&s, q))
}

fn token() -> impl Strategy<Value = String> {
    let words = vec![
        "id",
        "title",
        "views",
        "rating",
        "published",
        "created_at",
        "due",
        "meta",
        "owner",
        "nope",
        "Title",
        "in",
        "IN",
        "not",
        "Not",
        "is",
        "null",
        "NULL",
        "true",
        "False",
        "(",
        ")",
        "!",
        "&&",
        "||",
        ",",
        "=",
        "!=",
        ">",
        ">=",
        "<",
        "<=",
        "~",
        "!~",
        "==",
        "&",
        "|",
        "-",
        "1",
        "-12",
        "3.5",
        "1e3",
        "1e999",
        "12abc",
        "'2026-01-01T00:00:00Z'",
        "'2026-02-30'",
        "'2026-03-01'",
        "'",
        "\"",
        "\\",
        "'unterminated",
        ";",
        "--",
    ];
    prop_oneof![
        4 => select(words).prop_map(String::from),
        1 => string_lit(),
        1 => any::<i64>().prop_map(|i| i.to_string()),
        1 => any::<f64>().prop_map(|f| f.to_string()),
    ]
}

/// Random token sequences, and generated filters with a token inserted or a piece cut out.
fn token_soup() -> impl Strategy<Value = String> {
    let soup = prop::collection::vec((token(), select(vec!["", " ", "  ", "\n"])), 0..40)
        .prop_map(|v| v.into_iter().map(|(t, sep)| t + sep).collect());
    let spliced = (
        grammar_input(),
        token(),
        any::<prop::sample::Index>(),
        0..4usize,
    )
        .prop_map(|(mut s, t, at, cut)| {
            let mut at = at.index(s.len() + 1);
            while !s.is_char_boundary(at) {
                at -= 1;
            }
            if cut == 0 {
                s.insert_str(at, &format!(" {t} "));
            } else {
                let mut end = (at + cut).min(s.len());
                while !s.is_char_boundary(end) {
                    end += 1;
                }
                s.replace_range(at..end, "");
            }
            s
        });
    prop_oneof![soup, spliced]
}

/// Mostly well-typed comparisons, so that most generated filters compile.
fn leaf() -> impl Strategy<Value = String> {
    let text_field = select(vec!["id", "owner", "title"]);
    let num_field = select(vec!["views", "rating"]);
    let any_op = select(vec!["=", "!=", ">", ">=", "<", "<="]);
    let text_op = select(vec!["=", "!=", ">", ">=", "<", "<=", "~", "!~"]);
    let null_check = select(vec![
        "is null",
        "is not null",
        "= null",
        "!= null",
        "IS NOT NULL",
    ]);
    let number = prop_oneof![
        any::<i32>().prop_map(|i| i.to_string()),
        (-1e6f64..1e6).prop_map(|f| format!("{f:.3}")),
        Just("1e3".to_string()),
    ];
    let datetime = select(vec![
        "'2026-01-01T00:00:00Z'",
        "'2026-01-01T02:00:00+02:00'",
        "\"2025-12-31T22:00:00.000Z\"",
        "'2026-06-15T12:00:00.5004Z'",
    ]);
    prop_oneof![
        (text_field.clone(), text_op, string_lit()).prop_map(|(f, o, v)| format!("{f} {o} {v}")),
        (num_field, any_op.clone(), number).prop_map(|(f, o, v)| format!("{f}{o}{v}")),
        (select(vec!["=", "!="]), any::<bool>()).prop_map(|(o, b)| format!("published {o} {b}")),
        (any_op, datetime).prop_map(|(o, v)| format!("created_at {o} {v}")),
        (select(SCHEMA.to_vec()), null_check).prop_map(|((f, _), n)| format!("{f} {n}")),
        (
            text_field,
            any::<bool>(),
            prop::collection::vec(string_lit(), 1..5)
        )
            .prop_map(|(f, neg, v)| format!(
                "{f} {}in ({})",
                if neg { "not " } else { "" },
                v.join(", ")
            )),
    ]
}

fn grammar_input() -> impl Strategy<Value = String> {
    leaf().prop_recursive(5, 48, 4, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} && {b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} || {b}")),
            inner.clone().prop_map(|a| format!("!({a})")),
            inner.clone().prop_map(|a| format!("({a})")),
            inner.prop_map(|a| format!("!{a}")),
        ]
    })
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn arbitrary_strings_never_panic(input in arbitrary_input()) {
        exercise(&input);
    }

    #[test]
    fn token_sequences_never_leak_into_sql(input in token_soup()) {
        exercise(&input);
    }

    #[test]
    fn generated_filters_compile_and_run(input in grammar_input()) {
        exercise(&input);
        // Anything from the grammar is well-typed and shallow, so only size can stop it.
        if input.len() <= crate::filter::MAX_FILTER_BYTES {
            let result = compile(&input, &lookup);
            prop_assert!(result.is_ok(), "{:?}: {:?}", input, result);
        }
    }
}
