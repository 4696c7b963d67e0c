//! Recursive descent over the grammar
//!
//! ```text
//! filter     := or EOF
//! or         := and ( "||" and )*
//! and        := unary ( "&&" unary )*
//! unary      := "!" unary | primary                       -- "!" is one level of depth
//! primary    := "(" or ")" | comparison                   -- "(" is one level of depth
//! comparison := FIELD ( CMP value
//!                     | ["not"] "in" "(" value ( "," value )* ")"
//!                     | "is" ["not"] "null" )
//! value      := STRING | NUMBER | "true" | "false" | "null"
//! ```
//!
//! The only recursion is through `!` and `(`, and both go through [`Parser::deeper`], so a
//! hostile input cannot overflow the stack.

use super::ast::{CmpOp, Expr, Field, LitValue, Literal};
use super::error::{excerpt, FilterError};
use super::lexer::{Lexer, Tok, Token};
use super::{MAX_CONDITIONS, MAX_CONTAINS, MAX_DEPTH, MAX_FILTER_BYTES, MAX_IN_VALUES};

const KEYWORDS: [&str; 6] = ["in", "is", "not", "null", "true", "false"];

/// Parses a filter without looking at any schema. See the module docs for the grammar.
pub fn parse(input: &str) -> Result<Expr, FilterError> {
    if input.len() > MAX_FILTER_BYTES {
        return Err(FilterError::new(
            MAX_FILTER_BYTES,
            format!("filter is longer than {MAX_FILTER_BYTES} bytes"),
        ));
    }
    if input.trim().is_empty() {
        return Err(FilterError::new(0, "empty filter"));
    }
    let mut lexer = Lexer::new(input);
    let cur = lexer.next_token()?;
    let mut p = Parser {
        lexer,
        cur,
        prev: "",
        depth: 0,
        conditions: 0,
        contains: 0,
    };
    let expr = p.or()?;
    match p.cur.kind {
        Tok::Eof => Ok(expr),
        Tok::RParen => Err(p.error("unexpected \")\"")),
        _ => Err(p.expected_connective("end of filter")),
    }
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    /// The token being looked at (one token of lookahead).
    cur: Token<'a>,
    /// The text of the last token consumed, for "expected ... after X" messages.
    prev: &'a str,
    depth: usize,
    /// Conditions and `~`/`!~` conditions so far, against MAX_CONDITIONS and MAX_CONTAINS.
    conditions: usize,
    contains: usize,
}

