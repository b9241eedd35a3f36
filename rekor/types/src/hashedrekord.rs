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

use serde_json::{Map, Value};
use sigstack_keys::HashAlgorithm;

use std::sync::Arc;

use crate::cache::{Prepared, VerifierCache};
use crate::pki::Verifier;
use crate::util::{b64, b64_std_decode, invalid, req_object, req_str};
use crate::{jcs, CanonicalEntry, EntryError, IndexKey};

pub(crate) fn canonicalize(
    spec: &Map<String, Value>,
    cache: Option<&VerifierCache>,
) -> Result<CanonicalEntry, EntryError> {
    const KEY_FIELD: &str = "spec.signature.publicKey.content";
    let signature = req_object(spec, "signature", "spec.signature")?;
    let sig_b64 = req_str(signature, "content", "spec.signature.content")?;
    let sig = b64_std_decode("spec.signature.content", sig_b64)?;
    if sig.is_empty() {
        return Err(invalid("spec.signature.content", "must not be empty"));
    }
    let public_key = req_object(signature, "publicKey", "spec.signature.publicKey")?;
    let key_b64 = req_str(public_key, "content", KEY_FIELD)?;
    let prepared = match cache {
        Some(cache) => cache.get_or_parse(KEY_FIELD, key_b64)?,
        None => Arc::new(Prepared::parse_b64_pem(KEY_FIELD, key_b64)?),
    };
    let verifier = &prepared.verifier;

    let data = req_object(spec, "data", "spec.data")?;
    let hash = req_object(data, "hash", "spec.data.hash")?;
    let algorithm = req_str(hash, "algorithm", "spec.data.hash.algorithm")?;
    let value = req_str(hash, "value", "spec.data.hash.value")?;
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
    index_keys.extend(
        verifier
            .subjects
            .iter()
            .map(|s| IndexKey::Subject(s.to_lowercase())),
    );
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
