//! SQLite's value semantics, for the in-memory evaluator: how a record's JSON value reads
//! as an SQL value, how two values compare, and what `LIKE` matches. Each function says
//! which part of SQLite it reproduces.

use rusqlite::types::{Value, ValueRef};
use serde_json::Value as Json;
use std::cmp::Ordering;

/// A record's JSON value as the SQL value its column holds (the inverse of
/// `FieldType::to_json`): `null` or a missing key is NULL, booleans are the INTEGER 0/1
/// of their column, integers INTEGER, other numbers REAL, strings TEXT. Arrays and objects
/// (JSON fields, whose value only `is null` ever looks at) read as an empty BLOB.
/// Never allocates.
pub(crate) fn sql_value(value: Option<&Json>) -> ValueRef<'_> {
    match value {
        None | Some(Json::Null) => ValueRef::Null,
        Some(Json::Bool(b)) => ValueRef::Integer(i64::from(*b)),
        Some(Json::Number(n)) => match n.as_i64() {
            Some(i) => ValueRef::Integer(i),
            // A u64 past i64::MAX cannot come from SQLite; as_f64 always answers.
            None => ValueRef::Real(n.as_f64().unwrap_or(f64::NAN)),
        },
        Some(Json::String(s)) => ValueRef::Text(s.as_bytes()),
        Some(Json::Array(_) | Json::Object(_)) => ValueRef::Blob(&[]),
    }
}

/// SQLite's order of storage classes: NULL < INTEGER/REAL < TEXT < BLOB.
fn class(value: ValueRef<'_>) -> u8 {
    match value {
        ValueRef::Null => 0,
        ValueRef::Integer(_) | ValueRef::Real(_) => 1,
        ValueRef::Text(_) => 2,
        ValueRef::Blob(_) => 3,
    }
}

/// `sqlite3MemCompare` under the BINARY collation, for two non-NULL values: numbers
/// compare by value (INTEGER against REAL exactly, as `sqlite3IntFloatCompare` does), text
/// and blobs byte by byte, and different classes by [`class`]. The filter compiler only
/// binds a column's own class (or INTEGER/REAL for a numeric column), so the
/// cross-class arm only serves records not shaped as `record_from_row` makes them.
pub(crate) fn compare(left: ValueRef<'_>, right: &Value) -> Ordering {
    let right = ValueRef::from(right);
    match (left, right) {
        (ValueRef::Integer(a), ValueRef::Integer(b)) => a.cmp(&b),
        (ValueRef::Real(a), ValueRef::Real(b)) => real_cmp(a, b),
        (ValueRef::Integer(a), ValueRef::Real(b)) => int_real_cmp(a, b),
        (ValueRef::Real(a), ValueRef::Integer(b)) => int_real_cmp(b, a).reverse(),
        (ValueRef::Text(a), ValueRef::Text(b)) | (ValueRef::Blob(a), ValueRef::Blob(b)) => a.cmp(b),
        (a, b) => class(a).cmp(&class(b)),
    }
}

/// SQLite compares two REALs with `<` and `>` only, so -0.0 equals 0.0.
fn real_cmp(a: f64, b: f64) -> Ordering {
    if a < b {
        Ordering::Less
    } else if a > b {
        Ordering::Greater
    } else {
        Ordering::Equal
    }
}

/// An INTEGER against a REAL, exactly (no rounding of the integer to a double), as
/// `sqlite3IntFloatCompare`. NaN cannot reach here (SQLite stores it as NULL, the lexer
/// refuses it, JSON cannot hold it); it is given a fixed order only to stay total.
fn int_real_cmp(i: i64, r: f64) -> Ordering {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if r.is_nan() {
        return Ordering::Greater;
    }
    if r < -TWO_63 {
        return Ordering::Greater;
    }
    if r >= TWO_63 {
        return Ordering::Less;
    }
    let whole = r.trunc();
    // In range, so the cast is exact; `r - whole` is exact for any double.
    match i.cmp(&(whole as i64)) {
        Ordering::Equal => real_cmp(0.0, r - whole),
        other => other,
    }
}

