//! Behaviour tests with entries built here: every accepted algorithm, and the refusals (each
//! must be the precise error naming the field).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use p256::ecdsa::signature::hazmat::PrehashSigner as _;
use p256::ecdsa::signature::Signer as _;
use p256::pkcs8::{EncodePublicKey as _, LineEnding};
use rekor_types::{
    canonicalize_v1, canonicalize_v2, public_key_index_key, CanonicalEntry, EntryError, IndexKey,
};
use serde_json::{json, Value};
use sha2::Digest as _;
use sigstack_test_vectors::read;

fn b64(b: impl AsRef<[u8]>) -> String {
    STANDARD.encode(b)
}

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn p256_key(seed: u8) -> p256::ecdsa::SigningKey {
    p256::ecdsa::SigningKey::from_bytes(&[seed; 32].into()).unwrap()
}

fn p256_pem(key: &p256::ecdsa::SigningKey) -> String {
    key.verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap()
}

fn digest(alg: &str, msg: &[u8]) -> Vec<u8> {
    match alg {
        "sha256" => sha2::Sha256::digest(msg).to_vec(),
        "sha384" => sha2::Sha384::digest(msg).to_vec(),
        _ => sha2::Sha512::digest(msg).to_vec(),
    }
}

fn hashedrekord(sig: &[u8], pem: &[u8], alg: &str, hex_value: &str) -> Value {
    json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "signature": {"content": b64(sig), "publicKey": {"content": b64(pem)}},
            "data": {"hash": {"algorithm": alg, "value": hex_value}},
        },
    })
}

/// One cache for every test of this file, so that entries signed by the same key hit it.
static CACHE: std::sync::LazyLock<rekor_types::VerifierCache> =
    std::sync::LazyLock::new(|| rekor_types::VerifierCache::new(4));

/// `canonicalize_v1`, checked to answer exactly as `canonicalize_v1_cached` does (twice: the
/// second call hits the cache when the first parsed a verifier).
fn v1(v: &Value) -> Result<CanonicalEntry, EntryError> {
    let bytes = serde_json::to_vec(v).unwrap();
    let plain = canonicalize_v1(&bytes);
    for _ in 0..2 {
        assert_eq!(rekor_types::canonicalize_v1_cached(&bytes, &CACHE), plain);
    }
    plain
}

fn v2(v: &Value) -> Result<CanonicalEntry, EntryError> {
    canonicalize_v2(&serde_json::to_vec(v).unwrap())
}

