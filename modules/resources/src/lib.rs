//! Collections: resource types defined at run time, each a real SQLite table, served as
//! a validated, documented REST API.
//!
//! Other modules use [`Resources`] (the service) and the two HTTP entry points:
//! [`CollectionsApi`] (poem-openapi, admins) and [`RecordsEndpoint`] (records).
//! This module owns the `collections`, `collection_history` and `idempotency_keys`
//! tables and every `rec_*` table.

mod api;
mod collections;
mod ddl;
mod ddl_files;
mod error;
pub mod fields;
pub mod filter;
mod openapi;
mod openapi_examples;
pub mod records;
mod registry;
mod repo;
pub mod rules;
pub mod schema;
mod service;
mod streams;

pub use api::{CollectionsApi, FormRefused, FormUpload, RecordsEndpoint};
pub use collections::service::Change;
pub use error::ResourceError;
pub use records::files::FileRef;
pub use records::list::{ListParams, ListResult};
pub use records::service::{Created, FileWrite, Idempotency, IfMatch};
pub use repo::records::{Record, RecordRow};
pub use schema::{CollectionSpec, CollectionView, RESERVED_NAMES};
pub use service::Resources;
pub use streams::StreamFilter;
