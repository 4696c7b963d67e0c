//! Limits and hostile input: deep nesting, size, injection attempts, odd names.

use super::{err, lookup, ok, text};
use crate::filter::{compile, parse, MAX_CONDITIONS, MAX_CONTAINS, MAX_DEPTH, MAX_FILTER_BYTES};

fn depth_error() -> String {
    format!("filter is nested deeper than {MAX_DEPTH} levels")
}

#[test]
fn nesting_up_to_the_limit_is_fine() {
    let parens = format!(
        "{}views = 1{}",
        "(".repeat(MAX_DEPTH),
        ")".repeat(MAX_DEPTH)
    );
    assert_eq!(ok(&parens).params.len(), 1);
    let bangs = format!("{}views = 1", "!".repeat(MAX_DEPTH));
    assert_eq!(ok(&bangs).sql.matches("NOT").count(), MAX_DEPTH);
    // Mixed: 16 of each.
    let mixed = format!(
        "{}views = 1{}",
        "!(".repeat(MAX_DEPTH / 2),
        ")".repeat(MAX_DEPTH / 2)
    );
    assert!(parse(&mixed).is_ok());
}

#[test]
fn one_level_too_deep_is_refused_at_that_token() {
    let parens = format!(
        "{}views = 1{}",
        "(".repeat(MAX_DEPTH + 1),
        ")".repeat(MAX_DEPTH + 1)
    );
    assert_eq!(err(&parens), (MAX_DEPTH, depth_error()));
    let bangs = format!("{}views = 1", "!".repeat(MAX_DEPTH + 1));
    assert_eq!(err(&bangs), (MAX_DEPTH, depth_error()));
    // "!(" pairs: the 33rd level is a "!" at byte 32.
    let mixed = format!("{}views = 1", "!(".repeat(MAX_DEPTH));
    assert_eq!(err(&mixed), (MAX_DEPTH, depth_error()));
    // Whitespace between: the position is still that of the token.
    let spaced = format!("{}views = 1", "( ".repeat(MAX_DEPTH + 1));
    assert_eq!(err(&spaced), (2 * MAX_DEPTH, depth_error()));
}

#[test]
fn depth_resets_between_siblings() {
    let group = format!(
        "{}views = 1{}",
        "(".repeat(MAX_DEPTH),
        ")".repeat(MAX_DEPTH)
    );
    let many = [group.as_str(); 3].join(" && ");
    assert!(parse(&many).is_ok());
}

#[test]
fn huge_nesting_attempts_do_not_crash() {
    for unit in ["(", "!", "!(", "( ", "(!"] {
        // Within the byte limit: refused by the depth limit.
        let within = unit.repeat(MAX_FILTER_BYTES / unit.len());
        assert!(within.len() <= MAX_FILTER_BYTES);
        assert_eq!(err(&within).1, depth_error(), "{unit:?}");
        // 10,000 deep: refused by the byte limit.
        let deep = format!("{}views = 1{}", unit.repeat(10_000), ")".repeat(10_000));
        assert_eq!(err(&deep).0, MAX_FILTER_BYTES, "{unit:?}");
    }
}

#[test]
fn long_flat_chains_are_fine_up_to_the_condition_limit() {
    // A chain is one flat node, no deep recursion; its length is capped by the number of
    // conditions, which bounds the work a filter can ask of the database.
    let chain = vec!["views=1"; MAX_CONDITIONS].join("||");
    assert_eq!(ok(&chain).params.len(), MAX_CONDITIONS);
    let chain = vec!["!views=1"; MAX_CONDITIONS].join("&&");
    assert_eq!(ok(&chain).params.len(), MAX_CONDITIONS);
}

#[test]
fn one_condition_too_many_is_refused_at_that_condition_naming_the_limit() {
    let chain = vec!["views=1"; MAX_CONDITIONS + 1].join("||");
    let (pos, message) = err(&chain);
    assert_eq!(pos, MAX_CONDITIONS * "views=1||".len());
    assert!(
        message.contains(&format!("more than {MAX_CONDITIONS} conditions")),
        "{message}"
    );
    // `in` lists count once, however many values they hold.
    let lists = vec!["views in (1, 2, 3, 4, 5)"; MAX_CONDITIONS].join(" || ");
    assert!(parse(&lists).is_ok());
}

