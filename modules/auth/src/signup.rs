//! Self sign-up, when an admin has turned it on (setting `allow_signups`, off by default).
//! The answer never says whether an address already has an account: a new address and
//! a taken one get the same 202 after the same work (the password is hashed either
//! way), and the taken account is left untouched. Sign-ups are throttled per client
//! address: [`MAX_PER_ADDRESS`] per [`WINDOW`].

use crate::addresses::address_key;
use crate::error::AuthError;
use crate::service::{AuthService, Ctx};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const MAX_PER_ADDRESS: usize = 5;
pub const WINDOW: Duration = Duration::from_secs(3600);
const MAX_KEYS: usize = 100_000;

/// Sign-up attempts per client address within the last `WINDOW`.
#[derive(Default)]
pub struct SignupThrottle {
    attempts: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl SignupThrottle {
    /// Counts an attempt, or `Err(seconds to wait)` when the address used its budget.
    fn attempt(&self, key: &str, now: Instant) -> Result<(), u64> {
        let mut map = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_KEYS && !map.contains_key(key) {
            map.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|t| now.duration_since(*t) < WINDOW)
            });
        }
        let times = map.entry(key.to_owned()).or_default();
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= WINDOW)
        {
            times.pop_front();
        }
        if times.len() >= MAX_PER_ADDRESS {
            let wait = WINDOW - now.duration_since(times[0]);
            return Err(wait.as_secs().max(1));
        }
        times.push_back(now);
        Ok(())
    }
}

impl AuthService {
    /// `Ok(())` means "accepted": the account exists now, whether this call created it
    /// or it existed before (which only the audit log tells).
    pub async fn register(&self, email: &str, password: &str, ctx: &Ctx) -> Result<(), AuthError> {
        if !self.settings().await?.allow_signups {
            return Err(AuthError::Forbidden(
                "sign-ups are disabled on this server".into(),
            ));
        }
        // Bad input is refused before it counts, and says nothing about accounts.
        crate::service::check_new_account(email, password)?;
        if let Err(wait) = self.signups.attempt(&address_key(ctx.ip), Instant::now()) {
            self.audit(ctx.event("user.register_throttled").target(email.trim()));
            return Err(AuthError::SignupThrottled(wait));
        }
        match self.insert_user(email, password, Vec::new(), false).await {
            Ok(user) => {
                let mut event = ctx.event("user.registered").target(user.id.clone());
                event.actor_id = Some(user.id.clone());
                event.actor_email = Some(user.email.clone());
                self.audit(event);
                Ok(())
            }
            Err(AuthError::EmailTaken) => {
                self.audit(
                    ctx.event("user.register_existing")
                        .target(crate::emails::email_key(email)),
                );
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_its_budget_per_window() {
        let t = SignupThrottle::default();
        let start = Instant::now();
        for _ in 0..MAX_PER_ADDRESS {
            assert!(t.attempt("a", start).is_ok());
        }
        let wait = t.attempt("a", start).unwrap_err();
        assert_eq!(wait, WINDOW.as_secs());
        assert!(t.attempt("b", start).is_ok(), "other addresses unaffected");
        assert!(t.attempt("a", start + WINDOW).is_ok(), "the window passed");
    }
}
