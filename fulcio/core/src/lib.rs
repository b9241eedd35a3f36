#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod cert;
mod config;
mod identity;
mod pop;
mod profile;
mod template;
mod token;

pub use cert::{
    build_certificate, build_final_certificate, build_precertificate, certificate_pem, CertError,
    CertificateAuthority, LeafCertificate, Precertificate, EPHEMERAL_ROOT_LIFETIME_SECS,
    LEAF_LIFETIME_SECS,
};
pub use config::{
    meta_issuer_matches, CiExtension, CiIssuerMetadata, ConfigError, FulcioConfig, IssuerConfig,
    IssuerType, DEFAULT_CLIENT_ID,
};
pub use identity::{principal_from_token, IdentityError, Principal, SubjectAltName};
pub use pop::{verify_csr, verify_signed_challenge, KeyType, PopError, VerifiedKey};
pub use profile::{sigstore_extensions, subject_alt_name, Extension};
pub use template::TemplateError;
pub use token::{
    unverified_issuer, verify_token, Jwk, Jwks, TokenError, UnverifiedToken, VerifiedToken,
    CLOCK_SKEW_SECS, MAX_TOKEN_BYTES,
};
