//! What the realtime module asks of collections: may a caller follow one (its `list`
//! rule: a stream is a listing that goes on), and a stream's filter, evaluated in
//! memory against each changed record with exactly the listing's semantics.

use crate::error::ResourceError;
use crate::filter;
use crate::rules::{authorize, Action};
use crate::service::Resources;
use kernel::Principal;
use serde_json::{Map, Value};

/// A stream's `filter`, compiled once against the collection's definition.
pub struct StreamFilter(filter::CompiledPredicate);

impl StreamFilter {
    /// Whether `record` (as `GET` shows it) passes the filter.
    pub fn matches(&self, record: &Map<String, Value>) -> bool {
        self.0.matches(record)
    }
}

impl Resources {
    /// Whether `caller` may open a stream of `collection`. Each event is then checked
    /// against the `view` rule at delivery (`may_view`).
    pub fn authorize_stream(
        &self,
        caller: Option<&Principal>,
        collection: &str,
    ) -> Result<(), ResourceError> {
        let col = self.collection(collection)?;
        authorize(&col.def.rules, Action::List, caller).map_err(ResourceError::Denied)?;
        Ok(())
    }

    /// Compiles a stream's filter: the same language, checks and errors as a listing's.
    pub fn stream_filter(
        &self,
        collection: &str,
        text: &str,
    ) -> Result<StreamFilter, ResourceError> {
        let col = self.collection(collection)?;
        filter::CompiledPredicate::new(text, col.as_ref())
            .map(StreamFilter)
            .map_err(ResourceError::InvalidFilter)
    }
}
