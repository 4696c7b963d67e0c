//! `/admin/collections/{name}/events`: the records page's live feed, an SSE stream of
//! the collection's changes (the realtime service's, as the API's streams are) for the
//! signed-in admin. `admin.js` opens it with `EventSource` and re-fetches the table when
//! something changes.
//!
//! The stream outlives the request the guard checked, so every `recheck` it asks the
//! same question of the session again ([`check_session`]), without restarting its idle
//! clock: an open tab is not activity, and a session left idle ends, and its stream
//! with it (`event: unauthorized`), as signing out or a password reset does.
//!
//! Not a page: refusals (a bad filter, an unknown collection, too many streams) answer
//! the API's problem documents, which is what an SSE client is built for.

use crate::context::AdminCtx;
use crate::cookies;
use crate::guard::{check_session, Activity, SessionCheck};
use crate::Admin;
use kernel::{Principal, Problem};
use poem::web::{Data, Path};
use poem::{handler, IntoResponse, Request, Response};
use realtime::{Recheck, StreamRequest};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

type Check = Pin<Box<dyn Future<Output = Option<Principal>> + Send>>;

/// The stream's re-check: this session, checked as the guard checks every request.
fn session_recheck(admin: Admin, secret: String, principal: Principal) -> Recheck {
    // What the last good check said, kept for a check the database cannot answer: a
    // passing storage problem is no reason to end a good stream (as for bearer tokens).
    let last = Arc::new(Mutex::new(principal));
    Recheck::With(Arc::new(move || -> Check {
        let (admin, secret, last) = (admin.clone(), secret.clone(), Arc::clone(&last));
        Box::pin(async move {
            match check_session(&admin, &secret, Activity::Background).await {
                SessionCheck::Valid(valid) => {
                    if let Ok(mut kept) = last.lock() {
                        *kept = valid.principal.clone();
                    }
                    Some(valid.principal)
                }
                SessionCheck::Ended => None,
                SessionCheck::Unavailable => last.lock().ok().map(|kept| kept.clone()),
            }
        })
    }))
}

/// `?filter=`, as on the API's streams. The records page does not send one (see
/// records.rs: a filtered stream would miss the updates that take a row out of it).
fn filter(ctx: &AdminCtx) -> Option<String> {
    Some(ctx.form.get("filter").to_owned()).filter(|f| !f.trim().is_empty())
}

#[handler]
pub async fn events(
    req: &Request,
    Path(name): Path<String>,
    ctx: Data<&AdminCtx>,
    admin: Data<&Admin>,
) -> Response {
    let inner = &admin.inner;
    // The guard let this request in, so the cookie is there; read again, not passed on,
    // so the secret stays out of the context every page sees.
    let Some(secret) = cookies::session_secret(req, inner.config.https) else {
        return Problem::unauthenticated("the dashboard session cookie is missing").into_response();
    };
    // `since`: the sequence the page was rendered at; `Last-Event-ID` (a reconnecting
    // EventSource) wins over it, as on the API's streams.
    let since = match realtime::last_event_id(req) {
        Some(parsed) => parsed.map(Some),
        None => ctx
            .form
            .opt("since")
            .map(|s| realtime::parse_event_id(&s))
            .transpose(),
    };
    let since = match since {
        Ok(since) => since,
        Err(problem) => return problem.into_response(),
    };
    let principal = ctx.admin.principal().clone();
    let request = StreamRequest {
        recheck: session_recheck(admin.clone(), secret, principal.clone()),
        caller_key: format!("user:{}", principal.user_id),
        principal: Some(principal),
        collections: vec![name],
        filter: filter(&ctx),
        since,
    };
    match inner.realtime.open(request).await {
        Ok(stream) => stream,
        Err(problem) => problem.into_response(),
    }
}
