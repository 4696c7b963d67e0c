//! A cap on the list requests one caller may have running at once. Lists are the only
//! requests whose cost the caller chooses (filter, sort, `count=true`); without a cap, a
//! handful of concurrent costly lists from one client occupy every reader thread and
//! every other client's reads queue behind them.

use kernel::{Principal, Problem, ProblemCode};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

/// Concurrent list requests allowed per caller by default (`max_concurrent_lists`):
/// enough for a page that loads a few listings side by side, far fewer than it takes to
/// crowd out everyone else.
pub const MAX_CONCURRENT_LISTS: usize = 4;

/// Who a list request counts against: the user, else the client address (IPv6 by its
/// /64, which one host usually owns whole, as the rate limiter does).
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub enum ListCaller {
    User(String),
    Address(IpAddr),
    Unknown,
}

impl ListCaller {
    pub fn of(caller: Option<&Principal>, ip: Option<IpAddr>) -> ListCaller {
        match (caller, ip) {
            (Some(p), _) => ListCaller::User(p.user_id.clone()),
            (None, Some(ip)) => ListCaller::Address(kernel::caller::client_network(ip)),
            (None, None) => ListCaller::Unknown,
        }
    }
}

#[derive(Clone)]
pub struct ListGate {
    running: Arc<Mutex<HashMap<ListCaller, usize>>>,
    /// 0: no cap.
    max: usize,
}

impl Default for ListGate {
    fn default() -> Self {
        ListGate::new(MAX_CONCURRENT_LISTS)
    }
}

/// One running list; dropping it (the response is ready, or the request was dropped)
/// frees the place.
pub struct ListPass {
    gate: ListGate,
    caller: ListCaller,
}

impl ListGate {
    /// At most `max` concurrent lists per caller; 0 for no cap.
    pub fn new(max: usize) -> ListGate {
        ListGate {
            running: Arc::default(),
            max,
        }
    }

    /// A place for one more list of `caller`, or 429 `rate_limited` when it has the
    /// maximum running. Admins are not capped, nor anyone when the cap is 0.
    pub fn enter(&self, caller: ListCaller, admin: bool) -> Result<Option<ListPass>, Problem> {
        if admin || self.max == 0 {
            return Ok(None);
        }
        let max = self.max;
        let mut running = self.lock();
        let count = running.entry(caller.clone()).or_insert(0);
        if *count >= max {
            return Err(Problem::new(ProblemCode::RateLimited)
                .with_detail(format!(
                    "{max} list requests of yours are still running; wait for one to finish"
                ))
                .with_retry_after(1));
        }
        *count += 1;
        Ok(Some(ListPass {
            gate: self.clone(),
            caller,
        }))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ListCaller, usize>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.lock().len()
    }
}

impl Drop for ListPass {
    fn drop(&mut self) {
        let mut running = self.gate.lock();
        if let Some(count) = running.get_mut(&self.caller) {
            *count -= 1;
            if *count == 0 {
                // Callers that have nothing running take no memory.
                running.remove(&self.caller);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_gets_four_places_and_others_are_unaffected() {
        let gate = ListGate::default();
        let me = ListCaller::Address("192.0.2.1".parse().unwrap());
        let passes: Vec<_> = (0..MAX_CONCURRENT_LISTS)
            .map(|_| gate.enter(me.clone(), false).unwrap())
            .collect();
        let refused = gate.enter(me.clone(), false).err().unwrap();
        assert_eq!(refused.code, ProblemCode::RateLimited);
        assert_eq!(refused.retry_after, Some(1));
        let other = ListCaller::User("u2".into());
        assert!(gate.enter(other, false).unwrap().is_some());
        assert!(
            gate.enter(me.clone(), true).unwrap().is_none(),
            "admins pass"
        );
        drop(passes);
        assert_eq!(gate.tracked(), 0, "finished callers are forgotten");
        assert!(gate.enter(me.clone(), false).is_ok());
        let uncapped = ListGate::new(0);
        let many: Vec<_> = (0..100)
            .map(|_| uncapped.enter(me.clone(), false).unwrap())
            .collect();
        assert!(many.iter().all(Option::is_none));
    }
}
