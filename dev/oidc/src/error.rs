//! The one error type of this crate.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Why the development issuer could not be opened, could not mint a token, or why a token could
/// not be fetched from a running one. Each variant names one failure; none carries a foreign
/// error type except [`sigstack_keys::KeyError`], which is ours; it is the `source()`, not
/// repeated in the message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DevOidcError {
    /// The signing key file could not be read, created or parsed.
    #[error("cannot use the development issuer key {path}")]
    Key {
        /// The key file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: sigstack_keys::KeyError,
    },
    /// The key signs with something other than ECDSA P-256 / SHA-256, so it cannot sign ES256.
    #[error("development issuer key must be ECDSA P-256 (ES256), not {0}")]
    WrongKeyAlgorithm(&'static str),
    /// The key's public half is not a P-256 `SubjectPublicKeyInfo`.
    #[error("development issuer public key is not a P-256 SubjectPublicKeyInfo")]
    MalformedPublicKey,
    /// The issuer URL is unusable (not http(s), has a query, not loopback, …).
    #[error("development issuer URL {url}: {reason}")]
    InvalidIssuerUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A [`crate::DevIssuerOptions`] value is out of range.
    #[error("development issuer option {option}: {reason}")]
    InvalidOption {
        /// The option's field name.
        option: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The requested subject is not an acceptable e-mail address.
    #[error("invalid email: {0}")]
    InvalidEmail(&'static str),
    /// The requested audience is empty, too long, or has characters outside visible ASCII.
    #[error("invalid audience: {0}")]
    InvalidAudience(&'static str),
    /// The signer failed.
    #[error("signing the token failed")]
    Signing(#[source] sigstack_keys::KeyError),
    /// The signer returned something that is not a DER ECDSA P-256 signature.
    #[error("the signer returned a malformed ECDSA signature")]
    MalformedSignature,
    /// A listen address is not loopback and the unsafe override is not set.
    #[error(
        "refusing to serve the development issuer on non-loopback address {0}: it mints tokens \
         for any identity to anyone who asks; bind 127.0.0.1 or [::1] (or set \
         allow_non_loopback_unsafe if you really mean to expose it)"
    )]
    NonLoopbackListenAddress(SocketAddr),
    /// The running issuer could not be reached, or its answer could not be read.
    #[error("token request to {url} failed: {reason}")]
    Fetch {
        /// The token endpoint.
        url: String,
        /// What failed (transport error, oversized or malformed answer).
        reason: String,
    },
    /// The running issuer answered, and refused (OAuth error response).
    #[error(
        "the development issuer refused the token request (HTTP {status}): {error}: {description}"
    )]
    Refused {
        /// HTTP status.
        status: u16,
        /// OAuth `error` code.
        error: String,
        /// OAuth `error_description`.
        description: String,
    },
    /// The server at the URL answered without the development-issuer marker header: it is not a
    /// sigstack development issuer.
    #[error("{0} is not a sigstack development issuer (no X-Sigstack-Development-Issuer header)")]
    NotDevelopmentIssuer(String),
}
