//! The HTTP side, mounted inside `/api/v1` (behind authentication and rate limits):
//! `GET|HEAD /files/{collection}/{record_id}/{name}` and `POST /files/token`.

use crate::headers::decode_segment;
use crate::serve::{store_problem, Probe, Serve};
use crate::tokens::TTL;
use crate::Downloads;
use kernel::query::query_value;
use kernel::{Principal, Problem, ProblemCode};
use poem::http::{header, Method, StatusCode};
use poem::{Endpoint, Request, Response, Result};
use serde_json::json;
use thumbs::ThumbSpec;

/// `Cache-Control` of a protected field's files: only the caller's own cache keeps
/// them, and it asks again each time (a 304 when unchanged), so that access is
/// checked on every use.
const PROTECTED_CACHE_CONTROL: &str = "private, no-cache";

pub struct DownloadsEndpoint {
    downloads: Downloads,
}

impl DownloadsEndpoint {
    pub fn new(downloads: Downloads) -> Self {
        DownloadsEndpoint { downloads }
    }

    /// Whether this endpoint serves `path` (relative to `/api/v1`): everything under
    /// `/files` (a reserved name, never a collection).
    pub fn serves(path: &str) -> bool {
        let path = path.trim_start_matches('/');
        path == "files" || path.starts_with("files/")
    }
}

fn bearer(req: &Request) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

fn no_such_file() -> poem::Error {
    Problem::not_found().with_detail("no such file").into()
}

impl DownloadsEndpoint {
    async fn download(&self, req: &Request, segments: &[&str]) -> Result<Response> {
        let pairs = kernel::query::strict_query(req.uri().query(), &["thumb", "token"])?;
        let [collection, record_id, name] = segments else {
            return Err(no_such_file());
        };
        let decode = |raw: &str| decode_segment(raw).ok_or_else(no_such_file);
        let (collection, record_id, name) =
            (decode(collection)?, decode(record_id)?, decode(name)?);
        let caller = self.caller(req, query_value(&pairs, "token")).await?;
        let inner = &self.downloads.inner;
        let file = inner
            .resources
            .file_for_download(caller.as_ref(), &collection, &record_id, &name)
            .await
            .map_err(Problem::from)?;
        let thumb = query_value(&pairs, "thumb")
            .map(|asked| allowed_thumb(asked, &file.options.thumbs))
            .transpose()?;
        let cache_control = if file.options.protected {
            PROTECTED_CACHE_CONTROL
        } else {
            inner.public_cache_control.as_str()
        };
        let probe = Probe::read(&inner.store, &file.key)
            .await
            .map_err(store_problem)?;
        let made = match thumb {
            Some(spec) => inner
                .thumbnails
                .get_or_make(&file.key, &probe, spec)
                .await
                .map_err(store_problem)?
                .map(|key| (key, spec)),
            None => None,
        };
        // A thumbnail is served like a file, under PocketBase's name for it
        // (`100x100_photo.png`); without one, the file itself.
        let (key, probe, served_name) = match made {
            Some((key, spec)) => {
                let probe = Probe::read(&inner.store, &key)
                    .await
                    .map_err(store_problem)?;
                (key, probe, format!("{spec}_{name}"))
            }
            None => (file.key, probe, name),
        };
        let response = Serve {
            store: &inner.store,
            metrics: &inner.metrics,
            key: &key,
            probe,
            name: &served_name,
            cache_control,
        }
        .respond(req)
        .await?;
        Ok(response)
    }

    /// Who asks: the authenticated caller, or the caller a file token stands for.
    async fn caller(&self, req: &Request, token: Option<&str>) -> Result<Option<Principal>> {
        let caller = kernel::caller::caller(req).cloned();
        match (token, caller) {
            (Some(_), Some(_)) => Err(Problem::new(ProblemCode::BadRequest)
                .with_detail("send either a bearer token or a file token, not both")
                .into()),
            (Some(token), None) => {
                let refused = || -> poem::Error {
                    Problem::unauthenticated("the file token is unknown or expired").into()
                };
                let inner = &self.downloads.inner;
                let bearer = inner.tokens.resolve(token).ok_or_else(refused)?;
                let principal = inner
                    .auth
                    .authenticate(&bearer)
                    .await
                    .map_err(|_| refused())?;
                Ok(Some(principal))
            }
            (None, caller) => Ok(caller),
        }
    }

