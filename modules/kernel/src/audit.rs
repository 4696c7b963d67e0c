//! Security-relevant events. The auth module stores them; any module reports them
//! through [`AuditSink`], so none needs to know where they go.

use std::net::IpAddr;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuditEvent {
    /// Dotted name, e.g. `login.failed`, `token.revoked`, `collection.changed`.
    pub action: &'static str,
    pub actor_id: Option<String>,
    pub actor_email: Option<String>,
    /// What was acted on (a user id, a collection name, …).
    pub target: Option<String>,
    pub ip: Option<IpAddr>,
    pub request_id: Option<String>,
    pub detail: Option<serde_json::Value>,
}

impl AuditEvent {
    pub fn new(action: &'static str) -> Self {
        AuditEvent {
            action,
            ..Default::default()
        }
    }

    pub fn by(mut self, actor: &crate::Principal) -> Self {
        self.actor_id = Some(actor.user_id.clone());
        self.actor_email = Some(actor.email.clone());
        self
    }

    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = Some(detail);
        self
    }

    /// Client address and request id from the request, when the HTTP layer set them.
    pub fn from_request(mut self, req: &poem::Request) -> Self {
        self.ip = crate::caller::client_ip(req);
        self.request_id = req
            .extensions()
            .get::<crate::RequestId>()
            .map(|r| r.as_str().to_owned());
        self
    }
}

/// Where audit events go. Recording never fails the request that caused it.
pub trait AuditSink: Send + Sync {
    fn record(&self, event: AuditEvent);
}
