//! `/api/v1/{collection}` and `/api/v1/{collection}/{id}` (API.md 2). Routes are dynamic
//! (collections come and go at run time), so this is a plain poem endpoint; the
//! per-collection OpenAPI fragments document it.

use super::headers;
use super::list_gate::{ListCaller, ListGate};
use super::{attach, multipart};
use crate::error::ResourceError;
use crate::records::list::ListParams;
use crate::records::service::{Created, Idempotency};
use crate::repo::idempotency::StoredResponse;
use crate::repo::records::{Record, RecordRow};
use crate::service::Resources;
use kernel::{Principal, Problem, ProblemCode};
use poem::http::{header, Method, StatusCode};
use poem::{Endpoint, Request, Response, Result};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

const LIST_PARAMS: [&str; 8] = [
    "filter", "sort", "limit", "cursor", "offset", "fields", "expand", "count",
];

pub struct RecordsEndpoint {
    pub(super) resources: Resources,
    lists: ListGate,
}

impl RecordsEndpoint {
    /// `max_concurrent_lists`: list requests one caller may have running at once (0: no
    /// cap).
    pub fn new(resources: Resources, max_concurrent_lists: usize) -> Self {
        RecordsEndpoint {
            resources,
            lists: ListGate::new(max_concurrent_lists),
        }
    }
}

pub(super) fn problem(e: ResourceError) -> poem::Error {
    Problem::from(e).into()
}

fn method_not_allowed(allow: &str) -> poem::Error {
    kernel::query::method_not_allowed(allow).into()
}

fn json_response(status: StatusCode, body: &impl serde::Serialize) -> Response {
    Response::builder()
        .status(status)
        .content_type("application/json")
        .body(serde_json::to_vec(body).unwrap_or_default())
}

fn record_response(status: StatusCode, record: &Record) -> Response {
    let mut resp = json_response(status, &record.json);
    if let Ok(v) = headers::etag(record.version).parse() {
        resp.headers_mut().insert(header::ETAG, v);
    }
    resp
}

/// The body as a JSON object, after checking its media type.
pub(super) async fn object_body(
    req: &mut Request,
    merge_patch: bool,
) -> Result<Map<String, Value>> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let accepted = content_type == "application/json"
        || (merge_patch && content_type == "application/merge-patch+json");
    if !accepted {
        let expected = if merge_patch {
            "application/merge-patch+json or application/json"
        } else {
            "application/json"
        };
        return Err(Problem::new(ProblemCode::UnsupportedMediaType)
            .with_detail(format!("send the body as {expected}"))
            .into());
    }
    let bytes = req.take_body().into_bytes().await?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Problem::new(ProblemCode::InvalidJson)
            .with_detail("the body must be a JSON object")
            .into()),
        Err(e) => Err(Problem::new(ProblemCode::InvalidJson)
            .with_detail(e.to_string())
            .into()),
    }
}

/// Query parameters as pairs; duplicates and names outside `allowed` are refused.
fn query_params(req: &Request, allowed: &[&str]) -> Result<Vec<(String, String)>> {
    Ok(kernel::query::strict_query(req.uri().query(), allowed)?)
}

