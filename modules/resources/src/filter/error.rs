//! The one error type of the filter language: a byte position and a message for people.

/// A filter that cannot be used. `position` is the byte offset (not the character offset)
/// of the offending token in the input; it is the input length when the filter ended too
/// early. The HTTP layer turns this into a 400 `invalid_filter`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at byte {position})")]
pub struct FilterError {
    pub position: usize,
    pub message: String,
}

impl FilterError {
    pub(crate) fn new(position: usize, message: impl Into<String>) -> Self {
        FilterError {
            position,
            message: message.into(),
        }
    }
}

/// Shortens user text quoted in a message, so a 4 KiB literal does not make a 4 KiB
/// message. Cuts on a character boundary.
pub(crate) fn excerpt(text: &str) -> String {
    const MAX_CHARS: usize = 40;
    match text.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}
