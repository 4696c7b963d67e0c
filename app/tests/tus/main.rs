//! tus 1.0 resumable uploads at `/api/v1/uploads` (issue 17), over a real socket:
//! the core flow with checksums and `take`, every refusal the protocol defines,
//! ownership, interrupted PATCHes, termination and expiry.

#[path = "../common/mod.rs"]
mod common;

mod attach;
mod errors;
mod expiry;
mod flows;
mod helpers;
mod recovery;
