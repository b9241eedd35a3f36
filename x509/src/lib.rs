//! X.509 certificate building blocks, in one place for the two services that issue
//! certificates: the CA (`fulcio`: its roots, precertificates and leaves) and the timestamp
//! authority (`tsa`: its development root and timestamping leaf, and the constructor check of
//! its chain).
//!
//! Pure: no I/O, no clock, no randomness. Callers pass times in Unix seconds and serial
//! octets they drew themselves, and each profile (which extensions, in what order, how
//! critical) stays with its caller; this crate gives the pieces every profile is made of:
//!
//! | piece | function | specification |
//! |---|---|---|
//! | signatureAlgorithm of a key | [`signature_algorithm`] | RFC 5758 section 3.2, RFC 8410 section 3 (no parameters) |
//! | subject and issuer names | [`name`] | RFC 5280 section 4.1.2.4 (`O`, `CN`, UTF8String) |
//! | times and validity | [`time`], [`validity`] | RFC 5280 section 4.1.2.5 (UTCTime through 2049, GeneralizedTime from 2050) |
//! | serial numbers | [`positive_serial`] | RFC 5280 section 4.1.2.2 (positive, at most 20 octets) |
//! | key identifiers | [`key_identifier`], [`key_identifier_sha256`], [`certificate_key_identifier`] | RFC 5280 section 4.2.1.2, RFC 7093 section 2 |
//! | extensions | [`extension`], [`raw_extension`], [`basic_constraints_extension`], [`key_usage_extension`], [`extended_key_usage_extension`], [`subject_key_identifier_extension`], [`authority_key_identifier_extension`] | RFC 5280 section 4.2 |
//! | signing | [`sign_tbs`] | RFC 5280 section 4.1.1.3 |
//! | a signer and its chain | [`signer_chain`], [`check_signer_key`] | — |
//!
//! Every signature goes through [`sigstack_keys::Signer`]: the TBSCertificate is encoded here
//! and exactly those bytes are handed to the signer, so a key held in an HSM or a KMS signs
//! certificates unchanged.
//!
//! Built on RustCrypto's `x509-cert` structures, not on `rcgen` (considered for the TSA's
//! development root and leaf). rcgen 0.13 writes the extensions it knows in a fixed order of
//! its own (AuthorityKeyIdentifier first, SubjectKeyIdentifier just before BasicConstraints)
//! and its ExtendedKeyUsage always non-critical, where the TSA's certificates start with
//! BasicConstraints and RFC 3161 section 2.3 wants a critical ExtendedKeyUsage, and the CA's
//! leaves follow upstream Fulcio's order. Keeping the certificates' bytes would mean passing
//! every extension to rcgen as a custom one, leaving it only the outer SEQUENCEs to write; its
//! remote-key hook wants a raw public key and one of its static algorithm descriptions rather
//! than a [`Signer`], and its default features bring a crypto backend into these pure cores.
//! And the CA's precertificate flow (`ct`) works on `x509-cert`'s `TbsCertificate` anyway.

use std::time::Duration;

use der::asn1::{BitString, GeneralizedTime, OctetString, SetOfVec, UtcTime, Utf8StringRef};
use der::{Any, Decode, Encode};
use sha2::Digest;
use sigstack_keys::{Algorithm, KeyError, Signer};
use spki::{AlgorithmIdentifierOwned, ObjectIdentifier, SubjectPublicKeyInfoOwned};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectKeyIdentifier,
};
use x509_cert::ext::Extension;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};
use x509_cert::{Certificate, TbsCertificate};

/// ecdsa-with-SHA256 (RFC 5758 section 3.2).
pub const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
/// ecdsa-with-SHA384 (RFC 5758 section 3.2).
pub const ECDSA_WITH_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
/// id-Ed25519 (RFC 8410 section 3).
pub const ID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
/// id-ce-subjectKeyIdentifier.
pub const ID_CE_SUBJECT_KEY_IDENTIFIER: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.5.29.14");
/// id-ce-keyUsage.
pub const ID_CE_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
/// id-ce-basicConstraints.
pub const ID_CE_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
/// id-ce-authorityKeyIdentifier.
pub const ID_CE_AUTHORITY_KEY_IDENTIFIER: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.5.29.35");
/// id-ce-extKeyUsage.
pub const ID_CE_EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
/// id-at-commonName.
pub const ID_AT_COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
/// id-at-organizationName.
pub const ID_AT_ORGANIZATION: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");

