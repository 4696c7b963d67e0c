//! The parsed form of a filter. Positions are byte offsets into the input, kept so the
//! compiler can point its type errors at the right token.

/// A filter expression. `And`/`Or` are n-ary (a chain `a || b || c` is one `Or` with three
/// items), so the tree is only as deep as the parentheses and `!` make it, which the parser
/// caps at [`super::MAX_DEPTH`]. Parentheses leave no node of their own.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Not(Box<Expr>),
    /// `field OP literal`
    Compare {
        field: Field,
        op: CmpOp,
        op_pos: usize,
        value: Literal,
    },
    /// `field in (...)`, or `field not in (...)` when `negated`.
    In {
        field: Field,
        negated: bool,
        op_pos: usize,
        values: Vec<Literal>,
    },
    /// `field is null`, or `field is not null` when `negated`.
    IsNull {
        field: Field,
        negated: bool,
    },
}

/// A field name as written (not yet checked against the schema).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub pos: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    /// `~`: contains, case-insensitive
    Like,
    /// `!~`: does not contain
    NotLike,
}

impl CmpOp {
    /// The operator as the user writes it.
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "!=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Like => "~",
            CmpOp::NotLike => "!~",
        }
    }

    pub fn is_ordering(self) -> bool {
        matches!(self, CmpOp::Gt | CmpOp::Ge | CmpOp::Lt | CmpOp::Le)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Literal {
    pub value: LitValue,
    pub pos: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum LitValue {
    /// A quoted string, escapes resolved.
    Str(String),
    /// A number written without `.` or exponent that fits in an i64.
    Int(i64),
    /// Any other (finite) number.
    Real(f64),
    Bool(bool),
    Null,
}

impl LitValue {
    /// How the value is named in error messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            LitValue::Str(s) => format!("the string '{}'", super::error::excerpt(s)),
            LitValue::Int(i) => format!("the number {i}"),
            LitValue::Real(r) => format!("the number {r}"),
            LitValue::Bool(b) => format!("{b}"),
            LitValue::Null => "null".to_string(),
        }
    }
}
