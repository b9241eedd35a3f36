//! Precertificates and embedded SCTs (RFC 6962 sections 3.1-3.3), with RustCrypto's
//! `x509-cert` as the parser.
//!
//! A precertificate's TBSCertificate, minus its poison extension, is what the log signs; a
//! verifier rebuilds the same bytes from the final certificate by removing the SCT list. Both
//! removals re-encode the TBSCertificate, so they only accept certificates in canonical DER
//! (parsing and re-encoding gives back the input): anything else could make two honest parties
//! disagree about the signed bytes.

use der::asn1::{ObjectIdentifier, OctetString, OctetStringRef};
use der::{Decode, Encode, Header, Length, Reader, SliceReader, Tag, TagNumber};
use sha2::{Digest, Sha256};
use sigstack_keys::{Algorithm, PublicKey};
use x509_cert::ext::Extension;
use x509_cert::{Certificate, TbsCertificate};

use crate::entry::{Asn1Cert, SignedEntry};
use crate::sct::{verify_sct, SignedCertificateTimestampList};
use crate::CtError;

/// OID of the X.509 extension carrying embedded SCTs (RFC 6962 section 3.3).
pub const SCT_LIST_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");
/// OID of the critical poison extension that makes a certificate a precertificate (RFC 6962
/// section 3.1).
pub const CT_POISON_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.3");
/// The poison extension's `extnValue` contents: DER `NULL`. A CA adds
/// (`CT_POISON_OID`, critical, this) to a TBSCertificate to make a precertificate.
pub const POISON_EXTENSION_VALUE: [u8; 2] = [0x05, 0x00];

/// `ecdsa-with-SHA256` (RFC 5758).
pub const ECDSA_WITH_SHA256_OID: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
/// `ecdsa-with-SHA384` (RFC 5758).
pub const ECDSA_WITH_SHA384_OID: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
/// `id-Ed25519` (RFC 8410).
pub const ED25519_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const RSA_ENCRYPTION_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const RSASSA_PSS_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");

/// The parts of a certificate that its issuer's signature covers, for checking a chain with
/// whatever algorithm the issuer uses (this crate verifies only ECDSA and Ed25519 itself, see
/// [`verify_issued_by`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateSignature {
    /// The DER TBSCertificate, exactly as in the certificate: the signed message.
    pub tbs_der: Vec<u8>,
    /// The signature algorithm (the outer `signatureAlgorithm`, checked equal to the one
    /// inside the TBSCertificate).
    pub algorithm: ObjectIdentifier,
    /// The algorithm's DER parameters, if present (RSA-PSS needs them).
    pub parameters_der: Option<Vec<u8>>,
    /// The signature bytes (the BIT STRING contents).
    pub signature: Vec<u8>,
}

/// Whether the certificate carries the CT poison extension, i.e. is a precertificate (a log's
/// `add-chain` must refuse these; `add-pre-chain` requires them).
pub fn has_poison(cert_der: &[u8]) -> Result<bool, CtError> {
    ParsedCertificate::parse(cert_der.to_vec())?.has_poison()
}

/// The precertificate TBSCertificate a log puts in a `precert_entry`: the TBS of `precert_der`
/// with its critical poison extension removed, re-encoded in DER.
///
/// Fails if the poison is absent, not critical or not `NULL`, or the certificate is not
/// canonical DER.
pub fn precert_tbs_from_precert(precert_der: &[u8]) -> Result<Vec<u8>, CtError> {
    ParsedCertificate::parse(precert_der.to_vec())?.precert_tbs()
}

/// The precertificate TBSCertificate rebuilt from a final certificate, as a verifier of its
/// embedded SCTs must (RFC 6962 section 3.3): the TBS with the SCT list extension removed. For
/// a correctly issued pair it equals [`precert_tbs_from_precert`] of the precertificate.
///
/// Fails if there is no SCT list, if the certificate is itself a precertificate, or if it is
/// not canonical DER.
pub fn precert_tbs_from_final_cert(final_der: &[u8]) -> Result<Vec<u8>, CtError> {
    let mut tbs = canonical_tbs(final_der)?;
    if find_extension(&tbs, &CT_POISON_OID).is_some() {
        return Err(CtError::UnexpectedPoison);
    }
    let (index, _) = find_extension(&tbs, &SCT_LIST_OID).ok_or(CtError::MissingSctList)?;
    remove_extension(&mut tbs, index);
    Ok(tbs.to_der()?)
}

