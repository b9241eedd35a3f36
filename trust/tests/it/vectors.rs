//! Rebuilds real upstream trust documents (public-good, staging) from their keys and certificates
//! and compares: field names and shapes, log IDs, validity windows.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::Value;
use sigstack_test_vectors as vectors;
use trust::{
    rekor_v2_log_id, spki_log_id, CertificateAuthority, CtLog, Error, Instance, Timestamp,
    TimestampAuthority, TransparencyLog, TrustHistory,
};

fn b64(v: &Value) -> Vec<u8> {
    STANDARD.decode(v.as_str().unwrap()).unwrap()
}

fn pem_body(text: &[u8]) -> Vec<u8> {
    let text = std::str::from_utf8(text).unwrap();
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(body).unwrap()
}

fn chain(ca: &Value) -> Vec<Vec<u8>> {
    ca["certChain"]["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| b64(&c["rawBytes"]))
        .collect()
}

fn t(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).unwrap()
}

/// Rewrites every `validFor` timestamp to whole seconds, the precision this crate publishes.
fn normalise_times(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                if k == "validFor" {
                    for field in ["start", "end"] {
                        if let Some(Value::String(s)) = child.get_mut(field) {
                            *s = t(s).to_string();
                        }
                    }
                } else {
                    normalise_times(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalise_times),
        _ => {}
    }
}

#[test]
fn rebuilds_public_good_trusted_root() {
    let upstream = vectors::read_json("bundles/public-good/trusted_root.json");

    // Keys and chains, the Rekor v1 key from its own published file.
    let rekor_v1_spki = pem_body(&vectors::read("rekor/v1/rekor.sigstore.dev.pub"));
    let rekor_v1 = TransparencyLog::rekor_v1("https://rekor.sigstore.dev", &rekor_v1_spki).unwrap();
    let v2_spki = b64(&upstream["tlogs"][1]["publicKey"]["rawBytes"]);
    let rekor_v2 = TransparencyLog::rekor_v2(
        "https://log2025-1.rekor.sigstore.dev",
        "log2025-1.rekor.sigstore.dev",
        &v2_spki[12..].try_into().unwrap(),
    )
    .unwrap();
    let ct = |i: usize| {
        CtLog::new(
            upstream["ctlogs"][i]["baseUrl"].as_str().unwrap(),
            &b64(&upstream["ctlogs"][i]["publicKey"]["rawBytes"]),
        )
        .unwrap()
    };
    let (ct_test, ct_2022) = (ct(0), ct(1));
    let ca = |i: usize| {
        CertificateAuthority::new(
            "https://fulcio.sigstore.dev",
            chain(&upstream["certificateAuthorities"][i]),
        )
        .unwrap()
    };
    let (ca1, ca2) = (ca(0), ca(1));
    let tsa = TimestampAuthority::new(
        "https://timestamp.sigstore.dev",
        chain(&upstream["timestampAuthorities"][0]),
    )
    .unwrap();

    // Log IDs computed from the keys match the published ones.
    for (log_id, want) in [
        (rekor_v1.log_id(), &upstream["tlogs"][0]["logId"]["keyId"]),
        (rekor_v2.log_id(), &upstream["tlogs"][1]["logId"]["keyId"]),
        (ct_test.log_id(), &upstream["ctlogs"][0]["logId"]["keyId"]),
        (ct_2022.log_id(), &upstream["ctlogs"][1]["logId"]["keyId"]),
    ] {
        assert_eq!(STANDARD.encode(log_id), want.as_str().unwrap());
    }

    // Replay public-good's history: each service appears, then retires.
    let mut h = TrustHistory::new();
    let mut now = Instance {
        operator: "sigstore.dev".into(),
        tlogs: vec![rekor_v1.clone()],
        ..Instance::default()
    };
    assert!(h.observe(&now, t("2021-01-12T11:53:27Z")));
    now.certificate_authorities = vec![ca1.clone()];
    assert!(h.observe(&now, t("2021-03-07T12:00:00Z"))); // start = the root's notBefore
    now.ctlogs = vec![ct_test.clone()];
    assert!(h.observe(&now, t("2021-03-14T00:00:00Z")));
    now.certificate_authorities = vec![ca1, ca2.clone()];
    assert!(h.observe(&now, t("2022-04-14T00:00:00Z"))); // start = the intermediate's notBefore
    now.ctlogs = vec![ct_test, ct_2022.clone()];
    assert!(h.observe(&now, t("2022-10-20T00:00:00Z")));
    now.ctlogs = vec![ct_2022];
    assert!(h.observe(&now, t("2022-10-31T23:59:59Z")));
    now.certificate_authorities = vec![ca2];
    assert!(h.observe(&now, t("2022-12-31T23:59:59Z")));
    now.timestamp_authorities = vec![tsa];
    assert!(h.observe(&now, t("2025-07-04T00:00:00Z")));
    now.tlogs = vec![rekor_v1, rekor_v2];
    assert!(h.observe(&now, t("2025-09-23T00:00:00Z")));
    assert!(!h.observe(&now, t("2026-01-01T00:00:00Z")));

    let ours: Value = serde_json::from_slice(&h.trusted_root().to_json()).unwrap();
    let mut want = upstream.clone();
    normalise_times(&mut want);
    // The one deliberate difference: a TSA first seen is dated from its certificate's notBefore
    // (timestamps may predate the first observation), where public-good chose a later date.
    assert_eq!(
        ours["timestampAuthorities"][0]["validFor"]["start"],
        "2025-04-08T06:59:43Z"
    );
    want["timestampAuthorities"][0]["validFor"]["start"] = "2025-04-08T06:59:43Z".into();
    assert_eq!(ours, want);
}