/// Why a certificate piece could not be built, or a signer and its chain do not fit.
///
/// Deliberately not `#[non_exhaustive]`: the CA and the TSA map every variant onto their own
/// error types, and a new variant should make them decide what it means for them.
#[derive(Debug, thiserror::Error)]
pub enum X509Error {
    /// No certificates were given.
    #[error("the certificate chain is empty")]
    EmptyChain,
    /// A certificate of the chain is not DER X.509.
    #[error("chain certificate {index} is malformed: {reason}")]
    MalformedCertificate {
        /// Position in the chain (0 = the signer's own certificate).
        index: usize,
        /// The parser's message.
        reason: String,
    },
    /// The signer's public key is not the certificate's SubjectPublicKeyInfo.
    #[error("the signer's public key does not match the certificate's public key")]
    KeyMismatch,
    /// The signer's algorithm has no signatureAlgorithm here.
    #[error("unsupported certificate signing algorithm {0}")]
    UnsupportedAlgorithm(&'static str),
    /// A public key is not a DER SubjectPublicKeyInfo.
    #[error("malformed public key: {0}")]
    MalformedPublicKey(String),
    /// A time cannot be encoded (after the year 9999).
    #[error("time {secs} (Unix seconds) cannot be encoded")]
    InvalidTime {
        /// The time, in seconds since the Unix epoch.
        secs: u64,
    },
    /// A validity period cannot be encoded (its end overflows, or is after the year 9999).
    #[error("validity period starting at {not_before} (Unix seconds) cannot be encoded")]
    InvalidValidity {
        /// Its notBefore, in Unix seconds.
        not_before: u64,
    },
    /// A structure could not be encoded.
    #[error("cannot encode {what}")]
    Encoding {
        /// The structure.
        what: &'static str,
        /// The encoder's error.
        #[source]
        source: der::Error,
    },
    /// The signer failed.
    #[error("the certificate signer failed")]
    Signing(#[source] KeyError),
}

fn enc(what: &'static str) -> impl FnOnce(der::Error) -> X509Error {
    move |source| X509Error::Encoding { what, source }
}

/// The signatureAlgorithm of certificates signed by a key of `algorithm`, without parameters:
/// ecdsa-with-SHA256 (P-256), ecdsa-with-SHA384 (P-384), id-Ed25519.
pub fn signature_algorithm(algorithm: Algorithm) -> Result<AlgorithmIdentifierOwned, X509Error> {
    let oid = match algorithm {
        Algorithm::EcdsaP256Sha256 => ECDSA_WITH_SHA256,
        Algorithm::EcdsaP384Sha384 => ECDSA_WITH_SHA384,
        Algorithm::Ed25519 => ID_ED25519,
        other => return Err(X509Error::UnsupportedAlgorithm(other.name())),
    };
    Ok(AlgorithmIdentifierOwned {
        oid,
        parameters: None,
    })
}

/// Parses a DER SubjectPublicKeyInfo.
pub fn parse_spki(der: &[u8]) -> Result<SubjectPublicKeyInfoOwned, X509Error> {
    SubjectPublicKeyInfoOwned::from_der(der)
        .map_err(|e| X509Error::MalformedPublicKey(e.to_string()))
}

/// RFC 5280 section 4.2.1.2 method 1: the SHA-1 of the subjectPublicKey BIT STRING contents
/// (the CA's key identifiers, as upstream Fulcio's).
pub fn key_identifier(spki: &SubjectPublicKeyInfoOwned) -> [u8; 20] {
    sha1::Sha1::digest(spki.subject_public_key.raw_bytes()).into()
}

/// RFC 7093 section 2 method 1: the leftmost 160 bits of the SHA-256 of the subjectPublicKey
/// BIT STRING contents (the TSA's key identifiers).
pub fn key_identifier_sha256(spki: &SubjectPublicKeyInfoOwned) -> [u8; 20] {
    let digest = sha2::Sha256::digest(spki.subject_public_key.raw_bytes());
    let mut out = [0u8; 20];
    out.copy_from_slice(&digest[..20]);
    out
}

/// The keyIdentifier of `tbs`'s SubjectKeyIdentifier extension, if it has one that parses:
/// what certificates it issues name in their AuthorityKeyIdentifier.
pub fn certificate_key_identifier(tbs: &TbsCertificate) -> Option<Vec<u8>> {
    tbs.get::<SubjectKeyIdentifier>()
        .ok()
        .flatten()
        .map(|(_, ski)| ski.0.as_bytes().to_vec())
}

/// The name `O=<organization>, CN=<common_name>` (in that order, one attribute per RDN), both
/// UTF8String.
pub fn name(organization: &str, common_name: &str) -> Result<Name, X509Error> {
    let rdn =
        |oid: ObjectIdentifier, value: &str| -> Result<RelativeDistinguishedName, X509Error> {
            let value = Any::encode_from(&Utf8StringRef::new(value).map_err(enc("name"))?)
                .map_err(enc("name"))?;
            let set = SetOfVec::try_from(vec![AttributeTypeAndValue { oid, value }])
                .map_err(enc("name"))?;
            Ok(RelativeDistinguishedName(set))
        };
    Ok(RdnSequence(vec![
        rdn(ID_AT_ORGANIZATION, organization)?,
        rdn(ID_AT_COMMON_NAME, common_name)?,
    ]))
}

/// `secs` (since the Unix epoch) as RFC 5280 section 4.1.2.5 wants it: UTCTime through 2049,
/// GeneralizedTime from 2050 on. Also the rule of CMS signingTime (RFC 5652 section 11.3).
pub fn time(secs: u64) -> Result<Time, X509Error> {
    let invalid = |_| X509Error::InvalidTime { secs };
    let dt = der::DateTime::from_unix_duration(Duration::from_secs(secs)).map_err(invalid)?;
    if dt.year() < 2050 {
        Ok(Time::UtcTime(UtcTime::from_date_time(dt).map_err(invalid)?))
    } else {
        Ok(Time::GeneralTime(GeneralizedTime::from_date_time(dt)))
    }
}

/// notBefore `not_before` and notAfter `not_before + lifetime_secs`, each encoded by [`time`].
/// Any failure is [`X509Error::InvalidValidity`].
pub fn validity(not_before: u64, lifetime_secs: u64) -> Result<Validity, X509Error> {
    let invalid = |_| X509Error::InvalidValidity { not_before };
    let not_after = not_before
        .checked_add(lifetime_secs)
        .ok_or(X509Error::InvalidValidity { not_before })?;
    Ok(Validity {
        not_before: time(not_before).map_err(invalid)?,
        not_after: time(not_after).map_err(invalid)?,
    })
}

/// `octets` as a positive INTEGER serial number: the top bit of the first octet is cleared.
/// DER drops leading zero octets; more than 20 octets left is an error (RFC 5280 section
/// 4.1.2.2). All-zero octets give the serial 0; callers that draw fewer random bits rule it out.
pub fn positive_serial(octets: &[u8]) -> Result<SerialNumber, X509Error> {
    let mut octets = octets.to_vec();
    if let Some(first) = octets.first_mut() {
        *first &= 0x7f;
    }
    SerialNumber::new(&octets).map_err(enc("serial number"))
}

/// An extension whose extnValue is the DER of `value`.
pub fn extension(
    oid: ObjectIdentifier,
    critical: bool,
    value: &impl Encode,
) -> Result<Extension, X509Error> {
    let der = value.to_der().map_err(enc("extension"))?;
    raw_extension(oid, critical, der)
}

/// An extension whose extnValue is `value`, already DER.
pub fn raw_extension(
    oid: ObjectIdentifier,
    critical: bool,
    value: Vec<u8>,
) -> Result<Extension, X509Error> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value).map_err(enc("extension"))?,
    })
}

