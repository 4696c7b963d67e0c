//! Verified tokens, remembered so most requests skip the database. Revocation must
//! never be outlived by a cached entry:
//! - a revocation in this process removes the entries at once and bumps the
//!   generation, so a lookup that read the database before the revocation committed
//!   cannot put its (now stale) entry back afterwards;
//! - a revocation by another process (`hearth admin create` on a running server) is seen
//!   through [`Revocations`]: every lookup checks the shared file first and starts over
//!   when it changed.
//!
//! Entries also expire after `TTL`, a backstop for changes made to the database by other
//! means.

use crate::revocations::{Revocations, Stamp};
use kernel::Principal;
use std::collections::HashMap;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

const TTL: Duration = Duration::from_secs(30);
/// Past this many entries the cache starts over rather than grow without bound.
const MAX_ENTRIES: usize = 100_000;

#[derive(Clone, Debug)]
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

/// Handed out by a lookup that missed; a later `put` is accepted only if no revocation
/// happened in between.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Generation(u64);

struct State {
    map: HashMap<Vec<u8>, Entry>,
    generation: u64,
}

pub struct TokenCache {
    state: RwLock<State>,
    /// The shared file's version this cache's entries are known to be consistent with.
    seen: Mutex<Option<Stamp>>,
    revocations: Option<Revocations>,
}

impl Default for TokenCache {
    fn default() -> Self {
        TokenCache::new(None)
    }
}

impl TokenCache {
    pub fn new(revocations: Option<Revocations>) -> TokenCache {
        let seen = revocations.as_ref().and_then(|r| r.stamp());
        TokenCache {
            state: RwLock::new(State {
                map: HashMap::new(),
                generation: 0,
            }),
            seen: Mutex::new(seen),
            revocations,
        }
    }

    /// The live entry for `digest`, or the generation a `put` after reading the database
    /// must carry.
    pub fn lookup(&self, digest: &[u8], now: &str) -> Result<Entry, Generation> {
        self.follow_other_processes();
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        let generation = Generation(state.generation);
        let Some(entry) = state.map.get(digest) else {
            return Err(generation);
        };
        let fresh =
            entry.cached_at.elapsed() < TTL && entry.expires_at.as_deref().is_none_or(|e| e > now);
        if fresh {
            Ok(entry.clone())
        } else {
            Err(generation)
        }
    }

    /// Remembers a verified token, unless something was revoked since its lookup.
    pub fn put(&self, digest: Vec<u8>, entry: Entry, since: Generation) {
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        if state.generation != since.0 {
            return;
        }
        if state.map.len() >= MAX_ENTRIES {
            state.map.clear();
        }
        state.map.insert(digest, entry);
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

    /// Drops everything (another process revoked something we cannot name).
    pub fn forget_all(&self) {
        self.retain(|_| false);
    }

    /// Signals a revocation to other processes sharing the database, then forgets
    /// `user_id` here.
    pub fn revoke_user_everywhere(&self, user_id: &str) {
        if let Some(r) = &self.revocations {
            r.bump();
        }
        self.forget_user(user_id);
    }

    fn follow_other_processes(&self) {
        let Some(revocations) = &self.revocations else {
            return;
        };
        let current = revocations.stamp();
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if *seen != current {
            // Cleared before `seen` moves on, so no lookup can trust an entry cached
            // before the other process's revocation.
            self.forget_all();
            *seen = current;
        }
    }

    fn retain(&self, keep: impl Fn(&Entry) -> bool) {
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        state.map.retain(|_, e| keep(e));
        state.generation += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kernel::Credential;

    fn entry(user: &str) -> Entry {
        let principal = Principal {
            user_id: user.into(),
            email: format!("{user}@example.org"),
            is_admin: false,
            roles: Default::default(),
            scopes: Default::default(),
            credential: Credential::Session,
        };
        Entry::new(principal, format!("t-{user}"), None, None)
    }

    #[test]
    fn a_put_after_a_revocation_is_dropped() {
        let cache = TokenCache::default();
        let since = cache.lookup(b"a", "now").unwrap_err();
        cache.forget_user("someone else");
        cache.put(b"a".to_vec(), entry("a"), since);
        assert!(cache.lookup(b"a", "now").is_err(), "stale entry cached");
        let since = cache.lookup(b"a", "now").unwrap_err();
        cache.put(b"a".to_vec(), entry("a"), since);
        assert!(cache.lookup(b"a", "now").is_ok());
    }

    #[test]
    fn a_revocation_by_another_process_empties_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("hearth.db");
        let cache = TokenCache::new(Some(Revocations::beside(&db)));
        let since = cache.lookup(b"a", "now").unwrap_err();
        cache.put(b"a".to_vec(), entry("a"), since);
        assert!(cache.lookup(b"a", "now").is_ok());
        // Another process: its own handle on the same file.
        Revocations::beside(&db).bump();
        assert!(cache.lookup(b"a", "now").is_err());
    }
}
