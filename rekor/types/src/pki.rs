//! Verifiers (an X.509 certificate or a PKIX public key) as Rekor reads them, their canonical PEM
//! and the identities (subject alternative names) they carry.
//!
//! Mirrors upstream `pkg/pki/x509` (`NewPublicKey`, `CanonicalValue`, `Subjects`), with one
//! deliberate narrowing: a PEM holding several blocks (a certificate chain) is refused, where
//! upstream would verify the chain. No Sigstore client sends chains to Rekor.
//!
//! Certificate validity periods are NOT checked: Rekor verifies the signature only.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use der::{Decode as _, Encode as _};
use sigstack_keys::{ClientPublicKey, KeyError};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::Certificate;

use crate::util::{invalid, sha256_hex};
use crate::{EntryError, IndexKey};

const SAN_OID: der::asn1::ObjectIdentifier = der::asn1::ObjectIdentifier::new_unwrap("2.5.29.17");
/// Fulcio's OtherName SAN (username identities), returned by upstream `Subjects()`.
const FULCIO_OTHERNAME_OID: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.7");

/// A parsed, usable verifier.
#[derive(Clone, Debug)]
pub(crate) struct Verifier {
    pub(crate) key: ClientPublicKey,
    /// DER of the certificate, if the verifier is one.
    pub(crate) cert_der: Option<Vec<u8>>,
    /// DER SubjectPublicKeyInfo of the key.
    pub(crate) spki_der: Vec<u8>,
    /// Subject alternative names of the certificate (upstream `Subjects()` order).
    pub(crate) subjects: Vec<String>,
    /// Lowercase hex SHA-256 of the certificate's DER, if the verifier is one.
    pub(crate) fingerprint: Option<String>,
}

impl Verifier {
    /// The search keys this verifier gives an entry: the hash of its canonical PEM, then the
    /// certificate's fingerprint and subjects (lowercased, as upstream's index stores them).
    pub(crate) fn index_keys(&self) -> impl Iterator<Item = IndexKey> + '_ {
        std::iter::once(IndexKey::PublicKey(self.index_hash())).chain(self.certificate_keys())
    }

    /// The certificate's search keys alone, its fingerprint then its subjects (for a caller
    /// that has the key hash cached); none for a bare public key.
    pub(crate) fn certificate_keys(&self) -> impl Iterator<Item = IndexKey> + '_ {
        let fingerprint = self
            .fingerprint
            .clone()
            .map(IndexKey::CertificateFingerprint);
        fingerprint.into_iter().chain(
            self.subjects
                .iter()
                .map(|s| IndexKey::Subject(s.to_lowercase())),
        )
    }

    /// Parses a DER certificate (Rekor v2 `x509Certificate.rawBytes`).
    pub(crate) fn from_cert_der(field: &'static str, der: &[u8]) -> Result<Self, EntryError> {
        let cert = Certificate::from_der(der)
            .map_err(|e| invalid(field, format!("not an X.509 certificate: {e}")))?;
        let spki_der = cert
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(|e| invalid(field, format!("certificate public key: {e}")))?;
        let key = parse_key(field, &spki_der)?;
        Ok(Verifier {
            key,
            cert_der: Some(der.to_vec()),
            spki_der,
            subjects: subjects(&cert),
            fingerprint: Some(sha256_hex(der)),
        })
    }

    /// Parses a DER SubjectPublicKeyInfo (Rekor v2 `publicKey.rawBytes`).
    pub(crate) fn from_spki_der(field: &'static str, der: &[u8]) -> Result<Self, EntryError> {
        let key = parse_key(field, der)?;
        Ok(Verifier {
            key,
            cert_der: None,
            spki_der: der.to_vec(),
            subjects: Vec::new(),
            fingerprint: None,
        })
    }

    /// Parses a PEM `CERTIFICATE` or `PUBLIC KEY` (Rekor v1, as upstream `x509.NewPublicKey`).
    pub(crate) fn from_pem(field: &'static str, pem: &[u8]) -> Result<Self, EntryError> {
        let (label, der) = pem_decode_single(field, pem)?;
        match label.as_str() {
            "CERTIFICATE" => Self::from_cert_der(field, &der),
            "PUBLIC KEY" => Self::from_spki_der(field, &der),
            other => Err(invalid(
                field,
                format!("PEM block type {other:?} is not CERTIFICATE or PUBLIC KEY"),
            )),
        }
    }

    /// The canonical PEM (upstream `CanonicalValue()`): the certificate or key DER re-wrapped in
    /// 64-column PEM with a trailing newline, as Go's `pem.EncodeToMemory` writes it.
    pub(crate) fn canonical_pem(&self) -> String {
        match &self.cert_der {
            Some(cert) => pem_encode("CERTIFICATE", cert),
            None => pem_encode("PUBLIC KEY", &self.spki_der),
        }
    }

    /// Lowercase hex SHA-256 of the canonical PEM (the public-key search key).
    pub(crate) fn index_hash(&self) -> String {
        sha256_hex(self.canonical_pem().as_bytes())
    }
}

