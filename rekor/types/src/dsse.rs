//! `dsse` v0.0.1: a DSSE envelope and the keys that signed it.
//!
//! Behaviour follows upstream `pkg/types/dsse/v0.0.1/entry.go` (sigstore/rekor @eee7d8d):
//! - the request carries `proposedContent.envelope` (the envelope as a JSON *string*) and
//!   `proposedContent.verifiers` (base64 PEM); `signatures`, `envelopeHash` and `payloadHash` are
//!   computed by the log, so they must be absent (explicit `null`s, as sigstore-python sends,
//!   are accepted);
//! - verifiers are tried in order until every envelope signature is verified; each verifier
//!   tried must verify at least one signature, and every signature must be verified by one;
//!   signatures are over the DSSE PAE, hashed with SHA-256 for ECDSA (any curve) and RSA
//!   (PKCS#1 v1.5), pure Ed25519 otherwise;
//! - the canonical body: `envelopeHash` = SHA-256 of the envelope string exactly as received,
//!   `payloadHash` = SHA-256 of the decoded payload, and one `{signature, verifier}` per distinct
//!   signature string, sorted by that string, with the verifier's canonical PEM.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::{json, Value};
use sigstack_keys::HashAlgorithm;

use crate::de::{parse_document, refusal, Field, List, Obj, Sent, Text};
use crate::pki::Verifier;
use crate::util::{
    b64, b64_dsse_decode, b64_std_decode, bounded, invalid, required, required_text, sha256_hex,
    MAX_SIGNATURES,
};
use crate::{jcs, CanonicalEntry, EntryError, IndexKey};

/// `spec` of a dsse v0.0.1 entry.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Spec<'a> {
    #[serde(rename = "proposedContent", borrow)]
    pub(crate) proposed_content: Option<Obj<ProposedContent<'a>>>,
    pub(crate) signatures: Option<Sent>,
    #[serde(rename = "envelopeHash")]
    pub(crate) envelope_hash: Option<Sent>,
    #[serde(rename = "payloadHash")]
    pub(crate) payload_hash: Option<Sent>,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct ProposedContent<'a> {
    /// The envelope as a JSON string: its hash is of these exact characters.
    #[serde(borrow)]
    envelope: Option<Text<'a>>,
    #[serde(borrow)]
    verifiers: Option<List<Text<'a, Base64Items>>>,
}

refusal!(Base64Items, |found| format!(
    "items must be base64 strings, found {found}"
));

/// The fields type errors in `spec` are reported under.
pub(crate) const FIELDS: &[Field] = &[
    Field::at("spec.signatures"),
    Field::at("spec.envelopeHash"),
    Field::at("spec.payloadHash"),
    Field::at("spec.proposedContent"),
    Field::at("spec.proposedContent.envelope"),
    Field::at("spec.proposedContent.verifiers"),
];

const ENV: &str = "spec.proposedContent.envelope";

/// The DSSE envelope, parsed from the `proposedContent.envelope` string.
#[derive(Debug, Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "payloadType", borrow)]
    payload_type: Option<Text<'a, PayloadTypeString>>,
    #[serde(borrow)]
    payload: Option<Text<'a, PayloadString>>,
    #[serde(borrow)]
    signatures: Option<List<Obj<EnvelopeSig<'a>>, SignatureCount>>,
}

#[derive(Debug, Deserialize)]
struct EnvelopeSig<'a> {
    #[serde(borrow)]
    sig: Option<Text<'a, SigString>>,
}

refusal!(PayloadTypeString, |_found| String::from(
    "payloadType must be a string"
));
refusal!(PayloadString, |_found| String::from(
    "payload must be a string"
));
refusal!(SigString, |_found| String::from(
    "signatures[].sig must be a string"
));
refusal!(SignatureCount, |_found| format!(
    "must contain 1 to {MAX_SIGNATURES} signatures"
));

