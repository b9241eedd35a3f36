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

use serde::Deserialize;
use serde_json::{json, Map, Value};
use sigstack_keys::{ClientKeyKind, HashAlgorithm};

use crate::de::{refusal, Field, List, Obj, Text};
use crate::dsse::{in_toto_index_keys, pae, verify_envelope_signatures, EnvelopeSignature};
use crate::hashedrekord::verify_prehashed;
use crate::pki::Verifier;
use crate::util::{b64, b64_proto_decode, bounded, invalid, required, sha256_hex};
use crate::{jcs, CanonicalEntry, EntryError, IndexKey};

/// Most verifiers / signatures in a DSSE v0.0.2 request (rekor-tiles' limits).
const MAX_DSSE_ITEMS: usize = 10;

/// The members within a request that have a proto name besides their JSON name, as
/// `(JSON name, proto name)`. A request may use either; if it holds both, the JSON name's value
/// is taken (`null` is absent).
pub(crate) const PROTO_NAMES: &[(&str, &str)] = &[
    ("keyDetails", "key_details"),
    ("publicKey", "public_key"),
    ("x509Certificate", "x509_certificate"),
    ("rawBytes", "raw_bytes"),
    ("payloadType", "payload_type"),
];

/// Keeps, in every object of `value`, one value per member of [`PROTO_NAMES`] as above, so that
/// a request naming a member twice deserialises as its JSON name's value.
pub(crate) fn prefer_json_names(value: &mut Value) {
    match value {
        Value::Object(obj) => {
            for (json, proto) in PROTO_NAMES {
                if obj.get(*json).is_some_and(|v| !v.is_null()) {
                    obj.remove(*proto);
                } else if obj.contains_key(*proto) {
                    obj.remove(*json);
                }
            }
            obj.values_mut().for_each(prefer_json_names);
        }
        Value::Array(items) => items.iter_mut().for_each(prefer_json_names),
        _ => {}
    }
}

refusal!(ProtoBytes, |found| format!(
    "must be a base64 string, found {found}"
));
refusal!(KeyDetailsName, |found| format!(
    "keyDetails must be a PublicKeyDetails name, found {found}"
));

/// `hashedRekordRequestV002`.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct HashedRekordRequest<'a> {
    #[serde(borrow)]
    digest: Option<Text<'a, ProtoBytes>>,
    #[serde(borrow)]
    signature: Option<Obj<SignatureMessage<'a>>>,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct SignatureMessage<'a> {
    #[serde(borrow)]
    content: Option<Text<'a, ProtoBytes>>,
    #[serde(borrow)]
    verifier: Option<Obj<VerifierMessage<'a>>>,
}

/// A `Verifier` message: the key or certificate, and its `keyDetails` enum name.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct VerifierMessage<'a> {
    #[serde(rename = "keyDetails", alias = "key_details", borrow)]
    key_details: Option<Text<'a, KeyDetailsName>>,
    #[serde(rename = "publicKey", alias = "public_key", borrow)]
    public_key: Option<Obj<RawBytes<'a>>>,
    #[serde(rename = "x509Certificate", alias = "x509_certificate", borrow)]
    x509_certificate: Option<Obj<RawBytes<'a>>>,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct RawBytes<'a> {
    #[serde(rename = "rawBytes", alias = "raw_bytes", borrow)]
    raw_bytes: Option<Text<'a, ProtoBytes>>,
}

