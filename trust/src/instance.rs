//! What one sigstack instance is made of, as the launcher knows it: URLs, DER public keys and DER
//! certificate chains. Every constructor validates its input and computes the derived fields
//! (log IDs, key details, subjects) once, so an invalid entry cannot be built.

use der::{Decode, Encode};
use sha2::{Digest, Sha256};
use spki::ObjectIdentifier;
use x509_cert::Certificate;

use crate::{Error, Timestamp};

const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const ID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const OID_ORGANIZATION: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");
const OID_COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");

/// The path sigstore clients POST timestamp requests to, below a TSA's base URL.
pub const TSA_TIMESTAMP_PATH: &str = "/api/v1/timestamp";

/// The protobuf-specs `PublicKeyDetails` of a published key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyDetails {
    /// ECDSA on P-256 with SHA-256.
    PkixEcdsaP256Sha256,
    /// ECDSA on P-384 with SHA-384.
    PkixEcdsaP384Sha384,
    /// Ed25519.
    PkixEd25519,
}

impl KeyDetails {
    /// The protobuf-JSON enum name (`PKIX_ECDSA_P256_SHA_256`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            KeyDetails::PkixEcdsaP256Sha256 => "PKIX_ECDSA_P256_SHA_256",
            KeyDetails::PkixEcdsaP384Sha384 => "PKIX_ECDSA_P384_SHA_384",
            KeyDetails::PkixEd25519 => "PKIX_ED25519",
        }
    }
}

/// A validated DER SubjectPublicKeyInfo and what it is.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct PublicKey {
    pub(crate) spki_der: Vec<u8>,
    pub(crate) details: KeyDetails,
    /// The subjectPublicKey BIT STRING contents (the raw key).
    pub(crate) raw: Vec<u8>,
}

impl PublicKey {
    pub(crate) fn parse(role: &'static str, der: &[u8]) -> Result<Self, Error> {
        let bad = |reason| Error::UnsupportedKey { role, reason };
        let spki = spki::SubjectPublicKeyInfoRef::from_der(der)
            .map_err(|_| bad("not a DER SubjectPublicKeyInfo"))?;
        // Publish exactly the canonical encoding clients will hash.
        if spki.to_der().map_err(|_| bad("cannot re-encode"))? != der {
            return Err(bad("not canonical DER"));
        }
        let raw = spki
            .subject_public_key
            .as_bytes()
            .ok_or(bad("key bit string has unused bits"))?
            .to_vec();
        let details = match spki.algorithm.oid {
            ID_EC_PUBLIC_KEY => {
                let curve = spki
                    .algorithm
                    .parameters_oid()
                    .map_err(|_| bad("EC key without a named curve"))?;
                match (curve, raw.len(), raw.first()) {
                    (SECP256R1, 65, Some(4)) | (SECP256R1, 33, Some(2 | 3)) => {
                        KeyDetails::PkixEcdsaP256Sha256
                    }
                    (SECP384R1, 97, Some(4)) | (SECP384R1, 49, Some(2 | 3)) => {
                        KeyDetails::PkixEcdsaP384Sha384
                    }
                    (SECP256R1 | SECP384R1, _, _) => return Err(bad("malformed EC point")),
                    _ => return Err(bad("EC curve other than P-256 or P-384")),
                }
            }
            ID_ED25519 => {
                if spki.algorithm.parameters.is_some() {
                    return Err(bad("Ed25519 key with parameters"));
                }
                if raw.len() != 32 {
                    return Err(bad("Ed25519 key is not 32 bytes"));
                }
                KeyDetails::PkixEd25519
            }
            _ => return Err(bad("algorithm other than ECDSA or Ed25519")),
        };
        Ok(PublicKey {
            spki_der: der.to_vec(),
            details,
            raw,
        })
    }

    /// [`PublicKey::parse`] for a role that signs with ECDSA only; `why` says so in the error.
    fn parse_ecdsa(role: &'static str, der: &[u8], why: &'static str) -> Result<Self, Error> {
        let key = Self::parse(role, der)?;
        if key.details == KeyDetails::PkixEd25519 {
            return Err(Error::UnsupportedKey { role, reason: why });
        }
        Ok(key)
    }