fn field_of(e: &EntryError) -> &'static str {
    match e {
        EntryError::Invalid { field, .. } => field,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

/// A valid P-256 hashedrekord over `msg`.
fn p256_entry(msg: &[u8]) -> Value {
    let key = p256_key(7);
    let d = digest("sha256", msg);
    let sig: p256::ecdsa::Signature = key.sign_prehash(&d).unwrap();
    hashedrekord(
        sig.to_der().as_bytes(),
        p256_pem(&key).as_bytes(),
        "sha256",
        &hex::encode(d),
    )
}

#[test]
fn p256_accepts_each_digest_algorithm() {
    let key = p256_key(7);
    for alg in ["sha256", "sha384", "sha512"] {
        let d = digest(alg, b"artifact");
        let sig: p256::ecdsa::Signature = key.sign_prehash(&d).unwrap();
        let entry = v1(&hashedrekord(
            sig.to_der().as_bytes(),
            p256_pem(&key).as_bytes(),
            alg,
            &hex::encode(&d),
        ))
        .unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!((entry.kind, entry.api_version), ("hashedrekord", "0.0.1"));
        assert!(entry.index_keys.contains(&IndexKey::ArtifactHash(format!(
            "{alg}:{}",
            hex::encode(&d)
        ))));
        // A hashedrekord body is itself a valid proposed entry, and a fixed point.
        let again = canonicalize_v1(&entry.body).unwrap();
        assert_eq!(again.body, entry.body);
    }
}

#[test]
fn body_is_rfc8785_and_keeps_hash_as_sent() {
    let entry = v1(&p256_entry(b"x")).unwrap();
    let text = String::from_utf8(entry.body.clone()).unwrap();
    assert!(
        text.starts_with("{\"apiVersion\":\"0.0.1\",\"kind\":\"hashedrekord\",\"spec\":{\"data\"")
    );
    assert!(!text.contains(' ') && !text.contains('\n'));
}

#[test]
fn tampered_signature_is_refused() {
    let mut e = p256_entry(b"artifact");
    let sig = STANDARD
        .decode(e["spec"]["signature"]["content"].as_str().unwrap())
        .unwrap();
    let mut bad = sig.clone();
    let n = bad.len() - 1;
    bad[n] ^= 1;
    e["spec"]["signature"]["content"] = json!(b64(&bad));
    assert!(matches!(v1(&e), Err(EntryError::BadSignature(_))));

    // Signature valid, but for another digest.
    let mut e = p256_entry(b"artifact");
    e["spec"]["data"]["hash"]["value"] = json!(hex::encode(digest("sha256", b"other")));
    assert!(matches!(v1(&e), Err(EntryError::BadSignature(_))));
}

#[test]
fn wrong_digest_length_is_refused() {
    let mut e = p256_entry(b"artifact");
    e["spec"]["data"]["hash"]["algorithm"] = json!("sha384");
    assert_eq!(field_of(&v1(&e).unwrap_err()), "spec.data.hash.value");
    let mut e = p256_entry(b"artifact");
    e["spec"]["data"]["hash"]["value"] = json!("abcd");
    assert_eq!(field_of(&v1(&e).unwrap_err()), "spec.data.hash.value");
    let mut e = p256_entry(b"artifact");
    e["spec"]["data"]["hash"]["value"] = json!("zz".repeat(32));
    assert_eq!(field_of(&v1(&e).unwrap_err()), "spec.data.hash.value");
    let mut e = p256_entry(b"artifact");
    e["spec"]["data"]["hash"]["algorithm"] = json!("md5");
    assert_eq!(field_of(&v1(&e).unwrap_err()), "spec.data.hash.algorithm");
}

#[test]
fn bad_base64_is_refused() {
    let mut e = p256_entry(b"artifact");
    e["spec"]["signature"]["content"] = json!("not base64!");
    assert_eq!(field_of(&v1(&e).unwrap_err()), "spec.signature.content");
    let mut e = p256_entry(b"artifact");
    e["spec"]["signature"]["publicKey"]["content"] = json!("%%%");
    assert_eq!(
        field_of(&v1(&e).unwrap_err()),
        "spec.signature.publicKey.content"
    );
}

#[test]
fn not_a_certificate_is_refused() {
    let mut e = p256_entry(b"artifact");
    let pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        b64(b"definitely not DER")
    );
    e["spec"]["signature"]["publicKey"]["content"] = json!(b64(pem));
    assert_eq!(
        field_of(&v1(&e).unwrap_err()),
        "spec.signature.publicKey.content"
    );
    let mut e = p256_entry(b"artifact");
    e["spec"]["signature"]["publicKey"]["content"] = json!(b64("just text"));
    assert_eq!(
        field_of(&v1(&e).unwrap_err()),
        "spec.signature.publicKey.content"
    );
    let mut e = p256_entry(b"artifact");
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        b64(b"abc")
    );
    e["spec"]["signature"]["publicKey"]["content"] = json!(b64(pem));
    assert_eq!(
        field_of(&v1(&e).unwrap_err()),
        "spec.signature.publicKey.content"
    );
}

#[test]
fn unsupported_keys_are_refused() {
    let hello = digest("sha256", b"hello rekor");
    for (key, sig) in [
        ("p192.pub.pem", "p192-sha256.sig"),
        ("rsa1024.pub.pem", "rsa1024-pkcs1-sha256.sig"),
    ] {
        let e = hashedrekord(&fixture(sig), &fixture(key), "sha256", &hex::encode(&hello));
        let err = v1(&e).unwrap_err();
        assert_eq!(field_of(&err), "spec.signature.publicKey.content", "{key}");
    }
}

#[test]
fn p521_keys_are_accepted_as_upstream_rekor_does() {
    // Rekor v1 verifies with Go's crypto/ecdsa, which takes P-521; so does the stack's one
    // client-key policy. A SHA-256 digest is shorter than the curve and must still verify.
    let hello = digest("sha256", b"hello rekor");
    let entry = hashedrekord(
        &fixture("p521-sha256.sig"),
        &fixture("p521.pub.pem"),
        "sha256",
        &hex::encode(&hello),
    );
    v1(&entry).unwrap();
    let mut other = hello.clone();
    other[0] ^= 1;
    let entry = hashedrekord(
        &fixture("p521-sha256.sig"),
        &fixture("p521.pub.pem"),
        "sha256",
        &hex::encode(&other),
    );
    assert!(v1(&entry).is_err());
}

