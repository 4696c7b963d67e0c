//! Liveness and readiness probes.

use kernel::{Problem, ProblemCode};
use poem::handler;
use poem::web::{Data, Json};
use serde_json::{json, Value};
use std::time::Duration;
use storage::Db;

/// 200 while the process serves requests at all.
#[handler]
pub fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// 200 only when the database is open, migrated and accepts a write right now.
#[handler]
pub async fn readyz(db: Data<&Db>) -> Result<Json<Value>, Problem> {
    match tokio::time::timeout(Duration::from_secs(2), db.check_writable()).await {
        Ok(Ok(())) => Ok(Json(json!({"status": "ready"}))),
        Ok(Err(e @ storage::StorageError::FailStopped(_))) => {
            tracing::error!(error = %e, "not ready: writes stopped after a failed fsync");
            // No Retry-After: this instance stays unready until it is restarted.
            Err(Problem::new(ProblemCode::Unavailable).with_detail(
                "writes are refused since a disk sync failed; check the disk, then restart the server",
            ))
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            Err(Problem::new(ProblemCode::Unavailable)
                .with_detail("the database is not writable")
                .with_retry_after(1))
        }
        Err(_) => Err(Problem::new(ProblemCode::Unavailable)
            .with_detail("the database did not answer within 2 s")
            .with_retry_after(1)),
    }
}
