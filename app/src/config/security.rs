//! Settings for TLS, rate limiting, proxies and CORS, parsed and checked at start-up.

use super::sources::{one, Source};
use super::ConfigError;
use std::net::IpAddr;
use std::path::PathBuf;

#[derive(Clone, Debug, Default)]
pub struct SecurityConfig {
    /// Serve HTTPS directly with these PEM files.
    pub tls: Option<TlsFiles>,
    /// The shared rate limit (`rate_limit_per_second`, `rate_limit_burst`): what every
    /// audience without a limit of its own uses; `per_second` 0 turns it off. The initial
    /// value: an admin may override it at run time (`/admin/settings`), and a stored value
    /// wins at start-up.
    pub rate_limit: RateLimitConfig,
    /// The limits by audience (`rate_limit_<audience>_{per_second,burst}`); an audience
    /// or value left open follows `rate_limit`. Initial values too, like `rate_limit`.
    pub rate_limit_audiences: auth::ConfiguredLimits,
    /// Peers whose `X-Forwarded-For` is believed. Empty: never believed.
    pub trusted_proxies: Vec<Cidr>,
    /// No `origins` (the default): no CORS headers at all. The origins are the initial
    /// value: an admin may override them at run time, and a stored list wins at start-up.
    pub cors: CorsConfig,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// 0: rate limiting is off.
    pub per_second: u32,
    pub burst: u32,
}

impl RateLimitConfig {
    pub const OFF: RateLimitConfig = RateLimitConfig {
        per_second: 0,
        burst: 1,
    };

    pub fn is_off(&self) -> bool {
        self.per_second == 0
    }

    /// Two limits are the same if both are off, whatever their bursts.
    pub fn same_as(&self, other: &RateLimitConfig) -> bool {
        self == other || (self.is_off() && other.is_off())
    }
}

/// The limit in force for each audience (what the rate limiter applies).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateLimits {
    pub anonymous: RateLimitConfig,
    pub user: RateLimitConfig,
    pub admin: RateLimitConfig,
    pub auth: RateLimitConfig,
}

impl RateLimits {
    pub fn get(&self, audience: auth::Audience) -> RateLimitConfig {
        match audience {
            auth::Audience::Anonymous => self.anonymous,
            auth::Audience::User => self.user,
            auth::Audience::Admin => self.admin,
            auth::Audience::Auth => self.auth,
        }
    }

    pub fn set(&mut self, audience: auth::Audience, limit: RateLimitConfig) {
        match audience {
            auth::Audience::Anonymous => self.anonymous = limit,
            auth::Audience::User => self.user = limit,
            auth::Audience::Admin => self.admin = limit,
            auth::Audience::Auth => self.auth = limit,
        }
    }

    /// Every audience under one limit.
    pub fn all(limit: RateLimitConfig) -> RateLimits {
        RateLimits {
            anonymous: limit,
            user: limit,
            admin: limit,
            auth: limit,
        }
    }

    /// The configuration's limits before any stored setting: each audience's own values,
    /// else the shared ones.
    pub fn configured(shared: RateLimitConfig, audiences: &auth::ConfiguredLimits) -> Self {
        let mut limits = RateLimits::all(shared);
        for audience in auth::Audience::ALL {
            let own = audiences.get(audience);
            limits.set(
                audience,
                RateLimitConfig {
                    per_second: own.per_second.unwrap_or(shared.per_second),
                    burst: own.burst.unwrap_or(shared.burst),
                },
            );
        }
        limits
    }

    /// The limits the settings in effect ask for.
    pub fn from_settings(settings: &auth::AuthSettings) -> RateLimits {
        let mut limits = RateLimits::default();
        for limit in settings.rate_limits.iter() {
            limits.set(
                limit.audience,
                RateLimitConfig {
                    per_second: limit.per_second.value,
                    burst: limit.burst.value,
                },
            );
        }
        limits
    }
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig::OFF
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CorsConfig {
    pub origins: Vec<String>,
    pub methods: Vec<String>,
    pub headers: Vec<String>,
    pub credentials: bool,
}

/// An IP network such as `10.0.0.0/8`, or one address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("`{s}` is not an IP address or network"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{s}` has a bad prefix length"))?,
        };
        Ok(Cidr { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match (self.addr, ip) {
            (IpAddr::V4(_), IpAddr::V6(v6)) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            _ => ip,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - self.prefix as u32).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - self.prefix as u32).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

fn list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

pub(super) fn boolean(v: &str) -> Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err("expected true or false".into()),
    }
}

/// An origin is `scheme://host[:port]` exactly as browsers send it, or `*`: the same
/// check as for origins an admin sets at run time.
fn origin(o: &str) -> Result<String, String> {
    auth::check_origin(o).map(|()| o.to_owned())
}

