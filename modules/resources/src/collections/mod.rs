//! Managing collections (admins only): create, read, change (a migration), delete.

pub mod migrate;
pub mod service;
mod transaction;
pub mod warnings;
