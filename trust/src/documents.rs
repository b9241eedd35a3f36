//! The client-facing documents, in sigstore/protobuf-specs protobuf-JSON form:
//! `TrustedRoot` (trustedroot+json;version=0.1), `SigningConfig` (signingconfig.v0.2+json) and
//! sigstore-python's `ClientTrustConfig` (clienttrustconfig.v0.1+json).
//!
//! Field order follows upstream's published files; serialisation is deterministic, so the same
//! history always yields the same bytes.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::history::{TrustItem, ValidFor};
use crate::{Error, RekorApi, TrustHistory};

/// trusted_root mediaType.
pub const TRUSTED_ROOT_MEDIA_TYPE: &str =
    "application/vnd.dev.sigstore.trustedroot+json;version=0.1";
/// signing_config v0.2 mediaType.
pub const SIGNING_CONFIG_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.signingconfig.v0.2+json";
/// ClientTrustConfig mediaType.
pub const CLIENT_TRUST_CONFIG_MEDIA_TYPE: &str =
    "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json";

/// Fulcio's signing_config `majorApiVersion` (clients call `/api/v2/signingCert` under it).
pub const FULCIO_MAJOR_API_VERSION: u32 = 1;
/// The TSA's and OIDC providers' signing_config `majorApiVersion`.
pub const TSA_MAJOR_API_VERSION: u32 = 1;

pub(crate) fn pretty<T: Serialize>(v: &T) -> Vec<u8> {
    // Serialising these plain structs cannot fail.
    let mut out = serde_json::to_vec_pretty(v).unwrap_or_default();
    out.push(b'\n');
    out
}

/// protobuf `TrustedRoot`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustedRoot {
    /// [`TRUSTED_ROOT_MEDIA_TYPE`].
    pub media_type: String,
    /// Rekor logs.
    pub tlogs: Vec<TransparencyLogInstance>,
    /// Fulcio CAs.
    pub certificate_authorities: Vec<CertificateAuthorityDoc>,
    /// CT logs.
    pub ctlogs: Vec<TransparencyLogInstance>,
    /// TSAs.
    pub timestamp_authorities: Vec<CertificateAuthorityDoc>,
}

/// protobuf `TransparencyLogInstance`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransparencyLogInstance {
    /// The log's base URL.
    pub base_url: String,
    /// Always `SHA2_256`.
    pub hash_algorithm: String,
    /// The key and its window.
    pub public_key: PublicKeyDoc,
    /// The ID clients look the key up by.
    pub log_id: LogId,
}

/// protobuf `PublicKey`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicKeyDoc {
    /// Base64 DER SubjectPublicKeyInfo.
    pub raw_bytes: String,
    /// `PKIX_ECDSA_P256_SHA_256`, `PKIX_ED25519`, …
    pub key_details: String,
    /// When the key was in use.
    pub valid_for: ValidFor,
}

/// protobuf `LogId`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogId {
    /// Base64 of the 32-byte log ID.
    pub key_id: String,
}

/// protobuf `CertificateAuthority` (used for both Fulcio CAs and TSAs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateAuthorityDoc {
    /// The root's subject.
    pub subject: DistinguishedName,
    /// The service URL (for a TSA, the full timestamp URL).
    pub uri: String,
    /// The chain, issuing/signing certificate first.
    pub cert_chain: CertChain,
    /// When the chain was in use.
    pub valid_for: ValidFor,
}

/// protobuf `DistinguishedName`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DistinguishedName {
    /// O.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub organization: String,
    /// CN.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub common_name: String,
}

/// protobuf `X509CertificateChain`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertChain {
    /// The certificates.
    pub certificates: Vec<RawBytes>,
}

/// protobuf `X509Certificate`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawBytes {
    /// Base64 DER.
    pub raw_bytes: String,
}

