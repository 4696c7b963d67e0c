//! What an event means to the benchmark, for each server's shape.
//!
//! Every create the writer sends carries its number `n` in an integer field of the record
//! (`views` by default), so a delivery is matched to its create by that number: it
//! indexes the writer's table of send and acknowledgement times directly, which a map
//! from record id would do at the cost of a hash lookup per delivery (a million a second
//! at saturation, on the same cores as the server).

use crate::bytes::find_byte;
use crate::sse::Event;
use crate::target::Shape;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// A record created by this run's writer: its number.
    Created(u64),
    /// A create whose record does not carry a number (not ours, or a changed shape).
    Foreign,
    /// The server says the stream lost events (Hearth's `reset`).
    Reset,
    /// The server is ending the stream: Hearth's `overflow` (the subscriber fell
    /// `realtime_buffer` events behind) or `unauthorized`.
    Ending,
    /// Anything else: updates, deletes, schema changes, PocketBase's `PB_CONNECT`.
    Other,
}

pub fn classify(shape: Shape, event: &Event<'_>, seq_field: &str) -> Delivery {
    let created = match shape {
        Shape::Hearth => match event.name {
            b"created" => true,
            b"reset" => return Delivery::Reset,
            b"overflow" | b"unauthorized" => return Delivery::Ending,
            _ => false,
        },
        Shape::Pocketbase => {
            event.name != b"PB_CONNECT" && string_field(event.data, "action") == Some(b"create")
        }
    };
    if !created {
        return Delivery::Other;
    }
    let record = after_key(event.data, "record").unwrap_or(event.data);
    match integer_field(record, seq_field) {
        Some(n) => Delivery::Created(n),
        None => Delivery::Foreign,
    }
}

/// The bytes right after `"key":` (and any blanks), at the first place the key occurs as
/// a key. Inside a JSON string every `"` is escaped, so the quoted key followed by a colon
/// can only be a key, unless its opening quote is itself escaped (`\"key":` ends a longer
/// key), which is checked.
fn after_key<'a>(json: &'a [u8], key: &str) -> Option<&'a [u8]> {
    after_compact_key(json, key.as_bytes()).or_else(|| after_spaced_key(json, key.as_bytes()))
}

/// `"key":` with nothing between the key and its colon, as servers write JSON: found from
/// the colons, a few per record against dozens of quotes.
fn after_compact_key<'a>(json: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let mut from = 0;
    while let Some(found) = find_byte(&json[from..], b':') {
        let colon = from + found;
        from = colon + 1;
        // `"key"` ends right before the colon; its opening quote is not escaped.
        let Some(open) = colon.checked_sub(key.len() + 2) else {
            continue;
        };
        let is_key = json[colon - 1] == b'"'
            && json[open] == b'"'
            && &json[open + 1..colon - 1] == key
            && (open == 0 || json[open - 1] != b'\\');
        if is_key {
            return Some(json[colon + 1..].trim_ascii_start());
        }
    }
    None
}

/// The general case: blanks allowed between the key and its colon.
fn after_spaced_key<'a>(json: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let mut from = 0;
    while from < json.len() {
        let at = from + find_byte(&json[from..], b'"')?;
        let end = at + 1 + key.len();
        let is_key = json.get(end) == Some(&b'"')
            && json.get(at + 1..end) == Some(key)
            && (at == 0 || json[at - 1] != b'\\');
        if is_key {
            let rest = json[end + 1..].trim_ascii_start();
            if let Some(value) = rest.strip_prefix(b":") {
                return Some(value.trim_ascii_start());
            }
        }
        from = at + 1;
    }
    None
}

/// An integer field's value (`"views":12`; PocketBase's numbers are floats but print
/// integral values without a fraction).
pub fn integer_field(json: &[u8], key: &str) -> Option<u64> {
    let value = after_key(json, key)?;
    let digits = value.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 19 {
        return None;
    }
    // `12.5` or `1e3` is not a create number.
    if matches!(value.get(digits), Some(b'.' | b'e' | b'E')) {
        return None;
    }
    std::str::from_utf8(&value[..digits]).ok()?.parse().ok()
}