/// The final certificate's TBSCertificate a CA signs after its precertificate was logged: the
/// precertificate's TBS with the poison extension replaced, in place, by a non-critical SCT
/// list extension carrying `scts`.
///
/// By construction [`precert_tbs_from_final_cert`] of the result equals
/// [`precert_tbs_from_precert`] of `precert_der`, so the SCTs verify against it.
pub fn final_tbs_from_precert(
    precert_der: &[u8],
    scts: &SignedCertificateTimestampList,
) -> Result<Vec<u8>, CtError> {
    Ok(final_tbs(canonical_tbs(precert_der)?, scts)?.to_der()?)
}

/// As [`final_tbs_from_precert`], from the precertificate's TBSCertificate itself: for the CA
/// that built it and still holds it, which then need not parse its own precertificate back.
/// `precert_tbs` must be what was signed (its DER encoding is the precertificate's TBS).
pub fn final_tbs(
    mut precert_tbs: TbsCertificate,
    scts: &SignedCertificateTimestampList,
) -> Result<TbsCertificate, CtError> {
    check_unique_extensions(&precert_tbs)?;
    let index = checked_poison(&precert_tbs)?;
    if find_extension(&precert_tbs, &SCT_LIST_OID).is_some() {
        return Err(CtError::DuplicateX509Extension {
            oid: SCT_LIST_OID.to_string(),
        });
    }
    if let Some(exts) = precert_tbs.extensions.as_mut() {
        exts[index] = Extension {
            extn_id: SCT_LIST_OID,
            critical: false,
            extn_value: OctetString::new(scts.to_extension_value())?,
        };
    }
    Ok(precert_tbs)
}

/// RFC 6962 `issuer_key_hash`: SHA-256 of the issuing CA's DER `SubjectPublicKeyInfo`, taken
/// byte for byte from `issuer_cert_der`.
pub fn issuer_key_hash(issuer_cert_der: &[u8]) -> Result<[u8; 32], CtError> {
    Certificate::from_der(issuer_cert_der)?;
    let raw = raw_parts(issuer_cert_der)?;
    Ok(Sha256::digest(raw.spki).into())
}

/// Splits a certificate into what its issuer signed, the algorithm and the signature, so that
/// a caller can verify chains with algorithms this crate does not (RSA).
///
/// Fails if the outer and inner signature algorithms differ (RFC 5280 section 4.1.1.2) or the
/// signature BIT STRING has unused bits.
pub fn tbs_and_signature(cert_der: &[u8]) -> Result<CertificateSignature, CtError> {
    ParsedCertificate::parse(cert_der.to_vec())?.signature()
}

/// Verifies that `issuer_der`'s key signed `cert_der`: ECDSA P-256 with SHA-256, ECDSA P-384
/// with SHA-384, or Ed25519 (Fulcio CAs use ECDSA). Only the signature is checked; name
/// chaining, validity and constraints are the caller's policy.
///
/// RSA issuers (or any other combination) give [`CtError::UnsupportedSignatureAlgorithm`], so
/// a caller can fall back to [`tbs_and_signature`] and its own RSA verifier.
pub fn verify_issued_by(cert_der: &[u8], issuer_der: &[u8]) -> Result<(), CtError> {
    let signed = tbs_and_signature(cert_der)?;
    IssuerCertificate::parse(issuer_der.to_vec())?.verify_issued(&signed)
}

/// A certificate parsed once, for the several checks a log makes of a submitted leaf
/// (validity, poison, signature, the precertificate TBS) without parsing it again for each.
#[derive(Debug, Clone)]
pub struct ParsedCertificate {
    der: Vec<u8>,
    cert: Certificate,
}