/// The fields type errors in the envelope are reported under (the envelope itself otherwise).
const ENVELOPE_FIELDS: &[Field] = &[
    Field::below(
        "spec.proposedContent.envelope.signatures[]",
        "spec.proposedContent.envelope.signatures",
    ),
    Field::below("spec.proposedContent.envelope.signatures[].sig", ENV),
];

/// The payload type of in-toto statements, whose subject digests become search keys.
pub(crate) const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// DSSE v1 pre-authentication encoding.
pub(crate) fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + payload_type.len() + 32);
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

/// An envelope signature as it appears in the JSON envelope.
pub(crate) struct EnvelopeSignature {
    /// The base64 text of the signature, exactly as in the envelope.
    pub(crate) sig_text: String,
    /// The decoded signature bytes (`None` if the text is not base64: it then verifies with no key).
    pub(crate) sig: Option<Vec<u8>>,
}

/// Verifies an envelope's signatures with `verifiers` tried in order (upstream `verifyEnvelope`).
/// Returns, for every distinct signature text, the index of the verifier that verified it.
pub(crate) fn verify_envelope_signatures(
    field: &'static str,
    pae_bytes: &[u8],
    signatures: &[EnvelopeSignature],
    verifiers: &[(Verifier, HashAlgorithm)],
) -> Result<BTreeMap<String, usize>, EntryError> {
    let mut unverified: BTreeSet<&str> = signatures.iter().map(|s| s.sig_text.as_str()).collect();
    let mut by_sig: BTreeMap<String, usize> = BTreeMap::new();
    for (i, (verifier, hash)) in verifiers.iter().enumerate() {
        if unverified.is_empty() {
            break;
        }
        let mut accepted = 0;
        for s in signatures {
            let Some(sig) = &s.sig else { continue };
            if verifier.key.verify_message(*hash, pae_bytes, sig).is_ok() {
                accepted += 1;
                unverified.remove(s.sig_text.as_str());
                by_sig.insert(s.sig_text.clone(), i);
            }
        }
        if accepted == 0 {
            return Err(EntryError::BadSignature(format!(
                "{field}[{i}] verifies none of the envelope signatures"
            )));
        }
    }
    if !unverified.is_empty() {
        return Err(EntryError::BadSignature(format!(
            "{} envelope signature(s) verified by no verifier",
            unverified.len()
        )));
    }
    Ok(by_sig)
}

/// Search keys of an in-toto statement: `alg:digest` of every subject and, for SLSA v0.2
/// provenance, of every material (upstream `IndexKeys` of dsse / intoto).
pub(crate) fn in_toto_index_keys(payload_type: &str, payload: &[u8]) -> Vec<IndexKey> {
    let mut keys = Vec::new();
    if payload_type != IN_TOTO_PAYLOAD_TYPE {
        return keys;
    }
    let Ok(Value::Object(statement)) = serde_json::from_slice::<Value>(payload) else {
        return keys;
    };
    let mut push_digests = |items: Option<&Value>| {
        if let Some(Value::Array(items)) = items {
            for item in items {
                if let Some(Value::Object(d)) = item.get("digest") {
                    for (alg, v) in d {
                        if let Value::String(v) = v {
                            keys.push(IndexKey::ArtifactHash(format!("{alg}:{v}").to_lowercase()));
                        }
                    }
                }
            }
        }
    };
    push_digests(statement.get("subject"));
    if let Some(Value::Object(pred)) = statement.get("predicate") {
        push_digests(pred.get("materials"));
    }
    keys
}

