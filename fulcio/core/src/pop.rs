//! Proof of possession: the requester shows it holds the private key it wants certified.
//!
//! Two forms, as Sigstore clients send them: a PKCS#10 CSR (sigstore-python) whose
//! self-signature proves possession, or a bare public key plus a signature over the token's
//! challenge claim (sigstore-js; upstream `pkg/challenges`). Both enforce the same key policy:
//! ECDSA P-256/P-384/P-521, Ed25519, RSA 2048–4096 bits.

use der::{Decode, Encode};
use sha2::Digest;
use spki::ObjectIdentifier;

/// The kinds of key we certify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyType {
    /// ECDSA on NIST P-256.
    EcdsaP256,
    /// ECDSA on NIST P-384.
    EcdsaP384,
    /// ECDSA on NIST P-521.
    EcdsaP521,
    /// Ed25519.
    Ed25519,
    /// RSA with the given modulus length.
    Rsa {
        /// Modulus length in bits.
        bits: usize,
    },
}

/// A public key whose holder proved possession, ready to go into a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedKey {
    /// What kind of key.
    pub key_type: KeyType,
    /// The DER SubjectPublicKeyInfo, to copy into the certificate.
    pub spki_der: Vec<u8>,
}

/// Why a proof of possession was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PopError {
    /// The CSR is not PEM or DER PKCS#10.
    #[error("malformed certificate signing request: {0}")]
    MalformedCsr(String),
    /// The public key is not a PEM or DER SubjectPublicKeyInfo.
    #[error("malformed public key: {0}")]
    MalformedPublicKey(String),
    /// Not EC, Ed25519 or RSA.
    #[error("unsupported public key algorithm {0}")]
    UnsupportedKeyAlgorithm(String),
    /// An EC curve we do not accept.
    #[error("unsupported elliptic curve {0}: only P-256, P-384 and P-521 are accepted")]
    UnsupportedCurve(String),
    /// RSA outside 2048–4096 bits.
    #[error("RSA key of {bits} bits not accepted: must be 2048 to 4096 bits")]
    RsaKeySize {
        /// Modulus length.
        bits: usize,
    },
    /// The CSR's signature algorithm is not one we verify.
    #[error("unsupported CSR signature algorithm {0}")]
    UnsupportedSignatureAlgorithm(String),
    /// The signature algorithm does not fit the key (e.g. ecdsa-with-SHA256 on an RSA key).
    #[error("signature algorithm {alg} does not fit a {key:?} key")]
    AlgorithmKeyMismatch {
        /// Signature algorithm OID.
        alg: String,
        /// Key type.
        key: KeyType,
    },
    /// The CSR's self-signature does not verify.
    #[error("CSR signature does not verify with the CSR's public key")]
    CsrSignatureInvalid,
    /// The proof-of-possession signature does not verify over the challenge.
    #[error("proof-of-possession signature does not verify over the challenge {challenge:?} (the token's challenge claim)")]
    ChallengeSignatureInvalid {
        /// What had to be signed.
        challenge: String,
    },
}

const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const ID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const P521: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const ECDSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");
const RSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const RSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const RSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");

/// Largest CSR or key input accepted, in bytes (an RSA-4096 CSR in PEM is about 2 KiB).
const MAX_INPUT: usize = 16 * 1024;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

fn digest(h: Hash, msg: &[u8]) -> Vec<u8> {
    match h {
        Hash::Sha256 => sha2::Sha256::digest(msg).to_vec(),
        Hash::Sha384 => sha2::Sha384::digest(msg).to_vec(),
        Hash::Sha512 => sha2::Sha512::digest(msg).to_vec(),
    }
}

/// A parsed public key that passed the policy.
enum Key {
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    P521(p521::ecdsa::VerifyingKey),
    Ed25519(ed25519_dalek::VerifyingKey),
    Rsa(rsa::RsaPublicKey, usize),
}

