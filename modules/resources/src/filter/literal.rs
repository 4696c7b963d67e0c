//! Literal values checked against a field's kind and turned into bound parameters.

use rusqlite::types::Value;
use time::{format_description::well_known::Rfc3339, Date, Duration, Month, OffsetDateTime};

use super::ast::{Field, LitValue, Literal};
use super::error::{excerpt, FilterError};
use super::FieldKind;

/// How a kind of field is named in error messages.
pub(crate) fn kind_name(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Text => "a text field",
        FieldKind::Integer => "an integer",
        FieldKind::Number => "a number",
        FieldKind::Boolean => "a boolean",
        FieldKind::Datetime => "a datetime",
        FieldKind::Date => "a date",
        FieldKind::Json => "JSON",
    }
}

/// The parameter for comparing `field` (of `kind`) with `lit`, or a type error at `lit`.
pub(crate) fn bind(
    field: &Field,
    kind: FieldKind,
    lit: &Literal,
    round_up: bool,
) -> Result<Value, FilterError> {
    let name = &field.name;
    let found = lit.value.describe();
    let wrong = |why: String| Err(FilterError::new(lit.pos, why));
    match (kind, &lit.value) {
        (FieldKind::Text, LitValue::Str(s)) => Ok(Value::Text(s.clone())),
        (FieldKind::Text, _) => wrong(format!(
            "\"{name}\" is a text field: expected a quoted string, found {found}"
        )),
        (FieldKind::Integer | FieldKind::Number, LitValue::Int(i)) => Ok(Value::Integer(*i)),
        (FieldKind::Integer | FieldKind::Number, LitValue::Real(r)) => Ok(Value::Real(*r)),
        (FieldKind::Integer | FieldKind::Number, _) => wrong(format!(
            "\"{name}\" is {}: expected a number (without quotes), found {found}",
            kind_name(kind)
        )),
        (FieldKind::Boolean, LitValue::Bool(b)) => Ok(Value::Integer(i64::from(*b))),
        (FieldKind::Boolean, _) => wrong(format!(
            "\"{name}\" is a boolean: expected true or false, found {found}"
        )),
        (FieldKind::Datetime, LitValue::Str(s)) => match normalize_datetime(s, round_up) {
            Some(t) => Ok(Value::Text(t)),
            None => wrong(format!(
                "invalid datetime '{}' for \"{name}\": expected RFC 3339 such as \
                 '2026-01-31T12:00:00Z'",
                excerpt(s)
            )),
        },
        (FieldKind::Date, LitValue::Str(s)) if is_valid_date(s) => Ok(Value::Text(s.clone())),
        (FieldKind::Date, LitValue::Str(s)) => wrong(format!(
            "invalid date '{}' for \"{name}\": expected YYYY-MM-DD such as '2026-01-31'",
            excerpt(s)
        )),
        (FieldKind::Datetime | FieldKind::Date, _) => wrong(format!(
            "\"{name}\" is {}: expected a quoted value such as '{}', found {found}",
            kind_name(kind),
            if kind == FieldKind::Date {
                "2026-01-31"
            } else {
                "2026-01-31T12:00:00Z"
            }
        )),
        (FieldKind::Json, _) => wrong(format!("\"{name}\" is JSON and cannot be compared")),
    }
}

/// `%text%` with `%`, `_` and `\` escaped for `LIKE ... ESCAPE '\'`.
pub(crate) fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// An RFC 3339 time in the stored form (`2026-11-24T16:20:01.123Z`). Digits past the
/// millisecond are dropped, or rounded up when `round_up`; None if it does not parse or
/// falls outside years 0000-9999 in UTC.
pub(crate) fn normalize_datetime(text: &str, round_up: bool) -> Option<String> {
    let t = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    let t = t.checked_to_offset(time::UtcOffset::UTC)?;
    let t = if round_up && t.nanosecond() % 1_000_000 != 0 {
        t.checked_add(Duration::milliseconds(1))?
    } else {
        t
    };
    (0..=9999)
        .contains(&t.year())
        .then(|| kernel::clock::format(t))
}

/// Exactly `YYYY-MM-DD`, and a day that exists.
pub(crate) fn is_valid_date(text: &str) -> bool {
    let b = text.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && [0, 1, 2, 3, 5, 6, 8, 9]
            .iter()
            .all(|&i| b[i].is_ascii_digit());
    if !shape {
        return false;
    }
    let (Ok(year), Ok(month), Ok(day)) = (
        text[0..4].parse::<i32>(),
        text[5..7].parse::<u8>(),
        text[8..10].parse::<u8>(),
    ) else {
        return false;
    };
    Month::try_from(month)
        .ok()
        .and_then(|m| Date::from_calendar_date(year, m, day).ok())
        .is_some()
}
