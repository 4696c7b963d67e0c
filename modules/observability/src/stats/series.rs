//! The dashboard's time series: one bucket per minute for the last 24 hours in a ring,
//! each holding the totals and a fixed number of per-route cells. Memory is allocated
//! once (about 2.7 MiB) and never grows: routes beyond [`ROUTE_SLOTS`] share one
//! "other" cell, and a slot whose route has been idle for the whole ring is reused.

use super::histogram::LatencyHistogram;

/// Minutes the ring holds.
pub const MINUTES: usize = 24 * 60;
/// Routes tracked on their own; the rest are counted under [`OTHER`].
pub const ROUTE_SLOTS: usize = 16;
/// The name of the cell that collects routes without a slot of their own.
pub const OTHER: &str = "other";

/// What one minute (or a sum of minutes) holds for one route or for all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cell {
    pub requests: u32,
    pub errors_4xx: u32,
    pub errors_5xx: u32,
    pub latency: LatencyHistogram,
}

impl Cell {
    fn record(&mut self, status: u16, latency_ms: f64) {
        self.requests = self.requests.saturating_add(1);
        match status {
            400..=499 => self.errors_4xx = self.errors_4xx.saturating_add(1),
            500..=599 => self.errors_5xx = self.errors_5xx.saturating_add(1),
            _ => {}
        }
        self.latency.record(latency_ms);
    }

    pub fn merge(&mut self, other: &Cell) {
        self.requests = self.requests.saturating_add(other.requests);
        self.errors_4xx = self.errors_4xx.saturating_add(other.errors_4xx);
        self.errors_5xx = self.errors_5xx.saturating_add(other.errors_5xx);
        self.latency.merge(&other.latency);
    }
}

#[derive(Clone, Copy)]
struct Minute {
    /// Minutes since the Unix epoch this bucket holds; a bucket whose stamp is not the
    /// minute asked for is stale (left from a previous turn of the ring) and reads as
    /// empty.
    stamp: u64,
    total: Cell,
    /// One cell per slot, then the "other" cell.
    routes: [Cell; ROUTE_SLOTS + 1],
}

const EMPTY: Minute = Minute {
    stamp: u64::MAX,
    total: Cell {
        requests: 0,
        errors_4xx: 0,
        errors_5xx: 0,
        latency: LatencyHistogram::EMPTY,
    },
    routes: [Cell {
        requests: 0,
        errors_4xx: 0,
        errors_5xx: 0,
        latency: LatencyHistogram::EMPTY,
    }; ROUTE_SLOTS + 1],
};

#[derive(Clone, Debug, Default)]
struct Slot {
    route: String,
    last_minute: u64,
}

/// A window read from the ring: per-minute cells, oldest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    /// The first minute (since the epoch) of the window.
    pub start_minute: u64,
    pub total: Vec<Cell>,
    /// Routes with at least one request in the window, busiest first; [`OTHER`] last.
    pub routes: Vec<(String, Vec<Cell>)>,
}

pub struct Series {
    ring: Box<[Minute]>,
    slots: Vec<Slot>,
}

impl Default for Series {
    fn default() -> Self {
        Series {
            ring: vec![EMPTY; MINUTES].into_boxed_slice(),
            slots: Vec::with_capacity(ROUTE_SLOTS),
        }
    }
}

impl Series {
    /// Counts one request finished in `minute` (minutes since the Unix epoch).
    pub fn record(&mut self, minute: u64, route: &str, status: u16, latency_ms: f64) {
        let slot = self.slot_for(minute, route);
        let bucket = &mut self.ring[(minute % MINUTES as u64) as usize];
        if bucket.stamp != minute {
            if bucket.stamp != u64::MAX && bucket.stamp > minute {
                // The clock went back: keep the newer minute's data, drop this request.
                return;
            }
            *bucket = EMPTY;
            bucket.stamp = minute;
        }
        bucket.total.record(status, latency_ms);
        bucket.routes[slot].record(status, latency_ms);
    }

    /// The slot of `route`, claiming a free or long-idle one if it has none; the
    /// "other" cell (index `ROUTE_SLOTS`) when every slot is taken.
    fn slot_for(&mut self, minute: u64, route: &str) -> usize {
        if let Some(i) = self.slots.iter().position(|s| s.route == route) {
            let slot = &mut self.slots[i];
            slot.last_minute = slot.last_minute.max(minute);
            return i;
        }
        if self.slots.len() < ROUTE_SLOTS {
            self.slots.push(Slot {
                route: route.to_owned(),
                last_minute: minute,
            });
            return self.slots.len() - 1;
        }
        // A slot idle for a whole turn of the ring has no data left in any bucket the
        // ring still answers for, so it can change hands without clearing.
        let idle = self
            .slots
            .iter()
            .position(|s| s.last_minute + (MINUTES as u64) <= minute);
        match idle {
            Some(i) => {
                self.slots[i] = Slot {
                    route: route.to_owned(),
                    last_minute: minute,
                };
                i
            }
            None => ROUTE_SLOTS,
        }
    }

