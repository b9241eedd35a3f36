//! `sigstack lab`: a log that misbehaves on purpose.
//!
//! The lab stands in front of a real Rekor v2 log (`sigstack rekor`) or static-ct-api CT log
//! (`sigstack ctlog`), whose key it shares so that what it forges is signed as the log would
//! sign it, and answers its read path according to a [`FaultPlan`]: [`plan`] decides, with no
//! I/O, what each answer becomes; [`proxy`] fetches the real answers and serves the planned
//! ones. Writes and every path the plan does not touch
//! pass through unchanged. Clients reach two views: `/` and `/b/` (the "subset of clients" a
//! split view shows another tree to).

pub mod plan;
pub mod proxy;

pub use plan::{Fault, FaultPlan, PlanError, View};
pub use proxy::{router, Lab, LabApi};