impl ParsedCertificate {
    /// Parses a DER certificate.
    pub fn parse(der: Vec<u8>) -> Result<Self, CtError> {
        let cert = Certificate::from_der(&der)?;
        Ok(Self { der, cert })
    }

    /// The certificate, DER, as given.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The certificate, DER, as given.
    pub fn into_der(self) -> Vec<u8> {
        self.der
    }

    /// `notBefore` and `notAfter`, in seconds since the Unix epoch.
    pub fn validity(&self) -> (u64, u64) {
        let v = &self.cert.tbs_certificate.validity;
        (
            v.not_before.to_unix_duration().as_secs(),
            v.not_after.to_unix_duration().as_secs(),
        )
    }

    /// See [`has_poison`].
    pub fn has_poison(&self) -> Result<bool, CtError> {
        check_unique_extensions(&self.cert.tbs_certificate)?;
        Ok(find_extension(&self.cert.tbs_certificate, &CT_POISON_OID).is_some())
    }

    /// See [`tbs_and_signature`].
    pub fn signature(&self) -> Result<CertificateSignature, CtError> {
        let cert = &self.cert;
        if cert.signature_algorithm != cert.tbs_certificate.signature {
            return Err(CtError::SignatureAlgorithmMismatch);
        }
        let signature = cert
            .signature
            .as_bytes()
            .ok_or_else(|| Tag::BitString.value_error())?
            .to_vec();
        let parameters_der = cert
            .signature_algorithm
            .parameters
            .as_ref()
            .map(|p| p.to_der())
            .transpose()?;
        Ok(CertificateSignature {
            tbs_der: raw_parts(&self.der)?.tbs.to_vec(),
            algorithm: cert.signature_algorithm.oid,
            parameters_der,
            signature,
        })
    }

    /// See [`precert_tbs_from_precert`].
    pub fn precert_tbs(&self) -> Result<Vec<u8>, CtError> {
        let tbs = self.canonical_tbs()?;
        let index = checked_poison(tbs)?;
        let extensions = tbs.extensions.as_deref().unwrap_or_default().len();
        // Canonical, so re-encoding the TBSCertificate without the poison gives its bytes with
        // the poison's cut out and the lengths around it shortened: done on the bytes, without
        // a copy of the parsed structure to remove it from and encode.
        tbs_without_extension(raw_parts(&self.der)?.tbs, index, extensions)
    }

    /// The TBSCertificate of a certificate that must be canonical DER, its extensions checked
    /// to be unique.
    fn canonical_tbs(&self) -> Result<&TbsCertificate, CtError> {
        if self.cert.to_der()? != self.der {
            return Err(CtError::NonCanonicalCertificate);
        }
        check_unique_extensions(&self.cert.tbs_certificate)?;
        Ok(&self.cert.tbs_certificate)
    }
}

/// An issuer certificate parsed once, with what checking the certificates it issued takes: for
/// a log that sees the same few roots and intermediates in every submitted chain and keeps
/// them parsed.
#[derive(Debug, Clone)]
pub struct IssuerCertificate {
    certificate: ParsedCertificate,
    fingerprint: [u8; 32],
    key_hash: [u8; 32],
    /// `None` for a key [`PublicKey`] does not take (RSA): [`Self::verify_issued`] says why.
    key: Option<PublicKey>,
}

impl IssuerCertificate {
    /// Parses a DER issuer certificate. Any key type is taken here; one this crate cannot
    /// verify with fails in [`Self::verify_issued`].
    pub fn parse(der: Vec<u8>) -> Result<Self, CtError> {
        let certificate = ParsedCertificate::parse(der)?;
        let spki = raw_parts(&certificate.der)?.spki;
        Ok(Self {
            fingerprint: Sha256::digest(&certificate.der).into(),
            key_hash: Sha256::digest(spki).into(),
            key: PublicKey::from_spki_der(spki).ok(),
            certificate,
        })
    }

    /// The certificate.
    pub fn certificate(&self) -> &ParsedCertificate {
        &self.certificate
    }