/// The BasicConstraints extension, critical (RFC 5280 section 4.2.1.9): `ca`, and for a CA
/// the `path_len_constraint` if any.
pub fn basic_constraints_extension(
    ca: bool,
    path_len_constraint: Option<u8>,
) -> Result<Extension, X509Error> {
    let value = BasicConstraints {
        ca,
        path_len_constraint,
    };
    extension(ID_CE_BASIC_CONSTRAINTS, true, &value)
}

/// The KeyUsage extension, critical (RFC 5280 section 4.2.1.3: conforming CAs SHOULD mark it
/// so).
pub fn key_usage_extension(usage: KeyUsage) -> Result<Extension, X509Error> {
    extension(ID_CE_KEY_USAGE, true, &usage)
}

/// The ExtendedKeyUsage extension listing `purposes` (RFC 5280 section 4.2.1.12), `critical`
/// as the profile wants (RFC 3161 section 2.3 wants it critical for a TSA).
pub fn extended_key_usage_extension(
    purposes: Vec<ObjectIdentifier>,
    critical: bool,
) -> Result<Extension, X509Error> {
    extension(ID_CE_EXT_KEY_USAGE, critical, &ExtendedKeyUsage(purposes))
}

/// The SubjectKeyIdentifier extension (non-critical, RFC 5280 section 4.2.1.2) for
/// `key_identifier`.
pub fn subject_key_identifier_extension(key_identifier: &[u8]) -> Result<Extension, X509Error> {
    let ski = SubjectKeyIdentifier(
        OctetString::new(key_identifier).map_err(enc("SubjectKeyIdentifier"))?,
    );
    extension(ID_CE_SUBJECT_KEY_IDENTIFIER, false, &ski)
}

