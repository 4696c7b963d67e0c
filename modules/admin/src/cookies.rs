//! The session and pre-login cookies: HttpOnly, SameSite=Strict, Path=/, and over HTTPS
//! also Secure with the `__Host-` prefix (which browsers only accept that way). HTTPS
//! means the server speaks TLS itself, or the request came through a trusted proxy that
//! says (`X-Forwarded-Proto: https`) the client used HTTPS: see [`secure`].

use poem::http::header;
use poem::Request;

pub const SESSION: &str = "hearth_admin";
/// Set by the login and setup pages: the CSRF token of a form sent before any session.
pub const PRE: &str = "hearth_admin_pre";

/// Whether this request's cookies get `Secure` and `__Host-`: the server serves TLS
/// (`configured`), or the HTTP layer found the client on HTTPS (through a trusted proxy).
pub fn secure(req: &Request, configured: bool) -> bool {
    configured || kernel::caller::is_https(req)
}

pub fn name(base: &str, https: bool) -> String {
    if https {
        format!("__Host-{base}")
    } else {
        base.to_owned()
    }
}

/// The value of cookie `name` in the request, if any.
pub fn get(req: &Request, name: &str) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The session cookie's value (its name depends on [`secure`]).
pub fn session_secret(req: &Request, configured_https: bool) -> Option<String> {
    get(req, &name(SESSION, secure(req, configured_https)))
}

/// A `Set-Cookie` value; `value: None` deletes the cookie.
pub fn set(name: &str, value: Option<&str>, https: bool) -> String {
    let secure = if https { "; Secure" } else { "" };
    match value {
        Some(v) => format!("{name}={v}; Path=/; HttpOnly; SameSite=Strict{secure}"),
        None => format!("{name}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_prefix_only_over_https() {
        assert_eq!(name(SESSION, false), "hearth_admin");
        assert_eq!(name(SESSION, true), "__Host-hearth_admin");
        assert!(set("__Host-x", Some("v"), true).ends_with("; Secure"));
        assert!(!set("x", Some("v"), false).contains("Secure"));
        assert!(set("x", None, false).contains("Max-Age=0"));
    }
}
