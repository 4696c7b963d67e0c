//! The tus 1.0 headers: reading what a client sends (strictly: a malformed header is a
//! 400, never a guess) and writing what the server answers.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use poem::http::HeaderMap;
use std::collections::BTreeMap;
use time::OffsetDateTime;

pub const TUS_VERSION: &str = "1.0.0";
pub const TUS_EXTENSIONS: &str = "creation,termination,expiration,checksum";
pub const CHECKSUM_ALGORITHMS: &str = "sha256";
/// The body type of a PATCH.
pub const OFFSET_OCTET_STREAM: &str = "application/offset+octet-stream";

/// `Upload-Metadata` may hold this many pairs, and this many bytes in all.
const MAX_METADATA_PAIRS: usize = 32;
const MAX_METADATA_BYTES: usize = 8 * 1024;

/// What is wrong with a header, for a 400's `detail`.
pub type HeaderError = String;

/// Whether the request speaks tus 1.0.0 (`Tus-Resumable`); `Err` says why not (412).
pub fn check_resumable(headers: &HeaderMap) -> Result<(), HeaderError> {
    match headers.get("tus-resumable").map(|v| v.to_str()) {
        None => Err("the Tus-Resumable header is missing; this server speaks tus 1.0.0".into()),
        Some(Ok(v)) if v.trim() == TUS_VERSION => Ok(()),
        Some(_) => {
            Err("Tus-Resumable names a tus version this server does not speak (1.0.0 only)".into())
        }
    }
}

/// A header holding a non-negative decimal integer (`Upload-Length`, `Upload-Offset`);
/// `Ok(None)` when absent.
pub fn u64_header(headers: &HeaderMap, name: &str) -> Result<Option<u64>, HeaderError> {
    let Some(value) = headers.get(name) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("").trim();
    let digits = !text.is_empty() && text.len() <= 19 && text.bytes().all(|b| b.is_ascii_digit());
    match digits.then(|| text.parse::<u64>().ok()).flatten() {
        Some(n) => Ok(Some(n)),
        None => Err(format!(
            "{name} must be a non-negative integer, not {text:?}"
        )),
    }
}

/// `Upload-Metadata`: comma-separated `key base64value` pairs (the value may be left
/// out), keys unique, without spaces or commas. Values must decode to UTF-8 text.
pub fn parse_metadata(headers: &HeaderMap) -> Result<BTreeMap<String, String>, HeaderError> {
    let mut out = BTreeMap::new();
    let Some(value) = headers.get("upload-metadata") else {
        return Ok(out);
    };
    let text = value
        .to_str()
        .map_err(|_| "Upload-Metadata must be ASCII".to_string())?;
    if text.len() > MAX_METADATA_BYTES {
        return Err(format!(
            "Upload-Metadata is longer than {MAX_METADATA_BYTES} bytes"
        ));
    }
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let mut parts = pair.split(' ').filter(|p| !p.is_empty());
        let key = parts.next().unwrap_or("");
        let encoded = parts.next().unwrap_or("");
        if parts.next().is_some() {
            return Err(format!(
                "Upload-Metadata pair {key:?} has more than a key and a value"
            ));
        }
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|_| format!("the Upload-Metadata value of {key:?} is not base64"))?;
        let value = String::from_utf8(bytes)
            .map_err(|_| format!("the Upload-Metadata value of {key:?} is not UTF-8 text"))?;
        if out.insert(key.to_owned(), value).is_some() {
            return Err(format!("Upload-Metadata has the key {key:?} twice"));
        }
        if out.len() > MAX_METADATA_PAIRS {
            return Err(format!(
                "Upload-Metadata has more than {MAX_METADATA_PAIRS} keys"
            ));
        }
    }
    Ok(out)
}

