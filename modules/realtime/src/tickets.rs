//! Stream tickets for browsers: `EventSource` cannot send an `Authorization` header, so
//! an authenticated client trades its token for a ticket (`POST /realtime/tickets`) and
//! opens the stream with `?ticket=`. A ticket is single-use, valid for [`TTL`], held
//! only in memory and only as its SHA-256 digest (a memory dump or a log line cannot
//! replay it); it stands for the token it was issued for, so the stream it opens ends
//! when that token expires or is revoked, as the token's own stream would.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

pub const TTL: Duration = Duration::from_secs(30);
/// Unused tickets one user may hold at once; more would only be a way to fill memory.
const PER_USER: usize = 16;
/// Unused tickets the server holds at once.
const TOTAL: usize = 100_000;

struct Issued {
    /// The token the ticket stands for (never logged, dropped when redeemed).
    bearer: String,
    user_id: String,
    expires: Instant,
}

#[derive(Default)]
pub struct Tickets {
    issued: Mutex<HashMap<[u8; 32], Issued>>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct TooMany;

fn digest(ticket: &str) -> [u8; 32] {
    Sha256::digest(ticket.as_bytes()).into()
}

impl Tickets {
    /// A new ticket for `bearer` (the token `user_id` authenticated with).
    pub fn issue(&self, bearer: &str, user_id: &str) -> Result<String, TooMany> {
        let now = Instant::now();
        let mut issued = self.issued.lock().unwrap_or_else(PoisonError::into_inner);
        issued.retain(|_, t| t.expires > now);
        let mine = issued.values().filter(|t| t.user_id == user_id).count();
        if mine >= PER_USER || issued.len() >= TOTAL {
            return Err(TooMany);
        }
        let mut raw = [0u8; 32];
        rand::rng().fill_bytes(&mut raw);
        let ticket = URL_SAFE_NO_PAD.encode(raw);
        issued.insert(
            digest(&ticket),
            Issued {
                bearer: bearer.to_owned(),
                user_id: user_id.to_owned(),
                expires: now + TTL,
            },
        );
        Ok(ticket)
    }

    /// The token a ticket stands for, once: the ticket is gone after this call, whether
    /// it was still valid or not.
    pub fn redeem(&self, ticket: &str) -> Option<String> {
        let mut issued = self.issued.lock().unwrap_or_else(PoisonError::into_inner);
        let found = issued.remove(&digest(ticket))?;
        (found.expires > Instant::now()).then_some(found.bearer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_is_single_use_and_stored_hashed() {
        let tickets = Tickets::default();
        let ticket = tickets.issue("token-a", "alice").unwrap();
        assert!(ticket.len() >= 43);
        {
            let issued = tickets.issued.lock().unwrap();
            assert!(issued.contains_key(&digest(&ticket)));
        }
        assert_eq!(tickets.redeem(&ticket).as_deref(), Some("token-a"));
        assert_eq!(tickets.redeem(&ticket), None);
        assert_eq!(tickets.redeem("made-up"), None);
    }

    #[test]
    fn an_expired_ticket_is_refused_and_users_have_a_cap() {
        let tickets = Tickets::default();
        let ticket = tickets.issue("token-a", "alice").unwrap();
        tickets
            .issued
            .lock()
            .unwrap()
            .values_mut()
            .for_each(|t| t.expires = Instant::now() - Duration::from_secs(1));
        assert_eq!(tickets.redeem(&ticket), None);
        for _ in 0..PER_USER {
            tickets.issue("token-b", "bob").unwrap();
        }
        assert_eq!(tickets.issue("token-b", "bob"), Err(TooMany));
        assert!(tickets.issue("token-c", "carol").is_ok());
    }
}
