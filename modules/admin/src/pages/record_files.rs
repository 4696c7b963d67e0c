//! File fields in record forms: the files a record holds (download link, a preview from
//! the smallest thumbnail the field lists, a "Remove" box) and the file input's
//! settings. Part names are the API's multipart ones (docs/API.md §10.1): new files go
//! in `F+` (appended; on a one-file field they replace), removals in `F-`.

use resources::schema::FieldSpec;
use serde_json::Value;

pub struct StoredFile {
    pub name: String,
    /// `None` for a protected field: its downloads need a bearer token's file token,
    /// which a dashboard session does not have, so a link would only fail.
    pub download: Option<String>,
    /// An image URL to show, `None` when the file is not a raster image.
    pub preview: Option<String>,
}

/// What the template needs for one file field.
#[derive(Default)]
pub struct FileInput {
    pub files: Vec<StoredFile>,
    pub multiple: bool,
    pub accept: String,
}

/// Names whose extension says raster image: the download sniffs the bytes anyway (and
/// serves anything else as an attachment), this only avoids broken previews.
fn looks_like_image(name: &str) -> bool {
    let ext = name.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    matches!(ext.as_str(), "png" | "jpg" | "jpeg" | "gif" | "webp")
}

/// The listed thumbnail size with the fewest pixels (`0` sides count as the other one).
fn smallest_thumb(thumbs: &[String]) -> Option<&str> {
    thumbs
        .iter()
        .filter_map(|t| {
            let (w, h) = t.trim_end_matches('f').split_once('x')?;
            let (w, h): (u64, u64) = (w.parse().ok()?, h.parse().ok()?);
            let area = match (w, h) {
                (0, h) => h * h,
                (w, 0) => w * w,
                (w, h) => w * h,
            };
            Some((area, t.as_str()))
        })
        .min_by_key(|(area, _)| *area)
        .map(|(_, t)| t)
}

/// Percent-encodes a stored name for a URL path segment (they are already safe in
/// practice; this keeps a strange one from breaking the link).
fn segment(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn file_input(
    collection: &str,
    record_id: Option<&str>,
    field: &FieldSpec,
    value: Option<&Value>,
) -> FileInput {
    let names: Vec<String> = match value {
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(|n| n.as_str().map(str::to_owned))
            .collect(),
        Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
        _ => Vec::new(),
    };
    let thumbs = field.thumbs.clone().unwrap_or_default();
    let thumb = smallest_thumb(&thumbs);
    let files = match record_id {
        Some(id) => names
            .into_iter()
            .map(|name| {
                let download = format!(
                    "/api/v1/files/{}/{}/{}",
                    segment(collection),
                    segment(id),
                    segment(&name)
                );
                let preview = looks_like_image(&name).then(|| match thumb {
                    Some(t) => format!("{download}?thumb={t}"),
                    None => download.clone(),
                });
                if field.protected.unwrap_or(false) {
                    return StoredFile {
                        name,
                        download: None,
                        preview: None,
                    };
                }
                StoredFile {
                    name,
                    download: Some(download),
                    preview,
                }
            })
            .collect(),
        None => Vec::new(),
    };
    FileInput {
        files,
        multiple: field.max_files.unwrap_or(1) > 1,
        accept: field.mime_types.clone().unwrap_or_default().join(","),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_smallest_thumb_is_the_one_with_fewest_pixels() {
        let t = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            smallest_thumb(&t(&["300x300", "100x50f", "0x80"])),
            Some("100x50f")
        );
        assert_eq!(smallest_thumb(&t(&[])), None);
    }

    #[test]
    fn only_raster_image_names_get_a_preview() {
        assert!(looks_like_image("cat_ab12.PNG"));
        assert!(!looks_like_image("drawing.svg"));
        assert_eq!(segment("a b/c.png"), "a%20b%2Fc.png");
    }
}