#[test]
fn rekor_v2_log_ids_match_staging() {
    let staging = vectors::read_json("bundles/staging-rekor-v2/trusted_root.json");
    let find = |url: &str| {
        staging["tlogs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["baseUrl"] == url)
            .unwrap()["logId"]["keyId"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    for origin in [
        "log2025-alpha1.rekor.sigstage.dev",
        "log2025-alpha3.rekor.sigstage.dev",
    ] {
        let spki = pem_body(&vectors::read(&format!("rekor/v2/{origin}.pub")));
        let url = format!("https://{origin}");
        let log = TransparencyLog::rekor_v2_spki(&url, origin, &spki).unwrap();
        assert_eq!(STANDARD.encode(log.log_id()), find(&url), "{origin}");
        let raw: [u8; 32] = spki[12..].try_into().unwrap();
        assert_eq!(rekor_v2_log_id(origin, &raw), log.log_id());
        // The same key under another origin is another log.
        assert_ne!(rekor_v2_log_id("example.com", &raw), log.log_id());
    }
    // Staging's ECDSA CT logs and Rekor v1 log: SHA-256 of the SPKI.
    for list in ["ctlogs", "tlogs"] {
        for log in staging[list].as_array().unwrap() {
            if log["publicKey"]["keyDetails"] == "PKIX_ECDSA_P256_SHA_256" {
                let spki = b64(&log["publicKey"]["rawBytes"]);
                assert_eq!(
                    STANDARD.encode(spki_log_id(&spki)),
                    log["logId"]["keyId"].as_str().unwrap()
                );
            }
        }
    }
}

#[test]
fn rejects_keys_clients_cannot_use_for_the_role() {
    let staging = vectors::read_json("bundles/staging-rekor-v2/trusted_root.json");
    // Staging's first CT log has a bare PKCS#1 RSA key.
    let rsa = b64(&staging["ctlogs"][0]["publicKey"]["rawBytes"]);
    assert!(matches!(
        CtLog::new("https://ct.example", &rsa),
        Err(Error::UnsupportedKey { .. })
    ));
    let ed = pem_body(&vectors::read(
        "rekor/v2/log2025-alpha1.rekor.sigstage.dev.pub",
    ));
    assert!(TransparencyLog::rekor_v1("https://r.example", &ed).is_err());
    assert!(CtLog::new("https://ct.example", &ed).is_err());
    let p256 = pem_body(&vectors::read("rekor/v1/rekor.sigstore.dev.pub"));
    assert!(TransparencyLog::rekor_v2_spki("https://r.example", "r.example", &p256).is_err());
    assert!(TransparencyLog::rekor_v2_spki("https://r.example", "", &ed).is_err());
    assert!(TransparencyLog::rekor_v2_spki("https://r.example", "a\nb", &ed).is_err());
    let mut trailing = p256.clone();
    trailing.push(0);
    assert!(TransparencyLog::rekor_v1("https://r.example", &trailing).is_err());
    // A TSA needs its signing certificate and a root.
    let upstream = vectors::read_json("bundles/public-good/trusted_root.json");
    let mut tsa_chain = chain(&upstream["timestampAuthorities"][0]);
    tsa_chain.truncate(1);
    assert!(TimestampAuthority::new("https://tsa.example", tsa_chain).is_err());
    assert!(CertificateAuthority::new("https://f.example", vec![]).is_err());
    assert!(CertificateAuthority::new("https://f.example", vec![vec![0x30, 0x00]]).is_err());
}

/// Same key names at every level (and same shape of arrays) as `upstream`.
fn assert_same_shape(ours: &Value, upstream: &Value, path: &str) {
    match (ours, upstream) {
        (Value::Object(a), Value::Object(b)) if path.ends_with("validFor") => {
            // `end` is optional: only closed windows have one.
            assert!(a.contains_key("start") && b.contains_key("start"), "{path}");
        }
        (Value::Object(a), Value::Object(b)) => {
            let ka: Vec<_> = a.keys().collect();
            let kb: Vec<_> = b.keys().collect();
            assert_eq!(ka, kb, "keys at {path}");
            for (k, v) in a {
                assert_same_shape(v, &b[k], &format!("{path}.{k}"));
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            if let (Some(x), Some(y)) = (a.first(), b.first()) {
                assert_same_shape(x, y, &format!("{path}[0]"));
            }
        }
        (a, b) => assert_eq!(
            std::mem::discriminant(a),
            std::mem::discriminant(b),
            "type at {path}"
        ),
    }
}

#[test]
fn signing_config_has_public_goods_shape() {
    let upstream = vectors::read_json(
        "tuf/public-good/targets/0f5f38554e29e770d4d5d6f0e1b51fcbf84f61dc6934530a09b7a901eaad5bee.signing_config_rekor_v2.v0.2.json",
    );
    let root = vectors::read_json("bundles/public-good/trusted_root.json");
    let v2_spki = b64(&root["tlogs"][1]["publicKey"]["rawBytes"]);
    let instance = Instance {
        operator: "sigstore.dev".into(),
        certificate_authorities: vec![CertificateAuthority::new(
            "https://fulcio.sigstore.dev",
            chain(&root["certificateAuthorities"][1]),
        )
        .unwrap()],
        ctlogs: vec![CtLog::new(
            "https://ctfe.sigstore.dev/2022",
            &b64(&root["ctlogs"][1]["publicKey"]["rawBytes"]),
        )
        .unwrap()],
        tlogs: vec![
            TransparencyLog::rekor_v2_spki(
                "https://log2025-1.rekor.sigstore.dev",
                "log2025-1.rekor.sigstore.dev",
                &v2_spki,
            )
            .unwrap(),
            TransparencyLog::rekor_v1(
                "https://rekor.sigstore.dev",
                &b64(&root["tlogs"][0]["publicKey"]["rawBytes"]),
            )
            .unwrap(),
        ],
        timestamp_authorities: vec![TimestampAuthority::new(
            "https://timestamp.sigstore.dev/",
            chain(&root["timestampAuthorities"][0]),
        )
        .unwrap()],
        oidc_providers: vec![trust::OidcProvider::new("https://oauth2.sigstore.dev/auth").unwrap()],
    };
    let h = TrustHistory::from_instance(&instance, t("2026-01-01T00:00:00Z"));
    let ours: Value = serde_json::from_slice(&h.signing_config().to_json()).unwrap();
    assert_same_shape(&ours, &upstream, "$");
    // Everything but the windows is identical to what public-good publishes.
    let strip = |mut v: Value| {
        for list in ["caUrls", "oidcUrls", "rekorTlogUrls", "tsaUrls"] {
            for s in v[list].as_array_mut().unwrap() {
                s.as_object_mut().unwrap().remove("validFor");
            }
        }
        v
    };
    assert_eq!(strip(ours), strip(upstream));

    let root_ours: Value = serde_json::from_slice(&h.trusted_root().to_json()).unwrap();
    assert_same_shape(&root_ours, &root, "$");
}