impl Endpoint for RecordsEndpoint {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Response> {
        let path = req.uri().path().to_owned();
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let caller = kernel::caller::caller(&req).cloned();
        let caller = caller.as_ref();
        match segments.as_slice() {
            [collection] if !collection.is_empty() => match *req.method() {
                Method::GET => self.list(&req, caller, collection).await,
                Method::POST => self.create(&mut req, caller, collection).await,
                _ => Err(method_not_allowed("GET, POST")),
            },
            [collection, id] if !id.is_empty() => {
                query_params(&req, &[])?;
                let if_match = headers::if_match(req.headers());
                let r = &self.resources;
                match *req.method() {
                    Method::GET => {
                        let (version, json) = r
                            .get_record_json(caller, collection, id)
                            .await
                            .map_err(problem)?;
                        if headers::none_match_hits(req.headers(), version) {
                            return Ok(Response::builder()
                                .status(StatusCode::NOT_MODIFIED)
                                .header(header::ETAG, headers::etag(version))
                                .finish());
                        }
                        Ok(Response::builder()
                            .status(StatusCode::OK)
                            .content_type("application/json")
                            .header(header::ETAG, headers::etag(version))
                            .body(json))
                    }
                    Method::PUT | Method::PATCH
                        if multipart::is_multipart(&req) || self.may_attach(collection) =>
                    {
                        self.update_with_files(&mut req, caller, collection, id, if_match)
                            .await
                    }
                    Method::PUT => {
                        let body = object_body(&mut req, false).await?;
                        let record = r
                            .replace_record(caller, collection, id, &body, if_match)
                            .await
                            .map_err(problem)?;
                        Ok(self.written(caller, collection, &record))
                    }
                    Method::PATCH => {
                        let body = object_body(&mut req, true).await?;
                        let record = r
                            .patch_record(caller, collection, id, body, if_match)
                            .await
                            .map_err(problem)?;
                        Ok(self.written(caller, collection, &record))
                    }
                    Method::DELETE => {
                        r.delete_record(caller, collection, id, if_match)
                            .await
                            .map_err(problem)?;
                        Ok(Response::builder().status(StatusCode::NO_CONTENT).finish())
                    }
                    _ => Err(method_not_allowed("GET, PUT, PATCH, DELETE")),
                }
            }
            _ => Err(poem::error::NotFoundError.into()),
        }
    }
}

impl RecordsEndpoint {
    /// The answer to an update: the record with its ETag for a caller who may view it,
    /// else 204 and nothing, so an `update` rule never grants reading.
    pub(super) fn written(
        &self,
        caller: Option<&Principal>,
        collection: &str,
        record: &Record,
    ) -> Response {
        let owner = record.json.get("owner").and_then(Value::as_str);
        if self.resources.may_view(caller, collection, owner) {
            record_response(StatusCode::OK, record)
        } else {
            Response::builder().status(StatusCode::NO_CONTENT).finish()
        }
    }

    async fn list(
        &self,
        req: &Request,
        caller: Option<&Principal>,
        collection: &str,
    ) -> Result<Response> {
        let pairs = query_params(req, &LIST_PARAMS)?;
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        let params = ListParams {
            filter: get("filter"),
            sort: get("sort"),
            limit: get("limit"),
            cursor: get("cursor"),
            offset: get("offset"),
            fields: get("fields"),
            expand: get("expand"),
            count: get("count"),
        };
        let who = ListCaller::of(caller, kernel::caller::client_ip(req));
        let _pass = self
            .lists
            .enter(who, caller.is_some_and(Principal::acts_as_admin))?;
        let started = std::time::Instant::now();
        let page = self
            .resources
            .list_records_json(caller, collection, &params)
            .await
            .map_err(|e| {
                // A query stopped at its time budget cost the most of all.
                let mut err = problem(e);
                err.set_data(kernel::QueryCost(started.elapsed()));
                err
            })?;
        let mut resp = Response::builder()
            .status(StatusCode::OK)
            .content_type("application/json")
            .body(page.body);
        // The rate limiter charges slow lists more than one request's worth.
        resp.extensions_mut()
            .insert(kernel::QueryCost(started.elapsed()));
        if let Some(cursor) = &page.next_cursor {
            let mut next: Vec<(String, String)> = pairs
                .iter()
                .filter(|(n, _)| n != "cursor" && n != "offset")
                .cloned()
                .collect();
            next.push(("cursor".into(), cursor.clone()));
            let query = next
                .iter()
                .map(|(k, v)| format!("{k}={}", percent_encode(v)))
                .collect::<Vec<_>>()
                .join("&");
            let link = format!("<{}?{query}>; rel=\"next\"", req.original_uri().path());
            if let Ok(v) = link.parse() {
                resp.headers_mut().insert(header::LINK, v);
            }
        }
        Ok(resp)
    }

