//! Random records and filters for the differential test of the evaluator: values chosen
//! from small pools of near-collisions (case, wildcards, NUL, 2^53, -0.0, sub-millisecond
//! times), so that equal, almost equal and differently typed values meet often.

use crate::filter::FieldKind;
use serde_json::{json, Value};

/// splitmix64: a seeded generator, so a failing case is reproduced from its seed.
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with probability `percent`/100.
    pub(super) fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    pub(super) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

pub(super) const TEXTS: &[&str] = &[
    "",
    "a",
    "A",
    "ab",
    "AB",
    "aB",
    "b",
    "abc",
    "%",
    "_",
    "\\",
    "a%b",
    "a_b",
    "a\\b",
    "'",
    "\"",
    "' OR 1=1 --",
    "é",
    "É",
    "Zürich",
    "ZÜRICH",
    "zürich",
    "ß",
    "STRASSE",
    "日本",
    "😀",
    "a\u{301}",
    " ",
    "null",
    "10",
    "2",
    "Z",
    "z",
    "~",
    "ab ab",
    "aab",
    "abab",
];

/// Characters for short random strings, where collisions are likely.
const ALPHABET: &[char] = &['a', 'A', 'b', 'B', '%', '_', '\\', '\'', ' ', 'é', 'É', 'z'];

pub(super) fn text(rng: &mut Rng) -> String {
    if rng.chance(50) {
        return rng.pick(TEXTS).to_string();
    }
    (0..rng.below(5)).map(|_| *rng.pick(ALPHABET)).collect()
}

pub(super) const INTS: &[i64] = &[
    0,
    1,
    -1,
    2,
    3,
    10,
    -10,
    9_007_199_254_740_992,
    9_007_199_254_740_993,
    -9_007_199_254_740_993,
    i64::MAX,
    i64::MAX - 1,
    i64::MIN,
];

pub(super) const REALS: &[f64] = &[
    0.0,
    -0.0,
    0.5,
    -0.5,
    1.0,
    2.5,
    3.0,
    -10.0,
    0.1,
    0.300_000_000_000_000_04,
    1e300,
    -1e300,
    5e-324,
    9_007_199_254_740_992.0,
    9_007_199_254_740_994.0,
    9.223_372_036_854_776e18,
    -9.223_372_036_854_776e18,
];

/// Inputs a client may send for a datetime (offsets, sub-millisecond digits).
pub(super) const DATETIMES: &[&str] = &[
    "2026-01-01T00:00:00Z",
    "2026-01-01T00:00:00.001Z",
    "2025-12-31T23:59:59.999Z",
    "2026-01-01T02:00:00+02:00",
    "2026-01-01T00:00:00.0009Z",
    "2026-06-15T12:00:00.5Z",
    "0000-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999Z",
];

/// Datetime literals: the inputs above plus rounding edges and invalid ones.
const DATETIME_LITERALS: &[&str] = &[
    "2026-01-01T00:00:00.0005Z",
    "2026-06-15T12:00:00.5004Z",
    "2026-06-15T12:00:00.4996Z",
    "2026-01-01T14:00:00+14:00",
    "2025-12-31T12:00:00-12:00",
    "9999-12-31T23:59:59.9999Z",
    "2026-13-01T00:00:00Z",
    "2026-01-01",
];

const DATES: &[&str] = &[
    "2026-03-01",
    "2026-02-28",
    "2026-03-02",
    "0000-01-01",
    "9999-12-31",
    "2024-02-29",
];

/// Wrong dates and texts that only look alike.
const DATE_LITERALS: &[&str] = &["2026-02-30", "2026-3-1", "2026-03-01T00:00:00Z"];

const UUIDS: &[&str] = &[
    "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
    "0190A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B",
    "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c",
];

