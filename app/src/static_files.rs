//! Files under `static/`, embedded in the binary. Pages link them through
//! [`asset_url`], which appends a content hash: such URLs are cached for a year
//! (`immutable`); any other request revalidates with the `ETag`.

use poem::http::{header, HeaderValue, StatusCode};
use poem::web::Path;
use poem::{handler, Request, Response};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "../static"]
struct Assets;

fn hash_of(path: &str) -> Option<String> {
    Assets::get(path).map(|f| {
        f.metadata.sha256_hash()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    })
}

/// `/static/PATH?v=HASH` for an embedded file (the plain path if it does not exist,
/// which a test catches).
pub fn asset_url(path: &str) -> String {
    match hash_of(path) {
        Some(hash) => format!("/static/{path}?v={hash}"),
        None => format!("/static/{path}"),
    }
}

#[handler]
pub fn serve(Path(path): Path<String>, req: &Request) -> poem::Result<Response> {
    let Some(file) = Assets::get(&path) else {
        return Err(poem::error::NotFoundError.into());
    };
    let hash = hash_of(&path).unwrap_or_default();
    let etag = format!("\"{hash}\"");
    let versioned = req
        .uri()
        .query()
        .is_some_and(|q| q.split('&').any(|kv| kv == format!("v={hash}")));
    let cache = if versioned {
        "public, max-age=31536000, immutable"
    } else {
        "public, no-cache"
    };
    let not_modified = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let builder = Response::builder()
        .header(header::ETAG, etag.as_str())
        .header(header::CACHE_CONTROL, cache);
    if not_modified {
        return Ok(builder.status(StatusCode::NOT_MODIFIED).finish());
    }
    let mime = file.metadata.mimetype();
    let mime =
        HeaderValue::from_str(mime).unwrap_or(HeaderValue::from_static("application/octet-stream"));
    Ok(builder
        .header(header::CONTENT_TYPE, mime)
        .body(file.data.into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_urls_carry_hashes() {
        let url = asset_url("vendor/swagger-ui/swagger-ui-bundle.js");
        assert!(url.starts_with("/static/vendor/swagger-ui/swagger-ui-bundle.js?v="));
        assert_eq!(
            url.len(),
            "/static/vendor/swagger-ui/swagger-ui-bundle.js?v=".len() + 16
        );
    }
}
