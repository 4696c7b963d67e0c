//! A process's CPU time and memory from /proc (the server's, given by --server-pid, and
//! the tool's own).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcSample {
    /// User + system CPU time, µs.
    pub cpu_us: u64,
    /// Resident set now (`VmRSS`), KB.
    pub rss_kb: u64,
}

fn ticks_per_second() -> u64 {
    // SAFETY: sysconf has no preconditions; it returns -1 for an unknown name.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as u64
    } else {
        100
    }
}

/// utime + stime (fields 14 and 15) from the text of /proc/PID/stat, in clock ticks. The
/// command name (field 2) may contain spaces and parentheses, so fields are counted from
/// the last `)`.
pub fn cpu_ticks_of(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // After the name, field 3 (state) is index 0, so utime (14) is 11 and stime (15) 12.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// A `Name:   123 kB` field of /proc/PID/status, in KB.
pub fn status_kb_of(status: &str, name: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let value = line.strip_prefix(name)?.strip_prefix(':')?;
        value.split_whitespace().next()?.parse().ok()
    })
}

/// None when the process is gone or its /proc files cannot be read.
pub fn sample(pid: u32) -> Option<ProcSample> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let ticks = cpu_ticks_of(&stat)?;
    Some(ProcSample {
        cpu_us: ticks * 1_000_000 / ticks_per_second(),
        rss_kb: status_kb_of(&status, "VmRSS").unwrap_or(0),
    })
}

/// CPU time the whole machine spent busy (user, nice, system, irq, softirq, steal: the
/// `cpu` line of /proc/stat), µs: with the server's and the tool's own, what other
/// processes took during a window.
pub fn machine_busy_us() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    machine_busy_ticks_of(&stat).map(|ticks| ticks * 1_000_000 / ticks_per_second())
}

pub fn machine_busy_ticks_of(stat: &str) -> Option<u64> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map_while(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal: idle (3) and iowait (4) are not busy.
    let busy = [0, 1, 2, 5, 6, 7]
        .iter()
        .map(|&i| fields.get(i).copied())
        .sum::<Option<u64>>()?;
    Some(busy)
}

/// Samples a process's RSS every 100 ms in the background and keeps the highest (the
/// kernel's own high-water mark, VmHWM, cannot be reset for another process without
/// writing to its clear_refs).
pub struct PeakRss {
    peak_kb: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl PeakRss {
    pub fn start(pid: u32) -> Self {
        let peak_kb = Arc::new(AtomicU64::new(sample(pid).map_or(0, |s| s.rss_kb)));
        let stop = Arc::new(AtomicBool::new(false));
        let (peak, stopped) = (peak_kb.clone(), stop.clone());
        let task = tokio::spawn(async move {
            while !stopped.load(Ordering::Relaxed) {
                if let Some(s) = sample(pid) {
                    peak.fetch_max(s.rss_kb, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        Self {
            peak_kb,
            stop,
            task,
        }
    }

    pub async fn finish(self, pid: u32) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.task.await;
        if let Some(s) = sample(pid) {
            self.peak_kb.fetch_max(s.rss_kb, Ordering::Relaxed);
        }
        self.peak_kb.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_a_hostile_name() {
        let stat = "4242 (a) b (c) S 1 2 3 4 5 6 7 8 9 10 250 75 0 0 20 0 1 0 100 200 300";
        assert_eq!(cpu_ticks_of(stat), Some(325));
        assert_eq!(cpu_ticks_of("4242 (broken"), None);
        let status = "Name:\thearth\nVmHWM:\t   52000 kB\nVmRSS:\t   48000 kB\n";
        assert_eq!(status_kb_of(status, "VmRSS"), Some(48_000));
        assert_eq!(status_kb_of(status, "VmSwap"), None);
        let stat = "cpu  100 1 20 5000 7 3 4 2 0 0\ncpu0 50 0 10 2500 3 1 2 1 0 0\n";
        assert_eq!(machine_busy_ticks_of(stat), Some(100 + 1 + 20 + 3 + 4 + 2));
        assert_eq!(machine_busy_ticks_of("cpu  1 2\n"), None);
    }

    #[test]
    fn samples_this_process() {
        let me = sample(std::process::id()).expect("own /proc entry");
        assert!(me.rss_kb > 0);
        assert_eq!(sample(u32::MAX), None);
    }
}
