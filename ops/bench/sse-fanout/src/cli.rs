//! Command line: one subcommand per mode, the rows on stdout (markdown), optionally
//! appended as JSON lines to a file.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::modes::{self, Mode, Settings};
use crate::report;
use crate::target::{parse_base_url, Shape, Target};

#[derive(Parser)]
#[command(
    name = "sse-fanout",
    about = "Realtime fan-out benchmark: N Server-Sent Event subscribers and a writer creating records",
    long_about = "Opens N event-stream subscribers to a Hearth or PocketBase server on loopback and \
a writer that creates records, and prints a markdown table row: creates/s, deliveries/s, \
commit-to-delivery latency (receive time minus the time the writer read the create's answer), \
events missing and duplicated, and the server's CPU and memory (--server-pid)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// (a) N streams, creates at --rate per second (open loop): latency, deliveries, losses.
    Fanout(Options),
    /// (b) N streams, creates as fast as the streams keep up: deliveries per second.
    Saturation(Options),
    /// (c) N idle streams: the server's memory per stream.
    Idle(Options),
    /// (d) Creates as fast as possible with no stream, then with N (b): the ratio.
    Throughput(Options),
    /// Print the markdown table header the rows belong under.
    Header,
}

#[derive(Args, Clone)]
struct Options {
    /// The server's base URL (loopback only).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    #[arg(long, value_enum, default_value = "hearth")]
    shape: Shape,
    #[arg(long, default_value = "posts")]
    collection: String,
    /// Default: /api/v1/{collection}/events (hearth), /api/realtime (pocketbase).
    #[arg(long)]
    stream_path: Option<String>,
    /// Default: /api/v1/{collection} (hearth), /api/collections/{collection}/records (pocketbase).
    #[arg(long)]
    create_path: Option<String>,
    /// Integer field of the collection that carries each create's number.
    #[arg(long, default_value = "views")]
    seq_field: String,
    /// Subscriber streams to open.
    #[arg(long, short = 'n', default_value_t = 1000)]
    subscribers: usize,
    /// Creates per second offered in fan-out mode.
    #[arg(long, default_value_t = 1000.0)]
    rate: f64,
    /// Seconds of writing per round.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Writer keep-alive connections (one request in flight on each).
    #[arg(long, default_value_t = 8)]
    writers: usize,
    /// The server's pid, for its CPU time and RSS from /proc.
    #[arg(long)]
    server_pid: Option<u32>,
    /// The row's first cell (default: the shape).
    #[arg(long)]
    label: Option<String>,
    /// Append each row as a JSON line to this file.
    #[arg(long)]
    json_out: Option<PathBuf>,
    /// Fan-out: stop writing once this many deliveries are owed (a server that queues
    /// without bound would otherwise take the machine's memory).
    #[arg(long, default_value_t = 250_000)]
    max_backlog: u64,
    /// Saturation: deliveries owed per stream at most before the writer pauses.
    #[arg(long, default_value_t = 100)]
    saturation_window: u64,
    /// Saturation and throughput: creates per round at most.
    #[arg(long, default_value_t = 2_000_000)]
    max_creates: usize,
    /// Streams connecting at the same time.
    #[arg(long, default_value_t = 64)]
    connect_parallel: usize,
    /// Seconds to wait for the streams to open, and again for them all to see a probe.
    #[arg(long, default_value_t = 60.0)]
    setup_timeout: f64,
    /// Idle mode: seconds to hold the streams open before reading the server's RSS.
    #[arg(long, default_value_t = 5.0)]
    idle_secs: f64,
    /// End the drain after this many seconds without a delivery.
    #[arg(long, default_value_t = 5.0)]
    drain_idle: f64,
    /// End the drain after this many seconds whatever still comes.
    #[arg(long, default_value_t = 60.0)]
    drain_max: f64,
    /// Tokio worker threads (default: one per CPU).
    #[arg(long)]
    threads: Option<usize>,
    /// Exit with status 3 when any event is missing or duplicated or a stream failed.
    #[arg(long)]
    strict: bool,
}

