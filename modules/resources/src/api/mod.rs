//! HTTP: the collections admin API (poem-openapi, static) and the record routes
//! (dynamic, documented by the per-collection OpenAPI fragments).

mod attach;
mod collections;
mod form_upload;
mod headers;
mod list_gate;
mod multipart;
mod record_files;
mod records;

pub use collections::CollectionsApi;
pub use form_upload::{FormRefused, FormUpload};
pub use records::RecordsEndpoint;
