//! The integration tests of `tuf`, linked into one binary (one module per concern).

mod cjson;
mod next;
mod sign;
mod support;
mod vectors;
