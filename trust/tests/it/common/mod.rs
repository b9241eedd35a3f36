//! A synthetic sigstack instance with freshly generated keys and certificates.
#![allow(dead_code, unreachable_pub)]

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384, PKCS_ED25519,
};
use trust::{
    CertificateAuthority, CtLog, Instance, OidcProvider, TimestampAuthority, TransparencyLog,
};

pub const FULCIO_URL: &str = "http://127.0.0.1:5555";
pub const CT_URL: &str = "http://127.0.0.1:6962/sigstack";
pub const REKOR_URL: &str = "http://127.0.0.1:3000";
pub const REKOR_V2_URL: &str = "http://127.0.0.1:3001";
pub const REKOR_V2_ORIGIN: &str = "127.0.0.1:3001";
pub const TSA_URL: &str = "http://127.0.0.1:3002";
pub const OIDC_URL: &str = "http://127.0.0.1:8080/auth";

fn params(cn: &str, ca: bool) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "sigstack.test");
    dn.push(DnType::CommonName, cn);
    p.distinguished_name = dn;
    if ca {
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    }
    p
}

/// A Fulcio chain: [intermediate, root] (P-384), DER.
pub fn fulcio_chain(name: &str) -> Vec<Vec<u8>> {
    let root_key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).unwrap();
    let root = params(name, true).self_signed(&root_key).unwrap();
    let int_key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).unwrap();
    let mut ip = params(&format!("{name}-intermediate"), true);
    ip.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
    let int = ip.signed_by(&int_key, &root, &root_key).unwrap();
    vec![int.der().to_vec(), root.der().to_vec()]
}

/// A TSA chain: [leaf with EKU timeStamping, root], DER.
pub fn tsa_chain() -> Vec<Vec<u8>> {
    let root_key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).unwrap();
    let root = params("sigstack-tsa-root", true)
        .self_signed(&root_key)
        .unwrap();
    let leaf_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut lp = params("sigstack-tsa", false);
    lp.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    lp.extended_key_usages = vec![ExtendedKeyUsagePurpose::TimeStamping];
    let leaf = lp.signed_by(&leaf_key, &root, &root_key).unwrap();
    vec![leaf.der().to_vec(), root.der().to_vec()]
}

/// A fresh ECDSA P-256 key, DER SPKI.
pub fn p256_spki() -> Vec<u8> {
    KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
        .unwrap()
        .public_key_der()
}

/// A fresh raw Ed25519 public key.
pub fn ed25519_raw() -> [u8; 32] {
    let k = KeyPair::generate_for(&PKCS_ED25519).unwrap();
    k.public_key_raw().try_into().unwrap()
}

/// Every service, freshly keyed: Fulcio, CT, Rekor v1 + v2, TSA, OIDC.
pub fn instance() -> Instance {
    Instance {
        operator: "sigstack.test".into(),
        certificate_authorities: vec![CertificateAuthority::new(
            FULCIO_URL,
            fulcio_chain("sigstack-fulcio"),
        )
        .unwrap()],
        ctlogs: vec![CtLog::new(CT_URL, &p256_spki()).unwrap()],
        tlogs: vec![
            TransparencyLog::rekor_v1(REKOR_URL, &p256_spki()).unwrap(),
            TransparencyLog::rekor_v2(REKOR_V2_URL, REKOR_V2_ORIGIN, &ed25519_raw()).unwrap(),
        ],
        timestamp_authorities: vec![TimestampAuthority::new(TSA_URL, tsa_chain()).unwrap()],
        oidc_providers: vec![OidcProvider::new(OIDC_URL).unwrap()],
    }
}
