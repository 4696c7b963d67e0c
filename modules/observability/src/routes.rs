//! Route templates: every response carries a [`RouteTemplate`] in its extensions (on an
//! error, in the error's data, which the problem renderer copies onto the response), so
//! logs and metrics label requests by the route they took (`/api/v1/{collection}/{id}`),
//! never by the raw path. Anything that matched no route is [`UNMATCHED`], so a scan of
//! random paths adds no new label values.

use kernel::RouteTemplate;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};
use poem_openapi::OperationId;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

/// The template of every request no route answered (404s from the router included).
pub const UNMATCHED: &str = "unmatched";

pub fn unmatched() -> RouteTemplate {
    RouteTemplate {
        template: Cow::Borrowed(UNMATCHED),
        collection: None,
    }
}

fn fixed(template: Cow<'static, str>) -> RouteTemplate {
    RouteTemplate {
        template,
        collection: None,
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param,
}

/// The templates of an API mounted at one prefix: the static poem-openapi operations
/// (from the generated document, read once at start-up) and the dynamic record routes
/// (`{prefix}/{collection}`, `{prefix}/{collection}/{id}`) for every other first segment.
pub struct ApiRoutes {
    by_operation: HashMap<String, Cow<'static, str>>,
    /// Path templates split into segments, for answers that carry no operation id
    /// (a 401 or 429 from a middleware in front of the handler, a 405, a 404 inside a
    /// static path).
    paths: Vec<(Vec<Segment>, Cow<'static, str>)>,
    /// First segments that belong to the static API, never to a collection.
    static_heads: Vec<String>,
    collection: Cow<'static, str>,
    record: Cow<'static, str>,
}

impl ApiRoutes {
    /// `spec`: an OpenAPI document whose `paths` are relative to `prefix` (`/api/v1`).
    pub fn from_openapi(spec: &Value, prefix: &str) -> ApiRoutes {
        let mut by_operation = HashMap::new();
        let mut paths = Vec::new();
        let mut static_heads: Vec<String> = Vec::new();
        for (path, item) in spec
            .get("paths")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let template: Cow<'static, str> = Cow::Owned(format!("{prefix}{path}"));
            let segments: Vec<Segment> = split(path)
                .map(|s| {
                    if s.starts_with('{') && s.ends_with('}') {
                        Segment::Param
                    } else {
                        Segment::Literal(s.to_owned())
                    }
                })
                .collect();
            if let Some(Segment::Literal(head)) = segments.first() {
                if !static_heads.contains(head) {
                    static_heads.push(head.clone());
                }
            }
            for operation in item.as_object().into_iter().flat_map(|o| o.values()) {
                if let Some(id) = operation.get("operationId").and_then(Value::as_str) {
                    by_operation.insert(id.to_owned(), template.clone());
                }
            }
            paths.push((segments, template));
        }
        ApiRoutes {
            by_operation,
            paths,
            static_heads,
            collection: Cow::Owned(format!("{prefix}/{{collection}}")),
            record: Cow::Owned(format!("{prefix}/{{collection}}/{{id}}")),
        }
    }

    /// The template of a poem-openapi operation.
    pub fn for_operation(&self, id: &str) -> Option<RouteTemplate> {
        self.by_operation.get(id).cloned().map(fixed)
    }

    /// The static template `path` (relative to the prefix) matches; literal segments
    /// beat parameters (`/auth/tokens/current` before `/auth/tokens/{id}`).
    fn static_match(&self, path: &str) -> Option<RouteTemplate> {
        let segments: Vec<&str> = split(path).collect();
        self.paths
            .iter()
            .filter(|(template, _)| {
                template.len() == segments.len()
                    && template.iter().zip(&segments).all(|(t, s)| match t {
                        Segment::Literal(l) => l == s,
                        Segment::Param => !s.is_empty(),
                    })
            })
            .max_by_key(|(template, _)| {
                template
                    .iter()
                    .filter(|s| matches!(s, Segment::Literal(_)))
                    .count()
            })
            .map(|(_, t)| fixed(t.clone()))
    }

    /// The template for a path relative to the prefix (`/posts/123`). `is_collection`
    /// says whether a name is a collection now: only then is it used as the
    /// `collection` (a label), so unknown names cannot grow the label set.
    pub fn classify(&self, path: &str, is_collection: &dyn Fn(&str) -> bool) -> RouteTemplate {
        let segments: Vec<&str> = split(path).collect();
        let Some(head) = segments.first() else {
            return unmatched();
        };
        if self.static_heads.iter().any(|h| h == head) {
            return self.static_match(path).unwrap_or_else(unmatched);
        }
        let template = match segments.as_slice() {
            [c] if !c.is_empty() => self.collection.clone(),
            [c, id] if !c.is_empty() && !id.is_empty() => self.record.clone(),
            _ => return unmatched(),
        };
        RouteTemplate {
            template,
            collection: is_collection(head).then(|| (*head).to_owned()),
        }
    }
}

/// `/a/b/` → `a`, `b`, `` (a trailing slash is an empty last segment, so it matches
/// nothing that a path without it matches).
fn split(path: &str) -> impl Iterator<Item = &str> {
    path.strip_prefix('/').unwrap_or(path).split('/')
}

/// Puts `template` on the answer unless it already carries one.
fn attach(
    result: Result<Response>,
    template: impl FnOnce(Option<&str>) -> RouteTemplate,
) -> Result<Response> {
    match result {
        Ok(mut resp) => {
            if resp.extensions().get::<RouteTemplate>().is_none() {
                let t = template(resp.data::<OperationId>().map(|o| o.0));
                resp.set_data(t);
            }
            Ok(resp)
        }
        Err(mut err) => {
            if err.data::<RouteTemplate>().is_none() {
                let t = template(err.data::<OperationId>().map(|o| o.0));
                err.set_data(t);
            }
            Err(err)
        }
    }
}

/// Tags every answer of one fixed route (`/healthz`, `/static/{path}`).
pub struct Route(pub &'static str);

impl<E: Endpoint> Middleware<E> for Route {
    type Output = RouteEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        RouteEndpoint(ep, self.0)
    }
}

pub struct RouteEndpoint<E>(E, &'static str);

impl<E: Endpoint> Endpoint for RouteEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        let result = self.0.call(req).await.map(IntoResponse::into_response);
        attach(result, |_| fixed(Cow::Borrowed(self.1)))
    }
}

