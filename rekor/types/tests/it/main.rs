//! The integration tests of `rekor-types`, linked into one binary (one module per concern).

mod entries;
mod robustness;
mod vectors;
