//! Timestamps as Hearth stores and returns them: RFC 3339, UTC, millisecond precision.
//! The fixed width makes the text sort in time order, so SQLite can compare it directly.

use time::{format_description::well_known::Rfc3339, Duration, OffsetDateTime};

/// The current time, e.g. `2026-11-24T16:20:01.123Z`.
pub fn now() -> String {
    format(OffsetDateTime::now_utc())
}

/// The time `d` from now, in the same format.
pub fn from_now(d: std::time::Duration) -> String {
    format(OffsetDateTime::now_utc() + Duration::try_from(d).unwrap_or(Duration::MAX))
}

/// Formats with exactly three fractional digits and a `Z`.
pub fn format(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let millis = t.millisecond();
    let t = t.replace_nanosecond(millis as u32 * 1_000_000).unwrap_or(t);
    // Rfc3339 drops trailing zero digits; pad so every value has the same width.
    let s = t.format(&Rfc3339).unwrap_or_default();
    match s.find('.') {
        Some(dot) => {
            let frac_end = s.len() - 1; // before the trailing 'Z'
            let digits = frac_end - dot - 1;
            format!(
                "{}{}Z",
                &s[..frac_end],
                "0".repeat(3usize.saturating_sub(digits))
            )
        }
        None => format!("{}.000Z", &s[..s.len() - 1]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn fixed_width_millis() {
        assert_eq!(
            format(datetime!(2026-11-24 16:20:01 UTC)),
            "2026-11-24T16:20:01.000Z"
        );
        assert_eq!(
            format(datetime!(2026-11-24 16:20:01.1 UTC)),
            "2026-11-24T16:20:01.100Z"
        );
        assert_eq!(
            format(datetime!(2026-11-24 16:20:01.123456 UTC)),
            "2026-11-24T16:20:01.123Z"
        );
        assert_eq!(now().len(), "2026-11-24T16:20:01.123Z".len());
    }

    #[test]
    fn from_now_is_later() {
        assert!(from_now(std::time::Duration::from_secs(60)) > now());
    }
}