fn seconds(name: &str, value: f64, max: f64) -> Result<Duration, String> {
    if !(value.is_finite() && value > 0.0 && value <= max) {
        return Err(format!(
            "--{name} must be above 0 and at most {max} seconds"
        ));
    }
    Ok(Duration::from_secs_f64(value))
}

fn settings(o: &Options) -> Result<(Target, Settings), String> {
    if o.subscribers > 100_000 {
        return Err("--subscribers is at most 100000".to_string());
    }
    if !(o.rate.is_finite() && o.rate > 0.0 && o.rate <= 1e6) {
        return Err("--rate must be above 0 and at most 1000000".to_string());
    }
    if !(1..=256).contains(&o.writers) || !(1..=10_000).contains(&o.connect_parallel) {
        return Err("--writers is 1..=256 and --connect-parallel 1..=10000".to_string());
    }
    if o.max_creates == 0 || o.max_creates > 50_000_000 {
        return Err("--max-creates is 1..=50000000".to_string());
    }
    let (addr, host) = parse_base_url(&o.url)?;
    let target = Target {
        shape: o.shape,
        addr,
        host,
        stream_path: o
            .stream_path
            .clone()
            .unwrap_or_else(|| o.shape.default_stream_path(&o.collection)),
        create_path: o
            .create_path
            .clone()
            .unwrap_or_else(|| o.shape.default_create_path(&o.collection)),
        topic: o.collection.clone(),
        seq_field: o.seq_field.clone(),
    };
    let settings = Settings {
        label: o
            .label
            .clone()
            .unwrap_or_else(|| o.shape.label().to_string()),
        subscribers: o.subscribers,
        rate: o.rate,
        duration: seconds("duration", o.duration, 3600.0)?,
        writers: o.writers,
        max_backlog: o.max_backlog,
        saturation_window: o.saturation_window.max(1),
        max_creates: o.max_creates,
        connect_parallel: o.connect_parallel,
        setup_timeout: seconds("setup-timeout", o.setup_timeout, 3600.0)?,
        idle_hold: seconds("idle-secs", o.idle_secs, 3600.0)?,
        drain_idle: seconds("drain-idle", o.drain_idle, 3600.0)?,
        drain_max: seconds("drain-max", o.drain_max, 3600.0)?,
        server_pid: o.server_pid,
    };
    Ok((target, settings))
}

/// A thousand streams need a thousand descriptors: the soft limit goes up to the hard one.
fn raise_open_files_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read or write the struct passed by pointer.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

fn append_json(path: &PathBuf, rows: &[report::Row]) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    for row in rows {
        writeln!(file, "{}", row.json)?;
    }
    Ok(())
}

fn clean(rows: &[report::Row]) -> bool {
    rows.iter().all(|r| {
        let zero = |key: &str| r.json[key].as_u64().unwrap_or(0) == 0;
        zero("missing") && zero("duplicates") && zero("streams_failed") && zero("streams_lost")
    })
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let (mode, options) = match cli.command {
        Command::Header => {
            println!("{}", report::HEADER);
            return ExitCode::SUCCESS;
        }
        Command::Fanout(o) => (Mode::Fanout, o),
        Command::Saturation(o) => (Mode::Saturation, o),
        Command::Idle(o) => (Mode::Idle, o),
        Command::Throughput(o) => (Mode::Throughput, o),
    };
    let (target, settings) = match settings(&options) {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("sse-fanout: {e}");
            return ExitCode::from(2);
        }
    };
    raise_open_files_limit();
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = options.threads {
        runtime.worker_threads(threads.clamp(1, 64));
    }
    let runtime = match runtime.enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("sse-fanout: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let rows = match runtime.block_on(modes::run(Arc::new(target), mode, &settings)) {
        Ok(rows) => rows,
        Err(e) => {
            eprintln!("sse-fanout: {} {mode:?}: {e}", settings.label);
            return ExitCode::FAILURE;
        }
    };
    for row in &rows {
        println!("{}", row.markdown);
    }
    if let Some(path) = &options.json_out {
        if let Err(e) = append_json(path, &rows) {
            eprintln!("sse-fanout: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    if options.strict && !clean(&rows) {
        return ExitCode::from(3);
    }
    ExitCode::SUCCESS
}
