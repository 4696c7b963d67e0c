//! The `hearth` binary's library half: configuration, wiring and the HTTP layer.
//! `main.rs` only parses the command line and calls into here.

mod access_lines;
mod api_dispatch;
pub mod application;
pub mod backup_format;
pub mod backups;
pub mod cli;
pub mod commands;
pub mod config;
mod data_lock;
mod docs;
mod file_tree;
mod file_work;
mod files_metrics;
mod health;
pub mod http;
mod log_output;
pub mod logging;
pub mod metrics_access;
pub mod migrations;
pub mod openapi;
mod restore;
mod routes;
pub mod server;
mod static_files;
mod strict_bodies;
pub mod tls;
mod upload_limits;

pub use application::{Application, StartError};
pub use config::Config;
