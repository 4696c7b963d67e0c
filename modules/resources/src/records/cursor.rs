//! Opaque list cursors: the sort values of the last row, tied to the sort they belong
//! to, as base64url JSON. Clients must not build them; a tampered one is simply refused.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rusqlite::types::Value as Sql;
use serde_json::{json, Value};

pub fn encode(sort_spec: &str, values: &[Sql]) -> String {
    let vals: Vec<Value> = values
        .iter()
        .map(|v| match v {
            Sql::Null => json!(["n"]),
            Sql::Integer(i) => json!(["i", i]),
            Sql::Real(f) => json!(["r", f]),
            Sql::Text(t) => json!(["t", t]),
            Sql::Blob(_) => json!(["n"]),
        })
        .collect();
    URL_SAFE_NO_PAD.encode(json!({"s": sort_spec, "v": vals}).to_string())
}

/// The values, if `cursor` is well-formed and was made for `sort_spec` with `keys` values.
pub fn decode(cursor: &str, sort_spec: &str, keys: usize) -> Option<Vec<Sql>> {
    if cursor.len() > 8192 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    if v["s"].as_str()? != sort_spec {
        return None;
    }
    let vals = v["v"].as_array()?;
    if vals.len() != keys {
        return None;
    }
    vals.iter()
        .map(|item| match (item[0].as_str()?, &item[1]) {
            ("n", _) => Some(Sql::Null),
            ("i", n) => n.as_i64().map(Sql::Integer),
            ("r", n) => n.as_f64().map(Sql::Real),
            ("t", Value::String(s)) => Some(Sql::Text(s.clone())),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let vals = vec![
            Sql::Integer(3),
            Sql::Real(1.5),
            Sql::Null,
            Sql::Text("x\"y".into()),
        ];
        let c = encode("-views,id", &vals);
        assert!(c
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(decode(&c, "-views,id", 4), Some(vals));
        assert_eq!(decode(&c, "views,id", 4), None, "another sort");
        assert_eq!(decode(&c, "-views,id", 3), None);
        assert_eq!(decode("!!!", "-views,id", 4), None);
        assert_eq!(decode(&URL_SAFE_NO_PAD.encode("[1]"), "x", 1), None);
    }
}
