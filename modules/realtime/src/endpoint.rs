//! The HTTP side, mounted inside `/api/v1` (behind authentication and rate limits):
//! `GET /realtime`, `POST /realtime/tickets`, `GET /{collection}/events`.

use crate::{Realtime, Recheck, StreamRequest};
use kernel::{Principal, Problem, ProblemCode};
use poem::http::{header, Method, StatusCode};
use poem::{Endpoint, Request, Response, Result};
use serde_json::json;

pub struct RealtimeEndpoint {
    realtime: Realtime,
}

impl RealtimeEndpoint {
    pub fn new(realtime: Realtime) -> Self {
        RealtimeEndpoint { realtime }
    }

    /// Whether this endpoint serves `path` (relative to `/api/v1`): the realtime paths,
    /// and `/{collection}/events` for names that can be collections (record ids are
    /// UUIDs, so `events` is never one).
    pub fn serves(path: &str) -> bool {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match segments.as_slice() {
            ["realtime"] | ["realtime", "tickets"] => true,
            [collection, "events"] => !resources::RESERVED_NAMES.contains(collection),
            _ => false,
        }
    }
}

use kernel::query::query_value as param;

fn method_not_allowed(allow: &str) -> poem::Error {
    kernel::query::method_not_allowed(allow).into()
}

fn invalid_query(detail: impl Into<String>) -> poem::Error {
    Problem::new(ProblemCode::InvalidQuery)
        .with_detail(detail)
        .into()
}

fn query(req: &Request, allowed: &[&str]) -> Result<Vec<(String, String)>> {
    Ok(kernel::query::strict_query(req.uri().query(), allowed)?)
}

/// A sequence number as a client sends it back (`Last-Event-ID`, `since`): decimal
/// digits only. Public for the other streams built on [`Realtime::open`](crate::Realtime::open).
pub fn parse_event_id(value: &str) -> std::result::Result<i64, Problem> {
    let valid = !value.is_empty() && value.len() <= 18 && value.bytes().all(|b| b.is_ascii_digit());
    if !valid {
        return Err(Problem::new(ProblemCode::InvalidEventId).with_detail(
            "an event id is the decimal sequence number of an event this server sent",
        ));
    }
    value.parse().map_err(|_| {
        Problem::new(ProblemCode::InvalidEventId).with_detail("the event id is out of range")
    })
}

/// The `Last-Event-ID` header (what `EventSource` sends on reconnection), if any.
pub fn last_event_id(req: &Request) -> Option<std::result::Result<i64, Problem>> {
    let value = req.headers().get("last-event-id")?;
    Some(parse_event_id(value.to_str().unwrap_or("-")))
}

fn bearer(req: &Request) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

impl RealtimeEndpoint {
    async fn stream(&self, req: &Request, collections: Option<Vec<String>>) -> Result<Response> {
        let single = collections.is_some();
        let allowed: &[&str] = if single {
            &["filter", "since", "ticket"]
        } else {
            &["topics", "since", "ticket"]
        };
        let pairs = query(req, allowed)?;
        let collections = match collections {
            Some(one) => one,
            None => param(&pairs, "topics")
                .ok_or_else(|| {
                    invalid_query("`topics` names the collections to follow, comma-separated")
                })?
                .split(',')
                .map(|t| t.trim().to_owned())
                .collect(),
        };
        if collections.iter().any(String::is_empty) {
            return Err(invalid_query("`topics` has an empty collection name"));
        }
        // The header is what EventSource sends on reconnection; it wins over the
        // `since` the original URL still carries.
        let since = match last_event_id(req) {
            Some(parsed) => Some(parsed?),
            None => param(&pairs, "since").map(parse_event_id).transpose()?,
        };
        let (principal, recheck) = self.credential(req, param(&pairs, "ticket")).await?;
        let caller_key = match &principal {
            Some(p) => format!("user:{}", p.user_id),
            None => match kernel::caller::client_ip(req) {
                Some(ip) => format!("ip:{}", kernel::caller::client_network(ip)),
                None => "ip:unknown".to_owned(),
            },
        };
        self.realtime
            .open(StreamRequest {
                principal,
                recheck,
                collections,
                filter: param(&pairs, "filter").map(str::to_owned),
                since,
                caller_key,
            })
            .await
            .map_err(Into::into)
    }

    /// Who the stream is for: the authenticated caller, or the token a ticket stands for.
    async fn credential(
        &self,
        req: &Request,
        ticket: Option<&str>,
    ) -> Result<(Option<Principal>, Recheck)> {
        let caller = kernel::caller::caller(req).cloned();
        match (ticket, caller) {
            (Some(_), Some(_)) => Err(Problem::new(ProblemCode::BadRequest)
                .with_detail("send either a bearer token or a ticket, not both")
                .into()),
            (Some(ticket), None) => {
                let refused = || -> poem::Error {
                    Problem::unauthenticated("the ticket is unknown, expired or already used")
                        .into()
                };
                let token = self.realtime.redeem_ticket(ticket).ok_or_else(refused)?;
                let principal = self
                    .realtime
                    .inner
                    .auth
                    .authenticate(&token)
                    .await
                    .map_err(|_| refused())?;
                Ok((Some(principal), Recheck::Bearer(token)))
            }
            (None, Some(principal)) => {
                let recheck = bearer(req).map_or(Recheck::Anonymous, Recheck::Bearer);
                Ok((Some(principal), recheck))
            }
            (None, None) => Ok((None, Recheck::Anonymous)),
        }
    }

    fn ticket(&self, req: &Request) -> Result<Response> {
        query(req, &[])?;
        let (Some(principal), Some(token)) = (kernel::caller::caller(req), bearer(req)) else {
            return Err(Problem::unauthenticated("a ticket is issued for a bearer token").into());
        };
        let ticket = self.realtime.issue_ticket(&token, &principal.user_id)?;
        Ok(Response::builder()
            .status(StatusCode::CREATED)
            .content_type("application/json")
            .header(header::CACHE_CONTROL, "no-store")
            .body(
                json!({ "ticket": ticket, "expires_in": crate::tickets::TTL.as_secs() })
                    .to_string(),
            ))
    }
}

impl Endpoint for RealtimeEndpoint {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        let path = req.uri().path().to_owned();
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match (segments.as_slice(), req.method()) {
            (["realtime", "tickets"], &Method::POST) => self.ticket(&req),
            (["realtime", "tickets"], _) => Err(method_not_allowed("POST")),
            (["realtime"], &Method::GET) => self.stream(&req, None).await,
            ([collection, "events"], &Method::GET) => {
                let collection = (*collection).to_owned();
                self.stream(&req, Some(vec![collection])).await
            }
            (["realtime"] | [_, "events"], _) => Err(method_not_allowed("GET")),
            _ => Err(Problem::not_found().into()),
        }
    }
}
