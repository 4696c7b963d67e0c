//! Process metrics read from `/proc/self` at scrape time (Linux; elsewhere only the
//! uptime is reported). Reading a few small procfs files costs microseconds.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Linux reports CPU times in /proc in USER_HZ, which is 100 on every architecture
/// Hearth is built for (x86_64, aarch64); the kernel converts from its internal HZ.
const USER_HZ: f64 = 100.0;

#[derive(Debug)]
pub struct ProcessCollector {
    started: Instant,
    /// Seconds since the epoch when the process started.
    start_time: f64,
}

impl ProcessCollector {
    pub fn new() -> ProcessCollector {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or_default();
        ProcessCollector {
            started: Instant::now(),
            start_time: process_start_time().unwrap_or(now),
        }
    }
}

/// What `/proc/self` says right now; `None` fields could not be read.
#[derive(Debug, Default, PartialEq)]
pub struct ProcessSample {
    pub cpu_seconds: Option<f64>,
    pub resident_bytes: Option<u64>,
    pub virtual_bytes: Option<u64>,
    pub open_fds: Option<u64>,
    pub max_fds: Option<u64>,
}

pub fn sample() -> ProcessSample {
    let stat = std::fs::read_to_string("/proc/self/stat").ok();
    let status = std::fs::read_to_string("/proc/self/status").ok();
    let limits = std::fs::read_to_string("/proc/self/limits").ok();
    ProcessSample {
        cpu_seconds: stat.as_deref().and_then(cpu_seconds),
        resident_bytes: status.as_deref().and_then(|s| status_kib(s, "VmRSS:")),
        virtual_bytes: status.as_deref().and_then(|s| status_kib(s, "VmSize:")),
        open_fds: std::fs::read_dir("/proc/self/fd")
            .ok()
            .map(|d| d.count() as u64),
        max_fds: limits.as_deref().and_then(max_open_files),
    }
}

/// The fields of `/proc/<pid>/stat` after the command name (which may itself contain
/// spaces and parentheses, so split after the last `)`): index 0 is field 3 (state).
fn stat_fields(stat: &str) -> Option<Vec<&str>> {
    let rest = &stat[stat.rfind(')')? + 1..];
    Some(rest.split_whitespace().collect())
}

/// utime + stime (fields 14 and 15), in seconds.
fn cpu_seconds(stat: &str) -> Option<f64> {
    let fields = stat_fields(stat)?;
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / USER_HZ)
}

/// A `Name:   1234 kB` line of `/proc/self/status`, in bytes.
fn status_kib(status: &str, key: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(key))?;
    let kib: u64 = line[key.len()..].split_whitespace().next()?.parse().ok()?;
    Some(kib * 1024)
}

/// The soft limit of `Max open files` in `/proc/self/limits`.
fn max_open_files(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Boot time (`btime` in /proc/stat) plus the process's start (field 22, in ticks).
fn process_start_time() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let ticks: f64 = stat_fields(&stat)?.get(19)?.parse().ok()?;
    let system = std::fs::read_to_string("/proc/stat").ok()?;
    let btime: f64 = system
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    Some(btime + ticks / USER_HZ)
}

fn gauge<N>(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: N) -> std::fmt::Result
where
    ConstGauge<N>: EncodeMetric,
{
    let metric = ConstGauge::new(value);
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let s = sample();
        if let Some(cpu) = s.cpu_seconds {
            let metric = ConstCounter::new(cpu);
            metric.encode(encoder.encode_descriptor(
                "process_cpu_seconds",
                "User and system CPU time spent, in seconds.",
                None,
                metric.metric_type(),
            )?)?;
        }
        if let Some(v) = s.resident_bytes {
            gauge(
                &mut encoder,
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                v as i64,
            )?;
        }
        if let Some(v) = s.virtual_bytes {
            gauge(
                &mut encoder,
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes.",
                v as i64,
            )?;
        }
        if let Some(v) = s.open_fds {
            gauge(
                &mut encoder,
                "process_open_fds",
                "Open file descriptors.",
                v as i64,
            )?;
        }
        if let Some(v) = s.max_fds {
            gauge(
                &mut encoder,
                "process_max_fds",
                "Limit on open file descriptors.",
                v as i64,
            )?;
        }
        gauge(
            &mut encoder,
            "process_start_time_seconds",
            "Start time of the process since the Unix epoch, in seconds.",
            self.start_time,
        )?;
        gauge(
            &mut encoder,
            "hearth_uptime_seconds",
            "Seconds since the server started.",
            self.started.elapsed().as_secs_f64(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn procfs_lines_are_parsed() {
        let stat = "1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 777 100000 2000";
        assert_eq!(cpu_seconds(stat), Some(3.0));
        assert_eq!(stat_fields(stat).unwrap()[19], "777");
        let status = "Name:\thearth\nVmSize:\t  2048 kB\nVmRSS:\t    512 kB\n";
        assert_eq!(status_kib(status, "VmRSS:"), Some(512 * 1024));
        assert_eq!(status_kib(status, "VmSize:"), Some(2048 * 1024));
        assert_eq!(status_kib(status, "VmSwap:"), None);
        let limits = "Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 1048576              files\n";
        assert_eq!(max_open_files(limits), Some(1024));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_can_be_sampled() {
        let s = sample();
        assert!(s.resident_bytes.unwrap() > 0);
        assert!(s.open_fds.unwrap() > 0);
        assert!(s.cpu_seconds.is_some());
        assert!(process_start_time().unwrap() > 1.6e9);
    }
}
