//! HTTP: the collections admin API (poem-openapi, static) and the record routes
//! (dynamic, documented by the per-collection OpenAPI fragments).

mod attach;
mod collections;
mod headers;
mod list_gate;
mod multipart;
mod record_files;
mod records;

pub use collections::CollectionsApi;
pub use records::RecordsEndpoint;