impl Key {
    fn key_type(&self) -> KeyType {
        match self {
            Key::P256(_) => KeyType::EcdsaP256,
            Key::P384(_) => KeyType::EcdsaP384,
            Key::P521(_) => KeyType::EcdsaP521,
            Key::Ed25519(_) => KeyType::Ed25519,
            Key::Rsa(_, bits) => KeyType::Rsa { bits: *bits },
        }
    }

    /// Verifies a signature: ECDSA (DER) and RSA PKCS#1 v1.5 over `hash(msg)`, Ed25519 over `msg`.
    fn verify(&self, hash: Hash, msg: &[u8], sig: &[u8]) -> bool {
        use ecdsa::signature::hazmat::PrehashVerifier;
        let d = digest(hash, msg);
        match self {
            Key::P256(k) => p256::ecdsa::Signature::from_der(sig)
                .is_ok_and(|s| k.verify_prehash(&d, &s).is_ok()),
            Key::P384(k) => p384::ecdsa::Signature::from_der(sig)
                .is_ok_and(|s| k.verify_prehash(&d, &s).is_ok()),
            Key::P521(k) => {
                // RustCrypto refuses prehashes shorter than half the field (SHA-256 on P-521,
                // which OpenSSL uses by default). Left-padding to the field size keeps the
                // integer, and so the ECDSA result, unchanged (SEC 1 §4.1.4 step 5).
                let mut padded = vec![0u8; 66usize.saturating_sub(d.len())];
                padded.extend_from_slice(&d);
                p521::ecdsa::Signature::from_der(sig)
                    .is_ok_and(|s| k.verify_prehash(&padded, &s).is_ok())
            }
            Key::Ed25519(k) => ed25519_dalek::Signature::from_slice(sig)
                .is_ok_and(|s| k.verify_strict(msg, &s).is_ok()),
            Key::Rsa(k, _) => {
                let scheme = match hash {
                    Hash::Sha256 => rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
                    Hash::Sha384 => rsa::Pkcs1v15Sign::new::<sha2::Sha384>(),
                    Hash::Sha512 => rsa::Pkcs1v15Sign::new::<sha2::Sha512>(),
                };
                k.verify(scheme, &d, sig).is_ok()
            }
        }
    }
}

fn parse_spki(der: &[u8]) -> Result<Key, PopError> {
    let bad = |m: String| PopError::MalformedPublicKey(m);
    let spki = spki::SubjectPublicKeyInfoRef::from_der(der).map_err(|e| bad(e.to_string()))?;
    let bits = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| bad("public key bit string has unused bits".into()))?;
    let oid = spki.algorithm.oid;
    if oid == ID_EC_PUBLIC_KEY {
        let curve: ObjectIdentifier = spki
            .algorithm
            .parameters
            .ok_or_else(|| bad("EC key without curve parameters".into()))?
            .decode_as()
            .map_err(|e| bad(format!("EC curve parameter: {e}")))?;
        let point = |e: &dyn std::fmt::Display| bad(format!("invalid EC point: {e}"));
        Ok(match curve {
            c if c == P256 => {
                Key::P256(p256::ecdsa::VerifyingKey::from_sec1_bytes(bits).map_err(|e| point(&e))?)
            }
            c if c == P384 => {
                Key::P384(p384::ecdsa::VerifyingKey::from_sec1_bytes(bits).map_err(|e| point(&e))?)
            }
            c if c == P521 => {
                Key::P521(p521::ecdsa::VerifyingKey::from_sec1_bytes(bits).map_err(|e| point(&e))?)
            }
            c => return Err(PopError::UnsupportedCurve(curve_name(c))),
        })
    } else if oid == ID_ED25519 {
        let raw: [u8; 32] = bits
            .try_into()
            .map_err(|_| bad("Ed25519 key is not 32 bytes".into()))?;
        Ok(Key::Ed25519(
            ed25519_dalek::VerifyingKey::from_bytes(&raw).map_err(|e| bad(e.to_string()))?,
        ))
    } else if oid == RSA_ENCRYPTION {
        let pk =
            rsa::pkcs1::RsaPublicKey::from_der(bits).map_err(|e| bad(format!("RSA key: {e}")))?;
        let n = pk.modulus.as_bytes();
        let bits_len =
            (n.len() * 8).saturating_sub(n.first().map_or(0, |b| b.leading_zeros() as usize));
        if !(2048..=4096).contains(&bits_len) {
            return Err(PopError::RsaKeySize { bits: bits_len });
        }
        let key = rsa::RsaPublicKey::new(
            rsa::BigUint::from_bytes_be(n),
            rsa::BigUint::from_bytes_be(pk.public_exponent.as_bytes()),
        )
        .map_err(|e| bad(format!("RSA key: {e}")))?;
        Ok(Key::Rsa(key, bits_len))
    } else {
        Err(PopError::UnsupportedKeyAlgorithm(oid.to_string()))
    }
}