    fn issue_token(&self, req: &Request) -> Result<Response> {
        kernel::query::strict_query(req.uri().query(), &[])?;
        let (Some(principal), Some(bearer)) = (kernel::caller::caller(req), bearer(req)) else {
            return Err(
                Problem::unauthenticated("a file token is issued for a bearer token").into(),
            );
        };
        let token = self
            .downloads
            .inner
            .tokens
            .issue(&bearer, &principal.user_id)
            .map_err(|_| {
                Problem::new(ProblemCode::RateLimited)
                    .with_detail("too many live file tokens; reuse one (each lasts 120 s)")
                    .with_retry_after(TTL.as_secs())
            })?;
        Ok(Response::builder()
            .status(StatusCode::CREATED)
            .content_type("application/json")
            .header(header::CACHE_CONTROL, "no-store")
            .body(json!({ "token": token, "expires_in": TTL.as_secs() }).to_string()))
    }
}

/// `asked` as a spec, if it is one of the field's `thumbs` (canonical spellings, so
/// comparing the text is comparing the sizes).
fn allowed_thumb(asked: &str, allowed: &[String]) -> Result<ThumbSpec, Problem> {
    if allowed.iter().any(|size| size == asked) {
        if let Ok(spec) = asked.parse::<ThumbSpec>() {
            return Ok(spec);
        }
    }
    let detail = if allowed.is_empty() {
        format!("`thumb`: this field has no thumbnail sizes, so `{asked}` cannot be served")
    } else {
        format!(
            "`thumb`: `{asked}` is not one of this field's sizes ({})",
            allowed.join(", ")
        )
    };
    Err(Problem::new(ProblemCode::InvalidQuery).with_detail(detail))
}

impl Endpoint for DownloadsEndpoint {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        let path = req.uri().path().to_owned();
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match (segments.as_slice(), req.method()) {
            (["files", "token"], &Method::POST) => self.issue_token(&req),
            (["files", "token"], _) => Err(kernel::query::method_not_allowed("POST").into()),
            (["files", rest @ ..], &Method::GET | &Method::HEAD) if rest.len() == 3 => {
                self.download(&req, rest).await
            }
            (["files", rest @ ..], _) if rest.len() == 3 => {
                Err(kernel::query::method_not_allowed("GET, HEAD").into())
            }
            _ => Err(Problem::not_found().into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_sizes_are_served_and_the_refusal_names_them() {
        let allowed = vec!["100x100".to_owned(), "400x0".to_owned()];
        assert_eq!(
            allowed_thumb("400x0", &allowed).unwrap().to_string(),
            "400x0"
        );
        let refused = allowed_thumb("50x50", &allowed).unwrap_err();
        assert_eq!(refused.code, ProblemCode::InvalidQuery);
        assert!(refused.detail.unwrap().contains("100x100, 400x0"));
        let none = allowed_thumb("100x100", &[]).unwrap_err();
        assert!(none.detail.unwrap().contains("no thumbnail sizes"));
        // A listed string that somehow does not parse is refused, not a panic.
        assert!(allowed_thumb("big", &["big".to_owned()]).is_err());
    }

    #[test]
    fn everything_under_files_is_ours() {
        assert!(DownloadsEndpoint::serves("/files/token"));
        assert!(DownloadsEndpoint::serves("/files/posts/1/a.png"));
        assert!(DownloadsEndpoint::serves("/files"));
        assert!(!DownloadsEndpoint::serves("/filesystem"));
        assert!(!DownloadsEndpoint::serves("/posts/files"));
    }
}