#[test]
fn rsa_pkcs1v15_key_and_certificate_are_accepted() {
    let hello = digest("sha256", b"hello rekor");
    let sig = fixture("rsa2048-pkcs1-sha256.sig");
    let entry = v1(&hashedrekord(
        &sig,
        &fixture("rsa2048.pub.pem"),
        "sha256",
        &hex::encode(&hello),
    ))
    .unwrap();
    assert_eq!(entry.kind, "hashedrekord");

    let cert_entry = v1(&hashedrekord(
        &sig,
        &fixture("rsa2048.cert.pem"),
        "sha256",
        &hex::encode(&hello),
    ))
    .unwrap();
    // Subjects: DNS, email (lowercased), IP, URI (lowercased, as the index store does).
    for s in [
        "host.example",
        "alice@example.com",
        "192.0.2.1",
        "https://example.com/workflow",
    ] {
        assert!(
            cert_entry.index_keys.contains(&IndexKey::Subject(s.into())),
            "{s}: {:?}",
            cert_entry.index_keys
        );
    }
    // Search by the certificate finds the entry.
    let key = public_key_index_key("x509", &fixture("rsa2048.cert.pem")).unwrap();
    assert!(cert_entry.index_keys.contains(&IndexKey::PublicKey(key)));

    // Wrong digest algorithm for the signature.
    let err = v1(&hashedrekord(
        &sig,
        &fixture("rsa2048.pub.pem"),
        "sha512",
        &hex::encode(digest("sha512", b"hello rekor")),
    ))
    .unwrap_err();
    assert!(matches!(err, EntryError::BadSignature(_)));
}

#[test]
fn ed25519_uses_ed25519ph_and_only_sha512() {
    let key = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    let pem = {
        use ed25519_dalek::pkcs8::EncodePublicKey as _;
        key.verifying_key()
            .to_public_key_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .unwrap()
    };
    let mut prehash = sha2::Sha512::new();
    prehash.update(b"artifact");
    let d = prehash.clone().finalize().to_vec();
    let sig = key.sign_prehashed(prehash, None).unwrap();
    let ok = v1(&hashedrekord(
        &sig.to_bytes(),
        pem.as_bytes(),
        "sha512",
        &hex::encode(&d),
    ));
    assert!(ok.is_ok(), "{ok:?}");

    // Same key with a SHA-256 digest: refused.
    let d256 = digest("sha256", b"artifact");
    let pure = ed25519_dalek::Signer::sign(&key, &d256);
    let err = v1(&hashedrekord(
        &pure.to_bytes(),
        pem.as_bytes(),
        "sha256",
        &hex::encode(&d256),
    ))
    .unwrap_err();
    assert!(matches!(err, EntryError::BadSignature(_)), "{err:?}");

    // A pure Ed25519 signature over the digest is not Ed25519ph.
    let pure = ed25519_dalek::Signer::sign(&key, &d);
    let err = v1(&hashedrekord(
        &pure.to_bytes(),
        pem.as_bytes(),
        "sha512",
        &hex::encode(&d),
    ))
    .unwrap_err();
    assert!(matches!(err, EntryError::BadSignature(_)));
}

#[test]
fn unknown_kind_and_version_are_unsupported() {
    let mut e = p256_entry(b"a");
    e["kind"] = json!("rekord");
    assert!(matches!(v1(&e), Err(EntryError::Unsupported(_))));
    let mut e = p256_entry(b"a");
    e["apiVersion"] = json!("0.0.2");
    assert!(matches!(v1(&e), Err(EntryError::Unsupported(_))));
    let mut e = p256_entry(b"a");
    e["kind"] = json!("intoto");
    e["apiVersion"] = json!("0.0.1");
    assert!(matches!(v1(&e), Err(EntryError::Unsupported(_))));
    assert!(matches!(
        v2(&json!({"fooRequestV003": {}})),
        Err(EntryError::Unsupported(_))
    ));
}

#[test]
fn nulls_and_wrong_types_are_refused_precisely() {
    let mut e = p256_entry(b"a");
    e["spec"]["signature"] = Value::Null;
    assert_eq!(field_of(&v1(&e).unwrap_err()), "spec.signature");
    let mut e = p256_entry(b"a");
    e["spec"]["signature"]["content"] = json!(5);
    assert_eq!(field_of(&v1(&e).unwrap_err()), "spec.signature.content");
    let mut e = p256_entry(b"a");
    e["spec"]["data"] = json!([]);
    assert_eq!(field_of(&v1(&e).unwrap_err()), "spec.data");
    let mut e = p256_entry(b"a");
    e["spec"] = json!("x");
    assert_eq!(field_of(&v1(&e).unwrap_err()), "spec");
    let mut e = p256_entry(b"a");
    e["kind"] = json!(5);
    assert!(matches!(v1(&e), Err(EntryError::Malformed(_))));
    assert!(matches!(
        canonicalize_v1(b"[1,2]"),
        Err(EntryError::Malformed(_))
    ));
    assert!(matches!(
        canonicalize_v1(b"{\"kind\":"),
        Err(EntryError::Malformed(_))
    ));
    assert!(matches!(
        canonicalize_v2(b"\xff"),
        Err(EntryError::Malformed(_))
    ));
}

