//! The ranges and shapes of the run-time settings' values (`settings`): rates, bursts
//! and CORS origins, each refused with a field error that names the setting.

use crate::settings::{
    CORS_ORIGINS, MAX_BURST, MAX_ORIGINS, MAX_PER_SECOND, RATE_LIMIT_BURST, RATE_LIMIT_PER_SECOND,
};
use kernel::{FieldCode, FieldError};

const MAX_ORIGIN_LEN: usize = 255;

pub(crate) fn check_per_second(n: i64) -> Result<u32, FieldError> {
    check_per_second_of(RATE_LIMIT_PER_SECOND, n)
}

pub(crate) fn check_burst(n: i64) -> Result<u32, FieldError> {
    check_burst_of(RATE_LIMIT_BURST, n)
}

/// A rate setting's range, errors naming `field`.
pub(crate) fn check_per_second_of(field: &str, n: i64) -> Result<u32, FieldError> {
    range(
        field,
        n,
        0,
        MAX_PER_SECOND,
        "requests per second (0 turns rate limiting off)",
    )
}

/// A burst setting's range, errors naming `field`.
pub(crate) fn check_burst_of(field: &str, n: i64) -> Result<u32, FieldError> {
    range(field, n, 1, MAX_BURST, "requests")
}

fn range(field: &str, n: i64, min: i64, max: i64, unit: &str) -> Result<u32, FieldError> {
    let code = if n < min {
        FieldCode::TooSmall
    } else if n > max {
        FieldCode::TooLarge
    } else {
        return Ok(n as u32);
    };
    Err(FieldError::new(
        field,
        code,
        format!("must be a whole number from {min} to {max} {unit}"),
    ))
}

/// Trimmed, without duplicates (case-insensitive, first kept), or one error per bad entry.
pub(crate) fn check_origins(
    list: &[String],
    credentials: bool,
) -> Result<Vec<String>, Vec<FieldError>> {
    if list.len() > MAX_ORIGINS {
        return Err(vec![FieldError::new(
            CORS_ORIGINS,
            FieldCode::TooLong,
            format!("at most {MAX_ORIGINS} origins"),
        )]);
    }
    let mut kept: Vec<String> = Vec::with_capacity(list.len());
    let mut errors = Vec::new();
    for (i, origin) in list.iter().enumerate() {
        let origin = origin.trim();
        let field = || format!("{CORS_ORIGINS}[{i}]");
        if let Err(message) = check_origin(origin) {
            errors.push(FieldError::new(field(), FieldCode::Invalid, message));
        } else if origin == "*" && credentials {
            errors.push(FieldError::new(
                field(),
                FieldCode::Invalid,
                "`*` cannot be used while cors_credentials is on in the server's configuration",
            ));
        } else if !kept.iter().any(|k| k.eq_ignore_ascii_case(origin)) {
            kept.push(origin.to_owned());
        }
    }
    if errors.is_empty() {
        Ok(kept)
    } else {
        Err(errors)
    }
}

/// An origin exactly as browsers send it in `Origin`: `http` or `https`, `://`, a host
/// name or address (IPv6 in brackets), an optional port, and nothing else (no path, not
/// even `/`); or `*` for any origin. The configuration's `cors_origins` uses this too.
pub fn check_origin(origin: &str) -> Result<(), String> {
    if origin == "*" {
        return Ok(());
    }
    let bad = || {
        let shown: String = origin.chars().take(80).collect();
        format!(
            "`{shown}` is not an origin such as https://app.example.org (scheme://host[:port], no path)"
        )
    };
    if origin.len() > MAX_ORIGIN_LEN {
        return Err(format!("an origin is at most {MAX_ORIGIN_LEN} characters"));
    }
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .ok_or_else(bad)?;
    let (host_ok, port) = match rest.strip_prefix('[') {
        Some(v6) => {
            let (addr, after) = v6.split_once(']').ok_or_else(bad)?;
            let ok = !addr.is_empty()
                && addr.contains(':')
                && addr
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(bad)?),
            };
            (ok, port)
        }
        None => {
            let (host, port) = match rest.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (rest, None),
            };
            let ok = !host.is_empty()
                && !host.starts_with(['.', '-'])
                && !host.ends_with('.')
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
            (ok, port)
        }
    };
    let port_ok = port.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 5
            && p.bytes().all(|b| b.is_ascii_digit())
            && p.parse::<u16>().is_ok_and(|n| n > 0)
    });
    if host_ok && port_ok {
        Ok(())
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_look_like_what_browsers_send() {
        for good in [
            "*",
            "https://app.example.org",
            "http://localhost:3000",
            "http://127.0.0.1:8080",
            "https://[::1]:8443",
            "https://[2001:db8::1]",
            "https://my_host.internal",
        ] {
            assert!(check_origin(good).is_ok(), "{good} refused");
        }
        for bad in [
            "",
            "app.example.org",
            "https://app.example.org/",
            "https://app.example.org/path",
            "https://",
            "ftp://app.example.org",
            "https://app.example.org:0",
            "https://app.example.org:99999",
            "https://app.example.org:",
            "https://user@app.example.org",
            "https://app example.org",
            "https://app.example.org?x=1",
            "https://[::1",
            "https://[zz]",
            "null",
            "**",
        ] {
            assert!(check_origin(bad).is_err(), "{bad:?} accepted");
        }
        assert!(check_origin(&format!("https://{}.org", "a".repeat(300))).is_err());
    }

    #[test]
    fn origin_lists_are_trimmed_deduplicated_and_checked_entry_by_entry() {
        let list = [
            " https://a.example.org ",
            "https://A.example.org",
            "http://b",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            check_origins(&list, false).unwrap(),
            ["https://a.example.org", "http://b"]
        );
        let list = ["https://ok.example", "nope", "*", "also/bad"]
            .map(String::from)
            .to_vec();
        let errors = check_origins(&list, true).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["cors_origins[1]", "cors_origins[2]", "cors_origins[3]"]
        );
        assert!(check_origins(&["*".to_string()], false).is_ok());
        let many = vec!["https://a.example".to_string(); MAX_ORIGINS + 1];
        assert_eq!(
            check_origins(&many, false).unwrap_err()[0].field,
            "cors_origins"
        );
    }

    #[test]
    fn rate_limits_have_ranges() {
        assert_eq!(check_per_second(0).unwrap(), 0);
        assert_eq!(check_per_second(MAX_PER_SECOND).unwrap(), 100_000);
        assert_eq!(check_per_second(-1).unwrap_err().code, "too_small");
        assert_eq!(check_per_second(100_001).unwrap_err().code, "too_large");
        assert_eq!(check_burst(0).unwrap_err().code, "too_small");
        assert_eq!(check_burst(1).unwrap(), 1);
        assert_eq!(check_burst(MAX_BURST + 1).unwrap_err().code, "too_large");
    }
}
