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

use serde_json::{json, Map, Value};
use sigstack_keys::HashAlgorithm;

use crate::pki::Verifier;
use crate::util::{b64, b64_std_decode, invalid, req_object, req_str};
use crate::{jcs, CanonicalEntry, EntryError, IndexKey};

pub(crate) fn canonicalize(spec: &Map<String, Value>) -> Result<CanonicalEntry, EntryError> {
    let signature = req_object(spec, "signature", "spec.signature")?;
    let sig_b64 = req_str(signature, "content", "spec.signature.content")?;
    let sig = b64_std_decode("spec.signature.content", sig_b64)?;
    if sig.is_empty() {
        return Err(invalid("spec.signature.content", "must not be empty"));
    }
    let public_key = req_object(signature, "publicKey", "spec.signature.publicKey")?;
    let key_b64 = req_str(public_key, "content", "spec.signature.publicKey.content")?;
    let key_pem = b64_std_decode("spec.signature.publicKey.content", key_b64)?;
    let verifier = Verifier::from_pem("spec.signature.publicKey.content", &key_pem)?;

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

    verify_prehashed(&verifier, alg, &digest, &sig)?;

    let canonical_pem = verifier.canonical_pem();
    let body = jcs::canonical_json(&json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": algorithm, "value": value}},
            "signature": {
                "content": b64(&sig),
                "publicKey": {"content": b64(canonical_pem.as_bytes())},
            },
        },
    }));

    let mut index_keys = vec![IndexKey::PublicKey(verifier.index_hash())];
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

/// Verifies a hashedrekord signature over `digest`, naming why it failed.
pub(crate) fn verify_prehashed(
    verifier: &Verifier,
    alg: HashAlgorithm,
    digest: &[u8],
    sig: &[u8],
) -> Result<(), EntryError> {
    use sigstack_keys::{ClientPublicKey, PublicKey};
    if matches!(
        verifier.key,
        ClientPublicKey::Standard(PublicKey::Ed25519(_))
    ) && alg != HashAlgorithm::Sha512
    {
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