pub(super) fn resolve(
    field: &dyn Fn(&str) -> (String, Source),
) -> Result<SecurityConfig, ConfigError> {
    let path = |v: &str| Ok::<_, String>((!v.trim().is_empty()).then(|| PathBuf::from(v)));
    let cert = one(&field("tls_cert"), "tls_cert", path)?;
    let key = one(&field("tls_key"), "tls_key", path)?;
    let tls = match (cert, key) {
        (None, None) => None,
        (Some(cert), Some(key)) => {
            for (name, p) in [("tls_cert", &cert), ("tls_key", &key)] {
                if let Err(e) = std::fs::metadata(p) {
                    return Err(ConfigError(format!(
                        "cannot read {name} {}: {e}",
                        p.display()
                    )));
                }
            }
            Some(TlsFiles { cert, key })
        }
        _ => {
            return Err(ConfigError(
                "tls_cert and tls_key must be given together".into(),
            ))
        }
    };
    let per_second = one(
        &field("rate_limit_per_second"),
        "rate_limit_per_second",
        |v| {
            v.trim().parse::<u32>().map_err(|_| {
                "expected a whole number of requests per second (0 turns limiting off)".to_string()
            })
        },
    )?;
    let burst = one(&field("rate_limit_burst"), "rate_limit_burst", |v| {
        v.trim()
            .parse::<u32>()
            .ok()
            .filter(|b| *b >= 1)
            .ok_or_else(|| "expected a whole number of at least 1".to_string())
    })?;
    let rate_limit = RateLimitConfig { per_second, burst };
    let mut rate_limit_audiences = auth::ConfiguredLimits::default();
    for audience in auth::Audience::ALL {
        // Empty: follow the shared limit.
        let per_second_key = audience.per_second_key();
        let per_second = one(&field(per_second_key), per_second_key, |v| {
            let v = v.trim();
            if v.is_empty() {
                return Ok(None);
            }
            v.parse::<u32>().map(Some).map_err(|_| {
                "expected a whole number of requests per second (0: unthrottled), or nothing \
                 to use rate_limit_per_second"
                    .to_string()
            })
        })?;
        let burst_key = audience.burst_key();
        let burst = one(&field(burst_key), burst_key, |v| {
            let v = v.trim();
            if v.is_empty() {
                return Ok(None);
            }
            v.parse::<u32>()
                .ok()
                .filter(|b| *b >= 1)
                .map(Some)
                .ok_or_else(|| {
                    "expected a whole number of at least 1, or nothing to use rate_limit_burst"
                        .to_string()
                })
        })?;
        rate_limit_audiences.set(audience, auth::ConfiguredLimit { per_second, burst });
    }
    let trusted_proxies = one(&field("trusted_proxies"), "trusted_proxies", |v| {
        list(v)
            .iter()
            .map(|s| Cidr::parse(s))
            .collect::<Result<Vec<_>, _>>()
    })?;
    let origins = one(&field("cors_origins"), "cors_origins", |v| {
        list(v)
            .iter()
            .map(|o| origin(o))
            .collect::<Result<Vec<_>, _>>()
    })?;
    let methods = one(&field("cors_methods"), "cors_methods", |v| {
        let m = list(v);
        match m
            .iter()
            .find(|m| !m.bytes().all(|b| b.is_ascii_uppercase()))
        {
            Some(bad) => Err(format!("`{bad}` is not an HTTP method (use upper case)")),
            None => Ok(m),
        }
    })?;
    let headers = one(&field("cors_headers"), "cors_headers", |v| {
        Ok::<_, String>(list(v))
    })?;
    let credentials = one(&field("cors_credentials"), "cors_credentials", boolean)?;
    if credentials && origins.iter().any(|o| o == "*") {
        return Err(ConfigError(
            "cors_credentials cannot be used with the origin `*`".into(),
        ));
    }
    let cors = CorsConfig {
        origins,
        methods,
        headers,
        credentials,
    };
    Ok(SecurityConfig {
        tls,
        rate_limit,
        rate_limit_audiences,
        trusted_proxies,
        cors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs() {
        let net = Cidr::parse("10.1.0.0/16").unwrap();
        assert!(net.contains("10.1.200.3".parse().unwrap()));
        assert!(!net.contains("10.2.0.1".parse().unwrap()));
        assert!(
            net.contains("::ffff:10.1.0.9".parse().unwrap()),
            "v4-mapped v6"
        );
        let one = Cidr::parse("127.0.0.1").unwrap();
        assert!(one.contains("127.0.0.1".parse().unwrap()));
        assert!(!one.contains("127.0.0.2".parse().unwrap()));
        assert!(Cidr::parse("fd00::/8")
            .unwrap()
            .contains("fd12::1".parse().unwrap()));
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("ten").is_err());
    }

    #[test]
    fn origins() {
        assert!(origin("https://app.example.org").is_ok());
        assert!(origin("http://localhost:3000").is_ok());
        assert!(origin("*").is_ok());
        assert!(origin("https://app.example.org/").is_err());
        assert!(origin("app.example.org").is_err());
    }
}