    /// The `minutes` minutes ending with `now_minute` (at most [`MINUTES`]).
    pub fn window(&self, now_minute: u64, minutes: usize) -> Window {
        let minutes = minutes.clamp(1, MINUTES) as u64;
        let start_minute = now_minute.saturating_sub(minutes - 1);
        let buckets: Vec<Option<&Minute>> = (start_minute..=now_minute)
            .map(|m| {
                let bucket = &self.ring[(m % MINUTES as u64) as usize];
                (bucket.stamp == m).then_some(bucket)
            })
            .collect();
        let column = |f: &dyn Fn(&Minute) -> Cell| -> Vec<Cell> {
            buckets
                .iter()
                .map(|b| b.map(f).unwrap_or_default())
                .collect()
        };
        let total = column(&|b| b.total);
        let mut names: Vec<(usize, String)> = self
            .slots
            .iter()
            .enumerate()
            .map(|(i, s)| (i, s.route.clone()))
            .collect();
        names.push((ROUTE_SLOTS, OTHER.to_owned()));
        let mut routes: Vec<(String, Vec<Cell>, u64)> = names
            .into_iter()
            .map(|(i, name)| {
                let cells = column(&|b| b.routes[i]);
                let requests = cells.iter().map(|c| u64::from(c.requests)).sum();
                (name, cells, requests)
            })
            .filter(|(_, _, requests)| *requests > 0)
            .collect();
        // Busiest first; "other" always last.
        routes.sort_by(|a, b| {
            (a.0 == OTHER)
                .cmp(&(b.0 == OTHER))
                .then(b.2.cmp(&a.2))
                .then(a.0.cmp(&b.0))
        });
        Window {
            start_minute,
            total,
            routes: routes.into_iter().map(|(n, c, _)| (n, c)).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 29_000_000; // a minute in 2025

    #[test]
    fn requests_land_in_their_minute_and_the_window_is_oldest_first() {
        let mut s = Series::default();
        s.record(T0, "/a", 200, 1.0);
        s.record(T0, "/a", 404, 1.0);
        s.record(T0 + 2, "/b", 503, 100.0);
        let w = s.window(T0 + 2, 3);
        assert_eq!(w.start_minute, T0);
        let requests: Vec<u32> = w.total.iter().map(|c| c.requests).collect();
        assert_eq!(requests, [2, 0, 1]);
        assert_eq!(w.total[0].errors_4xx, 1);
        assert_eq!(w.total[2].errors_5xx, 1);
        assert_eq!(w.routes.len(), 2);
        assert_eq!(w.routes[0].0, "/a", "busiest first");
        assert_eq!(w.routes[0].1[0].requests, 2);
        assert_eq!(w.routes[1].1[2].latency.count(), 1);
    }

    #[test]
    fn the_ring_forgets_what_is_older_than_a_day() {
        let mut s = Series::default();
        s.record(T0, "/a", 200, 1.0);
        // The same ring position, one turn later.
        let later = T0 + MINUTES as u64;
        s.record(later, "/a", 200, 1.0);
        s.record(later, "/a", 200, 1.0);
        let w = s.window(later, MINUTES);
        let total: u32 = w.total.iter().map(|c| c.requests).sum();
        assert_eq!(total, 2, "the old minute was overwritten, not added to");
        // A window that reaches back to T0 does not see the overwritten bucket either.
        assert_eq!(s.window(T0, 1).total[0].requests, 0);
        // Nothing at all a day after the last request.
        let empty = s.window(later + MINUTES as u64, 60);
        assert!(empty.total.iter().all(|c| c.requests == 0));
        assert!(empty.routes.is_empty());
    }

    #[test]
    fn a_late_request_for_an_overwritten_minute_is_dropped() {
        let mut s = Series::default();
        let later = T0 + MINUTES as u64;
        s.record(later, "/a", 200, 1.0);
        s.record(T0, "/a", 200, 1.0);
        assert_eq!(s.window(later, 1).total[0].requests, 1);
    }

    #[test]
    fn routes_beyond_the_slots_share_other_and_idle_slots_are_reused() {
        let mut s = Series::default();
        for i in 0..ROUTE_SLOTS + 3 {
            s.record(T0, &format!("/r{i}"), 200, 1.0);
        }
        let w = s.window(T0, 1);
        assert_eq!(w.routes.len(), ROUTE_SLOTS + 1);
        let (last, cells) = w.routes.last().unwrap();
        assert_eq!(last, OTHER);
        assert_eq!(cells[0].requests, 3);
        // A day later every slot is idle: a new route gets one of its own.
        let later = T0 + MINUTES as u64;
        s.record(later, "/new", 200, 1.0);
        let w = s.window(later, 1);
        assert_eq!(w.routes.len(), 1);
        assert_eq!(w.routes[0].0, "/new");
    }

    #[test]
    fn memory_is_fixed() {
        let s = Series::default();
        assert_eq!(s.ring.len(), MINUTES);
        let bytes = std::mem::size_of::<Minute>() * MINUTES;
        assert!(bytes < 3 << 20, "{bytes} bytes");
    }
}