fn dsse_envelope(payload_type: &str, payload: &[u8], keys: &[&p256::ecdsa::SigningKey]) -> String {
    let pae = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    );
    let mut msg = pae.into_bytes();
    msg.extend_from_slice(payload);
    let sigs: Vec<Value> = keys
        .iter()
        .map(|k| {
            let s: p256::ecdsa::Signature = k.sign(&msg);
            json!({"keyid": "", "sig": b64(s.to_der().as_bytes())})
        })
        .collect();
    serde_json::to_string(&json!({
        "payload": b64(payload),
        "payloadType": payload_type,
        "signatures": sigs,
    }))
    .unwrap()
}

fn dsse_entry(envelope: &str, verifiers: &[&p256::ecdsa::SigningKey]) -> Value {
    json!({
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {"proposedContent": {
            "envelope": envelope,
            "verifiers": verifiers.iter().map(|k| b64(p256_pem(k))).collect::<Vec<_>>(),
        }},
    })
}

#[test]
fn dsse_v1_verifies_every_signature_and_sorts_them() {
    let (a, b) = (p256_key(1), p256_key(2));
    let stmt = br#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"x","digest":{"sha256":"AB"}}]}"#;
    let env = dsse_envelope("application/vnd.in-toto+json", stmt, &[&a, &b]);
    let entry = v1(&dsse_entry(&env, &[&a, &b])).unwrap();
    let body: Value = serde_json::from_slice(&entry.body).unwrap();
    let sigs = body["spec"]["signatures"].as_array().unwrap();
    assert_eq!(sigs.len(), 2);
    assert!(sigs[0]["signature"].as_str() < sigs[1]["signature"].as_str());
    assert_eq!(
        body["spec"]["envelopeHash"]["value"],
        json!(hex::encode(sha2::Sha256::digest(env.as_bytes())))
    );
    assert!(entry
        .index_keys
        .contains(&IndexKey::ArtifactHash("sha256:ab".into())));

    // Only one signer's key: the other signature is unverified.
    assert!(matches!(
        v1(&dsse_entry(&env, &[&a])),
        Err(EntryError::BadSignature(_))
    ));
    // A verifier that verifies nothing (tried before all signatures are verified).
    let c = p256_key(3);
    assert!(matches!(
        v1(&dsse_entry(&env, &[&c, &a, &b])),
        Err(EntryError::BadSignature(_))
    ));
    // Extra verifiers after all signatures are verified are not tried (upstream).
    assert!(v1(&dsse_entry(&env, &[&a, &b, &c])).is_ok());
}

#[test]
fn dsse_v1_payload_tampering_and_computed_fields() {
    let a = p256_key(1);
    let env = dsse_envelope("text/plain", b"hello", &[&a]);
    let mut tampered: Value = serde_json::from_str(&env).unwrap();
    tampered["payload"] = json!(b64(b"hellO"));
    let tampered = serde_json::to_string(&tampered).unwrap();
    assert!(matches!(
        v1(&dsse_entry(&tampered, &[&a])),
        Err(EntryError::BadSignature(_))
    ));

    let mut e = dsse_entry(&env, &[&a]);
    e["spec"]["payloadHash"] = json!({"algorithm": "sha256", "value": "00"});
    assert_eq!(field_of(&v1(&e).unwrap_err()), "spec.payloadHash");
    let mut e = dsse_entry(&env, &[&a]);
    e["spec"]["signatures"] = json!(null);
    e["spec"]["envelopeHash"] = json!(null);
    assert!(v1(&e).is_ok());
    let mut e = dsse_entry(&env, &[&a]);
    e["spec"]["proposedContent"]["envelope"] = json!("{not json");
    assert_eq!(
        field_of(&v1(&e).unwrap_err()),
        "spec.proposedContent.envelope"
    );
    let mut e = dsse_entry(&env, &[&a]);
    e["spec"]["proposedContent"]["verifiers"] = json!([]);
    assert_eq!(
        field_of(&v1(&e).unwrap_err()),
        "spec.proposedContent.verifiers"
    );
    let mut e = dsse_entry(&env, &[&a]);
    e["spec"]["proposedContent"]["verifiers"] = json!([null]);
    assert_eq!(
        field_of(&v1(&e).unwrap_err()),
        "spec.proposedContent.verifiers"
    );
}

