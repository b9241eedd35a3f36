//! The integration tests of `fulcio`, linked into one binary (one module per concern).

mod cert;
mod common;
mod flow;
