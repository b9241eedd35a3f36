//! The identity-bearing certificate extensions, as (OID, critical, DER value) triples.
//!
//! The certificate builder (a later service crate, using rcgen or x509-cert) adds the generic
//! profile parts — 10-minute validity, empty subject, KeyUsage digitalSignature, EKU
//! codeSigning, SKI/AKI, random 20-byte serial, SCTs — and copies these in verbatim.
//! Encodings follow upstream `docs/oid-info.md` / `pkg/certificate/extensions.go`: OIDs .1.1–.1.6
//! hold the raw string bytes (deprecated, still read by sigstore-python), .1.8 onwards hold a
//! DER UTF8String.

use spki::ObjectIdentifier;

use crate::identity::{Principal, SubjectAltName};

/// One X.509 extension, ready to embed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    /// Extension OID.
    pub oid: ObjectIdentifier,
    /// The criticality flag.
    pub critical: bool,
    /// The extnValue contents (the DER inside the OCTET STRING).
    pub value: Vec<u8>,
}

const SAN_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");
const OTHERNAME_USERNAME_OID_DER: [u8; 10] =
    [0x2b, 0x06, 0x01, 0x04, 0x01, 0x83, 0xbf, 0x30, 0x01, 0x07];

fn sigstore_oid(arc: u32) -> ObjectIdentifier {
    // 1.3.6.1.4.1.57264.1.<arc>: arcs here are 1..=24, always valid.
    let s = format!("1.3.6.1.4.1.57264.1.{arc}");
    ObjectIdentifier::new(&s).unwrap_or(SAN_OID)
}

/// Appends a DER tag-length-value.
fn tlv(tag: u8, content: &[u8], out: &mut Vec<u8>) {
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
}

fn utf8_string(s: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(s.len() + 4);
    tlv(0x0c, s.as_bytes(), &mut v);
    v
}

/// The SubjectAltName extension; critical because the subject is empty (RFC 5280 §4.2.1.6).
pub fn subject_alt_name(principal: &Principal) -> Extension {
    let mut name = Vec::new();
    match &principal.san {
        SubjectAltName::Email(e) => tlv(0x81, e.as_bytes(), &mut name),
        SubjectAltName::Uri(u) => tlv(0x86, u.as_bytes(), &mut name),
        SubjectAltName::Username(u) => {
            let mut inner = Vec::new();
            tlv(0x06, &OTHERNAME_USERNAME_OID_DER, &mut inner);
            tlv(0xa0, &utf8_string(u), &mut inner);
            tlv(0xa0, &inner, &mut name);
        }
    }
    let mut value = Vec::new();
    tlv(0x30, &name, &mut value);
    Extension {
        oid: SAN_OID,
        critical: true,
        value,
    }
}