    /// SHA-256 of the DER certificate (how static-ct-api names issuers).
    pub fn fingerprint(&self) -> [u8; 32] {
        self.fingerprint
    }

    /// See [`issuer_key_hash`].
    pub fn key_hash(&self) -> [u8; 32] {
        self.key_hash
    }

    /// See [`verify_issued_by`]: whether this issuer's key made `signed`.
    pub fn verify_issued(&self, signed: &CertificateSignature) -> Result<(), CtError> {
        // A key that did not parse when the issuer was parsed is parsed again for its error.
        let reparsed;
        let key = match &self.key {
            Some(key) => key,
            None => {
                let spki = raw_parts(&self.certificate.der)?.spki;
                reparsed = PublicKey::from_spki_der(spki).map_err(|e| {
                    let key_oid = &self
                        .certificate
                        .cert
                        .tbs_certificate
                        .subject_public_key_info
                        .algorithm
                        .oid;
                    if *key_oid == RSA_ENCRYPTION_OID || *key_oid == RSASSA_PSS_OID {
                        CtError::UnsupportedSignatureAlgorithm {
                            algorithm: format!("{} with an RSA issuer key", signed.algorithm),
                        }
                    } else {
                        CtError::InvalidPublicKey(e)
                    }
                })?;
                &reparsed
            }
        };
        let supported = matches!(
            (key.algorithm(), signed.algorithm),
            (Algorithm::EcdsaP256Sha256, ECDSA_WITH_SHA256_OID)
                | (Algorithm::EcdsaP384Sha384, ECDSA_WITH_SHA384_OID)
                | (Algorithm::Ed25519, ED25519_OID)
        );
        if !supported {
            return Err(CtError::UnsupportedSignatureAlgorithm {
                algorithm: format!(
                    "{} with a {} issuer key",
                    signed.algorithm,
                    key.algorithm().name()
                ),
            });
        }
        key.verify(&signed.tbs_der, &signed.signature)
            .map_err(|_| CtError::BadSignature)
    }
}

/// Verifies the SCTs embedded in a final certificate that come from the log whose DER
/// `SubjectPublicKeyInfo` is `log_spki_der`, against the precertificate entry rebuilt from
/// the certificate and its issuer.
///
/// SCTs from other logs are ignored; at least one SCT must be from this log
/// ([`CtError::NoSctFromLog`]) and every one from it must verify.
pub fn verify_embedded_scts(
    final_cert_der: &[u8],
    issuer_der: &[u8],
    log_spki_der: &[u8],
) -> Result<(), CtError> {
    let list = embedded_sct_list(final_cert_der)?;
    let entry = SignedEntry::Precert {
        issuer_key_hash: issuer_key_hash(issuer_der)?,
        tbs_certificate: Asn1Cert::new(precert_tbs_from_final_cert(final_cert_der)?)?,
    };
    let log_id = sigstack_keys::key_id(log_spki_der);
    let mut verified = 0usize;
    for sct in list.scts().iter().filter(|s| s.log_id == log_id) {
        verify_sct(sct, log_spki_der, &entry)?;
        verified += 1;
    }
    if verified == 0 {
        return Err(CtError::NoSctFromLog);
    }
    Ok(())
}

/// The SCT list embedded in a certificate.
pub(crate) fn embedded_sct_list(
    cert_der: &[u8],
) -> Result<SignedCertificateTimestampList, CtError> {
    let cert = Certificate::from_der(cert_der)?;
    check_unique_extensions(&cert.tbs_certificate)?;
    let (_, ext) =
        find_extension(&cert.tbs_certificate, &SCT_LIST_OID).ok_or(CtError::MissingSctList)?;
    SignedCertificateTimestampList::from_extension_value(ext.extn_value.as_bytes())
}

/// DER `OCTET STRING` around `content` (at most 65,535 bytes, which SCT lists are).
pub(crate) fn der_octet_string(content: &[u8]) -> Vec<u8> {
    let len = content.len();
    let mut out = Vec::with_capacity(4 + len);
    out.push(0x04);
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend_from_slice(&[0x81, len as u8]);
    } else {
        debug_assert!(len <= 0xffff);
        out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]);
    }
    out.extend_from_slice(content);
    out
}