    fn ed25519_spki(raw: &[u8; 32]) -> Vec<u8> {
        // SEQUENCE { SEQUENCE { OID 1.3.101.112 }, BIT STRING (0 unused) raw }
        let mut der = vec![
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
        ];
        der.extend_from_slice(raw);
        der
    }
}

/// SHA-256 of a DER SubjectPublicKeyInfo: the log ID of a CT log or Rekor v1 log.
pub fn spki_log_id(spki_der: &[u8]) -> [u8; 32] {
    Sha256::digest(spki_der).into()
}

/// The Rekor v2 (signed-note Ed25519) log ID: SHA-256(origin ‖ 0x0A ‖ 0x01 ‖ raw 32-byte key),
/// i.e. the hash behind the C2SP signed-note key ID of the log's checkpoint key.
pub fn rekor_v2_log_id(origin: &str, ed25519_raw: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(origin.as_bytes());
    h.update([0x0a, 0x01]);
    h.update(ed25519_raw);
    h.finalize().into()
}

fn check_url(role: &'static str, url: String) -> Result<String, Error> {
    let trimmed = url.trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !trimmed.chars().any(|c| c.is_whitespace()) => {
            Ok(trimmed.to_owned())
        }
        _ => Err(Error::InvalidUrl { role, value: url }),
    }
}

/// The subject (organization, common name) trusted_root shows for a CA or TSA.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Subject {
    /// The subject's O attribute, empty if it has none.
    pub organization: String,
    /// The subject's CN attribute, empty if it has none.
    pub common_name: String,
}

/// A parsed DER certificate chain, issuing certificate first and root last.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Chain {
    pub(crate) certs: Vec<Vec<u8>>,
    /// Subject of the last certificate (the root), as upstream trusted roots show it.
    pub(crate) subject: Subject,
    /// notBefore of the first certificate.
    pub(crate) not_before: Timestamp,
}

impl Chain {
    fn parse(role: &'static str, certs: Vec<Vec<u8>>, min: usize) -> Result<Self, Error> {
        let bad = |reason| Error::InvalidChain { role, reason };
        if certs.len() < min {
            return Err(bad(if min > 1 {
                "fewer than two certificates (leaf first, root last)"
            } else {
                "no certificate"
            }));
        }
        let mut parsed = Vec::with_capacity(certs.len());
        for der in &certs {
            let cert = Certificate::from_der(der).map_err(|_| bad("not a DER certificate"))?;
            parsed.push(cert);
        }
        let first = &parsed[0];
        let not_before = Timestamp::from_unix_seconds(
            i64::try_from(
                first
                    .tbs_certificate
                    .validity
                    .not_before
                    .to_unix_duration()
                    .as_secs(),
            )
            .unwrap_or(i64::MAX),
        );
        let root = &parsed[parsed.len() - 1];
        let mut subject = Subject::default();
        for rdn in root.tbs_certificate.subject.0.iter() {
            for atv in rdn.0.iter() {
                let slot = match atv.oid {
                    OID_ORGANIZATION => &mut subject.organization,
                    OID_COMMON_NAME => &mut subject.common_name,
                    _ => continue,
                };
                if slot.is_empty() {
                    if let Ok(s) = std::str::from_utf8(atv.value.value()) {
                        *slot = s.to_owned();
                    }
                }
            }
        }
        Ok(Chain {
            certs,
            subject,
            not_before,
        })
    }
}

/// A Fulcio-style certificate authority: its URL and the chain it issues under.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CertificateAuthority {
    pub(crate) url: String,
    pub(crate) chain: Chain,
}

impl CertificateAuthority {
    /// `url` is Fulcio's base URL (served at the root of its host:port: clients join
    /// `/api/v2/signingCert` onto it). `chain_der` is the chain Fulcio issues under, DER, the
    /// issuing certificate first and the root last (one certificate if Fulcio issues directly
    /// from the root).
    pub fn new(url: impl Into<String>, chain_der: Vec<Vec<u8>>) -> Result<Self, Error> {
        const ROLE: &str = "certificate authority";
        Ok(CertificateAuthority {
            url: check_url(ROLE, url.into())?,
            chain: Chain::parse(ROLE, chain_der, 1)?,
        })
    }

    /// The base URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The chain, issuing certificate first.
    pub fn chain_der(&self) -> &[Vec<u8>] {
        &self.chain.certs
    }

