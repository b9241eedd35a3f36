#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod asn1;
mod authority;
mod cert;
mod request;
mod response;

pub use authority::{
    rejection_response, Accuracy, AuthorityConfig, AuthorityError, SerialNumber, TimePrecision,
    Timestamp, TimestampAuthority, DEFAULT_ACCURACY, ID_CT_TST_INFO, ID_KP_TIME_STAMPING,
    ID_SIGNED_DATA, SIGSTORE_TSA_POLICY,
};
pub use cert::{
    chain_from_pem, chain_to_pem, CertError, CertificateParams, DEV_CERT_LIFETIME_SECS,
};
pub use request::{
    hash_algorithm, parse_request, FailureInfo, HashAlgorithm, Nonce, Rejection, RequestError,
    TimeStampRequest, MAX_NONCE_OCTETS, SHA256_OID, SHA384_OID, SHA512_OID,
};
pub use response::{ResponseError, TimeStampResponse};
/// Object identifiers, re-exported so callers need not depend on `spki`/`const-oid`.
pub use spki::ObjectIdentifier;
