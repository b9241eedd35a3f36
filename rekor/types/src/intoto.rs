//! `intoto` v0.0.2: a DSSE envelope carried as JSON, one public key per signature.
//!
//! Behaviour follows upstream `pkg/types/intoto/v0.0.2/entry.go` (sigstore/rekor @eee7d8d), as
//! @sigstore/cli (sigstore-js) sends it:
//! - `content.envelope.payload` and each `signatures[].sig` are base64 of the DSSE base64 text
//!   ("double base64"); `signatures[].publicKey` is base64 of a PEM;
//! - every signature's key must verify at least one envelope signature and every signature must
//!   be verified (SHA-256 for ECDSA/RSA, pure Ed25519), over the DSSE PAE;
//! - `content.hash` (the envelope digest) is required and kept as sent (upstream does not
//!   recompute it); `content.payloadHash` is recomputed by the log;
//! - the canonical body keeps `payloadType`, the signatures in request order with `keyid` (only
//!   when non-empty), `publicKey` bytes exactly as sent and `sig`; the payload itself is dropped.

use serde::Deserialize;
use serde_json::{json, Map, Value};
use sigstack_keys::HashAlgorithm;

use crate::de::{refusal, Field, List, Obj, Text};
use crate::dsse::{in_toto_index_keys, pae, EnvelopeSignature};
use crate::pki::Verifier;
use crate::util::{
    b64, b64_dsse_decode, b64_std_decode, bounded, invalid, required, required_text, sha256_hex,
    MAX_SIGNATURES,
};
use crate::{jcs, CanonicalEntry, EntryError, IndexKey};

/// `spec` of an intoto v0.0.2 entry.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Spec<'a> {
    #[serde(borrow)]
    pub(crate) content: Option<Obj<Content<'a>>>,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Content<'a> {
    #[serde(borrow)]
    envelope: Option<Obj<Envelope<'a>, AnEnvelopeObject>>,
    #[serde(borrow)]
    hash: Option<Obj<Hash<'a>>>,
    #[serde(rename = "payloadHash", borrow)]
    payload_hash: Option<Obj<Hash<'a>>>,
}

refusal!(AnEnvelopeObject, |found| format!(
    "must be an object in intoto v0.0.2, found {found}"
));

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Hash<'a> {
    #[serde(borrow)]
    algorithm: Option<Text<'a>>,
    #[serde(borrow)]
    value: Option<Text<'a>>,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Envelope<'a> {
    #[serde(rename = "payloadType", borrow)]
    payload_type: Option<Text<'a>>,
    #[serde(borrow)]
    payload: Option<Text<'a>>,
    #[serde(borrow)]
    signatures: Option<List<Obj<Signature<'a>>>>,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Signature<'a> {
    #[serde(borrow)]
    keyid: Option<Text<'a>>,
    #[serde(borrow)]
    sig: Option<Text<'a>>,
    #[serde(rename = "publicKey", borrow)]
    public_key: Option<Text<'a>>,
}

/// The fields type errors in `spec` are reported under (a hash's own members name the hash).
pub(crate) const FIELDS: &[Field] = &[
    Field::at("spec.content"),
    Field::at("spec.content.envelope"),
    Field::at("spec.content.hash"),
    Field::at("spec.content.payloadHash"),
    Field::at("spec.content.envelope.payloadType"),
    Field::at("spec.content.envelope.payload"),
    Field::at("spec.content.envelope.signatures"),
    Field::at("spec.content.envelope.signatures[].keyid"),
    Field::at("spec.content.envelope.signatures[].sig"),
    Field::at("spec.content.envelope.signatures[].publicKey"),
];

/// Checks a `{algorithm, value}` digest is SHA-256; returns the value.
fn check_sha256<'s>(hash: &'s Hash<'_>, field: &'static str) -> Result<&'s str, EntryError> {
    let alg = required_text(&hash.algorithm, field)?;
    let value = required_text(&hash.value, field)?;
    if alg != "sha256" {
        return Err(invalid(field, format!("algorithm {alg:?} is not sha256")));
    }
    if value.len() != 64 || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid(field, "value must be 64 hex characters"));
    }
    Ok(value)
}