/// Tags every answer of an API nested at a prefix: by the poem-openapi operation id
/// when the answer has one, otherwise by [`ApiRoutes::classify`] of the request path.
/// Put it outside the API's own middleware (authentication, rate limit), so their
/// answers are tagged too.
pub struct ApiRouteTags {
    routes: Arc<ApiRoutes>,
    is_collection: Arc<dyn Fn(&str) -> bool + Send + Sync>,
}

impl ApiRouteTags {
    pub fn new(
        routes: ApiRoutes,
        is_collection: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) -> ApiRouteTags {
        ApiRouteTags {
            routes: Arc::new(routes),
            is_collection: Arc::new(is_collection),
        }
    }
}

impl<E: Endpoint> Middleware<E> for ApiRouteTags {
    type Output = ApiRouteTagsEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        ApiRouteTagsEndpoint {
            inner: ep,
            routes: Arc::clone(&self.routes),
            is_collection: Arc::clone(&self.is_collection),
        }
    }
}

pub struct ApiRouteTagsEndpoint<E> {
    inner: E,
    routes: Arc<ApiRoutes>,
    is_collection: Arc<dyn Fn(&str) -> bool + Send + Sync>,
}

impl<E: Endpoint> Endpoint for ApiRouteTagsEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        // Inside a nest, `uri()` is the path below the prefix.
        let path = req.uri().path().to_owned();
        let result = self.inner.call(req).await.map(IntoResponse::into_response);
        attach(result, |operation| {
            operation
                .and_then(|id| self.routes.for_operation(id))
                .unwrap_or_else(|| self.routes.classify(&path, self.is_collection.as_ref()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn routes() -> ApiRoutes {
        ApiRoutes::from_openapi(
            &json!({"paths": {
                "/auth/tokens": {"get": {"operationId": "list_tokens"}},
                "/auth/tokens/{id}": {"delete": {"operationId": "revoke_token"}},
                "/auth/tokens/current": {"get": {"operationId": "current"}},
                "/users/{id}": {"get": {"operationId": "get_user"}, "patch": {"operationId": "update_user"}},
            }}),
            "/api/v1",
        )
    }

    fn t(r: RouteTemplate) -> (String, Option<String>) {
        (r.template.into_owned(), r.collection)
    }

    #[test]
    fn operation_ids_map_to_prefixed_templates() {
        let r = routes();
        assert_eq!(
            t(r.for_operation("revoke_token").unwrap()).0,
            "/api/v1/auth/tokens/{id}"
        );
        assert_eq!(
            t(r.for_operation("update_user").unwrap()).0,
            "/api/v1/users/{id}"
        );
        assert!(r.for_operation("nope").is_none());
    }

    #[test]
    fn paths_are_classified_without_ids_and_literals_win() {
        let r = routes();
        let yes = |_: &str| true;
        let no = |_: &str| false;
        assert_eq!(
            t(r.classify("/auth/tokens/abc", &yes)).0,
            "/api/v1/auth/tokens/{id}"
        );
        assert_eq!(
            t(r.classify("/auth/tokens/current", &yes)).0,
            "/api/v1/auth/tokens/current"
        );
        assert_eq!(t(r.classify("/auth/nothing/here", &yes)).0, UNMATCHED);
        assert_eq!(
            t(r.classify("/posts/0190aa", &yes)),
            ("/api/v1/{collection}/{id}".into(), Some("posts".into()))
        );
        assert_eq!(
            t(r.classify("/posts", &yes)),
            ("/api/v1/{collection}".into(), Some("posts".into()))
        );
        // An unknown collection keeps the template but gets no collection label.
        assert_eq!(
            t(r.classify("/nope", &no)),
            ("/api/v1/{collection}".into(), None)
        );
        for path in ["/", "", "/posts/1/2", "/posts/", "//x"] {
            assert_eq!(t(r.classify(path, &yes)).0, UNMATCHED, "{path}");
        }
    }
}