#[test]
fn text_searches_are_capped_apart_from_other_conditions() {
    let searches = ["title ~ 'a'"; MAX_CONTAINS].join(" || ");
    assert!(parse(&searches).is_ok());
    let mixed = format!("{searches} || title !~ 'b'");
    let (pos, message) = err(&mixed);
    assert_eq!(pos, searches.len() + " || title ".len());
    assert!(
        message.contains(&format!("more than {MAX_CONTAINS}")),
        "{message}"
    );
    // The attack of the security review: ~300 `~` terms in 4 KB.
    let attack = vec!["title ~ 'xq'"; 300].join("||");
    assert!(err(&attack[..MAX_FILTER_BYTES.min(attack.len())])
        .1
        .contains("more than"));
}

#[test]
fn byte_limit() {
    let exactly = format!("title = '{}'", "x".repeat(MAX_FILTER_BYTES - 10));
    assert_eq!(exactly.len(), MAX_FILTER_BYTES);
    let c = ok(&exactly);
    assert_eq!(c.params, vec![text(&"x".repeat(MAX_FILTER_BYTES - 10))]);
    let over = format!("title = '{}'", "x".repeat(MAX_FILTER_BYTES - 9));
    assert_eq!(
        err(&over),
        (
            MAX_FILTER_BYTES,
            format!("filter is longer than {MAX_FILTER_BYTES} bytes")
        )
    );
    // Bytes, not characters: 2,044 two-byte characters are 4,088 bytes + 10.
    let wide = format!("title = '{}'", "é".repeat(2044));
    assert!(err(&wide).0 == MAX_FILTER_BYTES);
    assert!(ok(&format!("title = '{}'", "é".repeat(2043))).params.len() == 1);
    // Whitespace counts too.
    assert_eq!(err(&" ".repeat(MAX_FILTER_BYTES + 1)).0, MAX_FILTER_BYTES);
}

#[test]
fn error_messages_quote_long_text_briefly() {
    let long = "x".repeat(3000);
    let (_, message) = err(&format!("{long} = 1"));
    assert!(message.len() < 100, "{message}");
    let (_, message) = err(&format!("views = '{long}'"));
    assert!(message.len() < 150, "{message}");
}

#[test]
fn sql_fragments_in_literals_only_reach_params() {
    let attacks = [
        r"title = '\'; DROP TABLE x; --'",
        r#"title = "\"); DROP TABLE x; --""#,
        r"title ~ '%'' OR 1=1 --'",
        r#"title in ('a', 'b'') OR ("1"="1')"#,
        r"title != '\\'' OR '1'='1'",
        "title = 'x\" OR \"1\"=\"1'",
        "status !~ '*/ UNION SELECT * FROM users /*'",
    ];
    for attack in attacks {
        let Ok(c) = compile(attack, &lookup) else {
            continue; // refusing is fine too
        };
        for word in ["DROP", "UNION", "--", "1=1", ";", "*", "users"] {
            assert!(!c.sql.contains(word), "{attack:?} -> {}", c.sql);
        }
        assert_eq!(c.sql.matches('?').count(), c.params.len(), "{attack}");
    }
    let c = ok(r"title = '\'; DROP TABLE x; --'");
    assert_eq!(c.sql, r#"("title" IS ?)"#);
    assert_eq!(c.params, vec![text("'; DROP TABLE x; --")]);
}

#[test]
fn odd_field_names_are_refused() {
    for input in [
        "title\" = 'x'",
        "\"title\" = 'x'",
        "x; drop = 1",
        "title-- = 1",
        "ti tle = 1",
        "`title` = 1",
        "[title] = 1",
        "title\u{0} = 1",
        "tİtle = 1",
        "TITLE = 'x'",
        "_unknown = 1",
    ] {
        assert!(compile(input, &lookup).is_err(), "{input:?}");
    }
}

#[test]
fn a_lookup_that_accepts_anything_still_cannot_inject() {
    // Even if the caller's lookup says yes to every name, only safe names get quoted.
    let anything = |_: &str| Some(crate::filter::FieldKind::Text);
    let c = compile("_a9 = 'x' && z = 'y'", &anything).unwrap();
    assert_eq!(c.sql, r#"(("_a9" IS ?) AND ("z" IS ?))"#);
    assert!(compile("Ab = 'x'", &anything).is_err());
}

#[test]
fn non_ascii_text_round_trips() {
    let c = ok("title = 'Zürich – 東京 🦀' && status ~ 'Ünïcödé'");
    assert_eq!(c.params, vec![text("Zürich – 東京 🦀"), text("%Ünïcödé%")]);
    // Positions after multi-byte text are byte offsets.
    assert_eq!(err("title = '東京' && nope = 1").0, 20);
}
