//! The audit log: events from every module, written off the request path. Repeats of
//! an event (same action, actor, target and address, without detail) within
//! [`AGGREGATE_WINDOW`] of the row's first are one row with a count, so a flood of failed
//! or throttled logins adds a row per window, not per request. Rows older than the
//! configured retention are pruned in the background, in small batches.

use crate::error::AuthError;
use crate::repo::audit::{self, AuditRow};
use crate::service::AuthService;
use kernel::{clock, AdminPrincipal, AuditEvent, AuditSink};
use std::time::Duration;

/// Repeats within this long of a row's first event join that row.
pub const AGGREGATE_WINDOW: Duration = Duration::from_secs(10 * 60);
/// Rows deleted per write job while pruning (other writes go in between).
const PRUNE_BATCH: u32 = 500;
/// How often the log is pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(10 * 60);

impl AuditSink for AuthService {
    /// Queued to the writer on its own task: a slow or failing audit write never delays
    /// or fails the request it describes (failures are logged).
    fn record(&self, event: AuditEvent) {
        let db = self.db.clone();
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        handle.spawn(async move {
            let action = event.action;
            let result = db
                .write(move |conn| {
                    let since = clock::format(time::OffsetDateTime::now_utc() - AGGREGATE_WINDOW);
                    audit::record(conn, &event, &clock::now(), &since)
                })
                .await;
            if let Err(e) = result {
                tracing::warn!(error = %e, action, "could not write an audit event");
            }
        });
    }
}

impl AuthService {
    pub(crate) fn audit(&self, event: AuditEvent) {
        self.record(event);
    }

    /// Deletes audit rows whose latest event is older than `retention`, a batch per
    /// write job until none is left; returns how many went.
    pub async fn prune_audit_log(&self, retention: Duration) -> Result<usize, AuthError> {
        let cutoff = clock::format(time::OffsetDateTime::now_utc() - retention);
        let mut total = 0;
        loop {
            let probe = cutoff.clone();
            let expired = self
                .db
                .read(move |conn| audit::has_expired(conn, &probe))
                .await?;
            if !expired {
                return Ok(total);
            }
            let cutoff = cutoff.clone();
            let deleted = self
                .db
                .write(move |conn| audit::prune(conn, &cutoff, PRUNE_BATCH))
                .await?;
            total += deleted;
            if deleted < PRUNE_BATCH as usize {
                return Ok(total);
            }
            tokio::task::yield_now().await;
        }
    }

    /// Prunes the log now and then every ten minutes, for as long as the server runs.
    pub async fn prune_audit_log_forever(self, retention: Duration) {
        loop {
            match self.prune_audit_log(retention).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(rows = n, "pruned old audit events"),
                Err(e) => tracing::warn!(error = %e, "could not prune the audit log"),
            }
            tokio::time::sleep(PRUNE_EVERY).await;
        }
    }

    /// Newest first, `limit` rows after the row with id `before`.
    pub async fn audit_log(
        &self,
        _admin: &AdminPrincipal,
        before: Option<i64>,
        limit: u32,
        action: Option<String>,
        actor_id: Option<String>,
    ) -> Result<Vec<AuditRow>, AuthError> {
        self.db
            .read(move |conn| {
                audit::list(conn, before, limit, action.as_deref(), actor_id.as_deref())
                    .map_err(AuthError::from)
            })
            .await
    }
}
