//! Liveness and readiness probes.

use kernel::{Problem, ProblemCode};
use poem::handler;
use poem::web::{Data, Json};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use storage::Db;

/// 200 while the process serves requests at all.
#[handler]
pub fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// 200 only when the database is open, migrated and accepts a write right now. The
/// body also says whether the file store answers (`"files": "ok"` or `"unavailable"`),
/// which does not decide readiness: with the store down, everything but uploads and
/// downloads still works, and taking the server out of rotation would stop all of it.
#[handler]
pub async fn readyz(db: Data<&Db>, files: Data<&FileStoreProbe>) -> Result<Json<Value>, Problem> {
    match tokio::time::timeout(Duration::from_secs(2), db.check_writable()).await {
        Ok(Ok(())) => {
            let files = if files.answers().await {
                "ok"
            } else {
                "unavailable"
            };
            Ok(Json(json!({"status": "ready", "files": files})))
        }
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

/// How often the file store is really asked: `/readyz` is not rate limited, and every
/// probe of S3 is a request (a LIST) that costs, so answers are reused this long.
const PROBE_EVERY: Duration = Duration::from_secs(10);

/// Whether the file store answers, asked at most every `PROBE_EVERY` (callers in the
/// meantime share the last answer) and within 2 s. Changes are logged once.
#[derive(Clone)]
pub struct FileStoreProbe {
    store: files::BlobStore,
    last: Arc<tokio::sync::Mutex<Option<(Instant, bool)>>>,
}

impl FileStoreProbe {
    pub fn new(store: files::BlobStore) -> FileStoreProbe {
        FileStoreProbe {
            store,
            last: Arc::default(),
        }
    }

    pub async fn answers(&self) -> bool {
        // One probe at a time: callers queue behind it and take its answer.
        let mut last = self.last.lock().await;
        if let Some((at, ok)) = *last {
            if at.elapsed() < PROBE_EVERY {
                return ok;
            }
        }
        let result = tokio::time::timeout(Duration::from_secs(2), self.store.probe()).await;
        let ok = matches!(result, Ok(Ok(())));
        let was = last.map(|(_, ok)| ok);
        if was != Some(ok) {
            let backend = self.store.backend().as_str();
            match result {
                Ok(Ok(())) if was.is_some() => tracing::info!(backend, "the file store answers again"),
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(backend, error = %e, "the file store does not answer; uploads and downloads fail until it does"),
                Err(_) => tracing::warn!(backend, "the file store did not answer within 2 s; uploads and downloads fail until it does"),
            }
        }
        *last = Some((Instant::now(), ok));
        ok
    }
}
