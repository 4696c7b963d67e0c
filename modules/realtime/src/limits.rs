//! Caps on open streams: per user (anonymous callers: per client network) and in total.
//! A [`Slot`] holds one place and gives it back when the stream ends, however it ends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// This caller already has its maximum of streams open (429).
    PerCaller(usize),
    /// The server has its maximum of streams open (503).
    Total(usize),
}

#[derive(Default)]
struct Counts {
    total: usize,
    by_caller: HashMap<String, usize>,
}

#[derive(Clone)]
pub struct Slots {
    counts: Arc<Mutex<Counts>>,
    per_caller: usize,
    total: usize,
}

pub struct Slot {
    counts: Arc<Mutex<Counts>>,
    caller: String,
}

impl Slots {
    pub fn new(per_caller: usize, total: usize) -> Slots {
        Slots {
            counts: Arc::default(),
            per_caller,
            total,
        }
    }

    pub fn acquire(&self, caller: &str) -> Result<Slot, Refused> {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        if counts.total >= self.total {
            return Err(Refused::Total(self.total));
        }
        let mine = counts.by_caller.get(caller).copied().unwrap_or(0);
        if mine >= self.per_caller {
            return Err(Refused::PerCaller(self.per_caller));
        }
        counts.total += 1;
        counts.by_caller.insert(caller.to_owned(), mine + 1);
        Ok(Slot {
            counts: Arc::clone(&self.counts),
            caller: caller.to_owned(),
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        counts.total = counts.total.saturating_sub(1);
        if let Some(n) = counts.by_caller.get_mut(&self.caller) {
            *n -= 1;
            if *n == 0 {
                counts.by_caller.remove(&self.caller);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_per_caller_and_in_total_and_gives_places_back() {
        let slots = Slots::new(2, 3);
        let a1 = slots.acquire("a").unwrap();
        let _a2 = slots.acquire("a").unwrap();
        assert_eq!(slots.acquire("a").err(), Some(Refused::PerCaller(2)));
        let _b1 = slots.acquire("b").unwrap();
        assert_eq!(slots.acquire("c").err(), Some(Refused::Total(3)));
        drop(a1);
        assert!(slots.acquire("a").is_ok());
        assert!(slots.counts.lock().unwrap().by_caller.len() <= 2);
    }
}
