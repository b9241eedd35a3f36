#![doc = include_str!("../README.md")]

pub mod admission;
mod documents;
mod error;
mod export;
mod history;
mod instance;
mod policy;
mod time;

pub use documents::{
    CertChain, CertificateAuthorityDoc, ClientTrustConfig, DistinguishedName, LogId, PublicKeyDoc,
    RawBytes, Service, ServiceConfiguration, SigningConfig, TransparencyLogInstance, TrustedRoot,
    CLIENT_TRUST_CONFIG_MEDIA_TYPE, FULCIO_MAJOR_API_VERSION, SIGNING_CONFIG_MEDIA_TYPE,
    TRUSTED_ROOT_MEDIA_TYPE, TSA_MAJOR_API_VERSION,
};
pub use error::Error;
pub use export::{export, files};
pub use history::{HistoryEntry, TrustHistory, TrustItem, ValidFor, HISTORY_FORMAT_VERSION};
pub use instance::{
    rekor_v2_log_id, spki_log_id, CertificateAuthority, CtLog, Instance, KeyDetails, OidcProvider,
    RekorApi, Subject, TimestampAuthority, TransparencyLog, DEFAULT_OPERATOR, TSA_TIMESTAMP_PATH,
};
pub use policy::{containers_policy, containers_registries_d, pem, PolicyIdentity};
pub use time::Timestamp;
