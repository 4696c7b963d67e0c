//! The realtime fan-out benchmark (ops/bench/realtime.sh): N Server-Sent Event
//! subscribers on one collection of a Hearth or PocketBase server, a writer creating
//! records, and what reached whom when. See ops/bench/README.md.

pub mod board;
pub mod bytes;
pub mod cli;
pub mod events;
pub mod histogram;
pub mod http1;
pub mod modes;
pub mod procstat;
pub mod report;
pub mod round;
pub mod sse;
pub mod subscriber;
pub mod target;
pub mod writer;