    async fn create(
        &self,
        req: &mut Request,
        caller: Option<&Principal>,
        collection: &str,
    ) -> Result<Response> {
        // Who may create comes first: a caller who may not gets 401/403, not feedback on
        // its query, headers or body.
        self.resources
            .authorize_create(caller, collection)
            .map_err(problem)?;
        query_params(req, &[])?;
        let key = headers::idempotency_key(req.headers())?;
        let col = self.resources.collection(collection).map_err(problem)?;
        let (body, upload) = if multipart::is_multipart(req) {
            let id = kernel::ids::new_id();
            let mut parsed = multipart::parse(req, &self.resources, &col, &id).await?;
            self.attach(caller, &col, &id, &mut parsed).await?;
            (parsed.body.clone(), Some(parsed))
        } else {
            let body = object_body(req, false).await?;
            if attach::names_uploads(&col, &body) {
                let id = kernel::ids::new_id();
                let digest = Sha256::digest(canonical_json(&Value::Object(body.clone()))).to_vec();
                let mut parsed = multipart::Parsed::json(body, &id, digest);
                self.attach(caller, &col, &id, &mut parsed).await?;
                (parsed.body.clone(), Some(parsed))
            } else {
                (body, None)
            }
        };
        let idem = key.map(|key| Idempotency {
            key,
            request_hash: match &upload {
                Some(parsed) => parsed.digest.clone(),
                None => Sha256::digest(canonical_json(&Value::Object(body.clone()))).to_vec(),
            },
            client_ip: kernel::caller::client_ip(req),
        });
        let base = req.original_uri().path().trim_end_matches('/').to_owned();
        // The new record's owner is the caller: whether it may view what it created is
        // known before the write. A caller who may not gets 201 and the Location only.
        let visible =
            self.resources
                .may_view(caller, collection, caller.map(|p| p.user_id.as_str()));
        let render = move |record: &RecordRow| StoredResponse {
            status: 201,
            location: Some(format!("{base}/{}", record.id())),
            etag: visible.then(|| headers::etag(record.version())),
            body: if visible {
                record.to_json()
            } else {
                Vec::new()
            },
        };
        let files = upload.as_ref().map(|p| p.files.clone()).unwrap_or_default();
        let created = self
            .resources
            .create_record_with(caller, collection, &body, idem, render.clone(), files)
            .await;
        if let Some(upload) = &upload {
            // Not written, or an earlier request's answer replayed: these blobs are
            // nobody's.
            if !matches!(created, Ok(Created::New(_))) {
                upload.discard(&self.resources);
            }
        }
        let created = created.map_err(problem)?;
        let (stored, replayed) = match created {
            Created::New(record) => (render(&record), false),
            Created::Replayed(stored) => (stored, true),
        };
        let mut builder = Response::builder()
            .status(StatusCode::from_u16(stored.status).unwrap_or(StatusCode::CREATED));
        if !stored.body.is_empty() {
            builder = builder.content_type("application/json");
        }
        if let Some(location) = &stored.location {
            builder = builder.header(header::LOCATION, location.as_str());
        }
        if let Some(etag) = &stored.etag {
            builder = builder.header(header::ETAG, etag.as_str());
        }
        if replayed {
            builder = builder.header("idempotent-replayed", "true");
        }
        Ok(builder.body(stored.body))
    }
}

/// JSON with object keys sorted at every level, so two bodies that differ only in key
/// order count as the same request for `Idempotency-Key`.
fn canonical_json(value: &Value) -> Vec<u8> {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                Value::Object(
                    entries
                        .into_iter()
                        .map(|(k, v)| (k.clone(), sorted(v)))
                        .collect(),
                )
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    serde_json::to_vec(&sorted(value)).unwrap_or_default()
}

/// Percent-encodes a query value (everything but unreserved characters).
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