/// protobuf `SigningConfig` (v0.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SigningConfig {
    /// [`SIGNING_CONFIG_MEDIA_TYPE`].
    pub media_type: String,
    /// Fulcio.
    pub ca_urls: Vec<Service>,
    /// OIDC providers.
    pub oidc_urls: Vec<Service>,
    /// Rekor logs.
    pub rekor_tlog_urls: Vec<Service>,
    /// TSAs.
    pub tsa_urls: Vec<Service>,
    /// How many logs to use.
    pub rekor_tlog_config: ServiceConfiguration,
    /// How many TSAs to use.
    pub tsa_config: ServiceConfiguration,
}

/// protobuf `Service`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    /// The URL clients call.
    pub url: String,
    /// The API major version.
    pub major_api_version: u32,
    /// When it may be used.
    pub valid_for: ValidFor,
    /// Who runs it.
    pub operator: String,
}

/// protobuf `ServiceConfiguration`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceConfiguration {
    /// `ANY`, `ALL` or `EXACT`.
    pub selector: String,
}

/// sigstore-python's `ClientTrustConfig`: a trusted root and a signing config in one file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientTrustConfig {
    /// [`CLIENT_TRUST_CONFIG_MEDIA_TYPE`].
    pub media_type: String,
    /// The trusted root.
    pub trusted_root: TrustedRoot,
    /// The signing config.
    pub signing_config: SigningConfig,
}

macro_rules! to_json {
    ($t:ty) => {
        impl $t {
            /// Pretty JSON (2-space indent, upstream field order, trailing newline). The same
            /// value always gives the same bytes.
            pub fn to_json(&self) -> Vec<u8> {
                pretty(self)
            }
        }
    };
}
to_json!(TrustedRoot);
to_json!(SigningConfig);
to_json!(ClientTrustConfig);

fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

fn chain_doc(
    chain: &crate::instance::Chain,
    uri: &str,
    valid_for: ValidFor,
) -> CertificateAuthorityDoc {
    CertificateAuthorityDoc {
        subject: DistinguishedName {
            organization: chain.subject.organization.clone(),
            common_name: chain.subject.common_name.clone(),
        },
        uri: uri.to_owned(),
        cert_chain: CertChain {
            certificates: chain
                .certs
                .iter()
                .map(|c| RawBytes { raw_bytes: b64(c) })
                .collect(),
        },
        valid_for,
    }
}

fn log_doc(
    base_url: &str,
    key: &crate::instance::PublicKey,
    log_id: [u8; 32],
    valid_for: ValidFor,
) -> TransparencyLogInstance {
    TransparencyLogInstance {
        base_url: base_url.to_owned(),
        hash_algorithm: "SHA2_256".to_owned(),
        public_key: PublicKeyDoc {
            raw_bytes: b64(&key.spki_der),
            key_details: key.details.as_str().to_owned(),
            valid_for,
        },
        log_id: LogId {
            key_id: b64(&log_id),
        },
    }
}

impl TrustHistory {
    /// `trusted_root.json`: every entry of the history, current and retired, with its window.
    pub fn trusted_root(&self) -> TrustedRoot {
        let mut root = TrustedRoot {
            media_type: TRUSTED_ROOT_MEDIA_TYPE.to_owned(),
            tlogs: Vec::new(),
            certificate_authorities: Vec::new(),
            ctlogs: Vec::new(),
            timestamp_authorities: Vec::new(),
        };
        for e in self.entries() {
            let vf = e.valid_for();
            match e.item() {
                TrustItem::CertificateAuthority(ca) => root
                    .certificate_authorities
                    .push(chain_doc(&ca.chain, &ca.url, vf)),
                TrustItem::CtLog(ct) => {
                    root.ctlogs
                        .push(log_doc(&ct.base_url, &ct.key, ct.log_id(), vf))
                }
                TrustItem::TransparencyLog(t) => {
                    root.tlogs
                        .push(log_doc(&t.base_url, &t.key, t.log_id(), vf))
                }
                TrustItem::TimestampAuthority(tsa) => root
                    .timestamp_authorities
                    .push(chain_doc(&tsa.chain, &tsa.url, vf)),
                TrustItem::OidcProvider(_) => {}
            }
        }
        root
    }

