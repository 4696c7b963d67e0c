//! State shared by the writer and the subscribers of one round: the send and
//! acknowledgement time of every create (indexed by the create's number), and the
//! counters the round's control loop watches.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Times are nanoseconds since the round's start, plus one, so that 0 means "not yet".
pub struct Board {
    start: Instant,
    send_ns: Box<[AtomicU64]>,
    ack_ns: Box<[AtomicU64]>,
    /// The next create number to hand out.
    next: AtomicU64,
    /// Creates numbered below this are probes (sent until every subscriber saw one), not
    /// part of the measurement; `u64::MAX` until the probe phase ends.
    first_measured: AtomicU64,
    pub acked: AtomicU64,
    pub failed: AtomicU64,
    /// Deliveries of measured creates, summed over subscribers.
    pub delivered: AtomicU64,
    /// Subscribers that have seen at least one probe.
    pub probed: AtomicU64,
    /// Streams open and subscribed, not yet ended.
    pub live_streams: AtomicU64,
    /// Streams that ended before the round stopped them.
    pub lost_streams: AtomicU64,
    /// Streams that could not be opened or subscribed, and the first reason.
    pub failed_streams: AtomicU64,
    first_error: Mutex<Option<String>>,
    /// Set when an open-loop writer gave up because the subscribers fell too far behind.
    pub backlog_tripped: AtomicBool,
}

impl Board {
    pub fn new(capacity: usize) -> Self {
        let table = || {
            (0..capacity)
                .map(|_| AtomicU64::new(0))
                .collect::<Vec<_>>()
                .into_boxed_slice()
        };
        Self {
            start: Instant::now(),
            send_ns: table(),
            ack_ns: table(),
            next: AtomicU64::new(0),
            first_measured: AtomicU64::new(u64::MAX),
            acked: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            probed: AtomicU64::new(0),
            live_streams: AtomicU64::new(0),
            lost_streams: AtomicU64::new(0),
            failed_streams: AtomicU64::new(0),
            first_error: Mutex::new(None),
            backlog_tripped: AtomicBool::new(false),
        }
    }

    pub fn capacity(&self) -> u64 {
        self.send_ns.len() as u64
    }

    /// Now, as stored in the tables (never 0).
    pub fn now(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64 + 1
    }

    pub fn instant_of(&self, stamp: u64) -> Instant {
        self.start + Duration::from_nanos(stamp.saturating_sub(1))
    }

    /// The next create number, or None once the tables are full.
    pub fn take_number(&self) -> Option<u64> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        (n < self.capacity()).then_some(n)
    }

    /// Numbers handed out so far (capped at the capacity).
    pub fn numbers_taken(&self) -> u64 {
        self.next.load(Ordering::Relaxed).min(self.capacity())
    }

    /// Ends the probe phase: creates numbered from here on are measured.
    pub fn start_measuring(&self) -> u64 {
        let first = self.numbers_taken();
        self.next.store(first, Ordering::Relaxed);
        self.first_measured.store(first, Ordering::Release);
        first
    }

    pub fn first_measured(&self) -> u64 {
        self.first_measured.load(Ordering::Acquire)
    }

    pub fn is_measured(&self, n: u64) -> bool {
        n >= self.first_measured() && n < self.capacity()
    }

    pub fn mark_sent(&self, n: u64) {
        self.send_ns[n as usize].store(self.now(), Ordering::Release);
    }

    pub fn mark_acked(&self, n: u64) {
        self.ack_ns[n as usize].store(self.now(), Ordering::Release);
        self.acked.fetch_add(1, Ordering::Relaxed);
    }

    /// (send, ack) stamps of create `n`; 0 where not known yet.
    pub fn stamps(&self, n: u64) -> (u64, u64) {
        match (self.send_ns.get(n as usize), self.ack_ns.get(n as usize)) {
            (Some(s), Some(a)) => (s.load(Ordering::Acquire), a.load(Ordering::Acquire)),
            _ => (0, 0),
        }
    }

    /// Keeps the first of the errors reported (one reason is enough to act on; the
    /// counters say how many).
    pub fn note_error(&self, error: String) {
        if let Ok(mut first) = self.first_error.lock() {
            first.get_or_insert(error);
        }
    }

    pub fn first_error(&self) -> Option<String> {
        self.first_error.lock().ok().and_then(|e| e.clone())
    }

    /// Measured creates acknowledged so far.
    pub fn measured_acked(&self) -> u64 {
        let taken = self.numbers_taken() as usize;
        let first = (self.first_measured() as usize).min(taken);
        self.ack_ns[first..taken]
            .iter()
            .filter(|a| a.load(Ordering::Relaxed) != 0)
            .count() as u64
    }

    /// Deliveries still owed: every measured create sent, to every live stream, minus
    /// what arrived. Creates in flight count (the server may broadcast before it answers).
    pub fn backlog(&self) -> u64 {
        let sent = self.numbers_taken().saturating_sub(self.first_measured());
        let owed = sent.saturating_mul(self.live_streams.load(Ordering::Relaxed));
        owed.saturating_sub(self.delivered.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_stamps_and_backlog() {
        let board = Board::new(4);
        assert_eq!(board.take_number(), Some(0)); // a probe
        board.mark_sent(0);
        board.mark_acked(0);
        board.live_streams.store(3, Ordering::Relaxed);
        assert!(!board.is_measured(0));
        assert_eq!((board.backlog(), board.measured_acked()), (0, 0));
        assert_eq!(board.start_measuring(), 1);
        assert!(!board.is_measured(0));
        assert_eq!(board.take_number(), Some(1));
        board.mark_sent(1);
        let (sent, acked) = board.stamps(1);
        assert!(sent > 0 && acked == 0);
        assert_eq!(board.backlog(), 3);
        board.delivered.store(2, Ordering::Relaxed);
        assert_eq!(board.backlog(), 1);
        board.mark_acked(1);
        assert_eq!(board.measured_acked(), 1);
        assert_eq!(board.take_number(), Some(2));
        assert_eq!(board.take_number(), Some(3));
        assert_eq!(board.take_number(), None);
        assert_eq!(board.numbers_taken(), 4);
        assert_eq!(board.stamps(99), (0, 0));
    }
}