/// The contents of a DER `OCTET STRING` that must be the whole input.
pub(crate) fn parse_der_octet_string(der: &[u8]) -> Result<&[u8], CtError> {
    Ok(OctetStringRef::from_der(der)?.as_bytes())
}

/// Parses a certificate that must be canonical DER and returns its TBSCertificate, whose
/// extensions are checked to be unique.
fn canonical_tbs(cert_der: &[u8]) -> Result<TbsCertificate, CtError> {
    let parsed = ParsedCertificate::parse(cert_der.to_vec())?;
    parsed.canonical_tbs()?;
    Ok(parsed.cert.tbs_certificate)
}

/// The index of a well-formed poison extension.
fn checked_poison(tbs: &TbsCertificate) -> Result<usize, CtError> {
    let (index, poison) = find_extension(tbs, &CT_POISON_OID).ok_or(CtError::MissingPoison)?;
    if !poison.critical {
        return Err(CtError::PoisonNotCritical);
    }
    if poison.extn_value.as_bytes() != POISON_EXTENSION_VALUE {
        return Err(CtError::MalformedPoison);
    }
    Ok(index)
}

fn find_extension<'a>(
    tbs: &'a TbsCertificate,
    oid: &ObjectIdentifier,
) -> Option<(usize, &'a Extension)> {
    tbs.extensions
        .as_deref()?
        .iter()
        .enumerate()
        .find(|(_, e)| &e.extn_id == oid)
}

/// Removes an extension; an emptied list is dropped, as RFC 5280 requires at least one
/// extension when the field is present (and as Go's CT code does).
fn remove_extension(tbs: &mut TbsCertificate, index: usize) {
    if let Some(exts) = tbs.extensions.as_mut() {
        exts.remove(index);
        if exts.is_empty() {
            tbs.extensions = None;
        }
    }
}

fn check_unique_extensions(tbs: &TbsCertificate) -> Result<(), CtError> {
    let exts = tbs.extensions.as_deref().unwrap_or_default();
    for (i, e) in exts.iter().enumerate() {
        if exts[..i].iter().any(|other| other.extn_id == e.extn_id) {
            return Err(CtError::DuplicateX509Extension {
                oid: e.extn_id.to_string(),
            });
        }
    }
    Ok(())
}

/// `tbs_der`, a DER TBSCertificate with `count` extensions, without its extension at `index`:
/// the bytes [`remove_extension`] and re-encoding give for canonical DER, the extensions field
/// dropped when it empties. Only the layout is walked (the caller parsed it already).
fn tbs_without_extension(tbs_der: &[u8], index: usize, count: usize) -> Result<Vec<u8>, CtError> {
    let extensions_tag = Tag::ContextSpecific {
        constructed: true,
        number: TagNumber::N3,
    };
    let mut reader = SliceReader::new(tbs_der)?;
    // The fields before the extensions field (the TBSCertificate's last), and that field.
    let (before, field) = reader.sequence(|tbs| {
        let mut before = Vec::with_capacity(10);
        while !tbs.is_finished() && tbs.peek_tag()? != extensions_tag {
            before.push(tbs.tlv_bytes()?);
        }
        let field = tbs.tlv_bytes()?;
        if !tbs.is_finished() {
            return Err(Tag::Sequence.value_error());
        }
        Ok((before, field))
    })?;
    reader.finish(())?;
    let mut reader = SliceReader::new(field)?;
    Header::decode(&mut reader)?.tag.assert_eq(extensions_tag)?;
    let kept: Vec<&[u8]> = reader.sequence(|extensions| {
        let mut kept = Vec::with_capacity(count);
        let mut seen = 0;
        while !extensions.is_finished() {
            let extension = extensions.tlv_bytes()?;
            if seen != index {
                kept.push(extension);
            }
            seen += 1;
        }
        if seen != count {
            return Err(Tag::Sequence.value_error());
        }
        Ok(kept)
    })?;
    reader.finish(())?;
    let before_len: usize = before.iter().map(|f| f.len()).sum();
    let kept_len = Length::try_from(kept.iter().map(|e| e.len()).sum::<usize>())?;
    let mut field_header = Vec::new();
    if !kept.is_empty() {
        let sequence = Header::new(Tag::Sequence, kept_len)?;
        let explicit = Header::new(extensions_tag, (sequence.encoded_len()? + kept_len)?)?;
        explicit.encode_to_vec(&mut field_header)?;
        sequence.encode_to_vec(&mut field_header)?;
    }
    let content_len = (Length::try_from(before_len + field_header.len())? + kept_len)?;
    let mut out = Vec::with_capacity(tbs_der.len());
    Header::new(Tag::Sequence, content_len)?.encode_to_vec(&mut out)?;
    for field in before {
        out.extend_from_slice(field);
    }
    out.extend_from_slice(&field_header);
    for extension in kept {
        out.extend_from_slice(extension);
    }
    Ok(out)
}