fn curve_name(c: ObjectIdentifier) -> String {
    match c.to_string().as_str() {
        "1.2.840.10045.3.1.1" => "P-192 (prime192v1)".into(),
        "1.3.132.0.33" => "P-224 (secp224r1)".into(),
        "1.3.132.0.10" => "secp256k1".into(),
        other => other.into(),
    }
}

/// PEM (any of `labels`) or DER input → DER.
fn pem_or_der(input: &[u8], labels: &[&str]) -> Result<Vec<u8>, String> {
    if input.len() > MAX_INPUT {
        return Err(format!(
            "input is {} bytes, more than {MAX_INPUT}",
            input.len()
        ));
    }
    let trimmed = input.trim_ascii_start();
    if trimmed.starts_with(b"-----BEGIN") {
        let (label, der) = der::pem::decode_vec(trimmed).map_err(|e| format!("PEM: {e}"))?;
        if !labels.contains(&label) {
            return Err(format!("PEM label {label:?}, expected {labels:?}"));
        }
        Ok(der)
    } else {
        Ok(input.to_vec())
    }
}

/// Verifies a PEM or DER PKCS#10 CSR's self-signature and key policy and returns its key.
/// The CSR's subject and attributes are ignored: identity comes from the token only.
pub fn verify_csr(csr: &[u8]) -> Result<VerifiedKey, PopError> {
    let der = pem_or_der(csr, &["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"])
        .map_err(PopError::MalformedCsr)?;
    let req = x509_cert::request::CertReq::from_der(&der)
        .map_err(|e| PopError::MalformedCsr(e.to_string()))?;
    let spki_der = req
        .info
        .public_key
        .to_der()
        .map_err(|e| PopError::MalformedCsr(e.to_string()))?;
    let key = parse_spki(&spki_der)?;
    let alg = req.algorithm.oid;
    let hash = match alg {
        a if a == ECDSA_SHA256 || a == RSA_SHA256 => Hash::Sha256,
        a if a == ECDSA_SHA384 || a == RSA_SHA384 => Hash::Sha384,
        a if a == ECDSA_SHA512 || a == RSA_SHA512 => Hash::Sha512,
        a if a == ID_ED25519 => Hash::Sha512, // unused for Ed25519
        a => return Err(PopError::UnsupportedSignatureAlgorithm(a.to_string())),
    };
    let is_ecdsa_alg = [ECDSA_SHA256, ECDSA_SHA384, ECDSA_SHA512].contains(&alg);
    let is_rsa_alg = [RSA_SHA256, RSA_SHA384, RSA_SHA512].contains(&alg);
    let fits = match key {
        Key::P256(_) | Key::P384(_) | Key::P521(_) => is_ecdsa_alg,
        Key::Rsa(..) => is_rsa_alg,
        Key::Ed25519(_) => alg == ID_ED25519,
    };
    if !fits {
        return Err(PopError::AlgorithmKeyMismatch {
            alg: alg.to_string(),
            key: key.key_type(),
        });
    }
    let info = req
        .info
        .to_der()
        .map_err(|e| PopError::MalformedCsr(e.to_string()))?;
    let sig = req
        .signature
        .as_bytes()
        .ok_or_else(|| PopError::MalformedCsr("signature bit string has unused bits".into()))?;
    if !key.verify(hash, &info, sig) {
        return Err(PopError::CsrSignatureInvalid);
    }
    Ok(VerifiedKey {
        key_type: key.key_type(),
        spki_der,
    })
}

