//! Rekor v2 (rekor-tiles) entries: `hashedrekord` v0.0.2 and `dsse` v0.0.2.
//!
//! The request is protobuf JSON (`CreateEntryRequest`): field names in lowerCamelCase (the
//! proto names in snake_case are accepted too, as protojson does), `bytes` as base64 (standard
//! or URL-safe, padded or not), `keyDetails` as the enum name. The canonical body is the
//! protojson of the log `Entry` re-canonicalised with RFC 8785, so `bytes` come out as standard
//! padded base64 and members sorted (behaviour of sigstore/rekor-tiles `pkg/types/hashedrekord`
//! @74e3eb0 and, for DSSE, `pkg/types/dsse` before its removal in rekor-tiles #744).
//!
//! Algorithms are those of rekor-tiles' default registry: ECDSA P-256/SHA-256, P-384/SHA-384,
//! Ed25519ph (SHA-512) and RSA PKCS#1 v1.5 2048/3072/4096 with SHA-256. P-521 is not supported
//! here. `keyDetails` must describe the key exactly (curve, or RSA modulus size).

use serde_json::{json, Map, Value};
use sigstack_keys::{ClientKeyKind, HashAlgorithm};

use crate::dsse::{in_toto_index_keys, pae, verify_envelope_signatures, EnvelopeSignature};
use crate::hashedrekord::verify_prehashed;
use crate::pki::Verifier;
use crate::util::{b64, b64_proto_decode, invalid, member, sha256_hex, type_name};
use crate::{jcs, CanonicalEntry, EntryError, IndexKey};

/// Most verifiers / signatures in a DSSE v0.0.2 request (rekor-tiles' limits).
const MAX_DSSE_ITEMS: usize = 10;

/// A protobuf JSON member under its JSON name or its proto name.
fn pb<'a>(obj: &'a Map<String, Value>, json_name: &str, proto_name: &str) -> Option<&'a Value> {
    member(obj, json_name).or_else(|| member(obj, proto_name))
}

fn pb_object<'a>(
    obj: &'a Map<String, Value>,
    json_name: &str,
    proto_name: &str,
    field: &'static str,
) -> Result<&'a Map<String, Value>, EntryError> {
    match pb(obj, json_name, proto_name) {
        None => Err(invalid(field, "is required")),
        Some(Value::Object(m)) => Ok(m),
        Some(other) => Err(invalid(
            field,
            format!("must be an object, found {}", type_name(other)),
        )),
    }
}

fn pb_bytes(
    obj: &Map<String, Value>,
    json_name: &str,
    proto_name: &str,
    field: &'static str,
) -> Result<Vec<u8>, EntryError> {
    match pb(obj, json_name, proto_name) {
        None => Err(invalid(field, "is required")),
        Some(Value::String(s)) => {
            let b = b64_proto_decode(field, s)?;
            if b.is_empty() {
                return Err(invalid(field, "must not be empty"));
            }
            Ok(b)
        }
        Some(other) => Err(invalid(
            field,
            format!("must be a base64 string, found {}", type_name(other)),
        )),
    }
}

fn pb_array<'a>(
    obj: &'a Map<String, Value>,
    json_name: &str,
    proto_name: &str,
    field: &'static str,
) -> Result<&'a [Value], EntryError> {
    match pb(obj, json_name, proto_name) {
        None => Err(invalid(field, "is required")),
        Some(Value::Array(a)) if a.is_empty() => Err(invalid(field, "must not be empty")),
        Some(Value::Array(a)) if a.len() > MAX_DSSE_ITEMS => Err(invalid(
            field,
            format!(
                "has {} items, at most {MAX_DSSE_ITEMS} are accepted",
                a.len()
            ),
        )),
        Some(Value::Array(a)) => Ok(a),
        Some(other) => Err(invalid(
            field,
            format!("must be an array, found {}", type_name(other)),
        )),
    }
}

/// `PublicKeyDetails` this log accepts: (name, key, hash; `None` = pure Ed25519).
const KEY_DETAILS: &[(&str, ClientKeyKind, Option<HashAlgorithm>)] = &[
    (
        "PKIX_ECDSA_P256_SHA_256",
        ClientKeyKind::EcdsaP256,
        Some(HashAlgorithm::Sha256),
    ),
    (
        "PKIX_ECDSA_P384_SHA_384",
        ClientKeyKind::EcdsaP384,
        Some(HashAlgorithm::Sha384),
    ),
    (
        "PKIX_ED25519_PH",
        ClientKeyKind::Ed25519,
        Some(HashAlgorithm::Sha512),
    ),
    ("PKIX_ED25519", ClientKeyKind::Ed25519, None),
    (
        "PKIX_RSA_PKCS1V15_2048_SHA256",
        ClientKeyKind::Rsa { bits: 2048 },
        Some(HashAlgorithm::Sha256),
    ),
    (
        "PKIX_RSA_PKCS1V15_3072_SHA256",
        ClientKeyKind::Rsa { bits: 3072 },
        Some(HashAlgorithm::Sha256),
    ),
    (
        "PKIX_RSA_PKCS1V15_4096_SHA256",
        ClientKeyKind::Rsa { bits: 4096 },
        Some(HashAlgorithm::Sha256),
    ),
];

