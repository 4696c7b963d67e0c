//! Type-checks a parsed filter against the collection's fields and turns it into SQL.
//!
//! The SQL text is made only of fixed fragments and column names that match
//! `^[a-z_][a-z0-9_]*$` and are known to the schema; every value is a bound parameter.
//!
//! Every condition is two-valued (true or false, never SQL NULL), so `!` is an exact
//! complement: a comparison on a NULL column is false, and the negative forms `!=`, `!~`,
//! `not in` and `!(...)` match it.

use rusqlite::types::Value;

use super::ast::{CmpOp, Expr, Field, LitValue, Literal};
use super::error::{excerpt, FilterError};
use super::literal::{bind, kind_name, like_pattern};
use super::{CompiledFilter, FieldKind, FieldLookup};

pub(crate) fn compile_expr(
    expr: &Expr,
    fields: &dyn FieldLookup,
) -> Result<CompiledFilter, FilterError> {
    let mut c = Compiler {
        fields,
        sql: String::new(),
        params: Vec::new(),
    };
    c.expr(expr)?;
    Ok(CompiledFilter {
        sql: c.sql,
        params: c.params,
    })
}

struct Compiler<'f> {
    fields: &'f dyn FieldLookup,
    sql: String,
    params: Vec<Value>,
}

/// True for names that are safe to put between double quotes.
pub(crate) fn is_valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'_'))
        && bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_'))
}

/// Whether a sub-millisecond datetime literal compared with `op` is rounded up (rather
/// than truncated) to the stored millisecond form: that keeps `>=` and `<` exact. Shared
/// with the in-memory evaluator, which must bind exactly what the SQL binds.
pub(crate) fn rounds_up(op: CmpOp) -> bool {
    matches!(op, CmpOp::Ge | CmpOp::Lt)
}

impl Compiler<'_> {
    fn expr(&mut self, expr: &Expr) -> Result<(), FilterError> {
        match expr {
            Expr::Or(items) => self.join(items, " OR "),
            Expr::And(items) => self.join(items, " AND "),
            Expr::Not(inner) => {
                self.sql.push_str("(NOT ");
                self.expr(inner)?;
                self.sql.push(')');
                Ok(())
            }
            Expr::IsNull { field, negated } => {
                let (col, _) = self.column(field)?;
                let not = if *negated { "NOT " } else { "" };
                self.sql.push_str(&format!("({col} IS {not}NULL)"));
                Ok(())
            }
            Expr::Compare {
                field,
                op,
                op_pos,
                value,
            } => self.compare(field, *op, *op_pos, value),
            Expr::In {
                field,
                negated,
                op_pos,
                values,
            } => self.in_list(field, *negated, *op_pos, values),
        }
    }

    fn join(&mut self, items: &[Expr], connective: &str) -> Result<(), FilterError> {
        self.sql.push('(');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.sql.push_str(connective);
            }
            self.expr(item)?;
        }
        self.sql.push(')');
        Ok(())
    }

    /// The quoted column for `field`, or an error if the name is not a known field.
    fn column(&self, field: &Field) -> Result<(String, FieldKind), FilterError> {
        let kind = is_valid_name(&field.name)
            .then(|| self.fields.kind(&field.name))
            .flatten();
        match kind {
            Some(kind) => Ok((format!("\"{}\"", field.name), kind)),
            None => {
                let hint = if field.name.bytes().any(|b| b.is_ascii_uppercase()) {
                    " (field names are lowercase)"
                } else {
                    ""
                };
                Err(FilterError::new(
                    field.pos,
                    format!("unknown field \"{}\"{hint}", excerpt(&field.name)),
                ))
            }
        }
    }

    fn compare(
        &mut self,
        field: &Field,
        op: CmpOp,
        op_pos: usize,
        value: &Literal,
    ) -> Result<(), FilterError> {
        let (col, kind) = self.column(field)?;
        let sym = op.symbol();
        if value.value == LitValue::Null {
            let sql = match op {
                CmpOp::Eq => format!("({col} IS NULL)"),
                CmpOp::Ne => format!("({col} IS NOT NULL)"),
                _ => {
                    return Err(FilterError::new(
                        value.pos,
                        format!(
                            "null can only be used with \"=\" or \"!=\", not \"{sym}\"; \
                             use \"is null\" or \"is not null\""
                        ),
                    ))
                }
            };
            self.sql.push_str(&sql);
            return Ok(());
        }
        let name = &field.name;
        let refuse = |why: String| Err(FilterError::new(op_pos, why));
        match (kind, op) {
            (FieldKind::Json, _) => {
                return refuse(format!(
                    "\"{name}\" is JSON: only \"is null\" and \"is not null\" are allowed"
                ))
            }
            (FieldKind::Text, CmpOp::Like | CmpOp::NotLike) => {}
            (_, CmpOp::Like | CmpOp::NotLike) => {
                return refuse(format!(
                    "operator \"{sym}\" needs a text field; \"{name}\" is {}",
                    kind_name(kind)
                ))
            }
            (FieldKind::Boolean, _) if op.is_ordering() => {
                return refuse(format!(
                    "operator \"{sym}\" does not apply to \"{name}\", which is a boolean"
                ))
            }
            _ => {}
        }
        let mut param = bind(field, kind, value, rounds_up(op))?;
        let sql = match op {
            CmpOp::Eq => format!("({col} IS ?)"),
            CmpOp::Ne => format!("({col} IS NOT ?)"),
            CmpOp::Like | CmpOp::NotLike => {
                if let Value::Text(s) = &param {
                    param = Value::Text(like_pattern(s));
                }
                if op == CmpOp::Like {
                    format!("({col} IS NOT NULL AND {col} LIKE ? ESCAPE '\\')")
                } else {
                    format!("({col} IS NULL OR {col} NOT LIKE ? ESCAPE '\\')")
                }
            }
            _ => format!("({col} IS NOT NULL AND {col} {sym} ?)"),
        };
        self.sql.push_str(&sql);
        self.params.push(param);
        Ok(())
    }

    fn in_list(
        &mut self,
        field: &Field,
        negated: bool,
        op_pos: usize,
        values: &[Literal],
    ) -> Result<(), FilterError> {
        let (col, kind) = self.column(field)?;
        if kind == FieldKind::Json {
            return Err(FilterError::new(
                op_pos,
                format!(
                    "\"{}\" is JSON: only \"is null\" and \"is not null\" are allowed",
                    field.name
                ),
            ));
        }
        let mut params = Vec::with_capacity(values.len());
        for value in values {
            if value.value == LitValue::Null {
                return Err(FilterError::new(
                    value.pos,
                    "null is not allowed in an \"in\" list; use \"is null\"",
                ));
            }
            params.push(bind(field, kind, value, false)?);
        }
        let marks = vec!["?"; params.len()].join(", ");
        self.sql.push_str(&if negated {
            format!("({col} IS NULL OR {col} NOT IN ({marks}))")
        } else {
            format!("({col} IS NOT NULL AND {col} IN ({marks}))")
        });
        self.params.extend(params);
        Ok(())
    }
}
