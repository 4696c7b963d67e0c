//! Verified tokens, remembered so most requests skip the database. Revocation in this
//! process removes entries at once; entries also expire after a short time so a
//! revocation made by another process (`hearth admin create` resetting an account)
//! takes effect within `TTL`.

use kernel::Principal;
use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

const TTL: Duration = Duration::from_secs(30);
/// Past this many entries the cache starts over rather than grow without bound.
const MAX_ENTRIES: usize = 100_000;

#[derive(Clone)]
pub struct Entry {
    pub principal: Principal,
    pub token_id: String,
    pub family: Option<String>,
    /// The token's own expiry (RFC 3339), checked on every hit.
    pub expires_at: Option<String>,
    cached_at: Instant,
}

impl Entry {
    pub fn new(
        principal: Principal,
        token_id: String,
        family: Option<String>,
        expires_at: Option<String>,
    ) -> Self {
        Entry {
            principal,
            token_id,
            family,
            expires_at,
            cached_at: Instant::now(),
        }
    }
}

#[derive(Default)]
pub struct TokenCache {
    map: RwLock<HashMap<Vec<u8>, Entry>>,
}

impl TokenCache {
    pub fn get(&self, digest: &[u8], now: &str) -> Option<Entry> {
        let map = self.map.read().unwrap_or_else(|e| e.into_inner());
        let entry = map.get(digest)?;
        let fresh =
            entry.cached_at.elapsed() < TTL && entry.expires_at.as_deref().is_none_or(|e| e > now);
        fresh.then(|| entry.clone())
    }

    pub fn put(&self, digest: Vec<u8>, entry: Entry) {
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(digest, entry);
    }

    pub fn forget_user(&self, user_id: &str) {
        self.retain(|e| e.principal.user_id != user_id);
    }

    pub fn forget_token(&self, token_id: &str) {
        self.retain(|e| e.token_id != token_id);
    }

    pub fn forget_family(&self, family: &str) {
        self.retain(|e| e.family.as_deref() != Some(family));
    }

    fn retain(&self, keep: impl Fn(&Entry) -> bool) {
        self.map
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, e| keep(e));
    }
}
