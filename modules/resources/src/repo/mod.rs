//! SQL for the module's tables. Nothing outside `repo` writes SQL text.

pub mod collections;
pub mod idempotency;
pub mod list;
pub mod records;
pub mod relations;
