//! The integration tests of `tsa`, linked into one binary (one module per concern).

mod authority;
mod vectors;
mod x509_tsp;