/// The Sigstore extensions for `principal`, in upstream's order: .1.1 (raw issuer), .1.2–.1.6
/// (raw, GitHub legacy), .1.8 (UTF8String issuer), .1.9–.1.23 (UTF8String CI values), .1.24
/// (UTF8String token subject). All non-critical; empty values are omitted.
pub fn sigstore_extensions(principal: &Principal) -> Vec<Extension> {
    let ext = |arc: u32, value: Vec<u8>| Extension {
        oid: sigstore_oid(arc),
        critical: false,
        value,
    };
    let mut out = vec![ext(1, principal.issuer.as_bytes().to_vec())];
    for (e, v) in principal
        .ci_extensions
        .iter()
        .filter(|(e, _)| e.is_raw_encoding())
    {
        out.push(ext(e.oid_arc(), v.as_bytes().to_vec()));
    }
    out.push(ext(8, utf8_string(&principal.issuer)));
    for (e, v) in principal
        .ci_extensions
        .iter()
        .filter(|(e, _)| !e.is_raw_encoding())
    {
        out.push(ext(e.oid_arc(), utf8_string(v)));
    }
    if !principal.token_subject.is_empty() {
        out.push(ext(24, utf8_string(&principal.token_subject)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests_support::{upstream, vectors_path};
    use crate::config::{FulcioConfig, IssuerConfig, IssuerType};
    use crate::identity::principal_from_token;
    use crate::identity::tests::{github_claims_public_good, github_claims_staging, token};
    use serde_json::{json, Value};

    /// (oid, critical, value hex) of every extension in a vector certificate description.
    fn vector_exts(rel: &str) -> Vec<(String, bool, String)> {
        let v: Value = serde_json::from_slice(&std::fs::read(vectors_path(rel)).unwrap()).unwrap();
        v["extensions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["oid"].as_str().unwrap().to_owned(),
                    e["critical"].as_bool().unwrap(),
                    e["value_der_hex"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    fn ours(p: &Principal) -> Vec<(String, bool, String)> {
        std::iter::once(subject_alt_name(p))
            .chain(sigstore_extensions(p))
            .map(|e| (e.oid.to_string(), e.critical, hex::encode(e.value)))
            .collect()
    }

    /// Compares the SAN and every 1.3.6.1.4.1.57264 extension, in order. `expect_token_subject`
    /// is false for certificates issued before upstream added .1.24.
    fn check(rel: &str, p: &Principal, expect_token_subject: bool) {
        let want: Vec<_> = vector_exts(rel)
            .into_iter()
            .filter(|(oid, ..)| oid == "2.5.29.17" || oid.starts_with("1.3.6.1.4.1.57264."))
            .collect();
        let mut got = ours(p);
        if !expect_token_subject {
            assert_eq!(
                got.last().map(|g| g.0.as_str()),
                Some("1.3.6.1.4.1.57264.1.24")
            );
            got.pop();
        }
        assert_eq!(got, want, "{rel}");
    }

    #[test]
    fn github_actions_public_good_certificate() {
        let c = upstream();
        let i = c
            .issuer("https://token.actions.githubusercontent.com")
            .unwrap();
        let p = principal_from_token(&token(github_claims_public_good()), &i, &c).unwrap();
        check("fulcio/public-good/leaf-github-actions.json", &p, false);
    }

    #[test]
    fn github_actions_staging_certificate_with_token_subject() {
        let c = upstream();
        let i = c
            .issuer("https://token.actions.githubusercontent.com")
            .unwrap();
        let p = principal_from_token(&token(github_claims_staging()), &i, &c).unwrap();
        check(
            "fulcio/staging/leaf-github-actions-token-subject.json",
            &p,
            true,
        );
    }

    #[test]
    fn email_certificate_via_dex() {
        let c = upstream();
        let i = c.issuer("https://oauth2.sigstore.dev/auth").unwrap();
        let t = token(
            json!({"iss": "https://oauth2.sigstore.dev/auth", "sub": "CgYxMjM0NTYSJmh0dHBzOi8vZ2l0aHViLmNvbS9sb2dpbi9vYXV0aA",
            "aud": "sigstore", "email": "w.vollprecht@gmail.com", "email_verified": true,
            "federated_claims": {"connector_id": "https://github.com/login/oauth", "user_id": "123456"}}),
        );
        let p = principal_from_token(&t, &i, &c).unwrap();
        check("fulcio/public-good/leaf-email.json", &p, false);
    }

    #[test]
    fn username_othername_certificate() {
        let iss = "http://oidc.local:8080";
        let mut cfg = FulcioConfig::default();
        let ic = IssuerConfig {
            issuer_url: iss.into(),
            subject_domain: Some("oidc.local".into()),
            ..crate::token::tests::issuer(IssuerType::Username)
        };
        cfg.oidc_issuers.insert(iss.into(), ic.clone());
        cfg.validate().unwrap();
        let p = principal_from_token(
            &token(json!({"iss": iss, "sub": "foo", "aud": "sigstore"})),
            &ic,
            &cfg,
        )
        .unwrap();
        check("fulcio/scaffolding/leaf-othername-username.json", &p, false);
    }

    #[test]
    fn long_values_use_long_form_lengths() {
        let mut v = Vec::new();
        tlv(0x0c, &[b'a'; 300], &mut v);
        assert_eq!(&v[..4], &[0x0c, 0x82, 0x01, 0x2c]);
        let mut v = Vec::new();
        tlv(0x0c, &[b'a'; 128], &mut v);
        assert_eq!(&v[..3], &[0x0c, 0x81, 0x80]);
    }
}