/// A JSON input for a field of type `ty` (the name `FieldType::name` gives); values the
/// field refuses are stored as NULL by the caller.
pub(super) fn input(rng: &mut Rng, ty: &str) -> Value {
    if rng.chance(15) {
        return Value::Null;
    }
    match ty {
        "integer" => json!(*rng.pick(INTS)),
        "number" if rng.chance(30) => json!(*rng.pick(INTS)),
        "number" => json!(*rng.pick(REALS)),
        "boolean" => json!(rng.chance(50)),
        "datetime" => json!(rng.pick(DATETIMES)),
        "date" => json!(rng.pick(DATES)),
        "email" => json!(rng.pick(&["a@b.co", "A@B.CO", "x_y%z@q.io", "a@b.c0"])),
        "url" => json!(rng.pick(&["https://x.io/a%20b", "http://X.IO/_", "https://x.io/"])),
        "enum" => json!(rng.pick(&["a", "b", "A"])),
        "json" => rng
            .pick(&[
                json!({}),
                json!([]),
                json!(0),
                json!("x"),
                json!({"a": [1]}),
            ])
            .clone(),
        "relation" => json!(rng.pick(UUIDS)),
        _ => json!(text(rng)),
    }
}

/// `s` as a filter string literal, with its quote and backslashes escaped.
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

/// A number as the lexer reads it back to the same value.
fn number(rng: &mut Rng) -> String {
    match rng.below(3) {
        0 => rng.pick(INTS).to_string(),
        1 => format!("{:?}", rng.pick(REALS)),
        _ => rng
            .pick(&["9223372036854775808", "2.50", "1E1", "-0", "3e0", "-9.5"])
            .to_string(),
    }
}

fn string_literal(rng: &mut Rng, pool: &[&str]) -> String {
    let mut s = if rng.chance(70) {
        rng.pick(pool).to_string()
    } else {
        text(rng)
    };
    // SQLite's LIKE stops at a NUL; make sure `~` meets one often enough.
    if rng.chance(5) {
        s.insert(rng.below(2) * s.len(), '\0');
    }
    quoted(&s, if rng.chance(50) { '\'' } else { '"' })
}

/// A literal for a field of `kind`: mostly well typed, sometimes not (to compare errors).
fn literal(rng: &mut Rng, kind: FieldKind) -> String {
    let kind = if rng.chance(8) {
        *rng.pick(&[FieldKind::Text, FieldKind::Integer, FieldKind::Boolean])
    } else {
        kind
    };
    match kind {
        FieldKind::Integer | FieldKind::Number => number(rng),
        FieldKind::Boolean => rng.pick(&["true", "false", "TRUE", "1"]).to_string(),
        FieldKind::Datetime => {
            let pool = if rng.chance(60) {
                DATETIMES
            } else {
                DATETIME_LITERALS
            };
            quoted(rng.pick::<&str>(pool), '\'')
        }
        FieldKind::Date if rng.chance(15) => quoted(rng.pick::<&str>(DATE_LITERALS), '\''),
        FieldKind::Date => quoted(rng.pick::<&str>(DATES), '\''),
        FieldKind::Text if rng.chance(20) => string_literal(rng, UUIDS),
        FieldKind::Text | FieldKind::Json => string_literal(rng, TEXTS),
    }
}

/// One condition on a field of `kind`.
fn condition(rng: &mut Rng, fields: &[(&str, FieldKind)]) -> String {
    let (name, kind) = *rng.pick(fields);
    let op = rng.pick(&[
        "=",
        "!=",
        ">",
        ">=",
        "<",
        "<=",
        "~",
        "!~",
        "in",
        "not in",
        "is null",
        "is not null",
        "= null",
        "!= null",
    ]);
    match *op {
        "is null" | "is not null" | "= null" | "!= null" => format!("{name} {op}"),
        "in" | "not in" => {
            let values: Vec<String> = (0..1 + rng.below(4)).map(|_| literal(rng, kind)).collect();
            format!("{name} {op} ({})", values.join(", "))
        }
        _ => format!("{name} {op} {}", literal(rng, kind)),
    }
}

/// A random filter of up to `depth` levels of `&&`, `||`, `!` and parentheses.
pub(super) fn filter(rng: &mut Rng, fields: &[(&str, FieldKind)], depth: usize) -> String {
    if depth == 0 || rng.chance(35) {
        return condition(rng, fields);
    }
    match rng.below(4) {
        0 => format!(
            "{} && {}",
            filter(rng, fields, depth - 1),
            filter(rng, fields, depth - 1)
        ),
        1 => format!(
            "{} || {}",
            filter(rng, fields, depth - 1),
            filter(rng, fields, depth - 1)
        ),
        2 => format!("!({})", filter(rng, fields, depth - 1)),
        _ => format!("!{}", condition(rng, fields)),
    }
}
