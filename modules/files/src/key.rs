//! Blob keys: `/`-separated segments, checked once when a `BlobKey` is made, so that no
//! key a backend receives can name anything outside its root (no `..`, no absolute
//! path, no backslash, no control characters) or collide with the local backend's
//! `.tmp/` directory (no segment starts with `.`).

use std::fmt;

/// The longest key in bytes (S3's own limit).
pub const MAX_KEY_BYTES: usize = 1024;

/// The longest segment in bytes (a file name on Linux file systems).
pub const MAX_SEGMENT_BYTES: usize = 255;

/// A key that has passed validation. Files of records live at
/// `<collection>/<record_id>/<stored_name>` (`BlobKey::for_file`); other layouts
/// (thumbnails under a record, uploads) are any other valid keys.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlobKey(String);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid blob key {key:?}: {reason}")]
pub struct KeyError {
    pub key: String,
    pub reason: &'static str,
}

impl BlobKey {
    /// Checks `key`: 1 to `MAX_KEY_BYTES` bytes of segments joined by `/`, each segment
    /// 1 to `MAX_SEGMENT_BYTES` bytes, not starting with `.`, without `\` or control
    /// characters.
    pub fn parse(key: &str) -> Result<BlobKey, KeyError> {
        let fail = |reason| KeyError {
            key: key.chars().take(200).collect(),
            reason,
        };
        if key.is_empty() {
            return Err(fail("the key is empty"));
        }
        if key.len() > MAX_KEY_BYTES {
            return Err(fail("the key is longer than 1024 bytes"));
        }
        for segment in key.split('/') {
            check_segment(segment).map_err(fail)?;
        }
        Ok(BlobKey(key.to_string()))
    }

    /// `<collection>/<record_id>/<stored_name>`, each part one valid segment.
    pub fn for_file(
        collection: &str,
        record_id: &str,
        stored_name: &str,
    ) -> Result<BlobKey, KeyError> {
        for part in [collection, record_id, stored_name] {
            if part.contains('/') {
                return Err(KeyError {
                    key: part.chars().take(200).collect(),
                    reason: "a part of a file key may not contain '/'",
                });
            }
        }
        BlobKey::parse(&format!("{collection}/{record_id}/{stored_name}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The segments, in order.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }
}

impl fmt::Display for BlobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for BlobKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Whether `segment` may be one segment of a key; `Err` says why not.
pub(crate) fn check_segment(segment: &str) -> Result<(), &'static str> {
    if segment.is_empty() {
        return Err("empty segment (a leading, trailing or doubled '/')");
    }
    if segment.starts_with('.') {
        return Err("a segment may not start with '.' (no '.', '..' or hidden names)");
    }
    if segment.len() > MAX_SEGMENT_BYTES {
        return Err("a segment is longer than 255 bytes");
    }
    if segment.contains('\\') {
        return Err("a key may not contain '\\'");
    }
    if segment.chars().any(char::is_control) {
        return Err("a key may not contain control characters");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_keys_join_three_segments() {
        let key = BlobKey::for_file("posts", "0190abcd", "photo_abc123defg.png").unwrap();
        assert_eq!(key.as_str(), "posts/0190abcd/photo_abc123defg.png");
        assert_eq!(key.segments().count(), 3);
    }

    #[test]
    fn escapes_and_oddities_are_refused_with_a_reason() {
        for bad in [
            "",
            "/etc/passwd",
            "a/../b",
            "..",
            "a/./b",
            "a//b",
            "a/b/",
            ".tmp/x",
            "a/.hidden",
            "a\\..\\b",
            "a/b\0c",
            "a/b\nc",
            "a/\u{85}b",
        ] {
            let err = BlobKey::parse(bad).unwrap_err();
            assert!(!err.reason.is_empty(), "{bad:?}");
        }
        assert!(BlobKey::parse(&"a".repeat(256)).is_err());
        assert!(BlobKey::parse(&["a"; 600].join("/")).is_err());
        assert!(BlobKey::for_file("a/b", "c", "d").is_err());
        assert!(BlobKey::for_file("a", "..", "d").is_err());
    }

    #[test]
    fn unicode_and_inner_dots_are_fine() {
        for good in [
            "a",
            "a/b.c",
            "αβγ/日本語_x.png",
            "a/b/thumbs_x.png/100x100_x.png",
        ] {
            assert_eq!(BlobKey::parse(good).unwrap().as_str(), good);
        }
    }
}