fn hash_name(h: HashAlgorithm) -> &'static str {
    match h {
        HashAlgorithm::Sha384 => "SHA2_384",
        HashAlgorithm::Sha512 => "SHA2_512",
        _ => "SHA2_256",
    }
}

fn hash_prefix(h: HashAlgorithm) -> &'static str {
    match h {
        HashAlgorithm::Sha384 => "sha384",
        HashAlgorithm::Sha512 => "sha512",
        _ => "sha256",
    }
}

/// A parsed `Verifier` message: the key, its `keyDetails`, and its canonical JSON.
struct PbVerifier {
    verifier: Verifier,
    details: &'static str,
    hash: Option<HashAlgorithm>,
    canonical: Value,
    raw: Vec<u8>,
}

fn parse_verifier(obj: &Map<String, Value>, field: &'static str) -> Result<PbVerifier, EntryError> {
    let details_name = match pb(obj, "keyDetails", "key_details") {
        None => return Err(invalid(field, "keyDetails is required")),
        Some(Value::String(s)) => s.as_str(),
        Some(other) => {
            return Err(invalid(
                field,
                format!(
                    "keyDetails must be a PublicKeyDetails name, found {}",
                    type_name(other)
                ),
            ))
        }
    };
    let Some(&(details, expect, hash)) = KEY_DETAILS.iter().find(|d| d.0 == details_name) else {
        return Err(invalid(
            field,
            format!("keyDetails {details_name:?} is not an accepted signing algorithm"),
        ));
    };
    let public_key = pb(obj, "publicKey", "public_key");
    let cert = pb(obj, "x509Certificate", "x509_certificate");
    let (verifier, raw, member_name) = match (public_key, cert) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                field,
                "must hold either publicKey or x509Certificate, not both",
            ))
        }
        (Some(pk), None) => {
            let pk = crate::util::as_object(pk, field)?;
            let der = pb_bytes(pk, "rawBytes", "raw_bytes", field)?;
            (Verifier::from_spki_der(field, &der)?, der, "publicKey")
        }
        (None, Some(c)) => {
            let c = crate::util::as_object(c, field)?;
            let der = pb_bytes(c, "rawBytes", "raw_bytes", field)?;
            (
                Verifier::from_cert_der(field, &der)?,
                der,
                "x509Certificate",
            )
        }
        (None, None) => {
            return Err(invalid(
                field,
                "missing signature public key or X.509 certificate",
            ))
        }
    };
    let actual = verifier.key.kind();
    if actual != expect {
        return Err(invalid(
            field,
            format!("keyDetails {details} does not match the key ({actual:?})"),
        ));
    }
    let mut canonical = Map::new();
    canonical.insert("keyDetails".into(), Value::String(details.into()));
    canonical.insert(member_name.into(), json!({"rawBytes": b64(&raw)}));
    Ok(PbVerifier {
        verifier,
        details,
        hash,
        canonical: Value::Object(canonical),
        raw,
    })
}

fn verifier_index_keys(v: &Verifier, keys: &mut Vec<IndexKey>) {
    keys.push(IndexKey::PublicKey(v.index_hash()));
    keys.extend(
        v.subjects
            .iter()
            .map(|s| IndexKey::Subject(s.to_lowercase())),
    );
}

pub(crate) fn hashedrekord(req: &Map<String, Value>) -> Result<CanonicalEntry, EntryError> {
    let digest = pb_bytes(req, "digest", "digest", "hashedRekordRequestV002.digest")?;
    let signature = pb_object(
        req,
        "signature",
        "signature",
        "hashedRekordRequestV002.signature",
    )?;
    let sig = pb_bytes(
        signature,
        "content",
        "content",
        "hashedRekordRequestV002.signature.content",
    )?;
    let verifier_obj = pb_object(
        signature,
        "verifier",
        "verifier",
        "hashedRekordRequestV002.signature.verifier",
    )?;
    let v = parse_verifier(verifier_obj, "hashedRekordRequestV002.signature.verifier")?;
    let Some(hash) = v.hash else {
        return Err(invalid(
            "hashedRekordRequestV002.signature.verifier",
            format!(
                "{} has no digest algorithm and cannot sign a hashedrekord (use PKIX_ED25519_PH)",
                v.details
            ),
        ));
    };
    if digest.len() != hash.digest_len() {
        return Err(invalid(
            "hashedRekordRequestV002.digest",
            format!(
                "digest length ({}) does not match {} ({})",
                digest.len(),
                hash_name(hash),
                hash.digest_len()
            ),
        ));
    }
    verify_prehashed(&v.verifier, hash, &digest, &sig)?;

    let body = jcs::canonical_json(&json!({
        "apiVersion": "0.0.2",
        "kind": "hashedrekord",
        "spec": {
            "hashedRekordV002": {
                "data": {"algorithm": hash_name(hash), "digest": b64(&digest)},
                "signature": {"content": b64(&sig), "verifier": v.canonical},
            },
        },
    }));
    let mut index_keys = Vec::new();
    verifier_index_keys(&v.verifier, &mut index_keys);
    index_keys.push(IndexKey::ArtifactHash(format!(
        "{}:{}",
        hash_prefix(hash),
        hex::encode(&digest)
    )));
    Ok(CanonicalEntry {
        kind: "hashedrekord",
        api_version: "0.0.2",
        body,
        index_keys: crate::dedup(index_keys),
    })
}