/// What `col LIKE '%…%' ESCAPE '\'` matches when the pattern comes from `like_pattern`:
/// SQLite's `patternCompare` with ASCII-only case folding (no ICU), so `ü` never matches
/// `Ü`. Both pattern and text are C strings to it: each ends at its first NUL. A pattern
/// cut short that way loses its closing `%`, so `~ 'ab\0c'` means "ends with ab".
/// Prepared once per condition; matching is linear in the text (KMP over folded bytes),
/// so a long text against a long needle costs no more than reading the text.
#[derive(Debug, Clone)]
pub(crate) struct Contains {
    /// The literal up to its first NUL, ASCII-lowercased.
    needle: Box<[u8]>,
    /// KMP failure function of `needle`.
    fallback: Box<[usize]>,
    /// The literal held a NUL: the needle must end the text.
    at_end: bool,
}

impl Contains {
    pub(crate) fn new(literal: &str) -> Self {
        let bytes = literal.as_bytes();
        let cut = bytes.iter().position(|&b| b == 0);
        let needle: Box<[u8]> = bytes[..cut.unwrap_or(bytes.len())]
            .iter()
            .map(u8::to_ascii_lowercase)
            .collect();
        let mut fallback = vec![0; needle.len()];
        let mut k = 0;
        for i in 1..needle.len() {
            while k > 0 && needle[i] != needle[k] {
                k = fallback[k - 1];
            }
            if needle[i] == needle[k] {
                k += 1;
            }
            fallback[i] = k;
        }
        Contains {
            needle,
            fallback: fallback.into_boxed_slice(),
            at_end: cut.is_some(),
        }
    }

    /// Whether the (non-NULL) text matches. Never allocates.
    pub(crate) fn matches(&self, text: &[u8]) -> bool {
        let text = &text[..text.iter().position(|&b| b == 0).unwrap_or(text.len())];
        let needle = &self.needle[..];
        if self.at_end {
            return text.len() >= needle.len()
                && text[text.len() - needle.len()..]
                    .iter()
                    .zip(needle)
                    .all(|(t, n)| t.to_ascii_lowercase() == *n);
        }
        if needle.is_empty() {
            return true;
        }
        let mut k = 0;
        for &b in text {
            let b = b.to_ascii_lowercase();
            while k > 0 && b != needle[k] {
                k = self.fallback[k - 1];
            }
            if b == needle[k] {
                k += 1;
                if k == needle.len() {
                    return true;
                }
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_and_reals_compare_exactly() {
        let big = 9_007_199_254_740_993_i64; // 2^53 + 1: no double holds it
        assert_eq!(
            int_real_cmp(big, 9_007_199_254_740_992.0),
            Ordering::Greater
        );
        assert_eq!(
            int_real_cmp(big - 1, 9_007_199_254_740_992.0),
            Ordering::Equal
        );
        assert_eq!(int_real_cmp(2, 2.5), Ordering::Less);
        assert_eq!(int_real_cmp(-2, -2.5), Ordering::Greater);
        assert_eq!(
            int_real_cmp(i64::MAX, 9.223_372_036_854_776e18),
            Ordering::Less
        );
        assert_eq!(
            int_real_cmp(i64::MIN, -9.223_372_036_854_776e18),
            Ordering::Equal
        );
        assert_eq!(int_real_cmp(i64::MIN, -1e19), Ordering::Greater);
        assert_eq!(int_real_cmp(0, -0.0), Ordering::Equal);
        assert_eq!(real_cmp(-0.0, 0.0), Ordering::Equal);
    }

    #[test]
    fn contains_folds_ascii_only_and_stops_at_nul() {
        let c = Contains::new("RuSt");
        assert!(c.matches(b"learning rust"));
        assert!(!c.matches(b"rus t"));
        assert!(!Contains::new("zürich").matches("ZÜRICH".as_bytes()));
        assert!(Contains::new("zürich").matches("Zürich".as_bytes()));
        // KMP must back off correctly inside repeated prefixes.
        assert!(Contains::new("aab").matches(b"aaab"));
        assert!(Contains::new("abab").matches(b"abaabab"));
        assert!(Contains::new("").matches(b""));
        let ends = Contains::new("ab\0c");
        assert!(ends.matches(b"xxAB"));
        assert!(!ends.matches(b"abx"));
        assert!(Contains::new("\0x").matches(b"anything"));
        // The text ends at its NUL too.
        assert!(!Contains::new("b").matches(b"a\0b"));
    }
}
