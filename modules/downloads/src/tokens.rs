//! File tokens: an `<img src>` or a download link cannot send `Authorization`, so an
//! authenticated client trades its bearer token for a file token (`POST /files/token`)
//! and puts it in the URL as `?token=`. A file token is valid for [`TTL`], may be used
//! any number of times in that window (a page of thumbnails uses one), and is held only
//! in memory, only as its SHA-256 digest (a memory dump or a log line cannot replay
//! it). It stands for the bearer token it was issued for, which is authenticated again
//! at every use: revoking that token, or its expiry, ends the file token too.
//! (Realtime's stream tickets follow the same pattern, single-use.)

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

pub const TTL: Duration = Duration::from_secs(120);
/// Live tokens one user may hold at once; more would only be a way to fill memory.
const PER_USER: usize = 32;
/// Live tokens the server holds at once.
const TOTAL: usize = 100_000;

struct Issued {
    /// The bearer token this one stands for (never logged).
    bearer: String,
    user_id: String,
    expires: Instant,
}

#[derive(Default)]
pub struct FileTokens {
    issued: Mutex<HashMap<[u8; 32], Issued>>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct TooMany;

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl FileTokens {
    /// A new token for `bearer` (the token `user_id` authenticated with).
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
        let token = URL_SAFE_NO_PAD.encode(raw);
        issued.insert(
            digest(&token),
            Issued {
                bearer: bearer.to_owned(),
                user_id: user_id.to_owned(),
                expires: now + TTL,
            },
        );
        Ok(token)
    }

    /// The bearer token a file token stands for, while it is valid (it stays valid).
    pub fn resolve(&self, token: &str) -> Option<String> {
        let mut issued = self.issued.lock().unwrap_or_else(PoisonError::into_inner);
        let key = digest(token);
        let found = issued.get(&key)?;
        if found.expires > Instant::now() {
            Some(found.bearer.clone())
        } else {
            issued.remove(&key);
            None
        }
    }

    /// Ends every token now, as if each had expired (an operator's or a test's lever).
    pub fn revoke_all(&self) {
        let past = Instant::now() - Duration::from_millis(1);
        let mut issued = self.issued.lock().unwrap_or_else(PoisonError::into_inner);
        issued.values_mut().for_each(|t| t.expires = past);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_multi_use_and_stored_hashed() {
        let tokens = FileTokens::default();
        let token = tokens.issue("bearer-a", "alice").unwrap();
        assert!(token.len() >= 43);
        assert!(tokens.issued.lock().unwrap().contains_key(&digest(&token)));
        assert_eq!(tokens.resolve(&token).as_deref(), Some("bearer-a"));
        assert_eq!(tokens.resolve(&token).as_deref(), Some("bearer-a"));
        assert_eq!(tokens.resolve("made-up"), None);
    }

    #[test]
    fn expired_tokens_are_refused_and_dropped_and_users_have_a_cap() {
        let tokens = FileTokens::default();
        let token = tokens.issue("bearer-a", "alice").unwrap();
        tokens.revoke_all();
        assert_eq!(tokens.resolve(&token), None);
        assert!(tokens.issued.lock().unwrap().is_empty());
        for _ in 0..PER_USER {
            tokens.issue("bearer-b", "bob").unwrap();
        }
        assert_eq!(tokens.issue("bearer-b", "bob"), Err(TooMany));
        assert!(tokens.issue("bearer-c", "carol").is_ok());
    }
}
