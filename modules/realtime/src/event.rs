//! One change of the feed as the streams deliver it: decoded and rendered once, shared
//! by every subscriber (`Arc`), so a fan-out to a thousand streams costs a thousand
//! rule checks and buffer clones, not a thousand renderings.

use crate::sse;
use bytes::Bytes;
use feed::{Change, ChangeKind};
use resources::Resources;
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::Instant;

pub struct FeedEvent {
    pub seq: i64,
    pub collection: Arc<str>,
    pub kind: ChangeKind,
    /// The record's owner after the change (a delete: before), for the view rule.
    pub owner: Option<String>,
    /// The record the filter is evaluated against: after the change, or as it was
    /// before a delete. None for schema events.
    pub record: Option<Map<String, Value>>,
    /// The whole SSE frame.
    pub frame: Bytes,
    /// When the hub learned of the commit (live events only), for the latency metric.
    pub noticed: Option<Instant>,
}

/// The event's `event:` name.
pub fn kind_name(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Created => "created",
        ChangeKind::Updated => "updated",
        ChangeKind::Deleted => "deleted",
        ChangeKind::Schema => "schema",
    }
}

/// Renders a change, or None when there is nothing to deliver (its collection is gone,
/// or the stored snapshot cannot be read, which is logged).
pub fn render(
    resources: &Resources,
    change: Change,
    noticed: Option<Instant>,
) -> Option<FeedEvent> {
    let mut data = Vec::with_capacity(256);
    data.extend_from_slice(b"{\"collection\":");
    let _ = serde_json::to_writer(&mut data, &change.collection);
    data.extend_from_slice(b",\"seq\":");
    data.extend_from_slice(change.seq.to_string().as_bytes());
    let record = match change.kind {
        ChangeKind::Schema => {
            let schema: Value = change
                .data
                .as_deref()
                .and_then(|d| serde_json::from_str(d).ok())
                .unwrap_or(Value::Null);
            data.extend_from_slice(b",\"record\":null,\"schema\":");
            let _ = serde_json::to_writer(&mut data, &schema);
            None
        }
        ChangeKind::Created | ChangeKind::Updated | ChangeKind::Deleted => {
            let snapshot = change.data.as_deref()?;
            let Some((map, json)) = resources.record_from_change(&change.collection, snapshot)
            else {
                if resources.has_collection(&change.collection) {
                    tracing::warn!(seq = change.seq, collection = %change.collection, "a change's record could not be read; not delivered");
                }
                return None;
            };
            data.extend_from_slice(b",\"record\":");
            if change.kind == ChangeKind::Deleted {
                // A deleted record: its id only (API.md 7).
                let id = change.record_id.clone().unwrap_or_default();
                let _ = serde_json::to_writer(&mut data, &serde_json::json!({ "id": id }));
            } else {
                data.extend_from_slice(&json);
            }
            Some(map)
        }
    };
    data.push(b'}');
    Some(FeedEvent {
        seq: change.seq,
        frame: sse::event(change.seq, kind_name(change.kind), &data),
        collection: Arc::from(change.collection.as_str()),
        kind: change.kind,
        owner: change.owner,
        record,
        noticed,
    })
}
