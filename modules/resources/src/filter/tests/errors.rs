//! Every error message, with its exact byte position.

use super::err;

fn check(cases: &[(&str, usize, &str)]) {
    for (input, position, message) in cases {
        assert_eq!(err(input), (*position, message.to_string()), "{input:?}");
    }
}

#[test]
fn lexer_errors() {
    check(&[
        ("title = 'abc", 8, "unterminated string"),
        ("title = \"abc\\\"", 8, "unterminated string"),
        ("title = 'a\\", 8, "unterminated string"),
        (
            "title = 'a\\nb'",
            10,
            r#"invalid escape "\n" in string; only \', \" and \\ are allowed"#,
        ),
        (
            "title = 'é\\x'",
            11,
            r#"invalid escape "\x" in string; only \', \" and \\ are allowed"#,
        ),
        (
            "title = 'a' & views = 1",
            12,
            "unexpected \"&\"; use \"&&\" for and",
        ),
        (
            "title = 'a' | views = 1",
            12,
            "unexpected \"|\"; use \"||\" for or",
        ),
        ("title; drop", 5, "unexpected character \";\""),
        ("views = 12abc", 8, "invalid number \"12abc\""),
        ("views = 1.", 8, "invalid number \"1.\""),
        ("views = 1.5.6", 8, "invalid number \"1.5.6\""),
        ("views = 1e", 8, "invalid number \"1e\""),
        ("views = -x", 8, "unexpected \"-\""),
        ("views = 1e999", 8, "number \"1e999\" is out of range"),
        ("tïtle = 1", 1, "unexpected character \"ï\""),
        ("views = 1\u{0}", 9, "unexpected character \"\\0\""),
    ]);
}

#[test]
fn parser_errors() {
    check(&[
        ("", 0, "empty filter"),
        ("  \n\t", 0, "empty filter"),
        (
            "views >=",
            8,
            "expected a value after \">=\", found end of filter",
        ),
        (
            "views >= )",
            9,
            "expected a value after \">=\", found \")\"",
        ),
        ("views == 1", 7, "expected a value after \"=\", found \"=\""),
        (
            "status = published",
            9,
            "expected a value after \"=\", found \"published\" (strings need quotes: 'published')",
        ),
        ("views = 1)", 9, "unexpected \")\""),
        (")", 0, "unexpected \")\""),
        ("()", 1, "unexpected \")\""),
        (
            "views = 1 title = 'x'",
            10,
            "expected \"&&\", \"||\" or end of filter, found \"title\"",
        ),
        (
            "views = 1 and title = 'x'",
            10,
            "expected \"&&\", \"||\" or end of filter, found \"and\"; use \"&&\" for and",
        ),
        (
            "(views = 1 OR views = 2)",
            11,
            "expected \"&&\", \"||\" or \")\", found \"OR\"; use \"||\" for or",
        ),
        ("(views = 1", 10, "missing \")\" for the \"(\" at byte 0"),
        (
            "views = 1 && (( views = 2)",
            26,
            "missing \")\" for the \"(\" at byte 13",
        ),
        ("views = 1 &&", 12, "expected a condition after \"&&\""),
        ("!", 1, "expected a condition after \"!\""),
        (
            "views = 1 || 'x'",
            13,
            "expected a field name, \"(\" or \"!\", found the string 'x'",
        ),
        (
            "not views = 1",
            0,
            "unexpected \"not\"; use \"!\" to negate a condition",
        ),
        (
            "null = 1",
            0,
            "expected a field name, found the keyword \"null\"",
        ),
        (
            "views = 1 || IN = 1",
            13,
            "expected a field name, found the keyword \"IN\"",
        ),
        (
            "views 1",
            6,
            "expected an operator after \"views\" (one of = != > >= < <= ~ !~ in, not in, \
             is null, is not null), found \"1\"",
        ),
        (
            "views",
            5,
            "expected an operator after \"views\" (one of = != > >= < <= ~ !~ in, not in, \
             is null, is not null), found end of filter",
        ),
        (
            "views is 1",
            9,
            "expected \"null\" or \"not null\" after \"is\", found \"1\"",
        ),
        (
            "views is not 1",
            13,
            "expected \"null\" after \"not\", found \"1\"",
        ),
        (
            "views not 1",
            10,
            "expected \"in\" after \"not\", found \"1\"",
        ),
        ("views in 1", 9, "expected \"(\" after \"in\", found \"1\""),
        ("views in ()", 10, "\"in\" needs at least one value"),
        (
            "views in (1 2)",
            12,
            "expected \",\" or \")\" in the \"in\" list, found \"2\"",
        ),
        (
            "views in (1,",
            12,
            "expected a value after \",\", found end of filter",
        ),
        (
            "views in (1",
            11,
            "missing \")\" for the \"in\" list at byte 9",
        ),
    ]);
}

