//! A filter evaluated against one record in memory, with exactly the semantics of the SQL
//! [`super::compile`] writes: a realtime stream filtered by `views > 10 && title ~ 'x'`
//! delivers precisely the records a listing with that filter returns.
//!
//! Each node mirrors one SQL fragment of `compile.rs` (quoted in its docs) and is
//! evaluated in SQL's three-valued logic (`None` is NULL); a record matches only when the
//! whole expression is TRUE. The compiler makes every condition two-valued, so NULL never
//! escapes a leaf today, but the connectives do not rely on that.
//!
//! Cost of [`CompiledPredicate::matches`]: no allocation. Per condition one lookup in the
//! record's map (a hash of the field name) and one comparison; `in` is linear in its list
//! (at most [`super::MAX_IN_VALUES`]); `~`/`!~` is linear in the text's length. Literals
//! are bound and normalised once, when the predicate is built.

use rusqlite::types::{Value, ValueRef};
use serde_json::{Map, Value as Json};
use std::cmp::Ordering;

use super::ast::{CmpOp, Expr, Field, LitValue};
use super::compile::{compile_expr, rounds_up};
use super::error::{excerpt, FilterError};
use super::literal::bind;
use super::sqlite_ops::{compare, sql_value, Contains};
use super::{parse, FieldKind, FieldLookup};

/// A filter ready to test records one at a time. Built once per subscription; cheap to
/// share between threads (it is immutable).
#[derive(Debug, Clone)]
pub struct CompiledPredicate {
    root: Node,
}

impl CompiledPredicate {
    /// Parses and checks `input` as [`super::compile`] does, with the same errors (same
    /// positions and messages: the check *is* `compile`'s).
    pub fn new(input: &str, fields: &dyn FieldLookup) -> Result<Self, FilterError> {
        Self::from_expr(&parse(input)?, fields)
    }

    /// Checks an already parsed filter, as `compile` would.
    pub fn from_expr(expr: &Expr, fields: &dyn FieldLookup) -> Result<Self, FilterError> {
        // The SQL is thrown away: running the compiler is what makes the errors identical.
        compile_expr(expr, fields)?;
        Ok(CompiledPredicate {
            root: build(expr, fields)?,
        })
    }

    /// Whether `record` (the JSON object a GET returns, as `record_from_row` builds it)
    /// is one the filter's SQL would select. A key missing from the map reads as NULL, so
    /// pass whole records, not `fields=` projections.
    pub fn matches(&self, record: &Map<String, Json>) -> bool {
        self.root.eval(record) == Some(true)
    }
}

/// One SQL fragment of the compiled filter. `field` is a column known to the schema.
#[derive(Debug, Clone)]
enum Node {
    Or(Box<[Node]>),
    And(Box<[Node]>),
    /// `(NOT …)`
    Not(Box<Node>),
    /// `(col IS NULL)`, or `(col IS NOT NULL)` when `negated` (also `= null`/`!= null`)
    IsNull {
        field: Box<str>,
        negated: bool,
    },
    /// `(col IS ?)`, or `(col IS NOT ?)` when `negated`
    Is {
        field: Box<str>,
        value: Value,
        negated: bool,
    },
    /// `(col IS NOT NULL AND col OP ?)` for `>`, `>=`, `<`, `<=`
    Order {
        field: Box<str>,
        op: CmpOp,
        value: Value,
    },
    /// `(col IS NOT NULL AND col LIKE ? ESCAPE '\')`, or when `negated`
    /// `(col IS NULL OR col NOT LIKE ? ESCAPE '\')`
    Like {
        field: Box<str>,
        pattern: Contains,
        negated: bool,
    },
    /// `(col IS NOT NULL AND col IN (…))`, or when `negated`
    /// `(col IS NULL OR col NOT IN (…))`
    In {
        field: Box<str>,
        values: Box<[Value]>,
        negated: bool,
    },
}

/// SQL's three-valued `AND` over items evaluated lazily (FALSE wins over NULL).
fn and3(items: impl Iterator<Item = Option<bool>>) -> Option<bool> {
    let mut result = Some(true);
    for item in items {
        match item {
            Some(false) => return Some(false),
            None => result = None,
            Some(true) => {}
        }
    }
    result
}

/// SQL's three-valued `OR` (TRUE wins over NULL).
fn or3(items: impl Iterator<Item = Option<bool>>) -> Option<bool> {
    let mut result = Some(false);
    for item in items {
        match item {
            Some(true) => return Some(true),
            None => result = None,
            Some(false) => {}
        }
    }
    result
}

fn not3(value: Option<bool>) -> Option<bool> {
    value.map(|b| !b)
}

/// `col IS NULL`: two-valued.
fn is_null(col: ValueRef<'_>) -> Option<bool> {
    Some(col == ValueRef::Null)
}

/// `col OP ?` with a non-NULL parameter: NULL when the column is.
fn binary(col: ValueRef<'_>, test: impl FnOnce(ValueRef<'_>) -> bool) -> Option<bool> {
    (col != ValueRef::Null).then(|| test(col))
}