fn parse_key(field: &'static str, spki_der: &[u8]) -> Result<ClientPublicKey, EntryError> {
    ClientPublicKey::from_spki_der(spki_der).map_err(|e| match e {
        KeyError::UnsupportedCurve(_)
        | KeyError::RsaKeySize { .. }
        | KeyError::UnsupportedKeyType(_) => invalid(field, format!("unsupported key type: {e}")),
        other => invalid(
            field,
            format!("unsupported or malformed public key: {other}"),
        ),
    })
}

pub(crate) fn subjects(cert: &Certificate) -> Vec<String> {
    let Some(exts) = &cert.tbs_certificate.extensions else {
        return Vec::new();
    };
    let mut dns = Vec::new();
    let mut email = Vec::new();
    let mut ip = Vec::new();
    let mut uri = Vec::new();
    let mut other = Vec::new();
    for ext in exts.iter().filter(|e| e.extn_id == SAN_OID) {
        let Ok(san) = SubjectAltName::from_der(ext.extn_value.as_bytes()) else {
            continue;
        };
        for name in san.0 {
            match name {
                GeneralName::DnsName(s) => dns.push(s.to_string()),
                GeneralName::Rfc822Name(s) => email.push(s.to_string()),
                GeneralName::UniformResourceIdentifier(s) => uri.push(s.to_string()),
                GeneralName::IpAddress(o) => {
                    let b = o.as_bytes();
                    if let Ok(v4) = <[u8; 4]>::try_from(b) {
                        ip.push(std::net::Ipv4Addr::from(v4).to_string());
                    } else if let Ok(v6) = <[u8; 16]>::try_from(b) {
                        ip.push(std::net::Ipv6Addr::from(v6).to_string());
                    }
                }
                GeneralName::OtherName(o) if o.type_id == FULCIO_OTHERNAME_OID => {
                    if let Ok(s) = o.value.decode_as::<der::asn1::Utf8StringRef<'_>>() {
                        other.push(s.as_str().to_string());
                    }
                }
                _ => {}
            }
        }
    }
    dns.into_iter()
        .chain(email)
        .chain(ip)
        .chain(uri)
        .chain(other)
        .collect()
}

/// Go-`pem.EncodeToMemory`-compatible PEM.
pub(crate) fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        // base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// Decodes the one PEM block of `input` (surrounding whitespace and text before the block are
/// ignored, as Go's `pem.Decode` does). Headers and second blocks are refused.
fn pem_decode_single(field: &'static str, input: &[u8]) -> Result<(String, Vec<u8>), EntryError> {
    let text = std::str::from_utf8(input).map_err(|_| invalid(field, "PEM is not UTF-8 text"))?;
    let start = text
        .find("-----BEGIN ")
        .ok_or_else(|| invalid(field, "no PEM block found"))?;
    let after_begin = &text[start + "-----BEGIN ".len()..];
    let line_end = after_begin.find('\n').unwrap_or(after_begin.len());
    let label = after_begin[..line_end]
        .trim_end()
        .strip_suffix("-----")
        .ok_or_else(|| invalid(field, "malformed PEM BEGIN line"))?;
    let body_and_rest = after_begin.get(line_end..).unwrap_or("");
    let end_marker = format!("-----END {label}-----");
    let end = body_and_rest
        .find(&end_marker)
        .ok_or_else(|| invalid(field, format!("PEM block {label:?} has no END line")))?;
    let body = &body_and_rest[..end];
    if body.contains(':') {
        return Err(invalid(field, "PEM headers are not supported"));
    }
    let rest = &body_and_rest[end + end_marker.len()..];
    if rest.contains("-----BEGIN ") {
        return Err(invalid(
            field,
            "more than one PEM block (certificate chains are not supported)",
        ));
    }
    let b64: Vec<u8> = body.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let der = STANDARD
        .decode(b64)
        .map_err(|e| invalid(field, format!("PEM body is not base64: {e}")))?;
    if der.is_empty() {
        return Err(invalid(field, "empty PEM block"));
    }
    Ok((label.to_string(), der))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_round_trip_and_line_width() {
        let der: Vec<u8> = (0..=255u8).collect();
        let pem = pem_encode("PUBLIC KEY", &der);
        assert!(pem.lines().all(|l| l.len() <= 64));
        assert!(pem.ends_with("-----END PUBLIC KEY-----\n"));
        let (label, back) = pem_decode_single("f", pem.as_bytes()).unwrap();
        assert_eq!(label, "PUBLIC KEY");
        assert_eq!(back, der);
    }

    #[test]
    fn pem_refuses_chains_headers_and_garbage() {
        let one = pem_encode("CERTIFICATE", b"abc");
        let two = format!("{one}{one}");
        assert!(pem_decode_single("f", two.as_bytes()).is_err());
        assert!(pem_decode_single("f", b"hello").is_err());
        assert!(pem_decode_single(
            "f",
            b"-----BEGIN X-----\nProc-Type: 4\n\nAAAA\n-----END X-----\n"
        )
        .is_err());
        assert!(pem_decode_single("f", b"-----BEGIN X-----\nAAAA\n").is_err());
        assert!(pem_decode_single("f", b"-----BEGIN X-----\n-----END X-----\n").is_err());
        assert!(pem_decode_single("f", b"-----BEGIN ").is_err());
    }
}
