//! Query strings and methods as every hand-written endpoint checks them: unknown and
//! repeated parameters are refused (a typo must not be silently ignored), and a wrong
//! method names the ones the path accepts.

use crate::{Problem, ProblemCode};

/// The query's pairs, in order, when every name is in `allowed` and none repeats.
pub fn strict_query(
    query: Option<&str>,
    allowed: &[&str],
) -> Result<Vec<(String, String)>, Problem> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or(""))
        .map_err(|_| invalid("the query string is malformed"))?;
    for (i, (name, _)) in pairs.iter().enumerate() {
        if !allowed.contains(&name.as_str()) {
            let hint = if allowed.is_empty() {
                String::new()
            } else {
                format!(" (accepted: {})", allowed.join(", "))
            };
            return Err(invalid(format!("unknown query parameter `{name}`{hint}")));
        }
        if pairs[..i].iter().any(|(n, _)| n == name) {
            return Err(invalid(format!("query parameter `{name}` is given twice")));
        }
    }
    Ok(pairs)
}

/// The value of `name` in pairs from [`strict_query`].
pub fn query_value<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// 405 with `Allow`.
pub fn method_not_allowed(allow: &str) -> Problem {
    let mut p = Problem::new(ProblemCode::MethodNotAllowed)
        .with_detail(format!("this path accepts {allow}"));
    p.allow = Some(allow.to_owned());
    p
}

fn invalid(detail: impl Into<String>) -> Problem {
    Problem::new(ProblemCode::InvalidQuery).with_detail(detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_repeated_and_malformed_names_are_refused() {
        let ok = strict_query(Some("a=1&b=x%20y"), &["a", "b"]).unwrap();
        assert_eq!(query_value(&ok, "b"), Some("x y"));
        assert_eq!(query_value(&ok, "c"), None);
        assert!(strict_query(None, &[]).unwrap().is_empty());
        let unknown = strict_query(Some("c=1"), &["a"]).unwrap_err();
        assert_eq!(unknown.code, ProblemCode::InvalidQuery);
        assert!(unknown.detail.as_deref().unwrap().contains("accepted: a"));
        let none = strict_query(Some("c=1"), &[]).unwrap_err();
        assert!(!none.detail.as_deref().unwrap().contains("accepted"));
        let twice = strict_query(Some("a=1&a=2"), &["a"]).unwrap_err();
        assert!(twice.detail.as_deref().unwrap().contains("twice"));
        assert_eq!(method_not_allowed("GET").allow.as_deref(), Some("GET"));
    }
}
