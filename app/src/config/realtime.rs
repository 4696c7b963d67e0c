//! Settings of the change feed that realtime streams read: how long changes are kept,
//! and how many at most.

use super::parse;
use super::sources::{one, Source};
use super::ConfigError;

/// The largest `realtime_max_rows`: far past any useful replay window, and small enough
/// that the pruner's arithmetic on seqs never overflows.
const MAX_ROWS_LIMIT: u64 = 1 << 40;

pub(super) fn resolve(
    field: &dyn Fn(&str) -> (String, Source),
) -> Result<feed::FeedConfig, ConfigError> {
    let retention = one(&field("realtime_retention"), "realtime_retention", |v| {
        // Zero would leave reconnecting clients nothing to replay.
        parse::duration(v).and_then(|d| {
            if d.is_zero() {
                Err("must be greater than zero (e.g. 24h)".to_string())
            } else {
                Ok(d)
            }
        })
    })?;
    let max_rows = one(&field("realtime_max_rows"), "realtime_max_rows", |v| {
        v.trim()
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=MAX_ROWS_LIMIT).contains(n))
            .ok_or_else(|| format!("expected a whole number from 1 to {MAX_ROWS_LIMIT}"))
    })?;
    Ok(feed::FeedConfig {
        retention,
        max_rows,
    })
}

/// The stream caps and buffer (`realtime_max_streams_per_user`, `realtime_max_streams`,
/// `realtime_buffer`); the timings keep their defaults (tests shorten them in code).
pub(super) fn resolve_streams(
    field: &dyn Fn(&str) -> (String, Source),
) -> Result<::realtime::RealtimeConfig, ConfigError> {
    let count = |name: &str, max: usize| {
        one(&field(name), name, |v| {
            v.trim()
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| format!("expected a whole number from 1 to {max}"))
        })
    };
    Ok(::realtime::RealtimeConfig {
        max_streams_per_user: count("realtime_max_streams_per_user", 1_000_000)?,
        max_streams: count("realtime_max_streams", 1_000_000)?,
        buffer: count("realtime_buffer", 1_000_000)?,
        ..::realtime::RealtimeConfig::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn resolve_with(retention: &str, max_rows: &str) -> Result<feed::FeedConfig, ConfigError> {
        let (retention, max_rows) = (retention.to_string(), max_rows.to_string());
        resolve(&|name| match name {
            "realtime_retention" => (retention.clone(), Source::Default),
            _ => (max_rows.clone(), Source::Default),
        })
    }

    #[test]
    fn durations_and_counts_within_bounds() {
        let c = resolve_with("24h", "1000000").unwrap();
        assert_eq!(c, feed::FeedConfig::default());
        assert_eq!(
            resolve_with("90m", "5").unwrap(),
            feed::FeedConfig {
                retention: Duration::from_secs(5400),
                max_rows: 5
            }
        );
        for (retention, max_rows) in [
            ("0", "10"),
            ("soon", "10"),
            ("1h", "0"),
            ("1h", "-1"),
            ("1h", "many"),
        ] {
            let err = resolve_with(retention, max_rows).unwrap_err();
            assert!(err.0.starts_with("invalid realtime_"), "{err}");
        }
    }

    #[test]
    fn stream_caps_are_positive_counts() {
        let with = |value: &'static str| {
            resolve_streams(&|name| {
                let v = if name == "realtime_buffer" {
                    value
                } else {
                    "8"
                };
                (v.to_string(), Source::Default)
            })
        };
        let c = with("1000").unwrap();
        assert_eq!(
            (c.max_streams_per_user, c.max_streams, c.buffer),
            (8, 8, 1000)
        );
        for bad in ["0", "-3", "lots", "1000001"] {
            assert!(with(bad)
                .unwrap_err()
                .0
                .starts_with("invalid realtime_buffer"));
        }
    }
}