/// A string field's raw bytes (escapes not decoded: used only for plain ASCII values).
pub fn string_field<'a>(json: &'a [u8], key: &str) -> Option<&'a [u8]> {
    let value = after_key(json, key)?.strip_prefix(b"\"")?;
    let end = value.iter().position(|&b| b == b'"' || b == b'\\')?;
    (value[end] == b'"').then_some(&value[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event<'a>(name: &'a str, data: &'a str) -> Event<'a> {
        Event {
            name: name.as_bytes(),
            id: b"1",
            data: data.as_bytes(),
        }
    }

    #[test]
    fn hearth_events() {
        let data = r#"{"collection":"posts","seq":12,"record":{"id":"0192","created_at":"x","title":"sse-fanout 7","views":7,"published":true}}"#;
        assert_eq!(
            classify(Shape::Hearth, &event("created", data), "views"),
            Delivery::Created(7)
        );
        assert_eq!(
            classify(Shape::Hearth, &event("updated", data), "views"),
            Delivery::Other
        );
        assert_eq!(
            classify(Shape::Hearth, &event("reset", "{}"), "views"),
            Delivery::Reset
        );
        assert_eq!(
            classify(Shape::Hearth, &event("overflow", "{}"), "views"),
            Delivery::Ending
        );
        let no_number = r#"{"collection":"posts","seq":13,"record":{"id":"0193","title":"hi"}}"#;
        assert_eq!(
            classify(Shape::Hearth, &event("created", no_number), "views"),
            Delivery::Foreign
        );
    }

    #[test]
    fn pocketbase_events() {
        let data = r#"{"action":"create","record":{"body":"x","collectionId":"pbc_1","id":"abc","views":42}}"#;
        assert_eq!(
            classify(Shape::Pocketbase, &event("posts", data), "views"),
            Delivery::Created(42)
        );
        let update = data.replace("create", "update");
        assert_eq!(
            classify(Shape::Pocketbase, &event("posts", &update), "views"),
            Delivery::Other
        );
        let connect = r#"{"clientId":"x"}"#;
        assert_eq!(
            classify(Shape::Pocketbase, &event("PB_CONNECT", connect), "views"),
            Delivery::Other
        );
    }

    #[test]
    fn keys_inside_strings_do_not_count() {
        // A title that spells a key, escaped as JSON escapes it, and a longer key ending
        // in the same name: neither is the field.
        let json = r#"{"title":"\"views\":99","a\"views":98,"views": 5}"#;
        assert_eq!(integer_field(json.as_bytes(), "views"), Some(5));
        assert_eq!(integer_field(br#"{"views":1.5}"#, "views"), None);
        assert_eq!(integer_field(br#"{"views":"7"}"#, "views"), None);
        assert_eq!(integer_field(br#"{"view":7}"#, "views"), None);
        assert_eq!(
            string_field(br#"{"action" : "create"}"#, "action"),
            Some(&b"create"[..])
        );
        assert_eq!(string_field(br#"{"action":"cr\"eate"}"#, "action"), None);
    }

    #[test]
    fn the_compact_and_the_spaced_search_agree() {
        let cases: [&[u8]; 6] = [
            br#"{"a":"x:y","views":3}"#,
            br#"{"title":"\"views\":9","views":4}"#,
            br#"{"a\"views":8,"views":5}"#,
            br#"{"views" : 6}"#,
            br#"views":1"#,
            br#":"#,
        ];
        for json in cases {
            let spaced = after_spaced_key(json, b"views");
            let either = after_key(json, "views");
            assert_eq!(either, spaced, "{}", String::from_utf8_lossy(json));
            if let Some(compact) = after_compact_key(json, b"views") {
                assert_eq!(Some(compact), spaced);
            }
        }
    }

    #[test]
    fn agrees_with_serde_json_on_generated_records() {
        for n in [0u64, 1, 9, 10, 12_345, 9_999_999_999] {
            let record = serde_json::json!({
                "id": format!("id{n}"), "title": format!("sse-fanout \"views\":{n}"),
                "body": "views", "views": n, "published": n % 2 == 0,
            });
            let data = serde_json::json!({"collection": "posts", "seq": n + 3, "record": record})
                .to_string();
            assert_eq!(
                classify(Shape::Hearth, &event("created", &data), "views"),
                Delivery::Created(n),
                "{data}"
            );
        }
    }
}
