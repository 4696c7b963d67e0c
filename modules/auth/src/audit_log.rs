//! The audit log: events from every module, written off the request path.

use crate::error::AuthError;
use crate::repo::audit::{self, AuditRow};
use crate::service::AuthService;
use kernel::{clock, AdminPrincipal, AuditEvent, AuditSink};

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
                .write(move |conn| audit::insert(conn, &event, &clock::now()))
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
