//! SQL for the module's tables (`users`, `tokens`, `audit_log`, `settings`). Nothing
//! outside `repo` writes them.

pub mod audit;
pub mod settings;
pub mod tokens;
pub mod users;

pub use tokens::*;
pub use users::*;
