//! Text `pattern`s. The OpenAPI document publishes a pattern as a JSON Schema `pattern`,
//! which is an ECMA-262 regular expression, so that is the dialect a definition is written
//! in. Values are matched by the `regex` crate (linear time, whatever the pattern), after a
//! rewrite of the escapes whose meaning differs between the two dialects, so the server
//! accepts exactly the strings the document promises.

use regex::{Regex, RegexBuilder};

/// ECMAScript's `\s`: WhiteSpace and LineTerminator (Rust's also has U+0085, lacks U+FEFF).
const SPACE: &str =
    r"\t\n\x0B\f\r \u{A0}\u{1680}\u{2000}-\u{200A}\u{2028}\u{2029}\u{202F}\u{205F}\u{3000}\u{FEFF}";

#[derive(Clone, Debug)]
pub struct Pattern {
    source: String,
    regex: Regex,
}

impl Pattern {
    /// Checks `source` as an ECMA-262 pattern (with the `u` flag, as JSON Schema reads
    /// it) and compiles its equivalent. The error is a message for people.
    pub fn new(source: &str) -> Result<Pattern, String> {
        if let Err(e) = regress::Regex::with_flags(source, "u") {
            return Err(format!(
                "not an ECMA-262 regular expression (the JSON Schema dialect): {e}"
            ));
        }
        let rust = to_rust(source)?;
        let regex = RegexBuilder::new(&rust)
            .size_limit(1 << 20)
            .build()
            .map_err(|e| {
                let last = e.to_string().lines().last().unwrap_or("").trim().to_owned();
                format!("uses a construct the server cannot match in linear time: {last}")
            })?;
        Ok(Pattern {
            source: source.to_owned(),
            regex,
        })
    }

    /// The pattern as written in the definition (and published in the document).
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Unanchored, like JSON Schema: the pattern may match anywhere in `s`.
    pub fn is_match(&self, s: &str) -> bool {
        self.regex.is_match(s)
    }
}

/// Rewrites a valid ECMA-262 (`u` flag) pattern into `regex` syntax with the same meaning:
/// `\d`, `\w` and `\b` are ASCII in ECMAScript; `.` also stops at `\r`, U+2028 and
/// U+2029; `[\b]` is a backspace; `[` inside a class is a literal. Where `regex` would read
/// a class differently (`&&`, `--`, `~~` are set operations there; `[]` and `[^]` mean
/// something else), the pattern is refused rather than guessed at.
fn to_rust(source: &str) -> Result<String, String> {
    let mut out = String::with_capacity(source.len() * 2);
    let mut in_class = false;
    let mut chars = source.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(e) = chars.next() else {
                    return Err("ends with a lone backslash".into());
                };
                let rewritten = match (e, in_class) {
                    ('d', false) => "[0-9]".to_owned(),
                    ('d', true) => "0-9".to_owned(),
                    ('w', false) => "[0-9A-Za-z_]".to_owned(),
                    ('w', true) => "0-9A-Za-z_".to_owned(),
                    ('s', false) => format!("[{SPACE}]"),
                    ('s', true) => SPACE.to_owned(),
                    // Negated classes nest inside a class in `regex` syntax (a union).
                    ('D', _) => "[^0-9]".to_owned(),
                    ('W', _) => "[^0-9A-Za-z_]".to_owned(),
                    ('S', _) => format!("[^{SPACE}]"),
                    ('b', false) => r"(?-u:\b)".to_owned(),
                    ('B', false) => r"(?-u:\B)".to_owned(),
                    ('b', true) => r"\x08".to_owned(),
                    (e, _) => format!("\\{e}"),
                };
                out.push_str(&rewritten);
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                if chars.peek() == Some(&']') {
                    return Err(
                        "uses `[]` or `[^]`, which other regex dialects read differently; \
                                write `(?!)` or `[\\s\\S]` instead"
                            .into(),
                    );
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '[' => out.push_str(r"\["),
            '&' | '-' | '~' if in_class && chars.peek() == Some(&c) => {
                return Err(format!(
                    "uses `{c}{c}` inside a class, which other regex dialects read as a set \
                     operation; escape one of them"
                ));
            }
            '.' if !in_class => out.push_str(r"[^\n\r\u{2028}\u{2029}]"),
            c => out.push(c),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, s: &str) -> bool {
        Pattern::new(pattern).unwrap().is_match(s)
    }

    #[test]
    fn ecmascript_meaning_of_classes_and_dot() {
        assert!(matches(r"^\d+$", "0123456789"));
        assert!(!matches(r"^\d+$", "٣")); // Arabic-Indic digit: Unicode \d, not ECMAScript's
        assert!(!matches(r"^\w+$", "é"));
        assert!(matches(r"^\W$", "é"));
        assert!(matches(r"^[\w-]+$", "a_b-9"));
        assert!(matches(r"^[^\d]$", "٣"));
        assert!(matches(r"^[\D]$", "x"));
        assert!(!matches(r"^[\D]$", "7"));
        assert!(matches(r"^\s$", "\u{FEFF}"));
        assert!(!matches(r"^\s$", "\u{85}"));
        assert!(!matches(r"^.$", "\r"));
        assert!(!matches(r"^.$", "\u{2028}"));
        assert!(matches(r"^[.]$", "."));
        assert!(!matches(r"^[.]$", "x"));
        assert!(matches(r"a\bé", "aé"));
        assert!(matches(r"x\b", "xé")); // é is not an ECMAScript word character
        assert!(matches(r"^[\b]$", "\u{8}"));
        assert!(matches(r"^[[a]+$", "[a["));
        assert!(matches(r"^\p{L}+$", "héllo"));
        assert!(matches(r"^a\/b$", "a/b"));
        assert!(matches("abc", "xxabcxx")); // unanchored
        assert!(!matches("^abc$", "abc\n")); // `$` is the end of input, as in ECMAScript
    }

    #[test]
    fn refuses_what_the_dialects_disagree_on() {
        for p in [
            "(?i)abc",     // inline flags: not ECMAScript
            r"abc\z",      // Rust-only anchor
            "[[:alpha:]]", // POSIX class: not ECMAScript
            r"\x{41}",     // Rust-only escape
            "(unclosed",   // invalid in both
            r"(a)\1",      // ECMAScript backreference: not linear time
            "(?=a)",       // lookahead: not linear time
            "[]",
            "[^]",
            "[a&&b]",
            "[a--b]",
            "\\",
        ] {
            assert!(Pattern::new(p).is_err(), "{p} should be refused");
        }
        assert_eq!(Pattern::new("^[a-z]+$").unwrap().as_str(), "^[a-z]+$");
    }
}
