//! Records of a collection: validation of bodies, listing, and the write operations.

pub mod body;
pub mod cursor;
pub mod file_names;
pub mod files;
pub mod list;
mod references;
pub mod service;
mod snapshot;