#[test]
fn in_list_limit() {
    let values = vec!["1"; 101].join(",");
    // The 101st value starts at byte 10 + 100 * 2.
    assert_eq!(
        err(&format!("views in ({values})")),
        (
            210,
            "an \"in\" list can hold at most 100 values".to_string()
        )
    );
}

#[test]
fn compile_errors() {
    check(&[
        ("veiws = 1", 0, "unknown field \"veiws\""),
        ("Title = 'x'", 0, "unknown field \"Title\" (field names are lowercase)"),
        ("views = 1 && nope is null", 13, "unknown field \"nope\""),
        ("views ~ 'x'", 6, "operator \"~\" needs a text field; \"views\" is an integer"),
        ("due !~ 'x'", 4, "operator \"!~\" needs a text field; \"due\" is a date"),
        ("created_at ~ '2026'", 11, "operator \"~\" needs a text field; \"created_at\" is a datetime"),
        ("published > true", 10, "operator \">\" does not apply to \"published\", which is a boolean"),
        ("meta = '{}'", 5, "\"meta\" is JSON: only \"is null\" and \"is not null\" are allowed"),
        ("meta ~ 'a'", 5, "\"meta\" is JSON: only \"is null\" and \"is not null\" are allowed"),
        ("meta in ('a')", 5, "\"meta\" is JSON: only \"is null\" and \"is not null\" are allowed"),
        (
            "views > null",
            8,
            "null can only be used with \"=\" or \"!=\", not \">\"; use \"is null\" or \"is not null\"",
        ),
        ("views in (1, null)", 13, "null is not allowed in an \"in\" list; use \"is null\""),
        ("title = 12", 8, "\"title\" is a text field: expected a quoted string, found the number 12"),
        ("title ~ true", 8, "\"title\" is a text field: expected a quoted string, found true"),
        (
            "views = '12'",
            8,
            "\"views\" is an integer: expected a number (without quotes), found the string '12'",
        ),
        ("rating < true", 9, "\"rating\" is a number: expected a number (without quotes), found true"),
        ("published = 1", 12, "\"published\" is a boolean: expected true or false, found the number 1"),
        ("published = 'true'", 12, "\"published\" is a boolean: expected true or false, found the string 'true'"),
        (
            "created_at > 'yesterday'",
            13,
            "invalid datetime 'yesterday' for \"created_at\": expected RFC 3339 such as \
             '2026-01-31T12:00:00Z'",
        ),
        (
            "created_at > 5",
            13,
            "\"created_at\" is a datetime: expected a quoted value such as \
             '2026-01-31T12:00:00Z', found the number 5",
        ),
        (
            "due = '2026-02-30'",
            6,
            "invalid date '2026-02-30' for \"due\": expected YYYY-MM-DD such as '2026-01-31'",
        ),
        (
            "due in ('2026-01-01', 3)",
            22,
            "\"due\" is a date: expected a quoted value such as '2026-01-31', found the number 3",
        ),
        ("status in ('a', 2.5)", 16, "\"status\" is a text field: expected a quoted string, found the number 2.5"),
    ]);
}

#[test]
fn invalid_dates_and_datetimes() {
    for bad in [
        "2026-1-05",
        "2026-13-01",
        "2025-02-29",
        "2026-01-01T00:00:00Z",
        "",
        "２０２６-01-01",
    ] {
        assert_eq!(err(&format!("due = '{bad}'")).0, 6, "{bad}");
    }
    for bad in [
        "2026-01-01",
        "2026-01-01T25:00:00Z",
        "2026-01-01T00:00:00",
        "9999-12-31T23:59:59-23:00",
        "0000-01-01T00:00:00+01:00",
        "",
    ] {
        assert_eq!(err(&format!("created_at = '{bad}'")).0, 13, "{bad}");
    }
}

#[test]
fn display_includes_position() {
    let e = crate::filter::compile("veiws = 1", &super::lookup).unwrap_err();
    assert_eq!(e.to_string(), "unknown field \"veiws\" (at byte 0)");
}