/// Byte ranges of a certificate, taken without re-encoding anything.
struct RawParts<'a> {
    tbs: &'a [u8],
    spki: &'a [u8],
}

/// Locates the TBSCertificate and SubjectPublicKeyInfo in a DER certificate. Callers have
/// already parsed it with `x509-cert`, so only the layout is walked here.
fn raw_parts(cert_der: &[u8]) -> Result<RawParts<'_>, CtError> {
    let mut reader = SliceReader::new(cert_der)?;
    let tbs = reader.sequence(|cert| {
        let tbs = cert.tlv_bytes()?;
        cert.tlv_bytes()?; // signatureAlgorithm
        cert.tlv_bytes()?; // signatureValue
        Ok(tbs)
    })?;
    reader.finish(())?;
    let mut reader = SliceReader::new(tbs)?;
    let spki = reader.sequence(|t| {
        let version_tag = Tag::ContextSpecific {
            constructed: true,
            number: TagNumber::N0,
        };
        if t.peek_tag()? == version_tag {
            t.tlv_bytes()?;
        }
        // serialNumber, signature, issuer, validity, subject
        for _ in 0..5 {
            t.tlv_bytes()?;
        }
        let spki = t.tlv_bytes()?;
        while !t.is_finished() {
            t.tlv_bytes()?;
        }
        Ok(spki)
    })?;
    reader.finish(())?;
    Ok(RawParts { tbs, spki })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference: the parsed TBSCertificate without the extension, encoded again.
    fn reencoded_without(tbs: &TbsCertificate, index: usize) -> Vec<u8> {
        let mut tbs = tbs.clone();
        remove_extension(&mut tbs, index);
        tbs.to_der().unwrap()
    }

    #[test]
    fn cutting_an_extension_out_of_the_bytes_is_reencoding_without_it() {
        let precert = sigstack_test_vectors::pem_blocks("ct/rfc6962-ctgo/test-precert.pem");
        let cert = Certificate::from_der(&precert[0]).unwrap();
        // Every position, in the certificate and in copies of it with fewer extensions, down
        // to one, whose removal drops the extensions field.
        for keep in 1..=cert.tbs_certificate.extensions.as_ref().unwrap().len() {
            let mut tbs = cert.tbs_certificate.clone();
            tbs.extensions.as_mut().unwrap().truncate(keep);
            let der = tbs.to_der().unwrap();
            for index in 0..keep {
                assert_eq!(
                    tbs_without_extension(&der, index, keep).unwrap(),
                    reencoded_without(&tbs, index),
                    "{keep} extensions, without the one at {index}"
                );
            }
            // A count that is not the certificate's is refused, not guessed at.
            assert!(tbs_without_extension(&der, 0, keep + 1).is_err());
        }
        let mut bare = cert.tbs_certificate.clone();
        bare.extensions = None;
        assert!(tbs_without_extension(&bare.to_der().unwrap(), 0, 0).is_err());
    }
}
