//! Key history across rotations, and determinism of every generated document.

use crate::common;

use serde_json::Value;
use trust::{Error, Instance, RekorApi, Timestamp, TransparencyLog, TrustHistory, TrustItem};

fn at(secs: i64) -> Timestamp {
    Timestamp::from_unix_seconds(1_800_000_000 + secs)
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

#[test]
fn observing_the_same_instance_changes_nothing() {
    let inst = common::instance();
    let mut h = TrustHistory::new();
    assert!(h.observe(&inst, at(0)));
    let before = h.to_json();
    assert!(!h.observe(&inst, at(100)));
    assert_eq!(h.to_json(), before);
    // 1 CA, 1 CT, 2 tlogs, 1 TSA, 1 OIDC.
    assert_eq!(h.entries().len(), 6);
    assert!(h.entries().iter().all(|e| e.is_current()));
    // Duplicates in the instance are recorded once.
    let mut dup = inst.clone();
    dup.ctlogs.push(inst.ctlogs[0].clone());
    assert!(!h.observe(&dup, at(200)));
}

#[test]
fn rotation_closes_the_old_key_and_keeps_it_listed() {
    let mut inst = common::instance();
    let mut h = TrustHistory::from_instance(&inst, at(0));
    let old_v1 = inst.tlogs[0].clone();
    let old_ca = inst.certificate_authorities[0].clone();

    // Rotate the Rekor v1 key and the Fulcio CA.
    inst.tlogs[0] = TransparencyLog::rekor_v1(common::REKOR_URL, &common::p256_spki()).unwrap();
    inst.certificate_authorities[0] = trust::CertificateAuthority::new(
        common::FULCIO_URL,
        common::fulcio_chain("sigstack-fulcio-2"),
    )
    .unwrap();
    assert!(h.observe(&inst, at(1000)));
    assert_eq!(h.entries().len(), 8, "nothing deleted");

    let old = h
        .entries()
        .iter()
        .find(|e| *e.item() == TrustItem::TransparencyLog(old_v1.clone()))
        .unwrap();
    assert_eq!(old.valid_for().end, Some(at(1000)));
    assert_eq!(old.valid_for().start, at(0));
    let old_ca_entry = h
        .entries()
        .iter()
        .find(|e| *e.item() == TrustItem::CertificateAuthority(old_ca.clone()))
        .unwrap();
    assert_eq!(old_ca_entry.valid_for().end, Some(at(1000)));

    // trusted_root lists both v1 keys, the old one closed, the new one open from the rotation.
    let root = json(&h.trusted_root().to_json());
    let v1: Vec<&Value> = root["tlogs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["baseUrl"] == common::REKOR_URL)
        .collect();
    assert_eq!(v1.len(), 2);
    assert_eq!(
        v1[0]["publicKey"]["validFor"]["end"],
        at(1000).to_string().as_str()
    );
    assert!(v1[1]["publicKey"]["validFor"].get("end").is_none());
    assert_eq!(
        v1[1]["publicKey"]["validFor"]["start"],
        at(1000).to_string().as_str()
    );
    assert_ne!(v1[0]["logId"], v1[1]["logId"]);
    let cas = root["certificateAuthorities"].as_array().unwrap();
    assert_eq!(cas.len(), 2);
    assert!(cas[0]["validFor"].get("end").is_some());
    assert!(cas[1]["validFor"].get("end").is_none());

    // signing_config lists only what is current, once per URL.
    let sc = json(&h.signing_config().to_json());
    assert_eq!(sc["caUrls"].as_array().unwrap().len(), 1);
    let tl = sc["rekorTlogUrls"].as_array().unwrap();
    assert_eq!(tl.len(), 2);
    let by_version = |v: u32| tl.iter().find(|s| s["majorApiVersion"] == v).unwrap();
    assert_eq!(by_version(1)["url"], common::REKOR_URL);
    assert_eq!(
        by_version(1)["validFor"]["start"],
        at(1000).to_string().as_str()
    );
    assert_eq!(by_version(2)["url"], common::REKOR_V2_URL);

    // The history survives a save and load, byte for byte.
    let saved = h.to_json();
    let loaded = TrustHistory::from_json(&saved).unwrap();
    assert_eq!(loaded, h);
    assert_eq!(loaded.to_json(), saved);
    assert_eq!(loaded.trusted_root().to_json(), h.trusted_root().to_json());

    // A retired key that comes back gets a new window; the closed one is not reopened.
    inst.tlogs[0] = old_v1.clone();
    assert!(h.observe(&inst, at(2000)));
    let windows: Vec<_> = h
        .entries()
        .iter()
        .filter(|e| *e.item() == TrustItem::TransparencyLog(old_v1.clone()))
        .map(|e| e.valid_for())
        .collect();
    assert_eq!(windows.len(), 2);
    assert_eq!(windows[0].end, Some(at(1000)));
    assert_eq!(windows[1].start, at(2000));
    assert_eq!(windows[1].end, None);
}

#[test]
fn a_service_that_moves_keeps_its_window_under_the_new_url() {
    let mut inst = common::instance();
    let mut h = TrustHistory::from_instance(&inst, at(0));
    let moved = "https://transparency.example.net/rekor";
    for log in &mut inst.tlogs {
        *log = match log.api() {
            RekorApi::V1 => TransparencyLog::rekor_v1(moved, log.spki_der()).unwrap(),
            _ => TransparencyLog::rekor_v2_spki(moved, log.origin().unwrap(), log.spki_der())
                .unwrap(),
        };
    }
    assert!(h.observe(&inst, at(1000)));
    // Moved in place: one entry per log key, still open from the start, at the new URL only.
    assert_eq!(h.entries().len(), 6);
    let root = json(&h.trusted_root().to_json());
    let tlogs = root["tlogs"].as_array().unwrap();
    assert_eq!(tlogs.len(), 2);
    for log in tlogs {
        assert_eq!(log["baseUrl"], moved);
        assert_eq!(
            log["publicKey"]["validFor"]["start"],
            at(0).to_string().as_str()
        );
        assert!(log["publicKey"]["validFor"].get("end").is_none());
    }
    assert!(!h.observe(&inst, at(2000)), "settled");
}

#[test]
fn removing_a_service_closes_it_and_a_clock_going_back_never_inverts_a_window() {
    let inst = common::instance();
    let mut h = TrustHistory::from_instance(&inst, at(500));
    let mut without_tsa = inst.clone();
    without_tsa.timestamp_authorities.clear();
    assert!(h.observe(&without_tsa, at(100)));
    let tsa = h
        .entries()
        .iter()
        .find(|e| matches!(e.item(), TrustItem::TimestampAuthority(_)))
        .unwrap();
    let vf = tsa.valid_for();
    assert!(vf.end.unwrap() >= vf.start);
    // Without a TSA, Rekor v2 is not offered for signing (clients need timestamps with it),
    // but its key stays in the trusted root.
    let sc = h.signing_config();
    assert!(sc.tsa_urls.is_empty());
    assert!(sc.rekor_tlog_urls.iter().all(|s| s.major_api_version == 1));
    assert!(h
        .trusted_root()
        .tlogs
        .iter()
        .any(|l| l.public_key.key_details == "PKIX_ED25519"));
}

#[test]
fn incomplete_instances_are_refused_for_client_configs() {
    let full = common::instance();
    let h = TrustHistory::from_instance(&Instance::default(), at(0));
    assert_eq!(
        h.client_trust_config().unwrap_err(),
        Error::Incomplete("certificate authority")
    );
    let mut only_v2 = full.clone();
    only_v2.tlogs.retain(|t| t.api() == RekorApi::V2);
    only_v2.timestamp_authorities.clear();
    let h = TrustHistory::from_instance(&only_v2, at(0));
    assert!(matches!(h.client_trust_config(), Err(Error::Incomplete(_))));
    let mut no_ct = full.clone();
    no_ct.ctlogs.clear();
    assert_eq!(
        TrustHistory::from_instance(&no_ct, at(0))
            .client_trust_config()
            .unwrap_err(),
        Error::Incomplete("CT log")
    );
    assert!(TrustHistory::from_instance(&full, at(0))
        .client_trust_config()
        .is_ok());
}

#[test]
fn documents_are_deterministic_and_well_formed() {
    let inst = common::instance();
    let a = TrustHistory::from_instance(&inst, at(0));
    let b = TrustHistory::from_instance(&inst, at(0));
    assert_eq!(a.trusted_root().to_json(), b.trusted_root().to_json());
    assert_eq!(a.signing_config().to_json(), b.signing_config().to_json());
    let tc = a.client_trust_config().unwrap().to_json();
    assert_eq!(tc, b.client_trust_config().unwrap().to_json());

    let tc = json(&tc);
    assert_eq!(
        tc["mediaType"],
        "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json"
    );
    let root = &tc["trustedRoot"];
    assert_eq!(
        root["mediaType"],
        "application/vnd.dev.sigstore.trustedroot+json;version=0.1"
    );
    // Field order as upstream publishes it.
    let text = String::from_utf8(a.trusted_root().to_json()).unwrap();
    let pos = |k: &str| text.find(&format!("\"{k}\"")).unwrap();
    assert!(pos("mediaType") < pos("tlogs"));
    assert!(pos("tlogs") < pos("certificateAuthorities"));
    assert!(pos("certificateAuthorities") < pos("ctlogs"));
    assert!(pos("ctlogs") < pos("timestampAuthorities"));

    // Rekor v1 entry: P-256, logId = SHA-256(SPKI).
    let v1 = &root["tlogs"][0];
    assert_eq!(v1["publicKey"]["keyDetails"], "PKIX_ECDSA_P256_SHA_256");
    assert_eq!(v1["hashAlgorithm"], "SHA2_256");
    let v2 = &root["tlogs"][1];
    assert_eq!(v2["publicKey"]["keyDetails"], "PKIX_ED25519");
    assert_eq!(
        v2["logId"]["keyId"],
        base64_of(&inst.tlogs[1].log_id()).as_str()
    );
    // CA: root subject, issuing certificate first.
    let ca = &root["certificateAuthorities"][0];
    assert_eq!(ca["subject"]["organization"], "sigstack.test");
    assert_eq!(ca["subject"]["commonName"], "sigstack-fulcio");
    assert_eq!(ca["certChain"]["certificates"].as_array().unwrap().len(), 2);
    assert_eq!(
        ca["certChain"]["certificates"][0]["rawBytes"],
        base64_of(&inst.certificate_authorities[0].chain_der()[0]).as_str()
    );
    // TSA: full timestamp URL, leaf first.
    let tsa = &root["timestampAuthorities"][0];
    assert_eq!(tsa["uri"], format!("{}/api/v1/timestamp", common::TSA_URL));
    assert_eq!(tsa["subject"]["commonName"], "sigstack-tsa-root");

    let sc = &tc["signingConfig"];
    assert_eq!(
        sc["mediaType"],
        "application/vnd.dev.sigstore.signingconfig.v0.2+json"
    );
    assert_eq!(sc["caUrls"][0]["majorApiVersion"], 1);
    assert_eq!(sc["caUrls"][0]["operator"], "sigstack.test");
    assert_eq!(
        sc["tsaUrls"][0]["url"],
        format!("{}/api/v1/timestamp", common::TSA_URL)
    );
    assert_eq!(sc["oidcUrls"][0]["url"], common::OIDC_URL);
    assert_eq!(sc["rekorTlogConfig"]["selector"], "ANY");
    assert_eq!(sc["tsaConfig"]["selector"], "ANY");
}

fn base64_of(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

#[test]
fn corrupt_histories_are_refused() {
    let h = TrustHistory::from_instance(&common::instance(), at(0));
    let mut v = json(&h.to_json());
    v["entries"][1]["publicKey"] = "AAAA".into();
    assert!(matches!(
        TrustHistory::from_json(&serde_json::to_vec(&v).unwrap()),
        Err(Error::UnsupportedKey { .. })
    ));
    let mut v = json(&h.to_json());
    v["version"] = 99.into();
    assert!(matches!(
        TrustHistory::from_json(&serde_json::to_vec(&v).unwrap()),
        Err(Error::InvalidHistory(_))
    ));
    let mut v = json(&h.to_json());
    v["entries"][0]["validFor"]["end"] = "1970-01-01T00:00:00Z".into();
    assert!(TrustHistory::from_json(&serde_json::to_vec(&v).unwrap()).is_err());
    assert!(TrustHistory::from_json(b"{").is_err());
}
