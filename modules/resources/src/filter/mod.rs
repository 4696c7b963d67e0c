//! The record filter language of `GET /api/v1/{collection}?filter=...` (API.md 2.3).
//!
//! ```text
//! views >= 10 && (status = 'published' || title ~ 'rust') && !(owner is null)
//! ```
//!
//! [`compile`] parses a filter, checks it against the collection's fields and returns a
//! parenthesised SQL condition over double-quoted column names, with every value as a
//! bound parameter. User text never reaches the SQL: column names must match
//! `^[a-z_][a-z0-9_]*$` and be known to the schema, and all other SQL is fixed text.
//!
//! * `lexer` splits the input into tokens (byte positions);
//! * `parser` builds an [`Expr`] (grammar in its docs), enforcing the size and depth limits;
//! * `compile` checks fields and operators against a [`FieldLookup`] and writes the SQL;
//! * `literal` type-checks each value and turns it into a bound parameter;
//! * `eval` ([`CompiledPredicate`]) tests one record in memory with the SQL's semantics
//!   (realtime streams), on SQLite's rules as `sqlite_ops` reproduces them.

mod ast;
mod compile;
mod error;
mod eval;
mod lexer;
mod literal;
mod parser;
mod sqlite_ops;

#[cfg(test)]
mod tests;

pub use ast::{CmpOp, Expr, Field, LitValue, Literal};
pub use error::FilterError;
pub use eval::CompiledPredicate;
pub use parser::parse;

/// How the compiler must treat a field's column. The caller maps its schema to this.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// text, email, url, enum, relation (ids) and the system `id`/`owner` columns: TEXT
    Text,
    /// INTEGER
    Integer,
    /// REAL
    Number,
    /// INTEGER 0/1; literals `true`/`false` only
    Boolean,
    /// TEXT holding `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC, fixed width). Literals are RFC 3339
    /// strings, normalised to that form before binding, so
    /// `'2026-01-01T00:00:00+02:00'` compares correctly.
    Datetime,
    /// TEXT `YYYY-MM-DD`; literals must be valid dates in that form.
    Date,
    /// TEXT holding JSON; only `is null` / `is not null` (and `= null` / `!= null`).
    Json,
}

/// The collection's fields, as the compiler sees them.
pub trait FieldLookup {
    /// `Some(kind)` if `name` is a field of the collection (including the system fields
    /// id, created_at, updated_at, version, owner), else None.
    fn kind(&self, name: &str) -> Option<FieldKind>;
}

/// Any `Fn(&str) -> Option<FieldKind>` is a lookup, e.g. `&|name: &str| map.get(name).copied()`.
impl<F: Fn(&str) -> Option<FieldKind>> FieldLookup for F {
    fn kind(&self, name: &str) -> Option<FieldKind> {
        self(name)
    }
}

/// A filter ready to be ANDed into a WHERE clause: `sql` is fully parenthesised and has
/// exactly one `?` per entry of `params`, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledFilter {
    pub sql: String,
    pub params: Vec<rusqlite::types::Value>,
}

/// Longer filters are refused, with the error at this byte position.
pub const MAX_FILTER_BYTES: usize = 4096;
/// How deeply parentheses and `!` may nest (each counts one level).
pub const MAX_DEPTH: usize = 32;
/// How many conditions (`field op value`, `in`, `is null`) one filter may hold.
pub const MAX_CONDITIONS: usize = 64;
/// How many of them may be `~`/`!~`: each is a substring scan of every row it meets,
/// the costliest thing a filter can ask for.
pub const MAX_CONTAINS: usize = 8;
/// How many values an `in (...)` list may hold.
pub const MAX_IN_VALUES: usize = 100;

/// Parses and compiles in one go. The SQL references columns as double-quoted identifiers
/// ("views"); field names must match `^[a-z_][a-z0-9_]*$` AND be known to `fields`, so
/// quoting is safe.
pub fn compile(input: &str, fields: &dyn FieldLookup) -> Result<CompiledFilter, FilterError> {
    let expr = parse(input)?;
    compile::compile_expr(&expr, fields)
}
