//! Log output: human-readable lines or JSON lines on stderr (stdout stays clean for
//! commands such as `hearth openapi`). Panics are logged as events, not raw stderr.

use crate::config::{Config, LogFormat};
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

pub fn init(config: &Config) {
    // HEARTH_LOG (via the config) wins; RUST_LOG is honoured when HEARTH_LOG is left at its default.
    let filter = match std::env::var("RUST_LOG") {
        Ok(rust_log) if config.log == "info" && std::env::var_os("HEARTH_LOG").is_none() => {
            EnvFilter::try_new(rust_log).unwrap_or_else(|_| EnvFilter::new("info"))
        }
        _ => EnvFilter::try_new(&config.log).unwrap_or_else(|_| EnvFilter::new("info")),
    };
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    let result = match config.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    if result.is_ok() {
        std::panic::set_hook(Box::new(|info| {
            let location = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()))
                .unwrap_or_default();
            let message = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(%location, panic = %message, "panic");
        }));
    }
}
