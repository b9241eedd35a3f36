//! The integration tests of `fulcio-server`, linked into one binary (one module per concern).

mod api;
mod ca;
mod common;
mod ct_shards;
mod extensions;
mod jwks_cache;
mod oidc_ca_cert;