#[test]
fn dsse_keyid_is_ignored_but_the_raw_envelope_is_hashed() {
    // The two vectors differ in how the envelope was serialised; each hash is of the raw string.
    for name in ["dsse-v0.0.1", "dsse-v0.0.1-keyid"] {
        let proposed: Value =
            serde_json::from_slice(&read(&format!("rekor/v1/{name}/proposed-entry.json"))).unwrap();
        let env = proposed["spec"]["proposedContent"]["envelope"]
            .as_str()
            .unwrap();
        let entry = canonicalize_v1(&serde_json::to_vec(&proposed).unwrap()).unwrap();
        let body: Value = serde_json::from_slice(&entry.body).unwrap();
        assert_eq!(
            body["spec"]["envelopeHash"]["value"],
            json!(hex::encode(sha2::Sha256::digest(env.as_bytes())))
        );
        // Re-serialising the envelope changes the hash but still verifies.
        let reserialised =
            serde_json::to_string(&serde_json::from_str::<Value>(env).unwrap()).unwrap();
        let mut p2 = proposed.clone();
        p2["spec"]["proposedContent"]["envelope"] = json!(format!(" {reserialised}"));
        let e2 = v1(&p2).unwrap();
        assert_ne!(e2.body, entry.body);
    }
}

#[test]
fn intoto_tampering_and_fields() {
    let proposed: Value =
        serde_json::from_slice(&read("rekor/v1/intoto-v0.0.2/proposed-entry.json")).unwrap();
    let good = v1(&proposed).unwrap();

    // Client payloadHash is recomputed by the log (upstream overrides it), not trusted.
    let mut e = proposed.clone();
    e["spec"]["content"]["payloadHash"]["value"] = json!("00".repeat(32));
    assert_eq!(v1(&e).unwrap().body, good.body);

    // Payload changed: signature no longer verifies.
    let mut e = proposed.clone();
    let inner = b64(b64(b"{\"_type\":\"x\"}"));
    e["spec"]["content"]["envelope"]["payload"] = json!(inner);
    assert!(matches!(v1(&e), Err(EntryError::BadSignature(_))));

    // keyid is kept when non-empty.
    let mut e = proposed.clone();
    e["spec"]["content"]["envelope"]["signatures"][0]["keyid"] = json!("k1");
    let body: Value = serde_json::from_slice(&v1(&e).unwrap().body).unwrap();
    assert_eq!(
        body["spec"]["content"]["envelope"]["signatures"][0]["keyid"],
        json!("k1")
    );

    let mut e = proposed.clone();
    e["spec"]["content"]["hash"] = Value::Null;
    assert_eq!(field_of(&v1(&e).unwrap_err()), "spec.content.hash");
    let mut e = proposed.clone();
    e["spec"]["content"]["envelope"]["signatures"] = json!([]);
    assert_eq!(
        field_of(&v1(&e).unwrap_err()),
        "spec.content.envelope.signatures"
    );
    let mut e = proposed.clone();
    e["spec"]["content"]["envelope"]["signatures"][0]["sig"] = json!("@@@");
    assert_eq!(
        field_of(&v1(&e).unwrap_err()),
        "spec.content.envelope.signatures[].sig"
    );
}

fn v2_hashedrekord(key_details: &str, verifier: Value, digest: &[u8], sig: &[u8]) -> Value {
    let mut v = verifier;
    v["keyDetails"] = json!(key_details);
    json!({"hashedRekordRequestV002": {
        "digest": b64(digest),
        "signature": {"content": b64(sig), "verifier": v},
    }})
}

