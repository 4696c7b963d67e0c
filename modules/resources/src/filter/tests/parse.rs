//! The parser on its own: AST shapes, precedence, literals, keywords, escapes.

use crate::filter::{parse, CmpOp, Expr, Field, LitValue, Literal};

fn cmp(name: &str, pos: usize, op: CmpOp, op_pos: usize, value: LitValue, vpos: usize) -> Expr {
    Expr::Compare {
        field: Field {
            name: name.to_string(),
            pos,
        },
        op,
        op_pos,
        value: Literal { value, pos: vpos },
    }
}

/// The single literal of a one-comparison filter.
fn lit(input: &str) -> LitValue {
    match parse(input).unwrap() {
        Expr::Compare { value, .. } => value.value,
        other => panic!("{other:?}"),
    }
}

fn s(v: &str) -> LitValue {
    LitValue::Str(v.to_string())
}

#[test]
fn single_comparison_with_positions() {
    assert_eq!(
        parse("views >= 10").unwrap(),
        cmp("views", 0, CmpOp::Ge, 6, LitValue::Int(10), 9)
    );
    assert_eq!(
        parse("  a=1").unwrap(),
        cmp("a", 2, CmpOp::Eq, 3, LitValue::Int(1), 4)
    );
}

#[test]
fn every_operator() {
    for (sym, op) in [
        ("=", CmpOp::Eq),
        ("!=", CmpOp::Ne),
        (">", CmpOp::Gt),
        (">=", CmpOp::Ge),
        ("<", CmpOp::Lt),
        ("<=", CmpOp::Le),
        ("~", CmpOp::Like),
        ("!~", CmpOp::NotLike),
    ] {
        let input = format!("a {sym} 1");
        let value_pos = 3 + sym.len();
        assert_eq!(
            parse(&input).unwrap(),
            cmp("a", 0, op, 2, LitValue::Int(1), value_pos),
            "{input}"
        );
        assert_eq!(op.symbol(), sym);
        // Without spaces too.
        assert!(parse(&format!("a{sym}1")).is_ok());
    }
}

#[test]
fn literal_kinds() {
    assert_eq!(lit("a = 'x'"), s("x"));
    assert_eq!(lit("a = \"x\""), s("x"));
    assert_eq!(lit("a = ''"), s(""));
    assert_eq!(lit("a = -12"), LitValue::Int(-12));
    assert_eq!(lit("a = 0"), LitValue::Int(0));
    assert_eq!(lit("a = 3.5"), LitValue::Real(3.5));
    assert_eq!(lit("a = 1e3"), LitValue::Real(1000.0));
    assert_eq!(lit("a = 2.5E-1"), LitValue::Real(0.25));
    assert_eq!(lit("a = -1e+2"), LitValue::Real(-100.0));
    // Too big for i64: becomes a real.
    assert_eq!(
        lit("a = 99999999999999999999"),
        LitValue::Real(99999999999999999999.0)
    );
    assert_eq!(lit("a = true"), LitValue::Bool(true));
    assert_eq!(lit("a = FALSE"), LitValue::Bool(false));
    assert_eq!(lit("a = Null"), LitValue::Null);
}

#[test]
fn escapes_and_quotes_inside_strings() {
    assert_eq!(lit(r"a = 'it\'s'"), s("it's"));
    assert_eq!(lit(r#"a = "say \"hi\"""#), s("say \"hi\""));
    assert_eq!(lit(r"a = 'back\\slash'"), s("back\\slash"));
    assert_eq!(
        lit(r#"a = 'double " inside single'"#),
        s("double \" inside single")
    );
    assert_eq!(
        lit(r#"a = "single ' inside double""#),
        s("single ' inside double")
    );
    assert_eq!(lit(r#"a = '\"'"#), s("\""));
    assert_eq!(lit(r"a = '\\'"), s("\\"));
}

#[test]
fn non_ascii_strings_and_whitespace() {
    assert_eq!(
        lit("a = 'héllo wörld ✓ 日本語 🦀'"),
        s("héllo wörld ✓ 日本語 🦀")
    );
    // Unicode whitespace between tokens; positions are bytes.
    let e = parse("\u{a0}a\u{3000}=\t\n'é'").unwrap();
    assert_eq!(e, cmp("a", 2, CmpOp::Eq, 6, s("é"), 9));
}

#[test]
fn precedence_and_binds_tighter_than_or() {
    let e = parse("a = 1 || b = 2 && c = 3").unwrap();
    let Expr::Or(items) = e else { panic!() };
    assert_eq!(items.len(), 2);
    assert!(matches!(&items[0], Expr::Compare { field, .. } if field.name == "a"));
    let Expr::And(and) = &items[1] else { panic!() };
    assert_eq!(and.len(), 2);

    let e = parse("a = 1 && b = 2 || c = 3").unwrap();
    let Expr::Or(items) = e else { panic!() };
    assert!(matches!(&items[0], Expr::And(v) if v.len() == 2));
}

#[test]
fn not_binds_tighter_than_and() {
    let e = parse("!a = 1 && b = 2").unwrap();
    let Expr::And(items) = e else { panic!() };
    assert!(matches!(&items[0], Expr::Not(_)));
    let e = parse("!!a = 1").unwrap();
    let Expr::Not(inner) = e else { panic!() };
    assert!(matches!(*inner, Expr::Not(_)));
}

#[test]
fn parentheses_group() {
    let e = parse("(a = 1 || b = 2) && c = 3").unwrap();
    let Expr::And(items) = e else { panic!() };
    assert!(matches!(&items[0], Expr::Or(v) if v.len() == 2));
    let e = parse("!(a = 1 || b = 2)").unwrap();
    assert!(matches!(e, Expr::Not(inner) if matches!(*inner, Expr::Or(_))));
    // Redundant parentheses leave no trace.
    assert_eq!(
        parse("((a = 1))").unwrap(),
        cmp("a", 2, CmpOp::Eq, 4, LitValue::Int(1), 6)
    );
    // Chains are flat.
    assert!(matches!(parse("a=1||a=2||a=3||a=4").unwrap(), Expr::Or(v) if v.len() == 4));
}

#[test]
fn null_checks_and_in_lists() {
    assert!(matches!(
        parse("a IS NULL").unwrap(),
        Expr::IsNull { negated: false, .. }
    ));
    assert!(matches!(
        parse("a is Not null").unwrap(),
        Expr::IsNull { negated: true, .. }
    ));
    let Expr::In {
        negated,
        op_pos,
        values,
        ..
    } = parse("a IN ('x', 2, true)").unwrap()
    else {
        panic!()
    };
    assert!(!negated);
    assert_eq!(op_pos, 2);
    let got: Vec<_> = values.iter().map(|l| (l.value.clone(), l.pos)).collect();
    assert_eq!(
        got,
        vec![
            (s("x"), 6),
            (LitValue::Int(2), 11),
            (LitValue::Bool(true), 14)
        ]
    );
    assert!(matches!(
        parse("a not in (1)").unwrap(),
        Expr::In {
            negated: true,
            op_pos: 2,
            ..
        }
    ));
    assert!(matches!(parse("a in(1)").unwrap(), Expr::In { .. }));
}

#[test]
fn keywords_as_prefix_of_field_names() {
    // `in_stock`, `isbn`, `nothing` and `null_count` are ordinary names.
    assert!(parse("in_stock = true && isbn = 'x' && nothing = 1 && null_count = 0").is_ok());
    assert!(parse("a in (1) && is_x is null").is_ok());
}