    /// `signing_config.v0.2.json`: the services currently in use (retired ones are left out:
    /// clients only sign with current services). Rekor v2 logs are listed only while a TSA is
    /// current, because clients cannot complete a Rekor v2 signature without a timestamp.
    pub fn signing_config(&self) -> SigningConfig {
        let operator = self.operator().to_owned();
        let mut cfg = SigningConfig {
            media_type: SIGNING_CONFIG_MEDIA_TYPE.to_owned(),
            ca_urls: Vec::new(),
            oidc_urls: Vec::new(),
            rekor_tlog_urls: Vec::new(),
            tsa_urls: Vec::new(),
            rekor_tlog_config: ServiceConfiguration {
                selector: "ANY".to_owned(),
            },
            tsa_config: ServiceConfiguration {
                selector: "ANY".to_owned(),
            },
        };
        let has_tsa = self
            .current()
            .any(|e| matches!(e.item(), TrustItem::TimestampAuthority(_)));
        let add = |list: &mut Vec<Service>, url: &str, version: u32, valid_for: ValidFor| {
            // One service per (url, version); the earliest start wins.
            if let Some(s) = list
                .iter_mut()
                .find(|s| s.url == url && s.major_api_version == version)
            {
                s.valid_for.start = s.valid_for.start.min(valid_for.start);
                return;
            }
            list.push(Service {
                url: url.to_owned(),
                major_api_version: version,
                valid_for,
                operator: operator.clone(),
            });
        };
        for e in self.current() {
            let vf = e.valid_for();
            match e.item() {
                TrustItem::CertificateAuthority(ca) => {
                    add(&mut cfg.ca_urls, &ca.url, FULCIO_MAJOR_API_VERSION, vf)
                }
                TrustItem::OidcProvider(o) => add(&mut cfg.oidc_urls, &o.url, 1, vf),
                TrustItem::TransparencyLog(t) => {
                    if t.api == RekorApi::V2 && !has_tsa {
                        continue;
                    }
                    add(
                        &mut cfg.rekor_tlog_urls,
                        &t.base_url,
                        t.api.major_version(),
                        vf,
                    )
                }
                TrustItem::TimestampAuthority(tsa) => {
                    add(&mut cfg.tsa_urls, &tsa.url, TSA_MAJOR_API_VERSION, vf)
                }
                TrustItem::CtLog(_) => {}
            }
        }
        cfg
    }

    /// sigstore-python's ClientTrustConfig (`sigstore --trust-config FILE`). Refuses an instance
    /// without a current CA, CT log and Rekor log, which no client could sign with.
    pub fn client_trust_config(&self) -> Result<ClientTrustConfig, Error> {
        self.check_signable()?;
        Ok(ClientTrustConfig {
            media_type: CLIENT_TRUST_CONFIG_MEDIA_TYPE.to_owned(),
            trusted_root: self.trusted_root(),
            signing_config: self.signing_config(),
        })
    }

    /// Errors unless a current CA, CT log and Rekor log exist.
    pub fn check_signable(&self) -> Result<(), Error> {
        let has = |f: fn(&TrustItem) -> bool| self.current().any(|e| f(e.item()));
        if !has(|i| matches!(i, TrustItem::CertificateAuthority(_))) {
            return Err(Error::Incomplete("certificate authority"));
        }
        if !has(|i| matches!(i, TrustItem::CtLog(_))) {
            return Err(Error::Incomplete("CT log"));
        }
        if self.signing_config().rekor_tlog_urls.is_empty() {
            return Err(Error::Incomplete(
                "Rekor log (a Rekor v2 log alone also needs a TSA)",
            ));
        }
        Ok(())
    }
}