/// Verifies `signature` over `challenge` (the token's challenge claim, normally `sub` or
/// `email`) with a PEM or DER SubjectPublicKeyInfo, as upstream's `LoadDefaultVerifier` does:
/// ECDSA (ASN.1 DER signature) with SHA-256/384/512 for P-256/384/521, RSA PKCS#1 v1.5 with
/// SHA-256, pure Ed25519.
pub fn verify_signed_challenge(
    public_key: &[u8],
    signature: &[u8],
    challenge: &str,
) -> Result<VerifiedKey, PopError> {
    let der = pem_or_der(public_key, &["PUBLIC KEY"]).map_err(PopError::MalformedPublicKey)?;
    let key = parse_spki(&der)?;
    let hash = match key {
        Key::P384(_) => Hash::Sha384,
        Key::P521(_) => Hash::Sha512,
        _ => Hash::Sha256,
    };
    if !key.verify(hash, challenge.as_bytes(), signature) {
        return Err(PopError::ChallengeSignatureInvalid {
            challenge: challenge.to_owned(),
        });
    }
    Ok(VerifiedKey {
        key_type: key.key_type(),
        spki_der: der,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHALLENGE: &str = "repo:o/r:ref:refs/heads/main";

    fn data(name: &str) -> Vec<u8> {
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("testdata")
                .join(name),
        )
        .unwrap()
    }

    #[test]
    fn openssl_csrs_verify() {
        for (name, kt) in [
            ("p256", KeyType::EcdsaP256),
            ("p384", KeyType::EcdsaP384),
            ("p521", KeyType::EcdsaP521),
            ("ed25519", KeyType::Ed25519),
            ("rsa2048", KeyType::Rsa { bits: 2048 }),
        ] {
            let k = verify_csr(&data(&format!("{name}.csr.pem")))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(k.key_type, kt);
            let pub_der = pem_or_der(&data(&format!("{name}.pub.pem")), &["PUBLIC KEY"]).unwrap();
            assert_eq!(k.spki_der, pub_der, "{name}");
        }
        assert_eq!(
            verify_csr(&data("p384.csr.der")).unwrap().key_type,
            KeyType::EcdsaP384
        );
    }

    #[test]
    fn weak_and_unsupported_keys_refused() {
        assert_eq!(
            verify_csr(&data("rsa1024.csr.pem")),
            Err(PopError::RsaKeySize { bits: 1024 })
        );
        assert_eq!(
            verify_csr(&data("rsa8192.csr.pem")),
            Err(PopError::RsaKeySize { bits: 8192 })
        );
        let e = verify_csr(&data("p192.csr.pem")).unwrap_err();
        assert!(e.to_string().contains("P-192"), "{e}");
        let e = verify_csr(&data("k256.csr.pem")).unwrap_err();
        assert!(e.to_string().contains("secp256k1"), "{e}");
        let e = verify_signed_challenge(&data("rsa1024.pub.pem"), b"x", CHALLENGE).unwrap_err();
        assert_eq!(e, PopError::RsaKeySize { bits: 1024 });
    }

    #[test]
    fn tampered_csr_fails_signature() {
        let der = pem_or_der(&data("p256.csr.pem"), &["CERTIFICATE REQUEST"]).unwrap();
        let mut req = x509_cert::request::CertReq::from_der(&der).unwrap();
        // Swap in another key: the signature no longer matches.
        let other = pem_or_der(&data("p384.csr.pem"), &["CERTIFICATE REQUEST"]).unwrap();
        let other = x509_cert::request::CertReq::from_der(&other).unwrap();
        req.info.public_key = other.info.public_key;
        let e = verify_csr(&req.to_der().unwrap()).unwrap_err();
        assert_eq!(e, PopError::CsrSignatureInvalid);
        // Flip a bit in the signature.
        let mut der2 = der.clone();
        let n = der2.len();
        der2[n - 5] ^= 1;
        assert!(verify_csr(&der2).is_err());
    }

    #[test]
    fn csr_algorithm_must_fit_key_and_be_supported() {
        let der = pem_or_der(&data("p256.csr.pem"), &["CERTIFICATE REQUEST"]).unwrap();
        let mut req = x509_cert::request::CertReq::from_der(&der).unwrap();
        req.algorithm.oid = RSA_SHA256;
        let e = verify_csr(&req.to_der().unwrap()).unwrap_err();
        assert!(matches!(e, PopError::AlgorithmKeyMismatch { .. }), "{e}");
        req.algorithm.oid = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10"); // RSASSA-PSS
        let e = verify_csr(&req.to_der().unwrap()).unwrap_err();
        assert_eq!(
            e,
            PopError::UnsupportedSignatureAlgorithm("1.2.840.113549.1.1.10".into())
        );
        // An ECDSA CSR signed with SHA-384 verifies; relabelled as SHA-256 it must not.
        let der = pem_or_der(&data("p384.csr.der"), &[]).unwrap();
        let mut req = x509_cert::request::CertReq::from_der(&der).unwrap();
        req.algorithm.oid = ECDSA_SHA256;
        assert_eq!(
            verify_csr(&req.to_der().unwrap()),
            Err(PopError::CsrSignatureInvalid)
        );
    }

    #[test]
    fn weak_curve_public_key_refused_for_challenge() {
        let e = verify_signed_challenge(&data("p192.pub.pem"), b"x", CHALLENGE).unwrap_err();
        assert!(matches!(e, PopError::UnsupportedCurve(_)), "{e}");
        // The same signature under another key fails.
        let e = verify_signed_challenge(
            &data("p256.pub.pem"),
            &data("p384.challenge.sig"),
            CHALLENGE,
        )
        .unwrap_err();
        assert!(matches!(e, PopError::ChallengeSignatureInvalid { .. }));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            let _ = verify_csr(&bytes);
            let _ = verify_signed_challenge(&bytes, &bytes, "x");
            let mut pem = b"-----BEGIN CERTIFICATE REQUEST-----\n".to_vec();
            pem.extend_from_slice(&bytes);
            let _ = verify_csr(&pem);
        }

        #[test]
        fn mutated_csr_never_panics(idx in 0usize..2000, bit in 0u8..8) {
            let mut der = pem_or_der(&data("rsa2048.csr.pem"), &["CERTIFICATE REQUEST"]).unwrap();
            let i = idx % der.len();
            der[i] ^= 1 << bit;
            let _ = verify_csr(&der);
        }
    }

    #[test]
    fn garbage_csr_inputs() {
        for junk in [
            &b""[..],
            b"-----BEGIN CERTIFICATE REQUEST-----\n!!\n-----END CERTIFICATE REQUEST-----\n",
            b"\x30\x03\x02\x01\x00",
        ] {
            assert!(matches!(verify_csr(junk), Err(PopError::MalformedCsr(_))));
        }
        let e = verify_csr(&data("p256.pub.pem")).unwrap_err();
        assert!(e.to_string().contains("label"), "{e}");
        assert!(matches!(
            verify_csr(&vec![0x30; MAX_INPUT + 1]),
            Err(PopError::MalformedCsr(_))
        ));
    }

    #[test]
    fn openssl_challenge_signatures() {
        for name in ["p256", "p384", "p521", "ed25519", "rsa2048"] {
            let pk = data(&format!("{name}.pub.pem"));
            let sig = data(&format!("{name}.challenge.sig"));
            verify_signed_challenge(&pk, &sig, CHALLENGE).unwrap_or_else(|e| panic!("{name}: {e}"));
            let e = verify_signed_challenge(&pk, &sig, "repo:o/r:ref:refs/heads/evil").unwrap_err();
            assert!(
                matches!(e, PopError::ChallengeSignatureInvalid { .. }),
                "{name}"
            );
            assert!(e.to_string().contains("refs/heads/evil"));
        }
        assert!(matches!(
            verify_signed_challenge(
                b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
                b"",
                CHALLENGE
            ),
            Err(PopError::MalformedPublicKey(_))
        ));
    }
}
