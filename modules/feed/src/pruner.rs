//! Keeping the feed bounded: rows older than the retention, and rows beyond the cap,
//! are deleted oldest first, in small write jobs so that no job holds the writer long.
//! The newest row is never deleted: SQLite gives a new row max(rowid) + 1, so keeping
//! it is what keeps seqs from being reused (see `migrations/0009_change_feed.sql`).

use rusqlite::{params, Connection};
use std::time::Duration;

/// At most this many rows per job.
pub const PRUNE_BATCH_ROWS: usize = 1000;

/// At most about this many bytes of snapshots per job (the first row over it is the
/// job's last): a row can hold a record near the body limit, and freeing its overflow
/// pages is work for the writer too.
pub const PRUNE_BATCH_BYTES: i64 = 8 << 20;

/// What the pruner keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeedConfig {
    /// Rows older than this are deleted. Default 24 h.
    pub retention: Duration,
    /// At most this many rows are kept (at least one: the newest). Default 1,000,000.
    pub max_rows: u64,
}

impl Default for FeedConfig {
    fn default() -> Self {
        FeedConfig {
            retention: Duration::from_secs(24 * 60 * 60),
            max_rows: 1_000_000,
        }
    }
}

/// One pruning job: deletes the longest run of the oldest rows (never the newest) that
/// are past `config.retention` or beyond `config.max_rows`, looking only at the first
/// `PRUNE_BATCH_ROWS` rows by seq, and returns how many it deleted. Fewer than
/// `PRUNE_BATCH_ROWS` (and no byte cut) means nothing more is due now.
///
/// Rows are contiguous (only the oldest are ever deleted, and every new row is the
/// newest), so `newest - oldest + 1` counts them without a scan. `at` is taken as
/// increasing with seq (a clock stepping back makes a few rows wait for the next ones).
pub fn prune_batch(conn: &Connection, config: &FeedConfig) -> rusqlite::Result<PruneOutcome> {
    let bounds = crate::change::bounds(conn)?;
    let Some(oldest) = bounds.oldest else {
        return Ok(PruneOutcome::default());
    };
    let newest = bounds.newest;
    let max_rows = i64::try_from(config.max_rows.max(1)).unwrap_or(i64::MAX);
    // Rows with seq <= over_cap are beyond the cap.
    let over_cap = newest.saturating_sub(max_rows);
    let retention = retention_modifier(config);
    let mut stmt = conn.prepare_cached(
        "SELECT seq, at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?3), octet_length(data)
         FROM changes WHERE seq >= ?1 AND seq < ?2 ORDER BY seq LIMIT ?4",
    )?;
    let mut rows = stmt.query(params![oldest, newest, retention, PRUNE_BATCH_ROWS as i64])?;
    let (mut upto, mut seen, mut bytes) = (None, 0usize, 0i64);
    while let Some(row) = rows.next()? {
        // NULL when the cutoff falls before year 0 (SQLite's dates end there): a
        // retention that long expires nothing.
        let (seq, expired): (i64, Option<bool>) = (row.get(0)?, row.get(1)?);
        let expired = expired.unwrap_or(false);
        if !(expired || seq <= over_cap) {
            break;
        }
        upto = Some(seq);
        seen += 1;
        bytes = bytes.saturating_add(row.get::<_, Option<i64>>(2)?.unwrap_or(0));
        if bytes >= PRUNE_BATCH_BYTES {
            break;
        }
    }
    drop(rows);
    let Some(upto) = upto else {
        return Ok(PruneOutcome::default());
    };
    let deleted = conn
        .prepare_cached("DELETE FROM changes WHERE seq <= ?1")?
        .execute([upto])?;
    Ok(PruneOutcome {
        deleted,
        more: seen >= PRUNE_BATCH_ROWS || bytes >= PRUNE_BATCH_BYTES,
    })
}

/// Whether `prune_batch` would delete anything now: more rows than the cap, or an
/// oldest row (not the newest) past the retention. Two rowid seeks and one row, on a
/// reader, so that a round with nothing to do writes nothing.
pub fn prune_due(conn: &Connection, config: &FeedConfig) -> rusqlite::Result<bool> {
    let bounds = crate::change::bounds(conn)?;
    let Some(oldest) = bounds.oldest else {
        return Ok(false);
    };
    let max_rows = i64::try_from(config.max_rows.max(1)).unwrap_or(i64::MAX);
    if bounds.newest.saturating_sub(oldest) >= max_rows {
        return Ok(true);
    }
    let expired: Option<bool> = conn
        .prepare_cached(
            "SELECT at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?2) FROM changes
             WHERE seq >= ?1 ORDER BY seq LIMIT 1",
        )?
        .query_row(params![oldest, retention_modifier(config)], |r| r.get(0))?;
    Ok(oldest < bounds.newest && expired.unwrap_or(false))
}

/// The `strftime` modifier that goes back `config.retention` from now.
fn retention_modifier(config: &FeedConfig) -> String {
    format!("-{:.3} seconds", config.retention.as_secs_f64())
}

/// What one pruning job did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PruneOutcome {
    pub deleted: usize,
    /// The job stopped at its row or byte bound: another may find more to delete.
    pub more: bool,
}