/// `Upload-Metadata` as HEAD answers it (keys in order).
pub fn format_metadata(metadata: &BTreeMap<String, String>) -> String {
    metadata
        .iter()
        .map(|(k, v)| {
            if v.is_empty() {
                k.clone()
            } else {
                format!("{k} {}", STANDARD.encode(v))
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// `Upload-Checksum: sha256 <base64 of the 32-byte digest>`; `Ok(None)` when absent.
/// Another algorithm is a 400 (tus: "unsupported checksum algorithm").
pub fn parse_checksum(headers: &HeaderMap) -> Result<Option<[u8; 32]>, HeaderError> {
    let Some(value) = headers.get("upload-checksum") else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("").trim();
    let (algorithm, encoded) = text
        .split_once(' ')
        .ok_or_else(|| "Upload-Checksum is `sha256 <base64 digest>`".to_string())?;
    if !algorithm.eq_ignore_ascii_case("sha256") {
        return Err(format!(
            "the checksum algorithm {algorithm:?} is not supported (Tus-Checksum-Algorithm: sha256)"
        ));
    }
    let digest = STANDARD
        .decode(encoded.trim())
        .map_err(|_| "the Upload-Checksum digest is not base64".to_string())?;
    <[u8; 32]>::try_from(digest.as_slice())
        .map(Some)
        .map_err(|_| "a sha256 Upload-Checksum digest has 32 bytes".to_string())
}

/// Whether the body is `application/offset+octet-stream` (parameters ignored).
pub fn is_offset_octet_stream(headers: &HeaderMap) -> bool {
    headers
        .get(poem::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case(OFFSET_OCTET_STREAM))
}

/// A stored time (`kernel::clock`'s RFC 3339) as an HTTP date (`Upload-Expires`:
/// `Wed, 25 Jun 2014 16:00:00 GMT`).
pub fn http_date(stored: &str) -> Option<String> {
    let t = OffsetDateTime::parse(stored, &time::format_description::well_known::Rfc3339).ok()?;
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    t.to_offset(time::UtcOffset::UTC).format(&format).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use poem::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn metadata_round_trips_and_refuses_oddities() {
        let h = headers(&[(
            "upload-metadata",
            "filename d29ybGRfZG9taW5hdGlvbl9wbGFuLnBkZg==,is_confidential, field Y292ZXI=",
        )]);
        let m = parse_metadata(&h).unwrap();
        assert_eq!(m["filename"], "world_domination_plan.pdf");
        assert_eq!(m["is_confidential"], "");
        assert_eq!(m["field"], "cover");
        let again = headers(&[("upload-metadata", &format_metadata(&m))]);
        assert_eq!(parse_metadata(&again).unwrap(), m);
        for bad in ["a !!!", "a YQ==,a YQ==", "a YQ== b", "a /w=="] {
            assert!(
                parse_metadata(&headers(&[("upload-metadata", bad)])).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn numbers_checksums_and_versions() {
        let h = headers(&[("upload-offset", "42"), ("upload-length", "-1")]);
        assert_eq!(u64_header(&h, "upload-offset").unwrap(), Some(42));
        assert!(u64_header(&h, "upload-length").is_err());
        assert_eq!(u64_header(&h, "upload-defer-length").unwrap(), None);
        assert!(u64_header(&headers(&[("x", "+1")]), "x").is_err());
        let digest = [7u8; 32];
        let h = headers(&[(
            "upload-checksum",
            &format!("sha256 {}", STANDARD.encode(digest)),
        )]);
        assert_eq!(parse_checksum(&h).unwrap(), Some(digest));
        assert!(parse_checksum(&headers(&[("upload-checksum", "md5 AAAA")])).is_err());
        assert!(parse_checksum(&headers(&[("upload-checksum", "sha256 AAAA")])).is_err());
        assert!(check_resumable(&headers(&[("tus-resumable", "1.0.0")])).is_ok());
        assert!(check_resumable(&headers(&[("tus-resumable", "0.2.2")])).is_err());
        assert!(check_resumable(&HeaderMap::new()).is_err());
    }

    #[test]
    fn expiry_is_an_http_date() {
        assert_eq!(
            http_date("2014-06-25T16:00:00.000Z").unwrap(),
            "Wed, 25 Jun 2014 16:00:00 GMT"
        );
        assert!(http_date("yesterday").is_none());
    }
}