#[test]
fn v2_hashedrekord_public_key_and_key_details() {
    let key = p256_key(5);
    let spki = key.verifying_key().to_public_key_der().unwrap();
    let d = digest("sha256", b"artifact");
    let sig: p256::ecdsa::Signature = key.sign_prehash(&d).unwrap();
    let sig = sig.to_der().as_bytes().to_vec();
    let pk = json!({"publicKey": {"rawBytes": b64(spki.as_bytes())}});
    let entry = v2(&v2_hashedrekord(
        "PKIX_ECDSA_P256_SHA_256",
        pk.clone(),
        &d,
        &sig,
    ))
    .unwrap();
    let expected = format!(
        "{{\"apiVersion\":\"0.0.2\",\"kind\":\"hashedrekord\",\"spec\":{{\"hashedRekordV002\":{{\"data\":{{\"algorithm\":\"SHA2_256\",\"digest\":\"{}\"}},\"signature\":{{\"content\":\"{}\",\"verifier\":{{\"keyDetails\":\"PKIX_ECDSA_P256_SHA_256\",\"publicKey\":{{\"rawBytes\":\"{}\"}}}}}}}}}}}}",
        b64(&d),
        b64(&sig),
        b64(spki.as_bytes())
    );
    assert_eq!(String::from_utf8(entry.body).unwrap(), expected);

    // keyDetails must match the key.
    let err = v2(&v2_hashedrekord(
        "PKIX_ECDSA_P384_SHA_384",
        pk.clone(),
        &d,
        &sig,
    ))
    .unwrap_err();
    assert_eq!(field_of(&err), "hashedRekordRequestV002.signature.verifier");
    let err = v2(&v2_hashedrekord(
        "PKIX_RSA_PKCS1V15_2048_SHA256",
        pk.clone(),
        &d,
        &sig,
    ))
    .unwrap_err();
    assert_eq!(field_of(&err), "hashedRekordRequestV002.signature.verifier");
    let err = v2(&v2_hashedrekord("MADE_UP", pk.clone(), &d, &sig)).unwrap_err();
    assert_eq!(field_of(&err), "hashedRekordRequestV002.signature.verifier");
    // Digest of the wrong size.
    let err = v2(&v2_hashedrekord(
        "PKIX_ECDSA_P256_SHA_256",
        pk.clone(),
        &d[..20],
        &sig,
    ))
    .unwrap_err();
    assert_eq!(field_of(&err), "hashedRekordRequestV002.digest");
    // Tampered digest.
    let mut d2 = d.clone();
    d2[0] ^= 1;
    assert!(matches!(
        v2(&v2_hashedrekord(
            "PKIX_ECDSA_P256_SHA_256",
            pk.clone(),
            &d2,
            &sig
        )),
        Err(EntryError::BadSignature(_))
    ));
    // Neither key nor certificate; both.
    let err = v2(&v2_hashedrekord(
        "PKIX_ECDSA_P256_SHA_256",
        json!({}),
        &d,
        &sig,
    ))
    .unwrap_err();
    assert_eq!(field_of(&err), "hashedRekordRequestV002.signature.verifier");
    let both = json!({"publicKey": {"rawBytes": "AA=="}, "x509Certificate": {"rawBytes": "AA=="}});
    let err = v2(&v2_hashedrekord("PKIX_ECDSA_P256_SHA_256", both, &d, &sig)).unwrap_err();
    assert_eq!(field_of(&err), "hashedRekordRequestV002.signature.verifier");
    // Not a certificate.
    let junk = json!({"x509Certificate": {"rawBytes": b64(b"junk")}});
    let err = v2(&v2_hashedrekord("PKIX_ECDSA_P256_SHA_256", junk, &d, &sig)).unwrap_err();
    assert_eq!(field_of(&err), "hashedRekordRequestV002.signature.verifier");
    // proto field names are accepted too.
    let snake = json!({"hashed_rekord_request_v002": {
        "digest": b64(&d),
        "signature": {"content": b64(&sig), "verifier": {"public_key": {"raw_bytes": b64(spki.as_bytes())}, "key_details": "PKIX_ECDSA_P256_SHA_256"}},
    }});
    assert!(v2(&snake).is_ok());
}

#[test]
fn v2_ed25519ph_and_rsa() {
    let key = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
    let spki = {
        use ed25519_dalek::pkcs8::EncodePublicKey as _;
        key.verifying_key().to_public_key_der().unwrap()
    };
    let mut h = sha2::Sha512::new();
    h.update(b"artifact");
    let d = h.clone().finalize().to_vec();
    let sig = key.sign_prehashed(h, None).unwrap().to_bytes();
    let pk = json!({"publicKey": {"rawBytes": b64(spki.as_bytes())}});
    let entry = v2(&v2_hashedrekord("PKIX_ED25519_PH", pk.clone(), &d, &sig)).unwrap();
    assert!(String::from_utf8(entry.body)
        .unwrap()
        .contains("\"algorithm\":\"SHA2_512\""));
    // Pure Ed25519 cannot sign a hashedrekord.
    let err = v2(&v2_hashedrekord("PKIX_ED25519", pk, &d, &sig)).unwrap_err();
    assert_eq!(field_of(&err), "hashedRekordRequestV002.signature.verifier");

    let pem = String::from_utf8(fixture("rsa2048.pub.pem")).unwrap();
    let der = STANDARD
        .decode(
            pem.lines()
                .filter(|l| !l.starts_with("-----"))
                .collect::<String>(),
        )
        .unwrap();
    let rsa = json!({"publicKey": {"rawBytes": b64(&der)}});
    let d = digest("sha256", b"hello rekor");
    let sig = fixture("rsa2048-pkcs1-sha256.sig");
    assert!(v2(&v2_hashedrekord(
        "PKIX_RSA_PKCS1V15_2048_SHA256",
        rsa.clone(),
        &d,
        &sig
    ))
    .is_ok());
    let err = v2(&v2_hashedrekord(
        "PKIX_RSA_PKCS1V15_4096_SHA256",
        rsa,
        &d,
        &sig,
    ))
    .unwrap_err();
    assert_eq!(field_of(&err), "hashedRekordRequestV002.signature.verifier");
}