impl Node {
    fn eval(&self, record: &Map<String, Json>) -> Option<bool> {
        let column = |field: &str| sql_value(record.get(field));
        match self {
            Node::Or(items) => or3(items.iter().map(|n| n.eval(record))),
            Node::And(items) => and3(items.iter().map(|n| n.eval(record))),
            Node::Not(inner) => not3(inner.eval(record)),
            Node::IsNull { field, negated } => {
                let null = is_null(column(field));
                if *negated {
                    not3(null)
                } else {
                    null
                }
            }
            Node::Is {
                field,
                value,
                negated,
            } => {
                // `IS` is two-valued: NULL IS ? is false for the non-NULL parameter.
                let col = column(field);
                let same = col != ValueRef::Null && compare(col, value) == Ordering::Equal;
                Some(same != *negated)
            }
            Node::Order { field, op, value } => {
                let col = column(field);
                let holds = binary(col, |c| {
                    let ord = compare(c, value);
                    match op {
                        CmpOp::Gt => ord == Ordering::Greater,
                        CmpOp::Ge => ord != Ordering::Less,
                        CmpOp::Lt => ord == Ordering::Less,
                        _ => ord != Ordering::Greater,
                    }
                });
                and3([not3(is_null(col)), holds].into_iter())
            }
            Node::Like {
                field,
                pattern,
                negated,
            } => {
                let col = column(field);
                let like = binary(col, |c| match c {
                    ValueRef::Text(t) | ValueRef::Blob(t) => pattern.matches(t),
                    // LIKE reads a number as its text; the compiler only lets `~` reach
                    // text columns, so this serves malformed records only.
                    _ => false,
                });
                if *negated {
                    or3([is_null(col), not3(like)].into_iter())
                } else {
                    and3([not3(is_null(col)), like].into_iter())
                }
            }
            Node::In {
                field,
                values,
                negated,
            } => {
                let col = column(field);
                // The list never holds NULL (the compiler refuses it), so IN is NULL only
                // for a NULL column.
                let found = binary(col, |c| {
                    values.iter().any(|v| compare(c, v) == Ordering::Equal)
                });
                if *negated {
                    or3([is_null(col), not3(found)].into_iter())
                } else {
                    and3([not3(is_null(col)), found].into_iter())
                }
            }
        }
    }
}

/// The node for `expr`. Runs after `compile_expr` accepted `expr`, so its errors cannot
/// occur; they are still returned, never assumed away.
fn build(expr: &Expr, fields: &dyn FieldLookup) -> Result<Node, FilterError> {
    let all = |items: &[Expr]| -> Result<Box<[Node]>, FilterError> {
        items.iter().map(|e| build(e, fields)).collect()
    };
    Ok(match expr {
        Expr::Or(items) => Node::Or(all(items)?),
        Expr::And(items) => Node::And(all(items)?),
        Expr::Not(inner) => Node::Not(Box::new(build(inner, fields)?)),
        Expr::IsNull { field, negated } => {
            kind(field, fields)?;
            Node::IsNull {
                field: field.name.as_str().into(),
                negated: *negated,
            }
        }
        Expr::Compare {
            field, op, value, ..
        } => {
            let kind = kind(field, fields)?;
            let name: Box<str> = field.name.as_str().into();
            match (op, &value.value) {
                (CmpOp::Eq | CmpOp::Ne, LitValue::Null) => Node::IsNull {
                    field: name,
                    negated: *op == CmpOp::Ne,
                },
                (CmpOp::Like | CmpOp::NotLike, LitValue::Str(text)) => Node::Like {
                    field: name,
                    pattern: Contains::new(text),
                    negated: *op == CmpOp::NotLike,
                },
                (CmpOp::Eq | CmpOp::Ne, _) => Node::Is {
                    field: name,
                    value: bind(field, kind, value, rounds_up(*op))?,
                    negated: *op == CmpOp::Ne,
                },
                (CmpOp::Like | CmpOp::NotLike, _) => {
                    return Err(FilterError::new(
                        value.pos,
                        format!("\"{}\" needs a quoted string", op.symbol()),
                    ))
                }
                _ => Node::Order {
                    field: name,
                    op: *op,
                    value: bind(field, kind, value, rounds_up(*op))?,
                },
            }
        }
        Expr::In {
            field,
            negated,
            values,
            ..
        } => {
            let kind = kind(field, fields)?;
            Node::In {
                field: field.name.as_str().into(),
                values: values
                    .iter()
                    .map(|v| bind(field, kind, v, false))
                    .collect::<Result<_, _>>()?,
                negated: *negated,
            }
        }
    })
}

fn kind(field: &Field, fields: &dyn FieldLookup) -> Result<FieldKind, FilterError> {
    fields.kind(&field.name).ok_or_else(|| {
        FilterError::new(
            field.pos,
            format!("unknown field \"{}\"", excerpt(&field.name)),
        )
    })
}