pub(crate) fn canonicalize(spec: &Spec<'_>) -> Result<CanonicalEntry, EntryError> {
    let content = required(&spec.content, "spec.content")?;
    let envelope = required(&content.envelope, "spec.content.envelope")?;
    let hash = required(&content.hash, "spec.content.hash")?;
    let hash_value = check_sha256(hash, "spec.content.hash")?;
    if let Some(ph) = &content.payload_hash {
        check_sha256(ph, "spec.content.payloadHash")?;
    }

    let payload_type = required_text(&envelope.payload_type, "spec.content.envelope.payloadType")?;
    let payload_outer = required_text(&envelope.payload, "spec.content.envelope.payload")?;
    let payload_inner = b64_std_decode("spec.content.envelope.payload", payload_outer)?;
    let payload_inner = String::from_utf8(payload_inner).map_err(|_| {
        invalid(
            "spec.content.envelope.payload",
            "must be base64 of the DSSE base64 payload",
        )
    })?;
    if payload_inner.is_empty() {
        return Err(invalid(
            "spec.content.envelope.payload",
            "must not be empty",
        ));
    }
    // Verification decodes as DSSE does; the payload hash uses strict standard base64.
    let payload = b64_dsse_decode("spec.content.envelope.payload", &payload_inner)?;

    let sig_items = bounded(
        &envelope.signatures,
        "spec.content.envelope.signatures",
        MAX_SIGNATURES,
    )?;
    let mut canonical_sigs = Vec::with_capacity(sig_items.len());
    let mut signatures = Vec::with_capacity(sig_items.len());
    let mut verifiers = Vec::with_capacity(sig_items.len());
    for item in sig_items {
        let keyid = item.keyid.as_deref();
        let sig_outer = required_text(&item.sig, "spec.content.envelope.signatures[].sig")?;
        let sig_inner = b64_std_decode("spec.content.envelope.signatures[].sig", sig_outer)?;
        let key_outer = required_text(
            &item.public_key,
            "spec.content.envelope.signatures[].publicKey",
        )?;
        let key_pem = b64_std_decode("spec.content.envelope.signatures[].publicKey", key_outer)?;
        if sig_inner.is_empty() || key_pem.is_empty() {
            return Err(invalid(
                "spec.content.envelope.signatures",
                "sig and publicKey must not be empty",
            ));
        }
        let verifier =
            Verifier::from_pem("spec.content.envelope.signatures[].publicKey", &key_pem)?;

        let mut c = Map::new();
        if let Some(k) = keyid.filter(|k| !k.is_empty()) {
            c.insert("keyid".into(), Value::String(k.to_string()));
        }
        c.insert("publicKey".into(), Value::String(b64(&key_pem)));
        c.insert("sig".into(), Value::String(b64(&sig_inner)));
        canonical_sigs.push(Value::Object(c));

        let sig_text = String::from_utf8_lossy(&sig_inner).into_owned();
        let sig = b64_dsse_decode("spec.content.envelope.signatures[].sig", &sig_text)
            .ok()
            .filter(|s| !s.is_empty());
        signatures.push(EnvelopeSignature { sig_text, sig });
        verifiers.push((verifier, HashAlgorithm::Sha256));
    }

    // Upstream tries every key (no early exit): each must verify a signature, and every
    // signature must be verified by some key.
    let pae_bytes = pae(payload_type, &payload);
    let mut verified = vec![false; signatures.len()];
    for (i, (v, hash)) in verifiers.iter().enumerate() {
        let mut any = false;
        for (j, s) in signatures.iter().enumerate() {
            let Some(sig) = &s.sig else { continue };
            if v.key.verify_message(*hash, &pae_bytes, sig).is_ok() {
                verified[j] = true;
                any = true;
            }
        }
        if !any {
            return Err(EntryError::BadSignature(format!(
                "spec.content.envelope.signatures[{i}].publicKey verifies none of the envelope signatures"
            )));
        }
    }
    if let Some(j) = verified.iter().position(|ok| !ok) {
        return Err(EntryError::BadSignature(format!(
            "spec.content.envelope.signatures[{j}].sig is verified by no key"
        )));
    }

    let strict_payload = b64_std_decode("spec.content.envelope.payload", &payload_inner)?;
    let payload_hash = sha256_hex(&strict_payload);

    let mut index_keys = Vec::new();
    for (v, _) in &verifiers {
        index_keys.extend(v.index_keys());
    }
    index_keys.push(IndexKey::ArtifactHash(format!("sha256:{payload_hash}")));
    index_keys.extend(in_toto_index_keys(payload_type, &payload));

    let body = jcs::canonical_json(&json!({
        "apiVersion": "0.0.2",
        "kind": "intoto",
        "spec": {
            "content": {
                "envelope": {
                    "payloadType": payload_type,
                    "signatures": canonical_sigs,
                },
                "hash": {"algorithm": "sha256", "value": hash_value},
                "payloadHash": {"algorithm": "sha256", "value": payload_hash},
            },
        },
    }));
    Ok(CanonicalEntry {
        kind: "intoto",
        api_version: "0.0.2",
        body,
        index_keys: crate::dedup(index_keys),
    })
}
