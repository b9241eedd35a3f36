//! The integration tests of `tlog`, linked into one binary (one module per concern).

mod merkle_properties;
mod merkle_vectors;
mod note_vectors;