pub(crate) fn dsse(req: &Map<String, Value>) -> Result<CanonicalEntry, EntryError> {
    let envelope = pb_object(req, "envelope", "envelope", "dsseRequestV002.envelope")?;
    let verifier_items = pb_array(req, "verifiers", "verifiers", "dsseRequestV002.verifiers")?;
    let mut verifiers = Vec::with_capacity(verifier_items.len());
    for item in verifier_items {
        let obj = crate::util::as_object(item, "dsseRequestV002.verifiers")?;
        let v = parse_verifier(obj, "dsseRequestV002.verifiers")?;
        if verifiers.iter().any(|w: &PbVerifier| w.raw == v.raw) {
            return Err(invalid("dsseRequestV002.verifiers", "duplicate verifier"));
        }
        if v.details == "PKIX_ED25519" {
            return Err(invalid(
                "dsseRequestV002.verifiers",
                "PKIX_ED25519 is not an accepted signing algorithm (use PKIX_ED25519_PH)",
            ));
        }
        verifiers.push(v);
    }

    let payload_type = match pb(envelope, "payloadType", "payload_type") {
        None => "",
        Some(Value::String(s)) => s.as_str(),
        Some(_) => {
            return Err(invalid(
                "dsseRequestV002.envelope.payloadType",
                "must be a string",
            ))
        }
    };
    let payload = match pb(envelope, "payload", "payload") {
        None => Vec::new(),
        Some(Value::String(s)) => b64_proto_decode("dsseRequestV002.envelope.payload", s)?,
        Some(_) => {
            return Err(invalid(
                "dsseRequestV002.envelope.payload",
                "must be a base64 string",
            ))
        }
    };
    let sig_items = pb_array(
        envelope,
        "signatures",
        "signatures",
        "dsseRequestV002.envelope.signatures",
    )?;
    let mut signatures = Vec::with_capacity(sig_items.len());
    for item in sig_items {
        let obj = crate::util::as_object(item, "dsseRequestV002.envelope.signatures")?;
        let sig = pb_bytes(
            obj,
            "sig",
            "sig",
            "dsseRequestV002.envelope.signatures[].sig",
        )?;
        // The signature's identity is its raw bytes; hex keeps the byte order when sorted.
        signatures.push(EnvelopeSignature {
            sig_text: hex::encode(&sig),
            sig: Some(sig),
        });
    }

    let pae_bytes = pae(payload_type, &payload);
    let pairs: Vec<(Verifier, HashAlgorithm)> = verifiers
        .iter()
        .map(|v| (v.verifier.clone(), v.hash.unwrap_or(HashAlgorithm::Sha256)))
        .collect();
    let by_sig =
        verify_envelope_signatures("dsseRequestV002.verifiers", &pae_bytes, &signatures, &pairs)?;

    let mut sig_entries = Vec::with_capacity(by_sig.len());
    let mut index_keys = Vec::new();
    for (sig_hex, i) in &by_sig {
        let (Ok(sig), Some(v)) = (hex::decode(sig_hex), verifiers.get(*i)) else {
            continue;
        };
        sig_entries.push(json!({"content": b64(&sig), "verifier": v.canonical}));
        verifier_index_keys(&v.verifier, &mut index_keys);
    }
    let payload_hash = sha2_256(&payload);
    index_keys.push(IndexKey::ArtifactHash(format!(
        "sha256:{}",
        sha256_hex(&payload)
    )));
    index_keys.extend(in_toto_index_keys(payload_type, &payload));

    let body = jcs::canonical_json(&json!({
        "apiVersion": "0.0.2",
        "kind": "dsse",
        "spec": {
            "dsseV002": {
                "payloadHash": {"algorithm": "SHA2_256", "digest": b64(&payload_hash)},
                "signatures": sig_entries,
            },
        },
    }));
    Ok(CanonicalEntry {
        kind: "dsse",
        api_version: "0.0.2",
        body,
        index_keys: crate::dedup(index_keys),
    })
}

fn sha2_256(bytes: &[u8]) -> Vec<u8> {
    HashAlgorithm::Sha256.digest(bytes)
}
