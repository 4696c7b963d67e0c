//! SQL for `audit_log`.

use kernel::AuditEvent;
use rusqlite::types::Value as Sql;
use rusqlite::{params, params_from_iter, Connection};
use storage::StorageError;

/// Records `e` at `at`: added to the latest row of the same action, actor, target and
/// client address begun at or after `since` when the event has no detail (detail would
/// be lost by merging), else a new row.
pub fn record(
    conn: &Connection,
    e: &AuditEvent,
    at: &str,
    since: &str,
) -> Result<(), StorageError> {
    let ip = e.ip.map(|ip| ip.to_string());
    if e.detail.is_none() {
        let merged = conn
            .prepare_cached(
                "UPDATE audit_log SET count = count + 1, last_at = ?1
                 WHERE id = (SELECT id FROM audit_log
                             WHERE action = ?2 AND ip IS ?3 AND at >= ?4
                               AND actor_id IS ?5 AND target IS ?6 AND detail IS NULL
                             ORDER BY id DESC LIMIT 1)",
            )?
            .execute(params![at, e.action, ip, since, e.actor_id, e.target])?;
        if merged > 0 {
            return Ok(());
        }
    }
    insert(conn, e, at)
}

fn insert(conn: &Connection, e: &AuditEvent, at: &str) -> Result<(), StorageError> {
    conn.prepare_cached(
        "INSERT INTO audit_log (at, action, actor_id, actor_email, target, ip, request_id, detail, last_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?1)",
    )?
    .execute(params![
        at,
        e.action,
        e.actor_id,
        e.actor_email,
        e.target,
        e.ip.map(|ip| ip.to_string()),
        e.request_id,
        e.detail.as_ref().map(|d| d.to_string()),
    ])?;
    Ok(())
}

#[derive(Clone, Debug)]
pub struct AuditRow {
    pub id: i64,
    pub at: String,
    pub action: String,
    pub actor_id: Option<String>,
    pub actor_email: Option<String>,
    pub target: Option<String>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    pub detail: Option<serde_json::Value>,
    /// How many times the event happened (repeats within the window are one row).
    pub count: i64,
    /// The latest of them (`at` is the first).
    pub last_at: String,
}

/// Newest first; `before` is the id of the last row of the previous page.
pub fn list(
    conn: &Connection,
    before: Option<i64>,
    limit: u32,
    action: Option<&str>,
    actor_id: Option<&str>,
) -> Result<Vec<AuditRow>, StorageError> {
    let mut conds = Vec::new();
    let mut params: Vec<Sql> = Vec::new();
    if let Some(b) = before {
        conds.push("id < ?");
        params.push(Sql::Integer(b));
    }
    if let Some(a) = action {
        conds.push("action = ?");
        params.push(Sql::Text(a.to_owned()));
    }
    if let Some(a) = actor_id {
        conds.push("actor_id = ?");
        params.push(Sql::Text(a.to_owned()));
    }
    let filter = if conds.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conds.join(" AND "))
    };
    params.push(Sql::Integer(limit as i64));
    let sql = format!(
        "SELECT id, at, action, actor_id, actor_email, target, ip, request_id, detail, count,
                coalesce(last_at, at) FROM audit_log{filter}
         ORDER BY id DESC LIMIT ?"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(params), |r| {
        let detail: Option<String> = r.get(8)?;
        Ok(AuditRow {
            id: r.get(0)?,
            at: r.get(1)?,
            action: r.get(2)?,
            actor_id: r.get(3)?,
            actor_email: r.get(4)?,
            target: r.get(5)?,
            ip: r.get(6)?,
            request_id: r.get(7)?,
            detail: detail.and_then(|d| serde_json::from_str(&d).ok()),
            count: r.get(9)?,
            last_at: r.get(10)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Deletes up to `batch` of the oldest rows whose latest event is before `cutoff`;
/// returns how many went. Looks only at the oldest `batch` rows, so it costs the same
/// however long the log is.
pub fn prune(conn: &Connection, cutoff: &str, batch: u32) -> Result<usize, StorageError> {
    // Oldest first among the expired rows: a row merged into recently (an old id with a
    // new `last_at`) is skipped, not a stop.
    Ok(conn
        .prepare_cached(
            "DELETE FROM audit_log
             WHERE id IN (SELECT id FROM audit_log WHERE coalesce(last_at, at) < ?1
                          ORDER BY id LIMIT ?2)",
        )?
        .execute(params![cutoff, batch])?)
}

/// Whether any row is past `cutoff`: read first, so an idle server's pruning queues no
/// write job.
pub fn has_expired(conn: &Connection, cutoff: &str) -> Result<bool, StorageError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM audit_log WHERE coalesce(last_at, at) < ?1 LIMIT 1")?
        .exists([cutoff])?)
}
