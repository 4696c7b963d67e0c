//! Parsers for setting values: human units for sizes and durations.

use std::time::Duration;

/// `1048576`, `512KiB`, `1MiB`, `2MB`, `1 GiB` → bytes.
pub fn size(s: &str) -> Result<usize, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: usize = digits
        .parse()
        .map_err(|_| "expected a number of bytes such as 1048576 or 1MiB".to_string())?;
    let factor: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "kib" | "k" => 1 << 10,
        "mb" => 1_000_000,
        "mib" | "m" => 1 << 20,
        "gb" => 1_000_000_000,
        "gib" | "g" => 1 << 30,
        other => {
            return Err(format!(
                "unknown size unit {other:?} (use B, KiB, MiB, GiB)"
            ))
        }
    };
    n.checked_mul(factor)
        .ok_or_else(|| "size is too large".to_string())
}

/// `30` (seconds), `500ms`, `10s`, `5m`, `1h`, `90d` → duration.
pub fn duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| "expected a duration such as 10s, 500ms, 5m or 1h".to_string())?;
    let millis = match unit.trim() {
        "ms" => Some(n),
        "" | "s" => n.checked_mul(1_000),
        "m" => n.checked_mul(60_000),
        "h" => n.checked_mul(3_600_000),
        "d" => n.checked_mul(86_400_000),
        other => {
            return Err(format!(
                "unknown duration unit {other:?} (use ms, s, m, h, d)"
            ))
        }
    };
    millis
        .map(Duration::from_millis)
        .ok_or_else(|| "duration is too large".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(size("1048576"), Ok(1_048_576));
        assert_eq!(size("1MiB"), Ok(1 << 20));
        assert_eq!(size("512 KiB"), Ok(512 << 10));
        assert_eq!(size("2MB"), Ok(2_000_000));
        assert!(size("lots").is_err());
        assert!(size("1TiB").is_err());
        assert!(size("99999999999999999999GiB").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(duration("90d"), Ok(Duration::from_secs(90 * 86_400)));
        assert!(duration("soon").is_err());
        assert!(duration("3w").is_err());
    }
}