    /// The root's subject, as published.
    pub fn subject(&self) -> &Subject {
        &self.chain.subject
    }
}

/// An RFC 6962 CT log Fulcio submits precertificates to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CtLog {
    pub(crate) base_url: String,
    pub(crate) key: PublicKey,
}

impl CtLog {
    /// `spki_der`: the log's ECDSA (P-256 or P-384) public key as DER SubjectPublicKeyInfo.
    pub fn new(base_url: impl Into<String>, spki_der: &[u8]) -> Result<Self, Error> {
        const ROLE: &str = "ctlog";
        let key = PublicKey::parse_ecdsa(ROLE, spki_der, "RFC 6962 logs sign with ECDSA")?;
        Ok(CtLog {
            base_url: check_url(ROLE, base_url.into())?,
            key,
        })
    }

    /// SHA-256 of the DER SPKI.
    pub fn log_id(&self) -> [u8; 32] {
        spki_log_id(&self.key.spki_der)
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The DER SPKI of its key.
    pub fn spki_der(&self) -> &[u8] {
        &self.key.spki_der
    }

    /// The key's algorithm.
    pub fn key_details(&self) -> KeyDetails {
        self.key.details
    }
}

/// Which Rekor API a transparency log speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RekorApi {
    /// Rekor v1 (`/api/v1/log/entries`), ECDSA log key, log ID = SHA-256(SPKI).
    V1,
    /// Rekor v2 (`/api/v2/log/entries`, C2SP tiles), Ed25519 checkpoint key, log ID from the
    /// signed-note key ID.
    V2,
}

impl RekorApi {
    /// The signing_config `majorApiVersion`.
    pub fn major_version(self) -> u32 {
        match self {
            RekorApi::V1 => 1,
            RekorApi::V2 => 2,
        }
    }
}

/// A Rekor transparency log (one shard).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TransparencyLog {
    pub(crate) base_url: String,
    pub(crate) api: RekorApi,
    pub(crate) key: PublicKey,
    /// Rekor v2 only: the checkpoint origin.
    pub(crate) origin: Option<String>,
}

impl TransparencyLog {
    /// A Rekor v1 log; `spki_der` is its ECDSA (P-256 or P-384) public key.
    pub fn rekor_v1(base_url: impl Into<String>, spki_der: &[u8]) -> Result<Self, Error> {
        const ROLE: &str = "rekor v1";
        let key =
            PublicKey::parse_ecdsa(ROLE, spki_der, "sigstack's Rekor v1 logs sign with ECDSA")?;
        Ok(TransparencyLog {
            base_url: check_url(ROLE, base_url.into())?,
            api: RekorApi::V1,
            key,
            origin: None,
        })
    }

    /// A Rekor v2 log with its raw 32-byte Ed25519 checkpoint key. `origin` is the checkpoint
    /// origin line (the host of the log URL, e.g. `log2025-1.rekor.example.com`).
    pub fn rekor_v2(
        base_url: impl Into<String>,
        origin: impl Into<String>,
        ed25519_raw: &[u8; 32],
    ) -> Result<Self, Error> {
        Self::rekor_v2_spki(base_url, origin, &PublicKey::ed25519_spki(ed25519_raw))
    }

    /// [`TransparencyLog::rekor_v2`] with the key given as a DER SubjectPublicKeyInfo.
    pub fn rekor_v2_spki(
        base_url: impl Into<String>,
        origin: impl Into<String>,
        spki_der: &[u8],
    ) -> Result<Self, Error> {
        const ROLE: &str = "rekor v2";
        let key = PublicKey::parse(ROLE, spki_der)?;
        if key.details != KeyDetails::PkixEd25519 {
            return Err(Error::UnsupportedKey {
                role: ROLE,
                reason: "Rekor v2 checkpoint keys are Ed25519",
            });
        }
        let origin = origin.into();
        if origin.is_empty() || origin.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Error::InvalidUrl {
                role: ROLE,
                value: origin,
            });
        }
        Ok(TransparencyLog {
            base_url: check_url(ROLE, base_url.into())?,
            api: RekorApi::V2,
            key,
            origin: Some(origin),
        })
    }

    /// The log ID clients look the key up by (`logId.keyId`).
    pub fn log_id(&self) -> [u8; 32] {
        match (&self.origin, <&[u8; 32]>::try_from(self.key.raw.as_slice())) {
            (Some(origin), Ok(raw)) if self.api == RekorApi::V2 => rekor_v2_log_id(origin, raw),
            _ => spki_log_id(&self.key.spki_der),
        }
    }

    /// The API it speaks.
    pub fn api(&self) -> RekorApi {
        self.api
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The DER SPKI of its key.
    pub fn spki_der(&self) -> &[u8] {
        &self.key.spki_der
    }

    /// The key's algorithm.
    pub fn key_details(&self) -> KeyDetails {
        self.key.details
    }

    /// Rekor v2: the checkpoint origin.
    pub fn origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }
}