impl<'a> Parser<'a> {
    fn bump(&mut self) -> Result<Token<'a>, FilterError> {
        let next = self.lexer.next_token()?;
        let cur = std::mem::replace(&mut self.cur, next);
        self.prev = cur.text;
        Ok(cur)
    }

    fn error(&self, message: impl Into<String>) -> FilterError {
        FilterError::new(self.cur.pos, message)
    }

    fn expected_connective(&self, end: &str) -> FilterError {
        let hint = if self.cur.is_kw("and") {
            "; use \"&&\" for and"
        } else if self.cur.is_kw("or") {
            "; use \"||\" for or"
        } else {
            ""
        };
        self.error(format!(
            "expected \"&&\", \"||\" or {end}, found {}{hint}",
            self.cur.describe()
        ))
    }

    /// Runs `f` one nesting level deeper, refusing (at the current token) past MAX_DEPTH.
    fn deeper<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, FilterError>,
    ) -> Result<T, FilterError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.error(format!("filter is nested deeper than {MAX_DEPTH} levels")));
        }
        self.depth += 1;
        let result = f(self);
        self.depth -= 1;
        result
    }

    fn or(&mut self) -> Result<Expr, FilterError> {
        let mut items = vec![self.and()?];
        while self.cur.kind == Tok::OrOr {
            self.bump()?;
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::Or(items)
        })
    }

    fn and(&mut self) -> Result<Expr, FilterError> {
        let mut items = vec![self.unary()?];
        while self.cur.kind == Tok::AndAnd {
            self.bump()?;
            items.push(self.unary()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::And(items)
        })
    }

    fn unary(&mut self) -> Result<Expr, FilterError> {
        if self.cur.kind != Tok::Bang {
            return self.primary();
        }
        self.deeper(|p| {
            p.bump()?;
            Ok(Expr::Not(Box::new(p.unary()?)))
        })
    }

    fn primary(&mut self) -> Result<Expr, FilterError> {
        match self.cur.kind {
            Tok::LParen => self.deeper(|p| {
                let open = p.bump()?.pos;
                let inner = p.or()?;
                match p.cur.kind {
                    Tok::RParen => {
                        p.bump()?;
                        Ok(inner)
                    }
                    Tok::Eof => Err(p.error(format!("missing \")\" for the \"(\" at byte {open}"))),
                    _ => Err(p.expected_connective("\")\"")),
                }
            }),
            Tok::Word => self.comparison(),
            Tok::RParen => Err(self.error("unexpected \")\"")),
            Tok::Eof => Err(self.error(format!("expected a condition after \"{}\"", self.prev))),
            _ => Err(self.error(format!(
                "expected a field name, \"(\" or \"!\", found {}",
                self.cur.describe()
            ))),
        }
    }

    fn comparison(&mut self) -> Result<Expr, FilterError> {
        if self.cur.is_kw("not") {
            return Err(self.error("unexpected \"not\"; use \"!\" to negate a condition"));
        }
        if KEYWORDS.iter().any(|kw| self.cur.is_kw(kw)) {
            return Err(self.error(format!(
                "expected a field name, found the keyword \"{}\"",
                self.cur.text
            )));
        }
        self.conditions += 1;
        if self.conditions > MAX_CONDITIONS {
            return Err(self.error(format!(
                "filter has more than {MAX_CONDITIONS} conditions (the limit of conditions \
                 in one filter)"
            )));
        }
        let tok = self.bump()?;
        let field = Field {
            name: tok.text.to_string(),
            pos: tok.pos,
        };
        let op = match self.cur.kind {
            Tok::Eq => CmpOp::Eq,
            Tok::Ne => CmpOp::Ne,
            Tok::Gt => CmpOp::Gt,
            Tok::Ge => CmpOp::Ge,
            Tok::Lt => CmpOp::Lt,
            Tok::Le => CmpOp::Le,
            Tok::Like => CmpOp::Like,
            Tok::NotLike => CmpOp::NotLike,
            Tok::Word if self.cur.is_kw("in") || self.cur.is_kw("not") => {
                return self.in_list(field)
            }
            Tok::Word if self.cur.is_kw("is") => return self.is_null(field),
            _ => {
                return Err(self.error(format!(
                    "expected an operator after \"{}\" (one of = != > >= < <= ~ !~ in, not in, \
                     is null, is not null), found {}",
                    field.name,
                    self.cur.describe()
                )))
            }
        };
        if matches!(op, CmpOp::Like | CmpOp::NotLike) {
            self.contains += 1;
            if self.contains > MAX_CONTAINS {
                return Err(self.error(format!(
                    "filter has more than {MAX_CONTAINS} \"~\"/\"!~\" conditions (the limit \
                     of text searches in one filter: each scans every row)"
                )));
            }
        }
        let op_pos = self.bump()?.pos;
        let value = self.value()?;
        Ok(Expr::Compare {
            field,
            op,
            op_pos,
            value,
        })
    }

    fn is_null(&mut self, field: Field) -> Result<Expr, FilterError> {
        self.bump()?; // "is"
        let negated = self.cur.is_kw("not");
        if negated {
            self.bump()?;
        }
        if !self.cur.is_kw("null") {
            let what = if negated {
                "\"null\""
            } else {
                "\"null\" or \"not null\""
            };
            return Err(self.error(format!(
                "expected {what} after \"{}\", found {}",
                self.prev,
                self.cur.describe()
            )));
        }
        self.bump()?;
        Ok(Expr::IsNull { field, negated })
    }

    fn in_list(&mut self, field: Field) -> Result<Expr, FilterError> {
        let op_pos = self.cur.pos;
        let negated = self.cur.is_kw("not");
        if negated {
            self.bump()?;
            if !self.cur.is_kw("in") {
                return Err(self.error(format!(
                    "expected \"in\" after \"not\", found {}",
                    self.cur.describe()
                )));
            }
        }
        self.bump()?; // "in"
        if self.cur.kind != Tok::LParen {
            return Err(self.error(format!(
                "expected \"(\" after \"in\", found {}",
                self.cur.describe()
            )));
        }
        let open = self.bump()?.pos;
        if self.cur.kind == Tok::RParen {
            return Err(self.error("\"in\" needs at least one value"));
        }
        let mut values = Vec::new();
        loop {
            if values.len() == MAX_IN_VALUES {
                return Err(self.error(format!(
                    "an \"in\" list can hold at most {MAX_IN_VALUES} values"
                )));
            }
            values.push(self.value()?);
            match self.cur.kind {
                Tok::Comma => {
                    self.bump()?;
                }
                Tok::RParen => {
                    self.bump()?;
                    break;
                }
                Tok::Eof => {
                    return Err(
                        self.error(format!("missing \")\" for the \"in\" list at byte {open}"))
                    )
                }
                _ => {
                    return Err(self.error(format!(
                        "expected \",\" or \")\" in the \"in\" list, found {}",
                        self.cur.describe()
                    )))
                }
            }
        }
        Ok(Expr::In {
            field,
            negated,
            op_pos,
            values,
        })
    }

    fn value(&mut self) -> Result<Literal, FilterError> {
        let value = match &self.cur.kind {
            Tok::Str(s) => LitValue::Str(s.clone()),
            Tok::Int(i) => LitValue::Int(*i),
            Tok::Real(r) => LitValue::Real(*r),
            Tok::Word if self.cur.is_kw("true") => LitValue::Bool(true),
            Tok::Word if self.cur.is_kw("false") => LitValue::Bool(false),
            Tok::Word if self.cur.is_kw("null") => LitValue::Null,
            Tok::Word => {
                return Err(self.error(format!(
                    "expected a value after \"{}\", found \"{}\" (strings need quotes: '{}')",
                    self.prev,
                    excerpt(self.cur.text),
                    excerpt(self.cur.text)
                )))
            }
            _ => {
                return Err(self.error(format!(
                    "expected a value after \"{}\", found {}",
                    self.prev,
                    self.cur.describe()
                )))
            }
        };
        let pos = self.bump()?.pos;
        Ok(Literal { value, pos })
    }
}
