//! Certificate issuance through the public API: a principal from a real token flow, a
//! precertificate, an SCT from a test CT log, the final certificate; checked with `ct`,
//! `x509-cert` and, independently, OpenSSL.

use crate::common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use der::{Decode, Encode};
use sigstack_keys::{Algorithm, Signer, SoftwareKey};
use x509_cert::Certificate;

fn principal() -> fulcio::Principal {
    let common::GithubActionsRequest {
        config,
        jwks,
        token,
        now,
    } = common::github_actions_request();
    let issuer = config
        .issuer(&fulcio::unverified_issuer(&token).unwrap())
        .unwrap();
    let verified = fulcio::verify_token(&token, &issuer, &jwks, now).unwrap();
    fulcio::principal_from_token(&verified, &issuer, &config).unwrap()
}

fn subject_key(name: &str) -> fulcio::VerifiedKey {
    let td = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata");
    fulcio::verify_csr(&std::fs::read(td.join(format!("{name}.csr.pem"))).unwrap()).unwrap()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

struct Issued {
    ca: fulcio::CertificateAuthority,
    precert: Vec<u8>,
    final_cert: Vec<u8>,
    log_spki: Vec<u8>,
}

fn issue(key: &fulcio::VerifiedKey, serial: [u8; 20]) -> Issued {
    // Back-date by a minute, as a CA does to absorb client clock skew.
    let not_before = now() - 60;
    let ca =
        fulcio::CertificateAuthority::ephemeral("sigstack test CA", not_before - 3600).unwrap();
    let precert = fulcio::build_precertificate(&ca, &principal(), key, serial, not_before).unwrap();
    let log = SoftwareKey::generate(Algorithm::EcdsaP256Sha256);
    let entry = ct::SignedEntry::Precert {
        issuer_key_hash: ct::issuer_key_hash(ca.root_certificate()).unwrap(),
        tbs_certificate: ct::Asn1Cert::new(ct::precert_tbs_from_precert(precert.der()).unwrap())
            .unwrap(),
    };
    let sct = ct::sign_sct(&log, now() * 1000, &entry, ct::CtExtensions::empty()).unwrap();
    let scts = ct::SignedCertificateTimestampList::new(vec![sct]).unwrap();
    let final_cert = fulcio::build_final_certificate(&ca, &precert, &scts).unwrap();
    Issued {
        ca,
        precert: precert.der().to_vec(),
        final_cert,
        log_spki: log.public_key_der().to_vec(),
    }
}

#[test]
fn precertificate_and_final_certificate() {
    for name in ["p256", "ed25519"] {
        let key = subject_key(name);
        let mut serial = [0xa5; 20];
        serial[0] = 0xc3; // top bit set: must come out cleared
        let Issued {
            ca,
            precert,
            final_cert,
            log_spki,
        } = issue(&key, serial);
        let root = ca.root_certificate();

        // Precertificate.
        let cert = Certificate::from_der(&precert).unwrap();
        let tbs = &cert.tbs_certificate;
        assert!(ct::has_poison(&precert).unwrap(), "{name}");
        ct::verify_issued_by(&precert, root).unwrap();
        let validity =
            tbs.validity.not_after.to_unix_duration() - tbs.validity.not_before.to_unix_duration();
        assert_eq!(validity.as_secs(), fulcio::LEAF_LIFETIME_SECS);
        assert_eq!(validity.as_secs(), 600);
        assert!(tbs.subject.0.is_empty());
        let serial = tbs.serial_number.as_bytes();
        assert_eq!(serial.len(), 20);
        assert_eq!(serial[0], 0x43);
        // DER INTEGER content with a clear top bit is positive.
        assert!(tbs.serial_number.to_der().unwrap()[2] & 0x80 == 0);
        assert_eq!(tbs.subject_public_key_info.to_der().unwrap(), key.spki_der);
        let exts = tbs.extensions.as_ref().unwrap();
        let find = |oid: &str| exts.iter().find(|e| e.extn_id.to_string() == oid);
        for oid in [
            "2.5.29.15",
            "2.5.29.37",
            "2.5.29.14",
            "2.5.29.35",
            "2.5.29.17",
            "1.3.6.1.4.1.57264.1.1",
            "1.3.6.1.4.1.57264.1.8",
        ] {
            assert!(find(oid).is_some(), "{name}: missing {oid}");
        }
        assert!(find("2.5.29.17").unwrap().critical);
        assert!(find("2.5.29.15").unwrap().critical);

        // Final certificate.
        assert!(!ct::has_poison(&final_cert).unwrap());
        ct::verify_embedded_scts(&final_cert, root, &log_spki).unwrap();
        assert_eq!(
            ct::precert_tbs_from_final_cert(&final_cert).unwrap(),
            ct::precert_tbs_from_precert(&precert).unwrap()
        );
        ct::verify_issued_by(&final_cert, root).unwrap();
        let scts = ct::SignedCertificateTimestampList::from_certificate(&final_cert).unwrap();
        assert_eq!(scts.scts().len(), 1);
        // The SCT list sits where the poison was: the last extension.
        let fin = Certificate::from_der(&final_cert).unwrap();
        let last = fin
            .tbs_certificate
            .extensions
            .as_ref()
            .unwrap()
            .last()
            .unwrap();
        assert_eq!(last.extn_id, ct::SCT_LIST_OID);
        assert!(!last.critical);
    }
}

#[test]
fn the_ca_signs_only_with_a_matching_key() {
    let ca = fulcio::CertificateAuthority::ephemeral("one", now()).unwrap();
    let other: Arc<dyn Signer> = Arc::new(SoftwareKey::generate(Algorithm::EcdsaP256Sha256));
    assert!(matches!(
        fulcio::CertificateAuthority::new(other, ca.chain().to_vec()),
        Err(fulcio::CertError::KeyMismatch)
    ));
}

fn pem(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap());
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

/// Independent check: OpenSSL accepts the chain (the critical extensions it must understand,
/// the signature, the validity window). Skipped only when `openssl` is not installed.
#[test]
fn openssl_verifies_the_final_certificate() {
    if std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_err()
    {
        eprintln!("note: openssl not installed; skipping the OpenSSL cross-check");
        return;
    }
    let dir = std::env::temp_dir().join(format!("fulcio-cert-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["p256", "ed25519"] {
        let issued = issue(&subject_key(name), [0x11; 20]);
        let root = dir.join(format!("root-{name}.pem"));
        let leaf = dir.join(format!("leaf-{name}.pem"));
        std::fs::write(&root, pem(issued.ca.root_certificate())).unwrap();
        std::fs::write(&leaf, pem(&issued.final_cert)).unwrap();
        let out = std::process::Command::new("openssl")
            .args(["verify", "-CAfile"])
            .arg(&root)
            .args(["-purpose", "any"])
            .arg(&leaf)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: openssl verify failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