#[test]
fn v2_dsse_as_hashedrekord_digest_must_match() {
    let proposed: Value = serde_json::from_slice(&read(
        "rekor/v2/dsse-as-hashedrekord-v0.0.2/proposed-entry.json",
    ))
    .unwrap();
    let mut e = proposed.clone();
    e["hashedRekordRequestV002"]["digest"] = json!(b64([0u8; 32]));
    assert!(matches!(v2(&e), Err(EntryError::BadSignature(_))));
    let mut e = proposed;
    e["hashedRekordRequestV002"]["signature"]["content"] = json!("!!");
    assert_eq!(
        field_of(&v2(&e).unwrap_err()),
        "hashedRekordRequestV002.signature.content"
    );
}

#[test]
fn v2_dsse_request() {
    let (a, b) = (p256_key(1), p256_key(2));
    let payload = b"{\"_type\":\"https://in-toto.io/Statement/v1\"}";
    let env: Value = serde_json::from_str(&dsse_envelope(
        "application/vnd.in-toto+json",
        payload,
        &[&a, &b],
    ))
    .unwrap();
    let verifier = |k: &p256::ecdsa::SigningKey| json!({"publicKey": {"rawBytes": b64(k.verifying_key().to_public_key_der().unwrap().as_bytes())}, "keyDetails": "PKIX_ECDSA_P256_SHA_256"});
    let req = json!({"dsseRequestV002": {
        "envelope": {"payload": env["payload"], "payloadType": env["payloadType"], "signatures": [
            {"sig": env["signatures"][0]["sig"], "keyid": ""},
            {"sig": env["signatures"][1]["sig"]},
        ]},
        "verifiers": [verifier(&a), verifier(&b)],
    }});
    let entry = v2(&req).unwrap();
    assert_eq!((entry.kind, entry.api_version), ("dsse", "0.0.2"));
    let body: Value = serde_json::from_slice(&entry.body).unwrap();
    assert_eq!(
        body["spec"]["dsseV002"]["payloadHash"],
        json!({"algorithm": "SHA2_256", "digest": b64(sha2::Sha256::digest(payload))})
    );
    let sigs = body["spec"]["dsseV002"]["signatures"].as_array().unwrap();
    assert_eq!(sigs.len(), 2);
    let raw = |v: &Value| STANDARD.decode(v["content"].as_str().unwrap()).unwrap();
    assert!(raw(&sigs[0]) < raw(&sigs[1]));

    let mut dup = req.clone();
    dup["dsseRequestV002"]["verifiers"] = json!([verifier(&a), verifier(&a)]);
    assert_eq!(
        field_of(&v2(&dup).unwrap_err()),
        "dsseRequestV002.verifiers"
    );
    let mut one = req.clone();
    one["dsseRequestV002"]["verifiers"] = json!([verifier(&a)]);
    assert!(matches!(v2(&one), Err(EntryError::BadSignature(_))));
    let mut tampered = req;
    tampered["dsseRequestV002"]["envelope"]["payload"] = json!(b64(b"other"));
    assert!(matches!(v2(&tampered), Err(EntryError::BadSignature(_))));
}

#[test]
fn public_key_index_key_formats() {
    let key = p256_key(4);
    let pem = p256_pem(&key);
    let from_pem = public_key_index_key("x509", pem.as_bytes()).unwrap();
    let der = key.verifying_key().to_public_key_der().unwrap();
    assert_eq!(
        public_key_index_key("pkix", der.as_bytes()).unwrap(),
        from_pem
    );
    assert_eq!(
        public_key_index_key("pkix", pem.as_bytes()).unwrap(),
        from_pem
    );
    assert_eq!(from_pem.len(), 64);
    assert!(matches!(
        public_key_index_key("pgp", b"x"),
        Err(EntryError::Unsupported(_))
    ));
    assert!(public_key_index_key("x509", b"garbage").is_err());
    // Same key as an entry's index key.
    let entry = v1(&{
        let d = digest("sha256", b"z");
        let sig: p256::ecdsa::Signature = key.sign_prehash(&d).unwrap();
        hashedrekord(
            sig.to_der().as_bytes(),
            pem.as_bytes(),
            "sha256",
            &hex::encode(d),
        )
    })
    .unwrap();
    assert!(entry.index_keys.contains(&IndexKey::PublicKey(from_pem)));
}

