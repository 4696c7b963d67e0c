//! Timestamps as Hearth stores and returns them: RFC 3339, UTC, millisecond precision.
//! The fixed width makes the text sort in time order, so SQLite can compare it directly.

use time::{Duration, OffsetDateTime};

/// The current time, e.g. `2026-11-24T16:20:01.123Z`.
pub fn now() -> String {
    format(OffsetDateTime::now_utc())
}

/// The time `d` from now, in the same format.
pub fn from_now(d: std::time::Duration) -> String {
    format(OffsetDateTime::now_utc() + Duration::try_from(d).unwrap_or(Duration::MAX))
}

/// Formats with exactly three fractional digits and a `Z`, in one allocation (this runs
/// for every write, on the writer thread).
pub fn format(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
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
        // Valid RFC 3339 that parses back to the same millisecond, across dates.
        use time::format_description::well_known::Rfc3339;
        for t in [
            datetime!(1970-01-01 00:00:00 UTC),
            datetime!(2024-02-29 23:59:59.999999 UTC),
            datetime!(2026-11-24 16:20:01.5 +02:00),
        ] {
            let s = format(t);
            let back = OffsetDateTime::parse(&s, &Rfc3339).unwrap();
            assert_eq!(
                back,
                t.replace_nanosecond(t.millisecond() as u32 * 1_000_000)
                    .unwrap(),
                "{s}"
            );
        }
        assert_eq!(
            format(datetime!(2026-11-24 16:20:01.5 +02:00)),
            "2026-11-24T14:20:01.500Z"
        );
    }

    #[test]
    fn from_now_is_later() {
        assert!(from_now(std::time::Duration::from_secs(60)) > now());
    }
}
