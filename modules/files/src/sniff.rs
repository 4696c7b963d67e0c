//! What a file is, from its first bytes only: the client's Content-Type and the file's
//! extension are never consulted, since either can claim `image/png` for an HTML page.

/// How many leading bytes sniffing looks at (`put` keeps this much of every upload).
/// Most signatures sit in the first few bytes; 8 KiB also covers a long XML prologue
/// before an `<svg` element.
pub const SNIFF_BYTES: usize = 8192;

/// The media type of content starting with `prefix` (its first `SNIFF_BYTES` bytes, or
/// all of it if shorter): a magic-number match (the `infer` crate), else
/// `image/svg+xml` for an SVG document, else `text/plain` for UTF-8 text without NUL
/// bytes, else `application/octet-stream`. Empty content is `application/octet-stream`.
pub fn sniff_mime(prefix: &[u8]) -> &'static str {
    let prefix = &prefix[..prefix.len().min(SNIFF_BYTES)];
    if prefix.is_empty() {
        return OCTET_STREAM;
    }
    let matched = infer::get(prefix).map(|t| t.mime_type());
    match matched {
        Some(mime) if !is_markup(mime) => mime,
        // infer calls an SVG `text/xml` or `text/html`; a browser would run its script.
        _ if is_svg(prefix) => "image/svg+xml",
        Some(mime) => mime,
        None if is_text(prefix) => "text/plain",
        None => OCTET_STREAM,
    }
}

/// Whether a file of this (sniffed) type may be shown inline, e.g. in an `<img>` or by
/// opening its URL: raster images that cannot carry script. SVG is not one (it can).
pub fn is_safe_inline_image(mime: &str) -> bool {
    matches!(
        mime,
        "image/png" | "image/jpeg" | "image/gif" | "image/webp"
    )
}

const OCTET_STREAM: &str = "application/octet-stream";

fn is_markup(mime: &str) -> bool {
    matches!(mime, "text/xml" | "text/html")
}

/// UTF-8 (a sequence cut at the end of the prefix counts as UTF-8) with no NUL byte.
fn is_text(prefix: &[u8]) -> bool {
    if prefix.contains(&0) {
        return false;
    }
    match std::str::from_utf8(prefix) {
        Ok(_) => true,
        // `error_len() == None`: the prefix ends inside a character.
        Err(err) => err.error_len().is_none() && prefix.len() - err.valid_up_to() < 4,
    }
}

/// An XML document whose first element is `<svg`: skips a byte-order mark, white space,
/// the XML declaration, processing instructions, comments and a DOCTYPE.
fn is_svg(prefix: &[u8]) -> bool {
    let mut rest = prefix.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(prefix);
    loop {
        rest = trim_ascii_start(rest);
        if starts_with_ignore_case(rest, b"<svg") {
            let after = rest.get(4).copied();
            return matches!(
                after,
                None | Some(b' ' | b'\t' | b'\r' | b'\n' | b'>' | b'/')
            );
        }
        let end: &[u8] = if rest.starts_with(b"<?") {
            b"?>"
        } else if rest.starts_with(b"<!--") {
            b"-->"
        } else if starts_with_ignore_case(rest, b"<!doctype") {
            b">"
        } else {
            return false;
        };
        match find(rest, end) {
            Some(at) => rest = &rest[at + end.len()..],
            None => return false,
        }
    }
}

fn trim_ascii_start(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    &s[start..]
}

fn starts_with_ignore_case(s: &[u8], prefix: &[u8]) -> bool {
    s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    const JPEG: &[u8] = b"\xFF\xD8\xFF\xE0\0\x10JFIF\0";
    const GIF: &[u8] = b"GIF89a\x01\0\x01\0";
    const WEBP: &[u8] = b"RIFF\x24\0\0\0WEBPVP8 ";
    const PDF: &[u8] = b"%PDF-1.7\n";

    #[test]
    fn magic_numbers_decide() {
        assert_eq!(sniff_mime(PNG), "image/png");
        assert_eq!(sniff_mime(JPEG), "image/jpeg");
        assert_eq!(sniff_mime(GIF), "image/gif");
        assert_eq!(sniff_mime(WEBP), "image/webp");
        assert_eq!(sniff_mime(PDF), "application/pdf");
    }

    #[test]
    fn svg_is_recognised_behind_prologues_and_is_never_safe_inline() {
        for svg in [
            &b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>"[..],
            b"\xEF\xBB\xBF<?xml version=\"1.0\"?>\n<!-- made by hand -->\n<!DOCTYPE svg>\n<SVG>",
            b"  <svg>",
        ] {
            assert_eq!(
                sniff_mime(svg),
                "image/svg+xml",
                "{:?}",
                String::from_utf8_lossy(svg)
            );
        }
        assert!(!is_safe_inline_image("image/svg+xml"));
        // Not an svg element, only a mention of one.
        assert_eq!(sniff_mime(b"<svgx>"), "text/plain");
        assert_eq!(sniff_mime(b"<?xml version=\"1.0\"?><note/>"), "text/xml");
    }

    #[test]
    fn html_stays_html_so_it_is_served_as_an_attachment() {
        let mime = sniff_mime(b"<!DOCTYPE html><html><script>alert(1)</script>");
        assert_eq!(mime, "text/html");
        assert!(!is_safe_inline_image(mime));
    }

    #[test]
    fn text_falls_back_to_text_plain_and_binary_to_octet_stream() {
        assert_eq!(sniff_mime("héllo, wörld\n".as_bytes()), "text/plain");
        assert_eq!(sniff_mime(b"a\0b"), "application/octet-stream");
        assert_eq!(sniff_mime(b"\xFF\xFE\xFD"), "application/octet-stream");
        assert_eq!(sniff_mime(b""), "application/octet-stream");
        // A prefix cut inside a two-byte character is still text.
        let mut long = "é".repeat(SNIFF_BYTES).into_bytes();
        long.truncate(SNIFF_BYTES + 1);
        assert_eq!(sniff_mime(&long), "text/plain");
    }

    #[test]
    fn only_raster_images_are_safe_inline() {
        for safe in ["image/png", "image/jpeg", "image/gif", "image/webp"] {
            assert!(is_safe_inline_image(safe));
        }
        for unsafe_ in [
            "image/svg+xml",
            "text/html",
            "application/pdf",
            "image/x-icon",
        ] {
            assert!(!is_safe_inline_image(unsafe_));
        }
    }
}
