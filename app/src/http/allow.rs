//! The methods each route accepts, for the `Allow` header every 405 must carry (RFC 9110
//! 15.5.6). poem's `MethodNotAllowedError` does not say which methods the route has, so
//! the route table is written down here once: the static API's from its own OpenAPI
//! document (so it cannot drift from the handlers), the rest by `routes::build` next to
//! the routes themselves. The problem renderer looks the path up when it turns a
//! `MethodNotAllowedError` into a 405.

/// One segment of a route template.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Literal(String),
    /// `{name}` or `:name`: exactly one segment.
    Param,
    /// `*name`: the rest of the path, one segment or more.
    Rest,
}

/// The order methods are listed in `Allow`.
const ORDER: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

#[derive(Clone, Debug, Default)]
pub struct AllowTable {
    routes: Vec<(Vec<Segment>, String)>,
}

impl AllowTable {
    pub fn new() -> Self {
        AllowTable::default()
    }

    /// Adds a route: `template` in poem's (`/a/:id`, `/static/*path`) or OpenAPI's
    /// (`/a/{id}`) syntax, `methods` those it has. A route with GET answers HEAD too
    /// (poem runs the GET handler without the body), so HEAD is listed with it.
    pub fn route(mut self, template: &str, methods: &[&str]) -> Self {
        let segments = template
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| {
                if s.starts_with('*') {
                    Segment::Rest
                } else if s.starts_with(':') || (s.starts_with('{') && s.ends_with('}')) {
                    Segment::Param
                } else {
                    Segment::Literal(s.to_owned())
                }
            })
            .collect();
        let mut upper: Vec<String> = methods.iter().map(|m| m.to_ascii_uppercase()).collect();
        if upper.iter().any(|m| m == "GET") && !upper.iter().any(|m| m == "HEAD") {
            upper.push("HEAD".into());
        }
        let allow = ORDER
            .iter()
            .filter(|m| upper.iter().any(|u| u == *m))
            .copied()
            .collect::<Vec<_>>()
            .join(", ");
        self.routes.push((segments, allow));
        self
    }

    /// Every path of an OpenAPI document (`paths`), under `prefix` (its server URL).
    pub fn openapi(mut self, prefix: &str, doc: &serde_json::Value) -> Self {
        const OPERATIONS: [&str; 8] = [
            "get", "put", "post", "delete", "options", "head", "patch", "trace",
        ];
        let Some(paths) = doc.get("paths").and_then(|p| p.as_object()) else {
            return self;
        };
        for (path, item) in paths {
            let Some(item) = item.as_object() else {
                continue;
            };
            let methods: Vec<&str> = item
                .keys()
                .map(String::as_str)
                .filter(|k| OPERATIONS.contains(k))
                .collect();
            self = self.route(&format!("{prefix}{path}"), &methods);
        }
        self
    }

    /// The `Allow` value for `path`: the route with the most literal segments wins (a
    /// fixed `/auth/tokens` over a templated `/{collection}`).
    pub fn lookup(&self, path: &str) -> Option<&str> {
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        self.routes
            .iter()
            .filter(|(segments, _)| matches(segments, &parts))
            .max_by_key(|(segments, _)| {
                segments
                    .iter()
                    .filter(|s| matches!(s, Segment::Literal(_)))
                    .count()
            })
            .map(|(_, allow)| allow.as_str())
    }
}

fn matches(segments: &[Segment], parts: &[&str]) -> bool {
    match (segments.first(), parts.first()) {
        (None, None) => true,
        (Some(Segment::Rest), Some(_)) => true,
        (Some(Segment::Param), Some(_)) => matches(&segments[1..], &parts[1..]),
        (Some(Segment::Literal(l)), Some(p)) if l == p => matches(&segments[1..], &parts[1..]),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_by_segment_and_the_most_literal_route_wins() {
        let table = AllowTable::new()
            .route("/", &["get"])
            .route(
                "/api/v1/{collection}/{id}",
                &["get", "put", "patch", "delete"],
            )
            .route("/api/v1/auth/tokens/:id", &["delete"])
            .route("/static/*path", &["GET"]);
        assert_eq!(table.lookup("/"), Some("GET, HEAD"));
        assert_eq!(
            table.lookup("/api/v1/posts/1"),
            Some("GET, HEAD, PUT, PATCH, DELETE")
        );
        assert_eq!(table.lookup("/api/v1/auth/tokens/1"), Some("DELETE"));
        assert_eq!(table.lookup("/static/css/app.css"), Some("GET, HEAD"));
        assert_eq!(table.lookup("/static"), None);
        assert_eq!(table.lookup("/api/v1/posts"), None);
    }

    #[test]
    fn an_openapi_document_lists_its_operations() {
        let doc = serde_json::json!({"paths": {
            "/auth/login": {"post": {}, "parameters": []},
            "/users/{id}": {"get": {}, "patch": {}, "delete": {}},
        }});
        let table = AllowTable::new().openapi("/api/v1", &doc);
        assert_eq!(table.lookup("/api/v1/auth/login"), Some("POST"));
        assert_eq!(
            table.lookup("/api/v1/users/abc"),
            Some("GET, HEAD, PATCH, DELETE")
        );
    }
}
