//! The integration tests of `ct`, linked into one binary (one module per concern).

mod roundtrip;
mod vectors;