fn invalid(field: &'static str, reason: &str) -> EntryError {
    EntryError::Invalid {
        field,
        reason: reason.into(),
    }
}

#[test]
fn a_wrong_type_deep_in_a_request_names_its_field() {
    let intoto: Value =
        serde_json::from_slice(&read("rekor/v1/intoto-v0.0.2/proposed-entry.json")).unwrap();
    let mut e = intoto.clone();
    e["spec"]["content"]["envelope"]["signatures"][0]["keyid"] = json!(5);
    assert_eq!(
        v1(&e).unwrap_err(),
        invalid(
            "spec.content.envelope.signatures[].keyid",
            "must be a string, found a number"
        )
    );
    let mut e = intoto.clone();
    e["spec"]["content"]["envelope"]["signatures"][0] = json!("x");
    assert_eq!(
        v1(&e).unwrap_err(),
        invalid(
            "spec.content.envelope.signatures",
            "must be an object, found a string"
        )
    );
    // A digest's own members name the digest.
    let mut e = intoto;
    e["spec"]["content"]["hash"]["algorithm"] = json!([]);
    assert_eq!(
        v1(&e).unwrap_err(),
        invalid("spec.content.hash", "must be a string, found an array")
    );

    // Within the DSSE envelope string, as before: a signature's `sig` names the envelope.
    let a = p256_key(1);
    let env = dsse_envelope("text/plain", b"hello", &[&a]);
    let mut inner: Value = serde_json::from_str(&env).unwrap();
    inner["signatures"][0]["sig"] = json!(true);
    assert_eq!(
        v1(&dsse_entry(&inner.to_string(), &[&a])).unwrap_err(),
        invalid(
            "spec.proposedContent.envelope",
            "signatures[].sig must be a string"
        )
    );
    inner["signatures"][0] = json!(null);
    assert_eq!(
        v1(&dsse_entry(&inner.to_string(), &[&a])).unwrap_err(),
        invalid(
            "spec.proposedContent.envelope.signatures",
            "must be an object, found null"
        )
    );

    // Rekor v2: anything within a verifier names the verifier, under either member name.
    let proposed: Value =
        serde_json::from_slice(&read("rekor/v2/hashedrekord-v0.0.2/proposed-entry.json")).unwrap();
    let mut e = proposed.clone();
    let verifier = &mut e["hashedRekordRequestV002"]["signature"]["verifier"];
    let cert = verifier.as_object_mut().unwrap().remove("x509Certificate");
    assert!(cert.is_some());
    verifier["x509_certificate"] = json!({"raw_bytes": 5});
    assert_eq!(
        v2(&e).unwrap_err(),
        invalid(
            "hashedRekordRequestV002.signature.verifier",
            "must be a base64 string, found a number"
        )
    );
    let request = json!({"dsse_request_v002": {
        "envelope": {"payload_type": 1, "payload": "", "signatures": []},
        "verifiers": [],
    }});
    assert_eq!(
        v2(&request).unwrap_err(),
        invalid("dsseRequestV002.envelope.payloadType", "must be a string")
    );
}

#[test]
fn field_errors_come_after_the_kind_and_its_size_limit() {
    let mut e = p256_entry(b"a");
    e["spec"]["signature"]["content"] = json!(5);
    let bytes = serde_json::to_vec(&e).unwrap();
    let parsed = rekor_types::ProposedEntry::parse_v1(&bytes).unwrap();
    assert_eq!(parsed.kind(), "hashedrekord");
    assert_eq!(
        field_of(&parsed.canonicalize(None).unwrap_err()),
        "spec.signature.content"
    );
}

#[test]
fn members_no_kind_reads_must_still_be_valid_json() {
    let text = p256_entry(b"a").to_string();
    let (head, tail) = text.split_at(text.find(r#""spec":{"#).unwrap() + 8);
    assert!(
        v1(&serde_json::from_str(&format!("{head}\"extra\":[1,{{}}],{tail}")).unwrap()).is_ok()
    );
    for extra in ["1e999", "\"\\ud800\""] {
        let bad = format!("{head}\"extra\":{extra},{tail}");
        assert!(
            matches!(
                canonicalize_v1(bad.as_bytes()),
                Err(EntryError::Malformed(_))
            ),
            "{bad}"
        );
    }
}
