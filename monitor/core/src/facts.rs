//! What one log entry reveals to a watch list: the certificates and public keys that signed
//! it, and the digests of what was signed.
//!
//! Rekor bodies are read generically rather than kind by kind: every entry kind we log
//! (`hashedrekord` 0.0.1/0.0.2, `dsse` 0.0.1/0.0.2, `intoto` 0.0.2) carries its verifiers
//! either as base64 PEM strings (v1: `publicKey.content`, `verifier`, `publicKey`) or as
//! base64 DER `rawBytes` under `x509Certificate` / `publicKey` (v2), and its digests as
//! `{algorithm, value}` with hex (v1) or `{algorithm, digest}` with base64 (v2). A walk that
//! knows these shapes reads all five kinds, and new kinds that reuse them, in one place.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use der::{Decode as _, Encode as _, Tagged as _};
use serde_json::Value;
use sha2::{Digest, Sha256};
use x509_cert::Certificate;

/// Fulcio's OIDC issuer extension (v1, raw string value; deprecated but what
/// sigstore-python reads).
const ISSUER_V1: &str = "1.3.6.1.4.1.57264.1.1";
/// Fulcio's OIDC issuer extension (v2, DER UTF8String).
const ISSUER_V2: &str = "1.3.6.1.4.1.57264.1.8";

/// What an entry reveals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryFacts {
    /// Certificates that signed the entry (or, for CT, the logged certificate).
    pub certificates: Vec<CertFacts>,
    /// Lowercase hex SHA-256 of the DER `SubjectPublicKeyInfo` of bare public keys that signed
    /// the entry (a certificate's key is in its [`CertFacts`]).
    pub key_fingerprints: Vec<String>,
    /// `<algorithm>:<lowercase hex>` digests of what was signed (artifact, payload, envelope).
    pub digests: Vec<String>,
}

/// What one certificate reveals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFacts {
    /// Lowercase hex SHA-256 of the DER certificate.
    pub fingerprint: String,
    /// Lowercase hex SHA-256 of its DER `SubjectPublicKeyInfo`.
    pub key_fingerprint: String,
    /// Its subject alternative names (see [`rekor_types::certificate_subjects`]).
    pub subjects: Vec<String>,
    /// The OIDC issuer Fulcio recorded (extension `.1.8`, else `.1.1`).
    pub issuer: Option<String>,
    /// Every other extension as (dotted OID, value): a DER string's text, else the raw
    /// bytes as UTF-8 (Fulcio's deprecated `.1.2`–`.1.6` are raw), else lowercase hex.
    pub extensions: Vec<(String, String)>,
}

/// Why an entry's facts cannot be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum FactsError {
    /// The Rekor body is not JSON.
    #[error("the entry body is not JSON: {0}")]
    NotJson(String),
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The text of an extension value: a DER UTF8String/IA5String/PrintableString's content, else
/// the bytes if they are UTF-8 without control characters, else hex.
fn extension_text(value: &[u8]) -> String {
    if let Ok(any) = der::asn1::AnyRef::from_der(value) {
        let tag = any.tag();
        if matches!(
            tag,
            der::Tag::Utf8String | der::Tag::Ia5String | der::Tag::PrintableString
        ) {
            if let Ok(s) = std::str::from_utf8(any.value()) {
                return s.to_string();
            }
        }
    }
    match std::str::from_utf8(value) {
        Ok(s) if !s.chars().any(char::is_control) => s.to_string(),
        _ => hex::encode(value),
    }
}

/// The facts of a DER certificate (`None` if it does not parse).
pub fn certificate(der: &[u8]) -> Option<CertFacts> {
    let cert = Certificate::from_der(der).ok()?;
    let spki = cert.tbs_certificate.subject_public_key_info.to_der().ok()?;
    let mut extensions = Vec::new();
    let (mut issuer_v1, mut issuer_v2) = (None, None);
    for ext in cert.tbs_certificate.extensions.iter().flatten() {
        let oid = ext.extn_id.to_string();
        let text = extension_text(ext.extn_value.as_bytes());
        match oid.as_str() {
            ISSUER_V1 => issuer_v1 = Some(text.clone()),
            ISSUER_V2 => issuer_v2 = Some(text.clone()),
            _ => {}
        }
        extensions.push((oid, text));
    }
    Some(CertFacts {
        fingerprint: sha256_hex(der),
        key_fingerprint: sha256_hex(&spki),
        subjects: rekor_types::certificate_subjects(&cert),
        issuer: issuer_v2.or(issuer_v1),
        extensions,
    })
}

impl EntryFacts {
    fn add_certificate(&mut self, der: &[u8]) {
        if let Some(c) = certificate(der) {
            if !self.certificates.contains(&c) {
                self.certificates.push(c);
            }
        }
    }

    fn add_key(&mut self, spki_der: &[u8]) {
        let f = sha256_hex(spki_der);
        if !self.key_fingerprints.contains(&f) {
            self.key_fingerprints.push(f);
        }
    }

    fn add_digest(&mut self, algorithm: &str, hex_value: &str) {
        let algorithm = match algorithm.to_ascii_lowercase().as_str() {
            "sha2_256" | "sha256" => "sha256".to_string(),
            "sha2_384" | "sha384" => "sha384".to_string(),
            "sha2_512" | "sha512" => "sha512".to_string(),
            other => other.to_string(),
        };
        let d = format!("{algorithm}:{}", hex_value.to_ascii_lowercase());
        if !self.digests.contains(&d) {
            self.digests.push(d);
        }
    }

