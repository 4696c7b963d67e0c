//! Short-lived stand-ins for a bearer token, for the places a browser cannot send
//! `Authorization`: realtime's stream tickets (`?ticket=`, single-use) and downloads'
//! file tokens (`?token=`, any number of uses). A stand-in is random, valid for a fixed
//! time, held only in memory and only as its SHA-256 digest (a memory dump or a log line
//! cannot replay it), and capped per user and in all. It stands for the bearer token it
//! was issued for, which its user authenticates again at every use.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Live stand-ins the server holds at once, of one kind.
const TOTAL: usize = 100_000;

struct Issued {
    /// The bearer token this one stands for (never logged).
    bearer: String,
    user_id: String,
    expires: Instant,
}

pub struct StandIns {
    ttl: Duration,
    /// Live stand-ins one user may hold at once; more would only be a way to fill memory.
    per_user: usize,
    issued: Mutex<HashMap<[u8; 32], Issued>>,
}

/// The user holds its maximum of live stand-ins (or the server does).
#[derive(Debug, PartialEq, Eq)]
pub struct TooMany;

fn digest(stand_in: &str) -> [u8; 32] {
    Sha256::digest(stand_in.as_bytes()).into()
}

impl StandIns {
    pub fn new(ttl: Duration, per_user: usize) -> StandIns {
        StandIns {
            ttl,
            per_user,
            issued: Mutex::default(),
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Issued>> {
        self.issued.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A new stand-in for `bearer` (the token `user_id` authenticated with).
    pub fn issue(&self, bearer: &str, user_id: &str) -> Result<String, TooMany> {
        let now = Instant::now();
        let mut issued = self.lock();
        issued.retain(|_, t| t.expires > now);
        let mine = issued.values().filter(|t| t.user_id == user_id).count();
        if mine >= self.per_user || issued.len() >= TOTAL {
            return Err(TooMany);
        }
        let mut raw = [0u8; 32];
        rand::rng().fill_bytes(&mut raw);
        let stand_in = URL_SAFE_NO_PAD.encode(raw);
        issued.insert(
            digest(&stand_in),
            Issued {
                bearer: bearer.to_owned(),
                user_id: user_id.to_owned(),
                expires: now + self.ttl,
            },
        );
        Ok(stand_in)
    }

    /// The bearer token `stand_in` stands for, once: it is gone after this call,
    /// whether it was still valid or not.
    pub fn redeem(&self, stand_in: &str) -> Option<String> {
        let found = self.lock().remove(&digest(stand_in))?;
        (found.expires > Instant::now()).then_some(found.bearer)
    }

    /// The bearer token `stand_in` stands for, while it is valid (it stays valid).
    pub fn resolve(&self, stand_in: &str) -> Option<String> {
        let mut issued = self.lock();
        let key = digest(stand_in);
        let found = issued.get(&key)?;
        if found.expires > Instant::now() {
            Some(found.bearer.clone())
        } else {
            issued.remove(&key);
            None
        }
    }

    /// Ends every stand-in now, as if each had expired (an operator's or a test's lever).
    pub fn expire_all(&self) {
        let past = Instant::now() - Duration::from_millis(1);
        self.lock().values_mut().for_each(|t| t.expires = past);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redeeming_is_single_use_and_stand_ins_are_stored_hashed() {
        let tickets = StandIns::new(Duration::from_secs(30), 16);
        let ticket = tickets.issue("token-a", "alice").unwrap();
        assert!(ticket.len() >= 43);
        assert!(tickets.lock().contains_key(&digest(&ticket)));
        assert_eq!(tickets.redeem(&ticket).as_deref(), Some("token-a"));
        assert_eq!(tickets.redeem(&ticket), None);
        assert_eq!(tickets.redeem("made-up"), None);
    }

    #[test]
    fn resolving_is_multi_use() {
        let tokens = StandIns::new(Duration::from_secs(120), 32);
        let token = tokens.issue("bearer-a", "alice").unwrap();
        assert!(token.len() >= 43);
        assert!(tokens.lock().contains_key(&digest(&token)));
        assert_eq!(tokens.resolve(&token).as_deref(), Some("bearer-a"));
        assert_eq!(tokens.resolve(&token).as_deref(), Some("bearer-a"));
        assert_eq!(tokens.resolve("made-up"), None);
    }

    #[test]
    fn expired_ones_are_refused_and_dropped_and_users_have_a_cap() {
        for per_user in [16, 32] {
            let stand_ins = StandIns::new(Duration::from_secs(30), per_user);
            let a = stand_ins.issue("bearer-a", "alice").unwrap();
            let b = stand_ins.issue("bearer-a", "alice").unwrap();
            stand_ins.expire_all();
            assert_eq!(stand_ins.redeem(&a), None);
            assert_eq!(stand_ins.resolve(&b), None);
            assert!(stand_ins.lock().is_empty());
            for _ in 0..per_user {
                stand_ins.issue("bearer-b", "bob").unwrap();
            }
            assert_eq!(stand_ins.issue("bearer-b", "bob"), Err(TooMany));
            assert!(stand_ins.issue("bearer-c", "carol").is_ok());
        }
    }
}
