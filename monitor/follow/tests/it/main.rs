//! The monitor driver's integration tests, one binary.

mod store;
