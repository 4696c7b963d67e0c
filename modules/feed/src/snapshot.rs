//! Decoding the snapshots the feed triggers write (`Change::data` of a record change)
//! back into the column values they were made of.
//!
//! REAL values are the delicate part. The trigger prints them with SQLite's `printf`
//! (`REAL_FORMAT`, 17 significant digits), but SQLite's decimal conversion is not
//! correctly rounded: about one double in five prints as digits nearer a neighbour
//! (1e300 prints as 9.9999999999999996e+299), so even a correctly rounded parse comes
//! back up to two units in the last place off. It is, however, deterministic and
//! distinct for distinct doubles, and this binary carries the same SQLite: the decoder
//! parses the digits, then picks among the doubles nearest them the one SQLite prints
//! as exactly those digits.

use rusqlite::types::Value as Sql;
use serde_json::value::RawValue;

/// How the triggers print REAL values (`printf` in SQL), and the same for
/// `sqlite3_snprintf` here.
pub(crate) const REAL_FORMAT: &str = "%!.17g";
const REAL_FORMAT_C: &std::ffi::CStr = c"%!.17g";

/// How far (in units in the last place) SQLite's digits may lie from the double they
/// print; measured at 2, searched a little wider.
const MAX_ULPS_OFF: u64 = 4;

/// A snapshot (`Change::data` of a record change) as the column values it was made of,
/// in the order written, exactly: integers as `Integer`, REAL values as the same double
/// (decoded from their own digits, not through serde_json's approximate float parser),
/// text as `Text`, SQL NULL as `Null`. `None` if `data` is not a JSON object.
pub fn snapshot_values(data: &str) -> Option<Vec<(String, Sql)>> {
    // Raw values: numbers are decoded from their own text.
    let raw: Vec<(String, &RawValue)> = serde_json::from_str::<RawObject<'_>>(data).ok()?.0;
    raw.into_iter()
        .map(|(name, value)| Some((name, decode(value.get())?)))
        .collect()
}

/// One snapshot value. Objects and arrays never appear in snapshots (a JSON field is a
/// TEXT column, written as a string); they decode to `None`, failing the snapshot.
fn decode(raw: &str) -> Option<Sql> {
    match raw.as_bytes().first()? {
        b'n' => Some(Sql::Null),
        b't' => Some(Sql::Integer(1)),
        b'f' => Some(Sql::Integer(0)),
        b'"' => serde_json::from_str::<String>(raw).ok().map(Sql::Text),
        b'-' | b'0'..=b'9' => {
            let real = raw.bytes().any(|b| matches!(b, b'.' | b'e' | b'E'));
            match (real, raw.parse::<i64>()) {
                (false, Ok(i)) => Some(Sql::Integer(i)),
                _ => raw
                    .parse::<f64>()
                    .ok()
                    .map(|near| Sql::Real(printed_as(raw, near))),
            }
        }
        _ => None,
    }
}

/// A JSON object as its members in order, values unparsed.
struct RawObject<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for RawObject<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Members<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Members<'a> {
            type Value = RawObject<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut map: M,
            ) -> Result<Self::Value, M::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some(member) = map.next_entry::<String, &'de RawValue>()? {
                    members.push(member);
                }
                Ok(RawObject(members))
            }
        }
        deserializer.deserialize_map(Members(std::marker::PhantomData))
    }
}

/// The double SQLite prints (`REAL_FORMAT`) as `digits`, searched around `near` (the
/// correctly rounded parse of `digits`). If none within `MAX_ULPS_OFF` matches (digits
/// written by another SQLite, or by hand), `near` itself.
fn printed_as(digits: &str, near: f64) -> f64 {
    if !near.is_finite() || sqlite_prints(near, digits) {
        return near;
    }
    for steps in 1..=MAX_ULPS_OFF {
        for candidate in [ulps_away(near, steps, true), ulps_away(near, steps, false)] {
            if candidate.is_finite() && sqlite_prints(candidate, digits) {
                return candidate;
            }
        }
    }
    near
}

/// The double `steps` representable values above (or below) `x`, across zero too.
fn ulps_away(x: f64, steps: u64, up: bool) -> f64 {
    let mut y = x;
    for _ in 0..steps {
        y = if up { y.next_up() } else { y.next_down() };
    }
    y
}

/// Whether SQLite's `printf(REAL_FORMAT, x)` is `digits`.
fn sqlite_prints(x: f64, digits: &str) -> bool {
    let mut buf = [0u8; 64];
    // SAFETY: the buffer is live and its length is passed, so SQLite writes at most 63
    // bytes and a NUL into it; the format is a NUL-terminated constant taking exactly
    // one double. sqlite3_snprintf needs no initialised SQLite (no allocation).
    unsafe {
        rusqlite::ffi::sqlite3_snprintf(
            buf.len() as std::os::raw::c_int,
            buf.as_mut_ptr().cast(),
            REAL_FORMAT_C.as_ptr(),
            x,
        );
    }
    let len = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    &buf[..len] == digits.as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_formats_are_one() {
        assert_eq!(REAL_FORMAT_C.to_str(), Ok(REAL_FORMAT));
    }

    #[test]
    fn digits_sqlite_prints_for_a_neighbour_decode_to_the_double_itself() {
        // 1e300 prints as 9.9999999999999996e+299, which parses to the double below it.
        let digits = "9.9999999999999996e+299";
        assert!(sqlite_prints(1e300, digits));
        assert_ne!(digits.parse::<f64>().ok(), Some(1e300));
        assert_eq!(decode(digits), Some(Sql::Real(1e300)));
        assert_eq!(decode("0.30000000000000004"), Some(Sql::Real(0.1 + 0.2)));
        assert_eq!(decode("-9223372036854775808"), Some(Sql::Integer(i64::MIN)));
        // Past i64: a number the triggers never write, decoded as the nearest double.
        assert_eq!(
            decode("18446744073709551616"),
            Some(Sql::Real(2f64.powi(64)))
        );
        assert_eq!(decode("\"a\\\"b\""), Some(Sql::Text("a\"b".into())));
        assert_eq!(decode("[1]"), None);
        assert_eq!(snapshot_values("[1]"), None);
        assert_eq!(snapshot_values("not json"), None);
    }
}