/// The AuthorityKeyIdentifier extension (non-critical, RFC 5280 section 4.2.1.1) naming only
/// the issuer's `key_identifier`.
pub fn authority_key_identifier_extension(key_identifier: &[u8]) -> Result<Extension, X509Error> {
    let aki = AuthorityKeyIdentifier {
        key_identifier: Some(
            OctetString::new(key_identifier).map_err(enc("AuthorityKeyIdentifier"))?,
        ),
        authority_cert_issuer: None,
        authority_cert_serial_number: None,
    };
    extension(ID_CE_AUTHORITY_KEY_IDENTIFIER, false, &aki)
}

/// Encodes `tbs`, has `signer` sign exactly those bytes and returns the DER Certificate, its
/// signatureAlgorithm copied from `tbs.signature`.
pub fn sign_tbs(signer: &dyn Signer, tbs: TbsCertificate) -> Result<Vec<u8>, X509Error> {
    let tbs_der = tbs.to_der().map_err(enc("TBSCertificate"))?;
    let signature = signer.sign(&tbs_der).map_err(X509Error::Signing)?;
    certificate_der(&tbs_der, &tbs.signature, &signature)
}

/// The DER Certificate `SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }` around
/// `tbs_der`, the bytes that were signed, taken as they are: `Certificate::to_der` would encode
/// the TBSCertificate a second time (work on every certificate the CA issues), and this way the
/// signed bytes are in the certificate by construction.
fn certificate_der(
    tbs_der: &[u8],
    algorithm: &AlgorithmIdentifierOwned,
    signature: &[u8],
) -> Result<Vec<u8>, X509Error> {
    let algorithm_der = algorithm.to_der().map_err(enc("signatureAlgorithm"))?;
    let signature_der = BitString::from_bytes(signature)
        .and_then(|bits| bits.to_der())
        .map_err(enc("signature"))?;
    let content_len = tbs_der.len() + algorithm_der.len() + signature_der.len();
    let header = der::Header::new(
        der::Tag::Sequence,
        der::Length::try_from(content_len).map_err(enc("certificate"))?,
    )
    .map_err(enc("certificate"))?;
    let mut out = Vec::with_capacity(content_len + 8);
    header.encode_to_vec(&mut out).map_err(enc("certificate"))?;
    out.extend_from_slice(tbs_der);
    out.extend_from_slice(&algorithm_der);
    out.extend_from_slice(&signature_der);
    Ok(out)
}

/// Checks that `signer`'s public key is `spki` (an unparsable signer key does not match
/// either).
pub fn check_signer_key(
    signer: &dyn Signer,
    spki: &SubjectPublicKeyInfoOwned,
) -> Result<(), X509Error> {
    match SubjectPublicKeyInfoOwned::from_der(signer.public_key_der()) {
        Ok(signer_spki) if signer_spki == *spki => Ok(()),
        _ => Err(X509Error::KeyMismatch),
    }
}

