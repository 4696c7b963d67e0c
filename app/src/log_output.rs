//! Where log lines go: one shared in-memory buffer that a thread of its own writes to
//! stderr every few milliseconds, in one system call per batch.
//!
//! Why not a channel of lines (tracing-appender's non-blocking writer, used before):
//! each line was a fresh allocation, and each send to the parked log thread woke it with
//! a futex call and a context switch. At tens of thousands of requests a second on two
//! cores that cost about a fifth of the throughput. Here a line is copied into a reused
//! buffer under a lock held for the copy only, and the log thread wakes on a timer (or
//! once when a batch grows large), never per line.
//!
//! A request never waits for the output: when the buffer holds [`PENDING_LIMIT`] bytes
//! that the terminal, pipe or journal has not taken yet, further lines are dropped and
//! counted, and the count is logged at shutdown.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Bytes waiting for the log thread before new lines are dropped.
const PENDING_LIMIT: usize = 8 * 1024 * 1024;
/// A batch this large wakes the log thread at once instead of at its next tick.
const EARLY_FLUSH: usize = 256 * 1024;
/// How long a line may wait in the buffer: short enough to read a live log.
const TICK: Duration = Duration::from_millis(20);

struct Shared {
    pending: Mutex<Vec<u8>>,
    wake: Condvar,
    stop: AtomicBool,
    dropped: AtomicU64,
}

/// The writing side, handed to the log layers (cheap to clone).
#[derive(Clone)]
pub struct LogOutput {
    shared: Arc<Shared>,
}

/// The log thread; [`LogThread::stop`] writes out what is still buffered.
pub struct LogThread {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl LogOutput {
    /// Starts the log thread writing to `out`.
    pub fn start<W: Write + Send + 'static>(out: W) -> (LogOutput, LogThread) {
        let shared = Arc::new(Shared {
            pending: Mutex::new(Vec::with_capacity(EARLY_FLUSH)),
            wake: Condvar::new(),
            stop: AtomicBool::new(false),
            dropped: AtomicU64::new(0),
        });
        let thread = std::thread::Builder::new()
            .name("hearth-log".into())
            .spawn({
                let shared = shared.clone();
                move || write_batches(&shared, out)
            })
            .expect("the log thread starts");
        (
            LogOutput {
                shared: shared.clone(),
            },
            LogThread {
                shared,
                thread: Some(thread),
            },
        )
    }

    /// Appends one whole line (or drops it when the output is too far behind).
    fn push(&self, line: &[u8]) {
        let mut pending = lock(&self.shared.pending);
        if pending.len() + line.len() > PENDING_LIMIT {
            drop(pending);
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let before = pending.len();
        pending.extend_from_slice(line);
        let crossed = before < EARLY_FLUSH && pending.len() >= EARLY_FLUSH;
        drop(pending);
        if crossed {
            self.shared.wake.notify_one();
        }
    }
}

impl LogThread {
    /// Lines dropped so far because the output could not keep up.
    pub fn dropped_lines(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Writes out everything buffered and stops the thread.
    pub fn stop(mut self) {
        self.finish();
    }

    fn finish(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for LogThread {
    fn drop(&mut self) {
        self.finish();
    }
}

fn lock(pending: &Mutex<Vec<u8>>) -> std::sync::MutexGuard<'_, Vec<u8>> {
    // A panic while holding the lock cannot leave the bytes inconsistent (only whole
    // `extend_from_slice` calls happen under it), so a poisoned lock is still usable.
    pending
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write_batches<W: Write>(shared: &Shared, mut out: W) {
    let mut batch = Vec::with_capacity(EARLY_FLUSH);
    loop {
        let stopping = {
            let mut pending = lock(&shared.pending);
            if pending.len() < EARLY_FLUSH && !shared.stop.load(Ordering::Acquire) {
                pending = shared
                    .wake
                    .wait_timeout(pending, TICK)
                    .map(|(guard, _)| guard)
                    .unwrap_or_else(|poisoned| poisoned.into_inner().0);
            }
            std::mem::swap(&mut *pending, &mut batch);
            shared.stop.load(Ordering::Acquire)
        };
        if !batch.is_empty() {
            // A failing output (a closed pipe) loses these lines; the server goes on.
            let _ = out.write_all(&batch).and_then(|()| out.flush());
            batch.clear();
            if batch.capacity() > 4 * EARLY_FLUSH {
                batch.shrink_to(EARLY_FLUSH);
            }
        }
        if stopping && lock(&shared.pending).is_empty() {
            return;
        }
    }
}

/// One event's writer: the fmt layer formats a whole line and writes it in one call.
pub struct LineWriter<'a>(&'a LogOutput);

impl Write for LineWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.push(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogOutput {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_reaches_the_output_in_order_by_stop() {
        let sink = Sink::default();
        let (output, thread) = LogOutput::start(sink.clone());
        for i in 0..10_000 {
            output.push(format!("line {i}\n").as_bytes());
        }
        thread.stop();
        let written = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = written.lines().collect();
        assert_eq!(lines.len(), 10_000);
        assert!(lines
            .iter()
            .enumerate()
            .all(|(i, l)| *l == format!("line {i}")));
    }

    #[test]
    fn lines_are_written_without_waiting_for_stop() {
        let sink = Sink::default();
        let (output, thread) = LogOutput::start(sink.clone());
        output.push(b"early\n");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while sink.0.lock().unwrap().is_empty() {
            assert!(
                std::time::Instant::now() < deadline,
                "the line was never written"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(&*sink.0.lock().unwrap(), b"early\n");
        drop(thread);
    }

    /// An output that never takes anything: lines beyond the limit are dropped and
    /// counted, and pushing never blocks.
    #[test]
    fn a_stuck_output_drops_whole_lines_and_counts_them() {
        struct Stuck(Arc<(Mutex<bool>, Condvar)>);
        impl Write for Stuck {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                let (released, cv) = &*self.0;
                let mut released = released.lock().unwrap();
                while !*released {
                    released = cv.wait(released).unwrap();
                }
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let (output, thread) = LogOutput::start(Stuck(gate.clone()));
        let line = vec![b'x'; 1024];
        // The first batch may be taken by the (stuck) thread; the rest piles up.
        for _ in 0..(3 * PENDING_LIMIT / 1024) {
            output.push(&line);
        }
        assert!(thread.dropped_lines() >= (PENDING_LIMIT / 1024) as u64);
        assert!(lock(&output.shared.pending).len() <= PENDING_LIMIT);
        *gate.0.lock().unwrap() = true;
        gate.1.notify_all();
        thread.stop();
    }
}