    /// A base64 PEM verifier (Rekor v1): a certificate or a public key.
    fn add_pem_b64(&mut self, b64: &str) {
        let Ok(pem) = BASE64.decode(b64) else { return };
        let Ok((label, der)) = der::pem::decode_vec(&pem) else {
            return;
        };
        match label {
            "CERTIFICATE" => self.add_certificate(&der),
            "PUBLIC KEY" => self.add_key(&der),
            _ => {}
        }
    }

    fn walk(&mut self, parent_key: &str, value: &Value) {
        match value {
            Value::Object(map) => {
                let text = |k: &str| map.get(k).and_then(Value::as_str);
                if let Some(alg) = text("algorithm") {
                    if let Some(v) = text("value") {
                        self.add_digest(alg, v);
                    } else if let Some(raw) = text("digest").and_then(|d| BASE64.decode(d).ok()) {
                        self.add_digest(alg, &hex::encode(raw));
                    }
                }
                if let Some(raw) = text("rawBytes").and_then(|r| BASE64.decode(r).ok()) {
                    match parent_key {
                        "x509Certificate" => self.add_certificate(&raw),
                        "publicKey" => self.add_key(&raw),
                        _ => {}
                    }
                }
                for (k, v) in map {
                    self.walk(k, v);
                }
            }
            Value::Array(items) => items.iter().for_each(|v| self.walk(parent_key, v)),
            Value::String(s) if matches!(parent_key, "content" | "verifier" | "publicKey") => {
                self.add_pem_b64(s)
            }
            _ => {}
        }
    }
}

/// The facts of a Rekor entry body (v1 or v2, any kind).
pub fn rekor_body(body: &[u8]) -> Result<EntryFacts, FactsError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| FactsError::NotJson(e.to_string()))?;
    let mut facts = EntryFacts::default();
    facts.walk("", &value);
    Ok(facts)
}

/// The facts of a static-ct-api data-tile entry: the logged certificate, or the submitted
/// precertificate (which carries the same names and extensions as the final certificate).
pub fn ct_leaf(leaf: &ct::TileLeaf) -> EntryFacts {
    let mut facts = EntryFacts::default();
    match (&leaf.timestamped_entry().entry, leaf.pre_certificate()) {
        (ct::SignedEntry::X509(cert), _) => facts.add_certificate(cert.as_bytes()),
        (_, Some(precert)) => facts.add_certificate(precert.as_bytes()),
        _ => {}
    }
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn fulcio_like_cert(san_email: &str, issuer: &str) -> Vec<u8> {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.subject_alt_names = vec![rcgen::SanType::Rfc822Name(
            san_email.to_string().try_into().unwrap(),
        )];
        params
            .custom_extensions
            .push(rcgen::CustomExtension::from_oid_content(
                &[1, 3, 6, 1, 4, 1, 57264, 1, 1],
                issuer.as_bytes().to_vec(),
            ));
        let mut utf8 = vec![0x0c, issuer.len() as u8];
        utf8.extend_from_slice(issuer.as_bytes());
        params
            .custom_extensions
            .push(rcgen::CustomExtension::from_oid_content(
                &[1, 3, 6, 1, 4, 1, 57264, 1, 8],
                utf8,
            ));
        let mut build = vec![0x0c, 5];
        build.extend_from_slice(b"b-uri");
        params
            .custom_extensions
            .push(rcgen::CustomExtension::from_oid_content(
                &[1, 3, 6, 1, 4, 1, 57264, 1, 9],
                build,
            ));
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn v2_hashedrekord_with_certificate() {
        let der = fulcio_like_cert("alice@example.com", "https://issuer.example");
        let body = serde_json::json!({"apiVersion":"0.0.2","kind":"hashedrekord","spec":{"hashedRekordV002":{
            "data":{"algorithm":"SHA2_256","digest":BASE64.encode([0xab; 32])},
            "signature":{"content":"AAAA","verifier":{"x509Certificate":{"rawBytes":BASE64.encode(&der)},"keyDetails":"PKIX_ECDSA_P256_SHA_256"}}}}});
        let f = rekor_body(body.to_string().as_bytes()).unwrap();
        assert_eq!(f.digests, [format!("sha256:{}", "ab".repeat(32))]);
        let c = &f.certificates[0];
        assert_eq!(c.subjects, ["alice@example.com"]);
        assert_eq!(c.issuer.as_deref(), Some("https://issuer.example"));
        assert_eq!(c.fingerprint, sha256_hex(&der));
        assert!(c
            .extensions
            .contains(&("1.3.6.1.4.1.57264.1.9".into(), "b-uri".into())));
    }

    #[test]
    fn v1_hashedrekord_with_pem_certificate_and_key() {
        let der = fulcio_like_cert("bob@example.com", "https://i");
        let pem = der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, &der).unwrap();
        let body = serde_json::json!({"apiVersion":"0.0.1","kind":"hashedrekord","spec":{
            "data":{"hash":{"algorithm":"sha256","value":"CD".repeat(32)}},
            "signature":{"content":"AAAA","publicKey":{"content":BASE64.encode(pem)}}}});
        let f = rekor_body(body.to_string().as_bytes()).unwrap();
        assert_eq!(f.digests, [format!("sha256:{}", "cd".repeat(32))]);
        assert_eq!(f.certificates[0].subjects, ["bob@example.com"]);
        let key = rcgen::KeyPair::generate().unwrap();
        let body = serde_json::json!({"kind":"dsse","spec":{"signatures":[{"signature":"AA","verifier":BASE64.encode(key.public_key_pem())}]}});
        let f = rekor_body(body.to_string().as_bytes()).unwrap();
        assert_eq!(f.key_fingerprints, [sha256_hex(&key.public_key_der())]);
        assert!(rekor_body(b"not json").is_err());
    }
}