/// Parses `chain` (DER, the signer's own certificate first) and checks that `signer`'s public
/// key is the SubjectPublicKeyInfo of `chain[0]`, so that what it signs chains to that
/// certificate: the invariant of an issuing CA and of a timestamp authority.
pub fn signer_chain(signer: &dyn Signer, chain: &[Vec<u8>]) -> Result<Vec<Certificate>, X509Error> {
    let certs = chain
        .iter()
        .enumerate()
        .map(|(index, der)| {
            Certificate::from_der(der).map_err(|e| X509Error::MalformedCertificate {
                index,
                reason: e.to_string(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let first = certs.first().ok_or(X509Error::EmptyChain)?;
    check_signer_key(signer, &first.tbs_certificate.subject_public_key_info)?;
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::Tagged;
    use sigstack_keys::{PublicKey, SoftwareKey};
    use x509_cert::ext::pkix::KeyUsages;
    use x509_cert::Version;

    /// 2050-01-01T00:00:00Z.
    const Y2050: u64 = 2_524_608_000;
    const NOW: u64 = 1_783_500_000;

    /// The Ed25519 public key of RFC 8410 section 10.1.
    const RFC8410_SPKI: &str =
        "302a300506032b657003210019bf44096984cdfe8541bac167dc3b96c85086aa30b6b6cb0c5c38ad703166e1";

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn certificates_are_what_the_der_encoder_writes() {
        // Ed25519 (64-octet signature, short lengths) and P-384 (longer DER signature).
        for algorithm in [Algorithm::Ed25519, Algorithm::EcdsaP384Sha384] {
            let key = SoftwareKey::generate(algorithm);
            let der = self_signed(&key, &[1, 2, 3], NOW);
            let parsed = Certificate::from_der(&der).unwrap();
            assert_eq!(parsed.to_der().unwrap(), der, "{algorithm:?}");
        }
    }

    /// A self-signed CA certificate for `key`, built from the pieces of this crate.
    fn self_signed(key: &dyn Signer, serial: &[u8], not_before: u64) -> Vec<u8> {
        let spki = parse_spki(key.public_key_der()).unwrap();
        let name = name("sigstack", "x509 test").unwrap();
        let key_id = key_identifier(&spki);
        let extensions = vec![
            basic_constraints_extension(true, None).unwrap(),
            key_usage_extension(KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign)).unwrap(),
            subject_key_identifier_extension(&key_id).unwrap(),
            authority_key_identifier_extension(&key_id).unwrap(),
        ];
        let tbs = TbsCertificate {
            version: Version::V3,
            serial_number: positive_serial(serial).unwrap(),
            signature: signature_algorithm(key.algorithm()).unwrap(),
            issuer: name.clone(),
            validity: validity(not_before, 3600).unwrap(),
            subject: name,
            subject_public_key_info: spki,
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: Some(extensions),
        };
        sign_tbs(key, tbs).unwrap()
    }

    #[test]
    fn times_switch_to_generalized_time_in_2050() {
        let Time::UtcTime(last) = time(Y2050 - 1).unwrap() else {
            panic!("2049 must be UTCTime");
        };
        // UTCTime 491231235959Z.
        assert_eq!(last.to_der().unwrap()[2..], *b"491231235959Z");
        let Time::GeneralTime(first) = time(Y2050).unwrap() else {
            panic!("2050 must be GeneralizedTime");
        };
        assert_eq!(first.to_der().unwrap()[2..], *b"20500101000000Z");
        assert_eq!(time(0).unwrap().to_unix_duration().as_secs(), 0);
        // A validity across the switch mixes the two, as RFC 5280 wants.
        let v = validity(Y2050 - 10, 20).unwrap();
        assert!(matches!(v.not_before, Time::UtcTime(_)));
        assert!(matches!(v.not_after, Time::GeneralTime(_)));
        assert_eq!(v.not_after.to_unix_duration().as_secs(), Y2050 + 10);
        // Year 10000 and beyond cannot be written; nor can an overflowing end.
        assert!(matches!(
            time(300_000_000_000),
            Err(X509Error::InvalidTime {
                secs: 300_000_000_000
            })
        ));
        assert!(matches!(
            validity(300_000_000_000, 1),
            Err(X509Error::InvalidValidity {
                not_before: 300_000_000_000
            })
        ));
        assert!(matches!(
            validity(u64::MAX, 1),
            Err(X509Error::InvalidValidity {
                not_before: u64::MAX
            })
        ));
    }

    #[test]
    fn serials_are_positive_with_the_top_bit_cleared() {
        let serial = positive_serial(&[0xff; 20]).unwrap();
        assert_eq!(serial.as_bytes().len(), 20);
        assert_eq!(serial.as_bytes()[0], 0x7f);
        assert_eq!(serial.as_bytes()[1..], [0xff; 19]);
        // INTEGER 02 14 7f ff ..: positive, no padding octet needed.
        assert_eq!(serial.to_der().unwrap()[..3], [0x02, 0x14, 0x7f]);
        // A first octet of 0x80 becomes 0x00, which DER drops: 19 octets, not negative.
        let mut octets = [0x80u8; 20];
        octets[1] = 0x01;
        let serial = positive_serial(&octets).unwrap();
        assert_eq!(serial.as_bytes()[0], 0x01);
        assert_eq!(serial.as_bytes().len(), 19);
        // 16 octets stay 16.
        assert_eq!(positive_serial(&[0x9c; 16]).unwrap().as_bytes()[0], 0x1c);
        // More than 20 octets is refused.
        assert!(matches!(
            positive_serial(&[0x11; 21]),
            Err(X509Error::Encoding { .. })
        ));
    }

    #[test]
    fn key_identifiers_hash_the_public_key_bits() {
        let spki = parse_spki(&unhex(RFC8410_SPKI)).unwrap();
        // Computed independently: SHA-1 and SHA-256 of the 32 key octets
        // 19bf4409..703166e1.
        assert_eq!(
            key_identifier(&spki).to_vec(),
            unhex("a28cc1f86e5960d3e03ae75c962c97a8d448293c")
        );
        assert_eq!(
            key_identifier_sha256(&spki).to_vec(),
            unhex("e744c0791320c3285460eddb523f14c88d857ada")
        );
        assert!(matches!(
            parse_spki(b"junk"),
            Err(X509Error::MalformedPublicKey(_))
        ));
    }

    #[test]
    fn names_are_organization_then_common_name_in_utf8() {
        let n = name("sigstack", "Grüße CA").unwrap();
        assert_eq!(n.0.len(), 2);
        let attrs: Vec<_> = n.0.iter().map(|rdn| rdn.0.as_slice()).collect();
        assert_eq!(attrs[0][0].oid, ID_AT_ORGANIZATION);
        assert_eq!(attrs[1][0].oid, ID_AT_COMMON_NAME);
        // UTF8String (tag 12) holding the text as given.
        assert_eq!(attrs[1][0].value.tag(), der::Tag::Utf8String);
        assert_eq!(attrs[1][0].value.value(), "Grüße CA".as_bytes());
    }

    #[test]
    fn signature_algorithms_have_no_parameters() {
        for (alg, oid) in [
            (Algorithm::EcdsaP256Sha256, "1.2.840.10045.4.3.2"),
            (Algorithm::EcdsaP384Sha384, "1.2.840.10045.4.3.3"),
            (Algorithm::Ed25519, "1.3.101.112"),
        ] {
            let id = signature_algorithm(alg).unwrap();
            assert_eq!(id.oid.to_string(), oid);
            assert!(id.parameters.is_none());
        }
    }

    #[test]
    fn extensions_carry_the_der_of_their_value() {
        let e = basic_constraints_extension(false, None).unwrap();
        assert_eq!(e.extn_id, ID_CE_BASIC_CONSTRAINTS);
        assert!(e.critical);
        // BasicConstraints with the DEFAULT cA FALSE left out: an empty SEQUENCE.
        assert_eq!(e.extn_value.as_bytes(), [0x30, 0x00]);
        let e = basic_constraints_extension(true, Some(0)).unwrap();
        assert_eq!(
            e.extn_value.as_bytes(),
            [0x30, 0x06, 0x01, 0x01, 0xff, 0x02, 0x01, 0x00]
        );
        let e = key_usage_extension(KeyUsage(KeyUsages::DigitalSignature.into())).unwrap();
        assert_eq!(e.extn_id, ID_CE_KEY_USAGE);
        assert!(e.critical);
        // BIT STRING, 7 unused bits, digitalSignature (bit 0).
        assert_eq!(e.extn_value.as_bytes(), [0x03, 0x02, 0x07, 0x80]);
        let time_stamping = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");
        let e = extended_key_usage_extension(vec![time_stamping], true).unwrap();
        assert_eq!(e.extn_id, ID_CE_EXT_KEY_USAGE);
        assert!(e.critical);
        assert_eq!(
            e.extn_value.as_bytes(),
            [0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08]
        );
        let e = raw_extension(ID_CE_KEY_USAGE, false, vec![0x05, 0x00]).unwrap();
        assert!(!e.critical);
        assert_eq!(e.extn_value.as_bytes(), [0x05, 0x00]);
        let ski = subject_key_identifier_extension(&[1, 2, 3]).unwrap();
        assert_eq!(ski.extn_id, ID_CE_SUBJECT_KEY_IDENTIFIER);
        assert!(!ski.critical);
        assert_eq!(ski.extn_value.as_bytes(), [0x04, 0x03, 1, 2, 3]);
        let aki = authority_key_identifier_extension(&[1, 2, 3]).unwrap();
        assert_eq!(aki.extn_id, ID_CE_AUTHORITY_KEY_IDENTIFIER);
        assert!(!aki.critical);
        // SEQUENCE { [0] IMPLICIT keyIdentifier }.
        assert_eq!(aki.extn_value.as_bytes(), [0x30, 0x05, 0x80, 0x03, 1, 2, 3]);
    }

    #[test]
    fn certificates_signed_through_a_software_key_parse_and_verify() {
        for alg in [
            Algorithm::EcdsaP256Sha256,
            Algorithm::EcdsaP384Sha384,
            Algorithm::Ed25519,
        ] {
            let key = SoftwareKey::generate(alg);
            let der = self_signed(&key, &[0xc3; 20], NOW);
            let cert = Certificate::from_der(&der).unwrap();
            assert_eq!(cert.to_der().unwrap(), der, "{alg:?}: DER round trip");
            let tbs = &cert.tbs_certificate;
            assert_eq!(cert.signature_algorithm, signature_algorithm(alg).unwrap());
            assert_eq!(tbs.signature, cert.signature_algorithm);
            assert_eq!(tbs.serial_number.as_bytes()[0], 0x43);
            assert_eq!(tbs.issuer, tbs.subject);
            assert_eq!(tbs.validity.not_before.to_unix_duration().as_secs(), NOW);
            assert_eq!(
                tbs.validity.not_after.to_unix_duration().as_secs(),
                NOW + 3600
            );
            assert_eq!(
                tbs.subject_public_key_info.to_der().unwrap(),
                key.public_key_der()
            );
            let spki = parse_spki(key.public_key_der()).unwrap();
            assert_eq!(
                certificate_key_identifier(tbs).unwrap(),
                key_identifier(&spki)
            );
            // The signature covers the TBSCertificate's DER and verifies with the key.
            let public = PublicKey::from_spki_der(key.public_key_der()).unwrap();
            let signature = cert.signature.as_bytes().unwrap();
            public
                .verify(&tbs.to_der().unwrap(), signature)
                .unwrap_or_else(|e| panic!("{alg:?}: {e}"));
            let mut tampered = tbs.to_der().unwrap();
            *tampered.last_mut().unwrap() ^= 1;
            assert!(public.verify(&tampered, signature).is_err());
            // And the signer's chain is accepted.
            assert_eq!(signer_chain(&key, &[der]).unwrap().len(), 1);
        }
    }

    #[test]
    fn a_signer_whose_key_is_not_the_certificates_is_refused() {
        let key = SoftwareKey::generate(Algorithm::EcdsaP256Sha256);
        let other = SoftwareKey::generate(Algorithm::EcdsaP256Sha256);
        let cert = self_signed(&key, &[1; 16], NOW);
        assert!(matches!(
            signer_chain(&other, std::slice::from_ref(&cert)),
            Err(X509Error::KeyMismatch)
        ));
        let parsed = Certificate::from_der(&cert).unwrap();
        assert!(matches!(
            check_signer_key(&other, &parsed.tbs_certificate.subject_public_key_info),
            Err(X509Error::KeyMismatch)
        ));
        check_signer_key(&key, &parsed.tbs_certificate.subject_public_key_info).unwrap();
        assert!(matches!(
            signer_chain(&key, &[]),
            Err(X509Error::EmptyChain)
        ));
        assert!(matches!(
            signer_chain(&key, &[cert.clone(), b"junk".to_vec()]),
            Err(X509Error::MalformedCertificate { index: 1, .. })
        ));
        // Only the first certificate carries the signer's key.
        assert!(matches!(
            signer_chain(&key, &[self_signed(&other, &[2; 16], NOW), cert]),
            Err(X509Error::KeyMismatch)
        ));
    }

    #[test]
    fn a_certificate_without_subject_key_identifier_has_no_key_identifier() {
        let key = SoftwareKey::generate(Algorithm::Ed25519);
        let mut cert = Certificate::from_der(&self_signed(&key, &[5; 16], NOW)).unwrap();
        cert.tbs_certificate
            .extensions
            .as_mut()
            .unwrap()
            .retain(|e| e.extn_id != ID_CE_SUBJECT_KEY_IDENTIFIER);
        assert_eq!(certificate_key_identifier(&cert.tbs_certificate), None);
    }
}
