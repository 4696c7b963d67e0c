//! CSRF for multipart forms without buffering their files (they may be far larger than
//! `body_limit`): the dashboard's forms put the `csrf` input first, so the token is the
//! first part. The guard reads only that part and hands the handler the body as it came
//! (what was read, then the rest of the stream).

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;

/// The first part must fit in this much (its headers and a token are ~150 bytes).
const MAX_PREFIX: usize = 16 * 1024;

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The first part's value if it is the `csrf` value part: `None` while more bytes are
/// needed, `Some(None)` when the first part is something else.
fn first_part_csrf(buf: &[u8], boundary: &str) -> Option<Option<String>> {
    let opening = format!("--{boundary}\r\n");
    if buf.len() < opening.len() {
        return None;
    }
    if !buf.starts_with(opening.as_bytes()) {
        return Some(None);
    }
    let rest = &buf[opening.len()..];
    let headers_end = find(rest, b"\r\n\r\n")?;
    let headers = String::from_utf8_lossy(&rest[..headers_end]).to_ascii_lowercase();
    let is_csrf = headers.lines().any(|l| {
        l.starts_with("content-disposition:")
            && l.contains("name=\"csrf\"")
            && !l.contains("filename")
    });
    if !is_csrf {
        return Some(None);
    }
    let value = &rest[headers_end + 4..];
    let end = find(value, format!("\r\n--{boundary}").as_bytes())?;
    Some(String::from_utf8(value[..end].to_vec()).ok())
}

/// Reads `body` up to the end of its first part: the CSRF token it carries, if that is
/// what it is, and the whole body again for the handler.
pub async fn read_token(content_type: &str, body: poem::Body) -> (Option<String>, poem::Body) {
    let Ok(boundary) = multer::parse_boundary(content_type) else {
        return (None, body);
    };
    let mut stream = body.into_bytes_stream();
    let mut buf = BytesMut::new();
    let mut token = None;
    while buf.len() <= MAX_PREFIX {
        match stream.next().await {
            Some(Ok(chunk)) => buf.extend_from_slice(&chunk),
            _ => break,
        }
        if let Some(found) = first_part_csrf(&buf, &boundary) {
            token = found;
            break;
        }
    }
    let prefix: Bytes = buf.freeze();
    let whole =
        futures_util::stream::once(async move { Ok::<_, std::io::Error>(prefix) }).chain(stream);
    (token, poem::Body::from_bytes_stream(whole))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_read_from_the_first_part_only() {
        let b = "XyZ";
        let body =
            "--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\ntok123\r\n--XyZ\r\n";
        assert_eq!(
            first_part_csrf(body.as_bytes(), b),
            Some(Some("tok123".into()))
        );
        assert_eq!(first_part_csrf(&body.as_bytes()[..40], b), None);
        let other = "--XyZ\r\nContent-Disposition: form-data; name=\"f.title\"\r\n\r\nx\r\n--XyZ";
        assert_eq!(first_part_csrf(other.as_bytes(), b), Some(None));
        let file = "--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"; filename=\"a\"\r\n\r\nx\r\n--XyZ";
        assert_eq!(first_part_csrf(file.as_bytes(), b), Some(None));
    }
}
