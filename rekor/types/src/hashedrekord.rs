//! `hashedrekord` v0.0.1: a signature over the digest of an artifact, with the certificate or
//! public key that made it.
//!
//! Behaviour follows upstream `pkg/types/hashedrekord/v0.0.1/entry.go` (sigstore/rekor @eee7d8d):
//! - `data.hash.algorithm` is `sha256` | `sha384` | `sha512` and `value` hex of that length;
//! - the signature is verified over the digest ("prehash"): ECDSA P-256/P-384 with any of the
//!   three digests, Ed25519 as Ed25519ph and so only with `sha512`, RSA (2048–4096 bits) with
//!   PKCS#1 v1.5 (upstream's verifier does not use PSS for this kind);
//! - the canonical body keeps `data.hash` as sent, the signature bytes re-encoded, and the
//!   verifier as its canonical PEM; then RFC 8785.

use serde::Deserialize;
use sigstack_keys::HashAlgorithm;

use std::sync::Arc;

use crate::cache::{Prepared, VerifierCache};
use crate::de::{Field, Obj, Text};
use crate::pki::Verifier;
use crate::util::{b64, b64_std_decode, invalid, required, required_text};
use crate::{jcs, CanonicalEntry, EntryError, IndexKey};

/// `spec` of a hashedrekord v0.0.1 entry.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Spec<'a> {
    #[serde(borrow)]
    pub(crate) signature: Option<Obj<Signature<'a>>>,
    #[serde(borrow)]
    pub(crate) data: Option<Obj<Data<'a>>>,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Signature<'a> {
    #[serde(borrow)]
    content: Option<Text<'a>>,
    #[serde(rename = "publicKey", borrow)]
    public_key: Option<Obj<PublicKey<'a>>>,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct PublicKey<'a> {
    #[serde(borrow)]
    content: Option<Text<'a>>,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Data<'a> {
    #[serde(borrow)]
    hash: Option<Obj<Hash<'a>>>,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Hash<'a> {
    #[serde(borrow)]
    algorithm: Option<Text<'a>>,
    #[serde(borrow)]
    value: Option<Text<'a>>,
}

/// The fields type errors in `spec` are reported under.
pub(crate) const FIELDS: &[Field] = &[
    Field::at("spec.signature"),
    Field::at("spec.signature.content"),
    Field::at("spec.signature.publicKey"),
    Field::at("spec.signature.publicKey.content"),
    Field::at("spec.data"),
    Field::at("spec.data.hash"),
    Field::at("spec.data.hash.algorithm"),
    Field::at("spec.data.hash.value"),
];

pub(crate) fn canonicalize(
    spec: &Spec<'_>,
    cache: Option<&VerifierCache>,
) -> Result<CanonicalEntry, EntryError> {
    const KEY_FIELD: &str = "spec.signature.publicKey.content";
    let signature = required(&spec.signature, "spec.signature")?;
    let sig_b64 = required_text(&signature.content, "spec.signature.content")?;
    let sig = b64_std_decode("spec.signature.content", sig_b64)?;
    if sig.is_empty() {
        return Err(invalid("spec.signature.content", "must not be empty"));
    }
    let public_key = required(&signature.public_key, "spec.signature.publicKey")?;
    let key_b64 = required_text(&public_key.content, KEY_FIELD)?;
    let prepared = match cache {
        Some(cache) => cache.get_or_parse(KEY_FIELD, key_b64)?,
        None => Arc::new(Prepared::parse_b64_pem(KEY_FIELD, key_b64)?),
    };
    let verifier = &prepared.verifier;

    let data = required(&spec.data, "spec.data")?;
    let hash = required(&data.hash, "spec.data.hash")?;
    let algorithm = required_text(&hash.algorithm, "spec.data.hash.algorithm")?;
    let value = required_text(&hash.value, "spec.data.hash.value")?;
    let alg = match algorithm {
        "sha256" => HashAlgorithm::Sha256,
        "sha384" => HashAlgorithm::Sha384,
        "sha512" => HashAlgorithm::Sha512,
        other => {
            return Err(invalid(
                "spec.data.hash.algorithm",
                format!("{other:?} is not one of sha256, sha384, sha512"),
            ))
        }
    };
    if value.len() != alg.digest_len() * 2 {
        return Err(invalid(
            "spec.data.hash.value",
            format!(
                "{algorithm} digest must be {} hex characters, found {}",
                alg.digest_len() * 2,
                value.len()
            ),
        ));
    }
    let digest =
        hex::decode(value).map_err(|e| invalid("spec.data.hash.value", format!("not hex: {e}")))?;

    verify_prehashed(verifier, alg, &digest, &sig)?;

    let body = canonical_body(algorithm, value, &b64(&sig), &prepared.canonical_pem_b64);

    let mut index_keys = vec![IndexKey::PublicKey(prepared.index_hash.clone())];
    index_keys.extend(verifier.certificate_keys());
    index_keys.push(IndexKey::ArtifactHash(
        format!("{algorithm}:{value}").to_lowercase(),
    ));
    Ok(CanonicalEntry {
        kind: "hashedrekord",
        api_version: "0.0.1",
        body,
        index_keys: crate::dedup(index_keys),
    })
}

/// The RFC 8785 body, written directly (it is built for every entry): the members below are in
/// sorted order already, and every string goes through the canonical escaping.
fn canonical_body(algorithm: &str, value: &str, sig_b64: &str, pem_b64: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(sig_b64.len() + pem_b64.len() + value.len() + 160);
    out.extend_from_slice(
        br#"{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{"data":{"hash":{"algorithm":"#,
    );
    jcs::write_string(algorithm, &mut out);
    out.extend_from_slice(br#","value":"#);
    jcs::write_string(value, &mut out);
    out.extend_from_slice(br#"}},"signature":{"content":"#);
    jcs::write_string(sig_b64, &mut out);
    out.extend_from_slice(br#","publicKey":{"content":"#);
    jcs::write_string(pem_b64, &mut out);
    out.extend_from_slice(b"}}}}");
    out
}

/// Verifies a hashedrekord signature over `digest`, naming why it failed.
pub(crate) fn verify_prehashed(
    verifier: &Verifier,
    alg: HashAlgorithm,
    digest: &[u8],
    sig: &[u8],
) -> Result<(), EntryError> {
    use sigstack_keys::ClientKeyKind;
    if verifier.key.kind() == ClientKeyKind::Ed25519 && alg != HashAlgorithm::Sha512 {
        return Err(EntryError::BadSignature(
            "Ed25519 keys sign hashedrekord entries as Ed25519ph, which requires a sha512 digest"
                .into(),
        ));
    }
    verifier
        .key
        .verify_prehashed(alg, digest, sig)
        .map_err(|_| EntryError::BadSignature("signature does not verify over the digest".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_request_is_read_without_copying_its_strings() {
        let doc: serde_json::Value = serde_json::from_slice(&sigstack_test_vectors::read(
            "rekor/v1/hashedrekord-v0.0.1/proposed-entry.json",
        ))
        .unwrap();
        // As sigstore-python and sigstore-js send it, and as Go clients do (`kind` last).
        let spec = doc["spec"].to_string();
        for text in [
            doc.to_string(),
            format!(r#"{{"apiVersion":"0.0.1","spec":{spec},"kind":"hashedrekord"}}"#),
        ] {
            let entry = crate::ProposedEntry::parse_v1(text.as_bytes()).unwrap();
            let Ok(crate::Spec::HashedRekordV001(spec)) = &entry.spec else {
                panic!("{entry:?}");
            };
            let signature = spec.signature.as_ref().unwrap();
            let hash = spec.data.as_ref().unwrap().hash.as_ref().unwrap();
            for text in [
                &signature.content,
                &signature.public_key.as_ref().unwrap().content,
                &hash.algorithm,
                &hash.value,
            ] {
                assert!(text.as_ref().unwrap().is_borrowed());
            }
        }
    }

    #[test]
    fn the_body_is_the_canonical_json_of_the_entry() {
        for (alg, value, sig, pem) in [
            ("sha256", "ab".repeat(32), "MEUC+/==", "LS0tLS1CRUdJTg=="),
            ("sha512", "0".repeat(128), "", "x\"\\\n\u{1}é"),
        ] {
            let want = jcs::canonical_json(&json!({
                "apiVersion": "0.0.1",
                "kind": "hashedrekord",
                "spec": {
                    "data": {"hash": {"algorithm": alg, "value": value}},
                    "signature": {"content": sig, "publicKey": {"content": pem}},
                },
            }));
            assert_eq!(canonical_body(alg, &value, sig, pem), want);
        }
    }
}
