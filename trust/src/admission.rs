//! Admission policies for Kubernetes that trust this instance: the sigstore policy-controller's
//! `TrustRoot` and `ClusterImagePolicy`, and a Kyverno `ClusterPolicy` with `verifyImages`.
//! Each is a `v1` `List` in JSON (which `kubectl apply -f` takes), checked against the
//! controllers' own CRD schemas by `scripts/check-kubernetes.sh`.
//!
//! Only current keys and chains are listed: neither controller reads validity windows from
//! these objects, so a retired CA or log key listed here would stay trusted. After a rotation,
//! export and apply again (the TUF repository keeps serving the windows to TUF clients).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};

use crate::documents::{CertificateAuthorityDoc, TransparencyLogInstance};
use crate::policy::{pem, PolicyIdentity};
use crate::{Error, TrustHistory};

/// The name of every object written (TrustRoot, ClusterImagePolicy, ClusterPolicy).
pub const NAME: &str = "sigstack";

fn list(items: Vec<Value>) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(&json!({
        "apiVersion": "v1",
        "kind": "List",
        "items": items,
    }))
    .unwrap_or_default();
    out.push(b'\n');
    out
}

fn der(b64: &str) -> Result<Vec<u8>, Error> {
    STANDARD
        .decode(b64)
        .map_err(|_| Error::Incomplete("base64 in the trusted root"))
}

fn ca_chain_pem(ca: &CertificateAuthorityDoc) -> Result<String, Error> {
    ca.cert_chain
        .certificates
        .iter()
        .map(|c| Ok(pem("CERTIFICATE", &der(&c.raw_bytes)?)))
        .collect()
}

fn ca_entry(ca: &CertificateAuthorityDoc) -> Result<Value, Error> {
    Ok(json!({
        "subject": {
            "organization": ca.subject.organization,
            "commonName": ca.subject.common_name,
        },
        "uri": ca.uri,
        "certChain": STANDARD.encode(ca_chain_pem(ca)?),
    }))
}

fn log_entry(log: &TransparencyLogInstance) -> Result<Value, Error> {
    Ok(json!({
        "baseURL": log.base_url,
        "hashAlgorithm": "sha-256",
        "publicKey": STANDARD.encode(pem("PUBLIC KEY", &der(&log.public_key.raw_bytes)?)),
    }))
}

/// `glob` of policy-controller and `imageReferences` of Kyverno for a `docker_scope`.
fn image_patterns(scope: &str) -> (String, String) {
    let scope = scope.trim_end_matches('/');
    if scope.is_empty() {
        ("**".to_owned(), "*".to_owned())
    } else {
        (format!("{scope}/**"), format!("{scope}/*"))
    }
}

/// The current Fulcio and Rekor v1 URLs, from the signing config.
fn urls(history: &TrustHistory) -> Result<(String, String), Error> {
    let sc = history.signing_config();
    let fulcio = sc
        .ca_urls
        .first()
        .map(|s| s.url.clone())
        .ok_or(Error::Incomplete("certificate authority"))?;
    let rekor = sc
        .rekor_tlog_urls
        .iter()
        .find(|s| s.major_api_version == 1)
        .map(|s| s.url.clone())
        .ok_or(Error::Incomplete(
            "Rekor v1 log (the admission controllers verify Rekor v1 entries)",
        ))?;
    Ok((fulcio, rekor))
}

/// The sigstore policy-controller's objects: a `TrustRoot` holding the current keys and chains
/// (`sigstoreKeys`), and a `ClusterImagePolicy` admitting the images of `identity.docker_scope`
/// only when signed keylessly through this instance by `identity` (subject and issuer exactly).
pub fn policy_controller(
    history: &TrustHistory,
    identity: &PolicyIdentity,
) -> Result<Vec<u8>, Error> {
    let (fulcio, rekor) = urls(history)?;
    let root = history.trusted_root();
    let current_logs = |logs: &[TransparencyLogInstance]| -> Result<Vec<Value>, Error> {
        logs.iter()
            .filter(|l| l.public_key.valid_for.end.is_none())
            .map(log_entry)
            .collect()
    };
    let current_cas = |cas: &[CertificateAuthorityDoc]| -> Result<Vec<Value>, Error> {
        cas.iter()
            .filter(|c| c.valid_for.end.is_none())
            .map(ca_entry)
            .collect()
    };
    let cas = current_cas(&root.certificate_authorities)?;
    if cas.is_empty() {
        return Err(Error::Incomplete("certificate authority"));
    }
    let mut keys = json!({
        "certificateAuthorities": cas,
        "tLogs": current_logs(&root.tlogs)?,
        "ctLogs": current_logs(&root.ctlogs)?,
    });
    let tsas = current_cas(&root.timestamp_authorities)?;
    if !tsas.is_empty() {
        keys["timestampAuthorities"] = Value::Array(tsas);
    }
    let (glob, _) = image_patterns(&identity.docker_scope);
    Ok(list(vec![
        json!({
            "apiVersion": "policy.sigstore.dev/v1alpha1",
            "kind": "TrustRoot",
            "metadata": {"name": NAME},
            "spec": {"sigstoreKeys": keys},
        }),
        json!({
            "apiVersion": "policy.sigstore.dev/v1beta1",
            "kind": "ClusterImagePolicy",
            "metadata": {"name": NAME},
            "spec": {
                "images": [{"glob": glob}],
                "authorities": [{
                    "name": NAME,
                    "keyless": {
                        "url": fulcio,
                        "trustRootRef": NAME,
                        "identities": [{"issuer": identity.issuer, "subject": identity.email}],
                    },
                    // policy-controller's "ctlog" is the transparency log: Rekor.
                    "ctlog": {"url": rekor, "trustRootRef": NAME},
                }],
            },
        }),
    ]))
}

/// A Kyverno `ClusterPolicy` whose `verifyImages` rule refuses pods with images of
/// `identity.docker_scope` unless signed keylessly through this instance by `identity`: the
/// current Fulcio chain as roots, the Rekor v1 URL and key, the CT log key.
pub fn kyverno(history: &TrustHistory, identity: &PolicyIdentity) -> Result<Vec<u8>, Error> {
    let (_, rekor) = urls(history)?;
    let (_, reference) = image_patterns(&identity.docker_scope);
    Ok(list(vec![json!({
        "apiVersion": "kyverno.io/v1",
        "kind": "ClusterPolicy",
        "metadata": {"name": NAME},
        "spec": {
            "background": false,
            "webhookTimeoutSeconds": 30,
            "rules": [{
                "name": "signed-through-sigstack",
                "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                "verifyImages": [{
                    "failureAction": "Enforce",
                    "imageReferences": [reference],
                    "mutateDigest": true,
                    "verifyDigest": true,
                    "required": true,
                    "attestors": [{
                        "count": 1,
                        "entries": [{
                            "keyless": {
                                "subject": identity.email,
                                "issuer": identity.issuer,
                                "roots": history.fulcio_ca_pem()?,
                                "rekor": {"url": rekor, "pubkey": history.rekor_v1_public_key_pem()?},
                                "ctlog": {"pubkey": history.ctlog_public_key_pem()?},
                            },
                        }],
                    }],
                }],
            }],
        },
    })]))
}
