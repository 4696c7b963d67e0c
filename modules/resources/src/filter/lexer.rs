//! Splits a filter into tokens, one at a time, so the parser reports the first problem in
//! reading order. Positions are byte offsets.

use super::error::{excerpt, FilterError};

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// `[A-Za-z_][A-Za-z0-9_]*`: a field name or a keyword (the token's `text`).
    Word,
    /// A quoted string with its escapes resolved.
    Str(String),
    Int(i64),
    Real(f64),
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Like,
    NotLike,
    Bang,
    AndAnd,
    OrOr,
    LParen,
    RParen,
    Comma,
    Eof,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token<'a> {
    pub kind: Tok,
    /// Byte offset of the first character.
    pub pos: usize,
    /// The token as written (empty for `Eof`).
    pub text: &'a str,
}

impl Token<'_> {
    /// True if this is the keyword `kw` (keywords are case-insensitive).
    pub fn is_kw(&self, kw: &str) -> bool {
        self.kind == Tok::Word && self.text.eq_ignore_ascii_case(kw)
    }

    /// How the token is named in error messages.
    pub fn describe(&self) -> String {
        match self.kind {
            Tok::Eof => "end of filter".to_string(),
            Tok::Str(_) => format!("the string {}", excerpt(self.text)),
            _ => format!("\"{}\"", excerpt(self.text)),
        }
    }
}

pub struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    pub fn new(src: &'a str) -> Self {
        Lexer { src, pos: 0 }
    }

    fn peek_char(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn token(&self, kind: Tok, start: usize) -> Token<'a> {
        Token {
            kind,
            pos: start,
            text: &self.src[start..self.pos],
        }
    }

    /// Consumes `second` if it comes next; returns whether it did.
    fn eat(&mut self, second: char) -> bool {
        if self.peek_char() == Some(second) {
            self.pos += second.len_utf8();
            true
        } else {
            false
        }
    }

    pub fn next_token(&mut self) -> Result<Token<'a>, FilterError> {
        while let Some(c) = self.peek_char().filter(|c| c.is_whitespace()) {
            self.pos += c.len_utf8();
        }
        let start = self.pos;
        let Some(c) = self.peek_char() else {
            return Ok(self.token(Tok::Eof, start));
        };
        self.pos += c.len_utf8();
        let kind = match c {
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            ',' => Tok::Comma,
            '=' => Tok::Eq,
            '~' => Tok::Like,
            '!' if self.eat('=') => Tok::Ne,
            '!' if self.eat('~') => Tok::NotLike,
            '!' => Tok::Bang,
            '>' if self.eat('=') => Tok::Ge,
            '>' => Tok::Gt,
            '<' if self.eat('=') => Tok::Le,
            '<' => Tok::Lt,
            '&' if self.eat('&') => Tok::AndAnd,
            '|' if self.eat('|') => Tok::OrOr,
            '&' => {
                return Err(FilterError::new(
                    start,
                    "unexpected \"&\"; use \"&&\" for and",
                ))
            }
            '|' => {
                return Err(FilterError::new(
                    start,
                    "unexpected \"|\"; use \"||\" for or",
                ))
            }
            '\'' | '"' => return self.string(start, c),
            '-' | '0'..='9' => return self.number(start),
            c if c == '_' || c.is_ascii_alphabetic() => {
                while let Some(c) = self.peek_char() {
                    if c == '_' || c.is_ascii_alphanumeric() {
                        self.pos += 1;
                    } else {
                        break;
                    }
                }
                Tok::Word
            }
            c => {
                let shown: String = c.escape_debug().collect();
                return Err(FilterError::new(
                    start,
                    format!("unexpected character \"{shown}\""),
                ));
            }
        };
        Ok(self.token(kind, start))
    }

    /// A string opened by `quote` at `start` (already consumed).
    fn string(&mut self, start: usize, quote: char) -> Result<Token<'a>, FilterError> {
        let mut value = String::new();
        let mut chars = self.src[self.pos..].char_indices();
        while let Some((offset, c)) = chars.next() {
            if c == quote {
                self.pos += offset + c.len_utf8();
                return Ok(self.token(Tok::Str(value), start));
            }
            if c != '\\' {
                value.push(c);
                continue;
            }
            match chars.next() {
                Some((_, e @ ('\'' | '"' | '\\'))) => value.push(e),
                Some((_, e)) => {
                    let shown: String = e.escape_debug().collect();
                    return Err(FilterError::new(
                        self.pos + offset,
                        format!(
                            "invalid escape \"\\{shown}\" in string; \
                             only \\', \\\" and \\\\ are allowed"
                        ),
                    ));
                }
                None => break,
            }
        }
        Err(FilterError::new(start, "unterminated string"))
    }

    /// `-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?`, not followed by a letter, digit, `_` or `.`.
    fn number(&mut self, start: usize) -> Result<Token<'a>, FilterError> {
        let bytes = self.src.as_bytes();
        let digits = |mut i: usize| {
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            i
        };
        // `self.pos` is just past the first character ('-' or a digit).
        let mut end = digits(self.pos);
        let mut ok = end > start + 1 || bytes[start] != b'-';
        let mut integral = true;
        if ok && end < bytes.len() && bytes[end] == b'.' {
            integral = false;
            let after = digits(end + 1);
            ok = after > end + 1;
            end = after;
        }
        if ok && end < bytes.len() && (bytes[end] | 0x20) == b'e' {
            integral = false;
            let mut i = end + 1;
            if i < bytes.len() && (bytes[i] == b'+' || bytes[i] == b'-') {
                i += 1;
            }
            let after = digits(i);
            ok = after > i;
            end = after;
        }
        let continues = |b: u8| b == b'_' || b == b'.' || b.is_ascii_alphanumeric();
        if !ok || (end < bytes.len() && continues(bytes[end])) {
            if start + 1 == end && bytes[start] == b'-' && !ok {
                return Err(FilterError::new(start, "unexpected \"-\""));
            }
            while end < bytes.len() && continues(bytes[end]) {
                end += 1;
            }
            // Only ASCII was consumed, so `end` is a character boundary.
            let shown = excerpt(&self.src[start..end]);
            return Err(FilterError::new(
                start,
                format!("invalid number \"{shown}\""),
            ));
        }
        self.pos = end;
        let text = &self.src[start..end];
        if integral {
            if let Ok(i) = text.parse::<i64>() {
                return Ok(self.token(Tok::Int(i), start));
            }
        }
        match text.parse::<f64>() {
            Ok(r) if r.is_finite() => Ok(self.token(Tok::Real(r), start)),
            _ => Err(FilterError::new(
                start,
                format!("number \"{}\" is out of range", excerpt(text)),
            )),
        }
    }
}