pub(crate) fn canonicalize(spec: &Spec<'_>) -> Result<CanonicalEntry, EntryError> {
    const COMPUTED: &str = "is computed by the log and must not be sent with proposedContent";
    if spec.signatures.is_some_and(|s| !s.empty_array) {
        return Err(invalid("spec.signatures", COMPUTED));
    }
    if spec.envelope_hash.is_some() {
        return Err(invalid("spec.envelopeHash", COMPUTED));
    }
    if spec.payload_hash.is_some() {
        return Err(invalid("spec.payloadHash", COMPUTED));
    }
    let proposed = required(&spec.proposed_content, "spec.proposedContent")?;
    let envelope_text = required_text(&proposed.envelope, ENV)?;
    let verifier_items = bounded(
        &proposed.verifiers,
        "spec.proposedContent.verifiers",
        MAX_SIGNATURES,
    )?;
    let mut verifier_pems = Vec::with_capacity(verifier_items.len());
    for item in verifier_items.iter().filter(|s| !s.is_empty()) {
        verifier_pems.push(b64_std_decode("spec.proposedContent.verifiers", item)?);
    }
    if verifier_pems.is_empty() {
        return Err(invalid(
            "spec.proposedContent.verifiers",
            "must not be empty",
        ));
    }

    let envelope: Envelope<'_> =
        parse_document(envelope_text, ENV, ENVELOPE_FIELDS).map_err(|e| match e {
            EntryError::Malformed(_) => invalid(ENV, format!("not a DSSE envelope: {e}")),
            other => other,
        })?;
    let payload_type = envelope.payload_type.as_deref().unwrap_or("");
    let payload_text = envelope.payload.as_deref().unwrap_or("");
    let payload = b64_dsse_decode("spec.proposedContent.envelope.payload", payload_text)?;
    let sig_items = bounded(&envelope.signatures, ENV, MAX_SIGNATURES).map_err(|_| {
        invalid(
            ENV,
            format!("must contain 1 to {MAX_SIGNATURES} signatures"),
        )
    })?;
    let mut signatures = Vec::with_capacity(sig_items.len());
    for item in sig_items {
        let sig_text = item.sig.as_deref().unwrap_or("").to_owned();
        let sig = b64_dsse_decode("spec.proposedContent.envelope.signatures[].sig", &sig_text)
            .ok()
            .filter(|s| !s.is_empty());
        signatures.push(EnvelopeSignature { sig_text, sig });
    }

    let pae_bytes = pae(payload_type, &payload);
    let verifiers = verifier_pems
        .iter()
        .map(|pem| {
            Verifier::from_pem("spec.proposedContent.verifiers", pem)
                .map(|v| (v, HashAlgorithm::Sha256))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let by_sig = verify_envelope_signatures(
        "spec.proposedContent.verifiers",
        &pae_bytes,
        &signatures,
        &verifiers,
    )?;

    let payload_hash = sha256_hex(&payload);
    let envelope_hash = sha256_hex(envelope_text.as_bytes());
    let mut sig_entries = Vec::with_capacity(by_sig.len());
    let mut index_keys = Vec::new();
    // BTreeMap iteration is sorted by signature text: Go's `sort.Strings` byte order.
    for (sig_text, i) in &by_sig {
        let Some((v, _)) = verifiers.get(*i) else {
            continue;
        };
        sig_entries.push(json!({
            "signature": sig_text,
            "verifier": b64(v.canonical_pem().as_bytes()),
        }));
        index_keys.extend(v.index_keys());
    }
    index_keys.push(IndexKey::ArtifactHash(format!("sha256:{payload_hash}")));
    index_keys.push(IndexKey::ArtifactHash(format!("sha256:{envelope_hash}")));
    index_keys.extend(in_toto_index_keys(payload_type, &payload));

    let body = jcs::canonical_json(&json!({
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {
            "envelopeHash": {"algorithm": "sha256", "value": envelope_hash},
            "payloadHash": {"algorithm": "sha256", "value": payload_hash},
            "signatures": sig_entries,
        },
    }));
    Ok(CanonicalEntry {
        kind: "dsse",
        api_version: "0.0.1",
        body,
        index_keys: crate::dedup(index_keys),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_the_dsse_spec_example() {
        // DSSE protocol.md test vector.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
    }
}
