//! The request and response headers a download speaks, parsed and written by hand: each
//! is a few lines of RFC 9110 / RFC 8187 grammar, and getting them wrong is either a
//! security hole (disposition) or a wasted transfer (ranges, validators).

use files::ByteRange;
use sha2::{Digest, Sha256};

/// What a `Range` header asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RangeRequest {
    /// No header, a unit other than `bytes`, several ranges, or a header that does not
    /// parse: the whole body with 200. RFC 9110 14.2 lets a server ignore `Range`, and
    /// multipart/byteranges answers are not worth their complexity for files.
    Whole,
    One(ByteRange),
}

/// `bytes=a-b`, `bytes=a-` or `bytes=-n` (one range, optional white space around it).
pub fn parse_range(header: Option<&str>) -> RangeRequest {
    let Some(value) = header else {
        return RangeRequest::Whole;
    };
    let Some((unit, set)) = value.split_once('=') else {
        return RangeRequest::Whole;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") || set.contains(',') {
        return RangeRequest::Whole;
    }
    let Some((first, last)) = set.trim().split_once('-') else {
        return RangeRequest::Whole;
    };
    let number = |text: &str| -> Option<u64> {
        let text = text.trim();
        // Digits only: `u64::from_str` would take a leading `+`.
        (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| text.parse().ok())
            .flatten()
    };
    let range = match (first.trim().is_empty(), last.trim().is_empty()) {
        (true, false) => number(last).map(ByteRange::Suffix),
        (false, true) => number(first).map(ByteRange::From),
        (false, false) => match (number(first), number(last)) {
            // `a-b` with b < a is invalid syntax (ignored), not unsatisfiable.
            (Some(a), Some(b)) if b >= a => Some(ByteRange::Bounded(a..b.saturating_add(1))),
            _ => None,
        },
        (true, true) => None,
    };
    range.map_or(RangeRequest::Whole, RangeRequest::One)
}

/// The strong entity tag of the blob at `key` with `size` bytes. A stored name is never
/// reused for other content (it carries a random suffix, and thumbnails are derived from
/// it), so key and size name the content: no need to hash the bytes themselves.
pub fn etag_for(key: &str, size: u64) -> String {
    let digest = Sha256::new()
        .chain_update(key.as_bytes())
        .chain_update(b"\0")
        .chain_update(size.to_be_bytes())
        .finalize();
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// Whether `If-None-Match` matches `etag`: `*`, or one of its comma-separated tags
/// equal by the weak comparison (RFC 9110 13.1.2, `W/` ignored).
pub fn none_match(header: Option<&str>, etag: &str) -> bool {
    let Some(value) = header else {
        return false;
    };
    value.split(',').map(str::trim).any(|tag| {
        tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag.trim_start_matches("W/")
    })
}

/// Whether a `Range` may be honoured under `If-Range`: absent, or exactly our strong
/// tag (a date or a weak tag never is: RFC 9110 13.1.5 asks for a strong match).
pub fn if_range_allows(header: Option<&str>, etag: &str) -> bool {
    header.is_none_or(|value| value.trim() == etag)
}

/// `inline` for raster images a browser may show, else `attachment` with the stored name
/// (RFC 6266 with RFC 8187's `filename*`, so non-ASCII names survive).
pub fn content_disposition(inline: bool, name: &str) -> String {
    let kind = if inline { "inline" } else { "attachment" };
    format!("{kind}; filename*=UTF-8''{}", encode_rfc8187(name))
}

/// RFC 8187 `value-chars`: `attr-char`s as they are, every other byte as `%XX`.
fn encode_rfc8187(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        let attr_char = byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte);
        if attr_char {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A path segment percent-decoded, if it decodes to UTF-8 that can name a file: not
/// empty, not `.` or `..`, no `/` or `\` (an encoded slash is not a separator), no
/// control characters. `None` is answered 404 by the caller: no file has such a name.
pub fn decode_segment(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let text = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(text, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let text = String::from_utf8(out).ok()?;
    let nameable = !text.is_empty()
        && text != "."
        && text != ".."
        && !text.contains(['/', '\\'])
        && !text.chars().any(char::is_control);
    nameable.then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_ranges_parse_and_everything_else_means_the_whole_body() {
        let one = |h| match parse_range(Some(h)) {
            RangeRequest::One(r) => Some(r),
            RangeRequest::Whole => None,
        };
        assert_eq!(one("bytes=0-99"), Some(ByteRange::Bounded(0..100)));
        assert_eq!(one("bytes= 10 - 10 "), Some(ByteRange::Bounded(10..11)));
        assert_eq!(one("Bytes=5-"), Some(ByteRange::From(5)));
        assert_eq!(one("bytes=-7"), Some(ByteRange::Suffix(7)));
        assert_eq!(one("bytes=-0"), Some(ByteRange::Suffix(0)));
        assert_eq!(
            one("bytes=0-18446744073709551615"),
            Some(ByteRange::Bounded(0..u64::MAX))
        );
        for ignored in [
            "bytes=0-1,5-6",
            "bytes=9-3",
            "bytes=-",
            "bytes=a-b",
            "bytes=+1-2",
            "items=0-1",
            "bytes",
            "bytes=1",
            "bytes=99999999999999999999999-",
        ] {
            assert_eq!(one(ignored), None, "{ignored}");
        }
        assert_eq!(parse_range(None), RangeRequest::Whole);
    }

    #[test]
    fn etags_are_strong_distinct_and_matched_weakly_by_if_none_match() {
        let tag = etag_for("posts/1/a.png", 10);
        assert!(tag.starts_with('"') && tag.ends_with('"') && tag.len() == 34);
        assert_ne!(tag, etag_for("posts/1/a.png", 11));
        assert_ne!(tag, etag_for("posts/1/b.png", 10));
        assert!(none_match(Some(&tag), &tag));
        assert!(none_match(Some(&format!("\"x\", W/{tag}")), &tag));
        assert!(none_match(Some("*"), &tag));
        assert!(!none_match(Some("\"x\""), &tag));
        assert!(!none_match(None, &tag));
        assert!(if_range_allows(None, &tag));
        assert!(if_range_allows(Some(&tag), &tag));
        assert!(!if_range_allows(Some(&format!("W/{tag}")), &tag));
        assert!(!if_range_allows(
            Some("Wed, 21 Oct 2015 07:28:00 GMT"),
            &tag
        ));
    }

    #[test]
    fn dispositions_quote_nothing_a_header_could_be_split_with() {
        assert_eq!(
            content_disposition(true, "cat_abc.png"),
            "inline; filename*=UTF-8''cat_abc.png"
        );
        assert_eq!(
            content_disposition(false, "résumé \"x\";\r\n.html"),
            "attachment; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22x%22%3B%0D%0A.html"
        );
    }

    #[test]
    fn segments_decode_but_never_into_a_path() {
        assert_eq!(decode_segment("a%20b.png").as_deref(), Some("a b.png"));
        assert_eq!(decode_segment("%C3%A9t%C3%A9").as_deref(), Some("été"));
        assert_eq!(decode_segment("x..y").as_deref(), Some("x..y"));
        for bad in [
            "", ".", "..", "%2e%2E", "a%2Fb", "a%2fb", "a%5Cb", "%00", "a%0Ab", "%", "%4", "%zz",
            "%C3", "%FF",
        ] {
            assert_eq!(decode_segment(bad), None, "{bad}");
        }
    }
}
