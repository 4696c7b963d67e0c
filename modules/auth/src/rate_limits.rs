//! Rate limits by audience (README "Rate limits", API.md 5.1): who is calling decides
//! which limit applies. Four audiences, each with a rate and a burst:
//!
//! - `anonymous`: callers without a valid token, one bucket per client address;
//! - `user`: signed-in callers, one bucket per user;
//! - `admin`: callers acting as admin (admin user, token with the `admin` scope; admin
//!   service tokens are personal tokens of an admin), per user; off by default, so a
//!   bulk import is not throttled like a stranger;
//! - `auth`: the endpoints that take a password or mint a session (login, refresh,
//!   register, setup, password reset, the dashboard's login), per client address,
//!   stricter than the others.
//!
//! Each value is a run-time setting (`rate_limit_<audience>_per_second`, `…_burst`): a
//! stored value wins; else the configuration's; and when the configuration leaves an
//! audience open, the shared `rate_limit_per_second` / `rate_limit_burst` in effect
//! (which is how the old single limit keeps working for anonymous callers and users).

use crate::settings::{Setting, SettingSource};
use kernel::FieldError;

/// Who a limit is for; the name is the one `RateLimit-Policy` uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Audience {
    Anonymous,
    User,
    Admin,
    Auth,
}

impl Audience {
    pub const ALL: [Audience; 4] = [
        Audience::Anonymous,
        Audience::User,
        Audience::Admin,
        Audience::Auth,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Anonymous => "anonymous",
            Audience::User => "user",
            Audience::Admin => "admin",
            Audience::Auth => "auth",
        }
    }

    /// The setting (and configuration key) of this audience's rate.
    pub fn per_second_key(self) -> &'static str {
        match self {
            Audience::Anonymous => "rate_limit_anonymous_per_second",
            Audience::User => "rate_limit_user_per_second",
            Audience::Admin => "rate_limit_admin_per_second",
            Audience::Auth => "rate_limit_auth_per_second",
        }
    }

    /// The setting (and configuration key) of this audience's burst.
    pub fn burst_key(self) -> &'static str {
        match self {
            Audience::Anonymous => "rate_limit_anonymous_burst",
            Audience::User => "rate_limit_user_burst",
            Audience::Admin => "rate_limit_admin_burst",
            Audience::Auth => "rate_limit_auth_burst",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// What the configuration says about one audience; `None` follows the shared
/// `rate_limit_per_second` / `rate_limit_burst`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConfiguredLimit {
    pub per_second: Option<u32>,
    pub burst: Option<u32>,
}

impl ConfiguredLimit {
    /// Both values follow the shared limit.
    pub const SHARED: ConfiguredLimit = ConfiguredLimit {
        per_second: None,
        burst: None,
    };

    /// A limit of its own (`per_second` 0: unthrottled).
    pub fn new(per_second: u32, burst: u32) -> ConfiguredLimit {
        ConfiguredLimit {
            per_second: Some(per_second),
            burst: Some(burst),
        }
    }
}

/// The configuration's value for every audience.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConfiguredLimits([ConfiguredLimit; 4]);

impl ConfiguredLimits {
    pub fn get(&self, audience: Audience) -> ConfiguredLimit {
        self.0[audience.index()]
    }

    pub fn set(&mut self, audience: Audience, limit: ConfiguredLimit) {
        self.0[audience.index()] = limit;
    }

    pub fn with(mut self, audience: Audience, limit: ConfiguredLimit) -> ConfiguredLimits {
        self.set(audience, limit);
        self
    }
}

/// One audience's limit in effect, each value with where it comes from
/// ([`SettingSource::Shared`]: it follows the shared limit).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AudienceLimit {
    pub audience: Audience,
    pub per_second: Setting<u32>,
    pub burst: Setting<u32>,
}

/// Every audience's limit in effect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AudienceLimits(Vec<AudienceLimit>);

impl AudienceLimits {
    pub fn get(&self, audience: Audience) -> &AudienceLimit {
        &self.0[audience.index()]
    }

    pub fn iter(&self) -> impl Iterator<Item = &AudienceLimit> {
        self.0.iter()
    }

    /// `stored(key)`: the checked value in the database, if any; `shared`: the shared
    /// limit in effect.
    pub fn resolve(
        configured: &ConfiguredLimits,
        shared: (&Setting<u32>, &Setting<u32>),
        stored: impl Fn(&'static str) -> Option<u32>,
    ) -> AudienceLimits {
        let pick = |key, configured: Option<u32>, shared: &Setting<u32>| {
            if let Some(value) = stored(key) {
                Setting {
                    value,
                    source: SettingSource::Database,
                }
            } else if let Some(value) = configured {
                Setting {
                    value,
                    source: SettingSource::Config,
                }
            } else {
                Setting {
                    value: shared.value,
                    source: SettingSource::Shared,
                }
            }
        };
        AudienceLimits(
            Audience::ALL
                .iter()
                .map(|&audience| {
                    let c = configured.get(audience);
                    AudienceLimit {
                        audience,
                        per_second: pick(audience.per_second_key(), c.per_second, shared.0),
                        burst: pick(audience.burst_key(), c.burst, shared.1),
                    }
                })
                .collect(),
        )
    }
}

/// Checks one value of a limit setting, errors naming the field.
pub(crate) type Check = fn(&str, i64) -> Result<u32, FieldError>;

/// The checker of a per-audience key (`None`: not such a key).
pub(crate) fn checker(key: &str) -> Option<(&'static str, Check)> {
    Audience::ALL.iter().find_map(|a| {
        if key == a.per_second_key() {
            Some((
                a.per_second_key(),
                crate::setting_checks::check_per_second_of as _,
            ))
        } else if key == a.burst_key() {
            Some((a.burst_key(), crate::setting_checks::check_burst_of as _))
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setting(value: u32, source: SettingSource) -> Setting<u32> {
        Setting { value, source }
    }

    #[test]
    fn stored_beats_configured_beats_shared() {
        let configured = ConfiguredLimits::default()
            .with(Audience::Admin, ConfiguredLimit::new(0, 1000))
            .with(
                Audience::User,
                ConfiguredLimit {
                    per_second: Some(7),
                    burst: None,
                },
            );
        let per = setting(100, SettingSource::Database);
        let burst = setting(200, SettingSource::Config);
        let limits = AudienceLimits::resolve(&configured, (&per, &burst), |key| {
            (key == "rate_limit_admin_burst").then_some(5)
        });
        let anon = limits.get(Audience::Anonymous);
        assert_eq!(anon.per_second, setting(100, SettingSource::Shared));
        assert_eq!(anon.burst, setting(200, SettingSource::Shared));
        let user = limits.get(Audience::User);
        assert_eq!(user.per_second, setting(7, SettingSource::Config));
        assert_eq!(user.burst, setting(200, SettingSource::Shared));
        let admin = limits.get(Audience::Admin);
        assert_eq!(admin.per_second, setting(0, SettingSource::Config));
        assert_eq!(admin.burst, setting(5, SettingSource::Database));
        assert_eq!(limits.iter().count(), 4);
    }

    #[test]
    fn every_key_has_a_checker() {
        for a in Audience::ALL {
            let (key, check) = checker(a.per_second_key()).unwrap();
            assert_eq!(key, a.per_second_key());
            assert!(check(key, 0).is_ok(), "0 turns the audience's limit off");
            let (key, check) = checker(a.burst_key()).unwrap();
            assert_eq!(check(key, 0).unwrap_err().code, "too_small");
        }
        assert!(checker("rate_limit_per_second").is_none());
    }
}
