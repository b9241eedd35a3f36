#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod client;
mod error;
mod http;
mod issuer;

pub use client::{fetch_token, FETCH_TIMEOUT};
pub use error::DevOidcError;
pub use http::{
    check_listen_addr, make_service, router, DEVELOPMENT_HEADER, MAX_TOKEN_REQUEST_BYTES,
};
pub use issuer::{
    fulcio_issuer_yaml, validate_audience, validate_email, DevIssuer, DevIssuerOptions,
    DEFAULT_AUDIENCE, DEFAULT_TOKEN_LIFETIME, DEVELOPMENT_CLAIM, GRANT_TYPES, MAX_AUDIENCE_BYTES,
    MAX_EMAIL_BYTES, MAX_TOKEN_LIFETIME, SIGNING_ALGORITHM,
};
