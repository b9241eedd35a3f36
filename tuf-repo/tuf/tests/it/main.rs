//! The integration tests of `tuf`, linked into one binary (one module per concern).

mod sign;
mod vectors;
