//! containers-policy.json(5) for CRI-O / podman / skopeo, the registries.d(5) snippet that makes
//! them fetch sigstore signatures, and the PEM files the policy points at.
//!
//! The policy rejects everything by default and, for the chosen `docker:` scope, requires a
//! `sigstoreSigned` signature whose Fulcio certificate chains to this instance's CA, names the
//! given email and OIDC issuer, and carries a Rekor v1 signed entry timestamp from this instance's
//! log (containers/image verifies Rekor v1 SETs only). Field names follow containers/image
//! `docs/containers-policy.json.5.md`.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Serialize;

use crate::history::TrustItem;
use crate::{Error, RekorApi, TrustHistory};

/// Who must have signed, and which images the requirement covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyIdentity {
    /// The signer's email (Fulcio certificate SAN), matched exactly.
    pub email: String,
    /// The OIDC issuer URL recorded in the certificate, matched exactly.
    pub issuer: String,
    /// The `docker:` transport scope the requirement applies to: `""` (the default) for every
    /// image, or a registry / namespace / repository such as `registry.example.com/team`.
    pub docker_scope: String,
}

impl PolicyIdentity {
    /// A requirement for `email` at `issuer` over every `docker:` image.
    pub fn new(email: impl Into<String>, issuer: impl Into<String>) -> Self {
        PolicyIdentity {
            email: email.into(),
            issuer: issuer.into(),
            docker_scope: String::new(),
        }
    }

    /// Restricts the requirement to `scope` (images outside it fall to the default: reject).
    pub fn with_docker_scope(mut self, scope: impl Into<String>) -> Self {
        self.docker_scope = scope.into();
        self
    }
}

#[derive(Serialize)]
struct Policy {
    default: Vec<Requirement>,
    transports: BTreeMap<&'static str, BTreeMap<String, Vec<Requirement>>>,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
enum Requirement {
    Reject,
    #[serde(rename_all = "camelCase")]
    SigstoreSigned {
        fulcio: Fulcio,
        rekor_public_key_path: String,
        signed_identity: SignedIdentity,
    },
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Fulcio {
    ca_path: String,
    oidc_issuer: String,
    subject_email: String,
}

#[derive(Serialize)]
struct SignedIdentity {
    #[serde(rename = "type")]
    kind: &'static str,
}

/// `policy.json`: default reject; `docker:` + `identity.docker_scope` requires `sigstoreSigned`
/// with `fulcio {caPath, oidcIssuer, subjectEmail}`, `rekorPublicKeyPath` and `signedIdentity`
/// `matchRepository` (cosign-made signatures name only the repository). The paths should be
/// absolute: containers/image does not resolve them against the policy's directory.
pub fn containers_policy(
    identity: &PolicyIdentity,
    ca_path: &str,
    rekor_key_path: &str,
) -> Vec<u8> {
    let mut docker = BTreeMap::new();
    docker.insert(
        identity.docker_scope.clone(),
        vec![Requirement::SigstoreSigned {
            fulcio: Fulcio {
                ca_path: ca_path.to_owned(),
                oidc_issuer: identity.issuer.clone(),
                subject_email: identity.email.clone(),
            },
            rekor_public_key_path: rekor_key_path.to_owned(),
            signed_identity: SignedIdentity {
                kind: "matchRepository",
            },
        }],
    );
    let mut transports = BTreeMap::new();
    transports.insert("docker", docker);
    crate::documents::pretty(&Policy {
        default: vec![Requirement::Reject],
        transports,
    })
}

/// A containers-registries.d(5) file turning on `use-sigstore-attachments` for the scope, without
/// which podman and CRI-O never look for sigstore signatures. `""` uses `default-docker`.
pub fn containers_registries_d(identity: &PolicyIdentity) -> Vec<u8> {
    let out = if identity.docker_scope.is_empty() {
        "default-docker:\n  use-sigstore-attachments: true\n".to_owned()
    } else {
        // JSON strings are valid YAML double-quoted scalars.
        let scope = serde_json::Value::String(identity.docker_scope.clone()).to_string();
        format!("docker:\n  {scope}:\n    use-sigstore-attachments: true\n")
    };
    out.into_bytes()
}

/// PEM-encodes DER with the given label, 64 columns.
pub fn pem(label: &str, der: &[u8]) -> String {
    let b = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

impl TrustHistory {
    /// Every certificate of the current Fulcio chains, PEM (for `caPath`, cosign's
    /// `fulcio_v1.crt.pem`). Retired CAs are left out: containers/image ignores validity
    /// windows, so a retired CA listed here would stay trusted forever.
    pub fn fulcio_ca_pem(&self) -> Result<String, Error> {
        let mut out = String::new();
        let mut seen: Vec<&[u8]> = Vec::new();
        for e in self.current() {
            if let TrustItem::CertificateAuthority(ca) = e.item() {
                for c in &ca.chain.certs {
                    if !seen.contains(&c.as_slice()) {
                        seen.push(c);
                        out.push_str(&pem("CERTIFICATE", c));
                    }
                }
            }
        }
        if out.is_empty() {
            return Err(Error::Incomplete("certificate authority"));
        }
        Ok(out)
    }

    /// The most recently opened current Rekor v1 key, PEM (`rekorPublicKeyPath`, `rekor.pub`).
    pub fn rekor_v1_public_key_pem(&self) -> Result<String, Error> {
        self.current()
            .filter_map(|e| match e.item() {
                TrustItem::TransparencyLog(t) if t.api == RekorApi::V1 => Some(t),
                _ => None,
            })
            .last()
            .map(|t| pem("PUBLIC KEY", &t.key.spki_der))
            .ok_or(Error::Incomplete(
                "Rekor v1 log (containers policies verify Rekor v1 entries)",
            ))
    }

    /// The most recently opened current CT log key, PEM (`ctfe.pub`).
    pub fn ctlog_public_key_pem(&self) -> Result<String, Error> {
        self.current()
            .filter_map(|e| match e.item() {
                TrustItem::CtLog(ct) => Some(ct),
                _ => None,
            })
            .last()
            .map(|ct| pem("PUBLIC KEY", &ct.key.spki_der))
            .ok_or(Error::Incomplete("CT log"))
    }

    /// The most recently opened current TSA chain, PEM, signing certificate first
    /// (`tsa.certchain.pem`).
    pub fn tsa_cert_chain_pem(&self) -> Result<String, Error> {
        self.current()
            .filter_map(|e| match e.item() {
                TrustItem::TimestampAuthority(t) => Some(t),
                _ => None,
            })
            .last()
            .map(|t| {
                t.chain
                    .certs
                    .iter()
                    .map(|c| pem("CERTIFICATE", c))
                    .collect()
            })
            .ok_or(Error::Incomplete("timestamp authority"))
    }
}
