//! The id that ties a response, its problem body and its log lines together.

use std::sync::Arc;

/// Stored in the request's extensions by the request-id middleware.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId(pub Arc<str>);

impl RequestId {
    /// Accepts a client-supplied id only when it is short and made of safe characters,
    /// so it cannot smuggle anything into logs or headers.
    pub fn from_client(value: &str) -> Option<Self> {
        let sane = !value.is_empty()
            && value.len() <= 128
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
        sane.then(|| RequestId(value.into()))
    }

    pub fn generate() -> Self {
        RequestId(crate::ids::new_id().into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_are_checked() {
        assert!(RequestId::from_client("abc-123_x.y:z").is_some());
        assert!(RequestId::from_client("").is_none());
        assert!(RequestId::from_client("has space").is_none());
        assert!(RequestId::from_client("new\nline").is_none());
        assert!(RequestId::from_client(&"a".repeat(129)).is_none());
    }
}
