//! The shared vocabulary of Hearth. Every module speaks these types; none of them
//! knows about SQL, HTTP routing or configuration.

pub mod audit;
pub mod caller;
pub mod clock;
pub mod codes;
pub mod ids;
pub mod media;
pub mod openapi_doc;
pub mod principal;
pub mod problem;
pub mod query;
pub mod request_id;

pub use audit::{AuditEvent, AuditSink};
pub use caller::{AdminPrincipal, AdminWriter, BearerAuth, ClientIp, QueryCost, RouteTemplate};
pub use codes::{FieldCode, ProblemCode};
pub use openapi_doc::{ApiDocument, DocFragment};
pub use principal::{Credential, Principal, Scope};
pub use problem::{FieldError, Problem};
pub use request_id::RequestId;