/// An RFC 3161 timestamp authority.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TimestampAuthority {
    pub(crate) base_url: String,
    /// The full timestamp URL (`<base>/api/v1/timestamp`).
    pub(crate) url: String,
    pub(crate) chain: Chain,
}

impl TimestampAuthority {
    /// `base_url` is the TSA service's base URL; the published URL is
    /// `<base_url>/api/v1/timestamp`, the exact URL sigstore-python POSTs to. `chain_der` is the
    /// TSA signing certificate first (EKU timeStamping) and the root last: at least two
    /// certificates, as clients require.
    pub fn new(base_url: impl Into<String>, chain_der: Vec<Vec<u8>>) -> Result<Self, Error> {
        const ROLE: &str = "timestamp authority";
        let base = check_url(ROLE, base_url.into())?;
        Ok(TimestampAuthority {
            url: format!("{base}{TSA_TIMESTAMP_PATH}"),
            base_url: base,
            chain: Chain::parse(ROLE, chain_der, 2)?,
        })
    }

    /// The base URL it was built with.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The full timestamp URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The chain, signing certificate first.
    pub fn chain_der(&self) -> &[Vec<u8>] {
        &self.chain.certs
    }
}

/// Everything clients must trust and call for one instance, as it is right now.
///
/// The launcher fills it from the keys and certificates it holds in memory; [`crate::TrustHistory`]
/// turns successive snapshots into validity windows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Instance {
    /// Who runs it: signing_config's `operator` for every service (e.g. the organisation's
    /// domain). Defaults to `sigstack` when empty.
    pub operator: String,
    /// The Fulcio CA(s) currently issuing.
    pub certificate_authorities: Vec<CertificateAuthority>,
    /// The CT log(s) Fulcio currently submits to.
    pub ctlogs: Vec<CtLog>,
    /// The Rekor logs currently accepting entries (v1 and/or v2 shards).
    pub tlogs: Vec<TransparencyLog>,
    /// The TSA(s) currently issuing timestamps.
    pub timestamp_authorities: Vec<TimestampAuthority>,
    /// OIDC provider(s) clients may use to obtain a token interactively (signing_config
    /// `oidcUrls`), e.g. the built-in development issuer. May be empty.
    pub oidc_providers: Vec<OidcProvider>,
}

/// The default `operator`.
pub const DEFAULT_OPERATOR: &str = "sigstack";

/// An OIDC provider clients can get identity tokens from (signing_config `oidcUrls`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OidcProvider {
    pub(crate) url: String,
}

impl OidcProvider {
    /// `url` is the issuer URL clients start their browser flow at.
    pub fn new(url: impl Into<String>) -> Result<Self, Error> {
        Ok(OidcProvider {
            url: check_url("oidc provider", url.into())?,
        })
    }

    /// The URL.
    pub fn url(&self) -> &str {
        &self.url
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ed25519_spki_prefix() {
        let spki = PublicKey::ed25519_spki(&[7; 32]);
        let key = PublicKey::parse("t", &spki).unwrap();
        assert_eq!(key.details, KeyDetails::PkixEd25519);
        assert_eq!(key.raw, vec![7; 32]);
    }

    #[test]
    fn urls() {
        assert_eq!(
            check_url("t", "https://a.example/".into()).unwrap(),
            "https://a.example"
        );
        assert_eq!(
            check_url("t", "http://127.0.0.1:3000".into()).unwrap(),
            "http://127.0.0.1:3000"
        );
        for bad in ["", "https://", "ftp://x", "a.example", "https://a b"] {
            assert!(check_url("t", bad.into()).is_err(), "{bad}");
        }
    }
}
