//! The integration tests of `trust`, linked into one binary (one module per concern).

mod common;
mod containers_client;
mod export;
mod history;
mod python_client;
mod vectors;