/// `dsseRequestV002`.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct DsseRequest<'a> {
    #[serde(borrow)]
    envelope: Option<Obj<Envelope<'a>>>,
    #[serde(borrow)]
    verifiers: Option<List<Obj<VerifierMessage<'a>>>>,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Envelope<'a> {
    #[serde(rename = "payloadType", alias = "payload_type", borrow)]
    payload_type: Option<Text<'a, BareString>>,
    #[serde(borrow)]
    payload: Option<Text<'a, BareProtoBytes>>,
    #[serde(borrow)]
    signatures: Option<List<Obj<EnvelopeSig<'a>>>>,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct EnvelopeSig<'a> {
    #[serde(borrow)]
    sig: Option<Text<'a, ProtoBytes>>,
}

refusal!(BareString, |_found| String::from("must be a string"));
refusal!(BareProtoBytes, |_found| String::from(
    "must be a base64 string"
));

/// The fields type errors in a `hashedRekordRequestV002` are reported under (anything within
/// the verifier names the verifier).
pub(crate) const HASHED_REKORD_FIELDS: &[Field] = &[
    Field::at("hashedRekordRequestV002.digest"),
    Field::at("hashedRekordRequestV002.signature"),
    Field::at("hashedRekordRequestV002.signature.content"),
    Field::at("hashedRekordRequestV002.signature.verifier"),
];

/// The fields type errors in a `dsseRequestV002` are reported under (anything within a
/// verifier names the verifiers).
pub(crate) const DSSE_FIELDS: &[Field] = &[
    Field::at("dsseRequestV002.envelope"),
    Field::at("dsseRequestV002.envelope.payloadType"),
    Field::below(
        "dsseRequestV002.envelope.payload_type",
        "dsseRequestV002.envelope.payloadType",
    ),
    Field::at("dsseRequestV002.envelope.payload"),
    Field::at("dsseRequestV002.envelope.signatures"),
    Field::at("dsseRequestV002.envelope.signatures[].sig"),
    Field::at("dsseRequestV002.verifiers"),
];

/// A required, non-empty `bytes` member.
fn proto_bytes(
    member: &Option<Text<'_, ProtoBytes>>,
    field: &'static str,
) -> Result<Vec<u8>, EntryError> {
    let b = b64_proto_decode(field, required(member, field)?)?;
    if b.is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    Ok(b)
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

fn parse_verifier(
    msg: &VerifierMessage<'_>,
    field: &'static str,
) -> Result<PbVerifier, EntryError> {
    let Some(details_name) = msg.key_details.as_deref() else {
        return Err(invalid(field, "keyDetails is required"));
    };
    let Some(&(details, expect, hash)) = KEY_DETAILS.iter().find(|d| d.0 == details_name) else {
        return Err(invalid(
            field,
            format!("keyDetails {details_name:?} is not an accepted signing algorithm"),
        ));
    };
    let (verifier, raw, member_name) = match (&msg.public_key, &msg.x509_certificate) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                field,
                "must hold either publicKey or x509Certificate, not both",
            ))
        }
        (Some(pk), None) => {
            let der = proto_bytes(&pk.raw_bytes, field)?;
            (Verifier::from_spki_der(field, &der)?, der, "publicKey")
        }
        (None, Some(c)) => {
            let der = proto_bytes(&c.raw_bytes, field)?;
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

pub(crate) fn hashedrekord(req: &HashedRekordRequest<'_>) -> Result<CanonicalEntry, EntryError> {
    let digest = proto_bytes(&req.digest, "hashedRekordRequestV002.digest")?;
    let signature = required(&req.signature, "hashedRekordRequestV002.signature")?;
    let sig = proto_bytes(
        &signature.content,
        "hashedRekordRequestV002.signature.content",
    )?;
    let verifier_obj = required(
        &signature.verifier,
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
    index_keys.extend(v.verifier.index_keys());
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

pub(crate) fn dsse(req: &DsseRequest<'_>) -> Result<CanonicalEntry, EntryError> {
    let envelope = required(&req.envelope, "dsseRequestV002.envelope")?;
    let verifier_items = bounded(&req.verifiers, "dsseRequestV002.verifiers", MAX_DSSE_ITEMS)?;
    let mut verifiers = Vec::with_capacity(verifier_items.len());
    for item in verifier_items {
        let v = parse_verifier(item, "dsseRequestV002.verifiers")?;
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

    let payload_type = envelope.payload_type.as_deref().unwrap_or("");
    let payload = match envelope.payload.as_deref() {
        None => Vec::new(),
        Some(s) => b64_proto_decode("dsseRequestV002.envelope.payload", s)?,
    };
    let sig_items = bounded(
        &envelope.signatures,
        "dsseRequestV002.envelope.signatures",
        MAX_DSSE_ITEMS,
    )?;
    let mut signatures = Vec::with_capacity(sig_items.len());
    for item in sig_items {
        let sig = proto_bytes(&item.sig, "dsseRequestV002.envelope.signatures[].sig")?;
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
        index_keys.extend(v.verifier.index_keys());
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
