//! The integration tests of `dev-oidc`, linked into one binary (one module per concern).

mod common;
mod fulcio;
mod http;
