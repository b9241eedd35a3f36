//! The integration tests of `tlog-store`, linked into one binary (one module per concern).

#[macro_use]
mod common;
mod conformance;
mod failover;
mod grow;
mod metrics;
mod multiprocess;
mod readiness;
mod replicas;
mod shared_log;
mod shutdown;
