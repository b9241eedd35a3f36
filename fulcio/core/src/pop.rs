//! Proof of possession: the requester shows it holds the private key it wants certified.
//!
//! Two forms, as Sigstore clients send them: a PKCS#10 CSR (sigstore-python) whose
//! self-signature proves possession, or a bare public key plus a signature over the token's
//! challenge claim (sigstore-js; upstream `pkg/challenges`). Both enforce the same key policy:
//! ECDSA P-256/P-384/P-521, Ed25519, RSA 2048–4096 bits.

use der::{Decode, Encode};
use sigstack_keys::{ClientPublicKey, HashAlgorithm, KeyError};
use spki::ObjectIdentifier;

/// The kinds of key we certify: the stack's one client-key policy.
pub use sigstack_keys::ClientKeyKind as KeyType;

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

const ID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const ECDSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");
const RSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const RSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const RSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");

/// Largest CSR or key input accepted, in bytes (an RSA-4096 CSR in PEM is about 2 KiB).
const MAX_INPUT: usize = 16 * 1024;

/// Parses a client key under the stack's policy, with the refusal in proof-of-possession terms.
fn parse_spki(der: &[u8]) -> Result<ClientPublicKey, PopError> {
    ClientPublicKey::from_spki_der(der).map_err(|e| match e {
        KeyError::UnsupportedCurve(curve) => PopError::UnsupportedCurve(curve),
        KeyError::RsaKeySize { bits } => PopError::RsaKeySize { bits },
        KeyError::UnsupportedKeyType(oid) => PopError::UnsupportedKeyAlgorithm(oid),
        other => PopError::MalformedPublicKey(other.to_string()),
    })
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
        a if a == ECDSA_SHA256 || a == RSA_SHA256 => HashAlgorithm::Sha256,
        a if a == ECDSA_SHA384 || a == RSA_SHA384 => HashAlgorithm::Sha384,
        a if a == ECDSA_SHA512 || a == RSA_SHA512 => HashAlgorithm::Sha512,
        // Pure Ed25519 hashes internally; the value is not used.
        a if a == ID_ED25519 => HashAlgorithm::Sha512,
        a => return Err(PopError::UnsupportedSignatureAlgorithm(a.to_string())),
    };
    let is_ecdsa_alg = [ECDSA_SHA256, ECDSA_SHA384, ECDSA_SHA512].contains(&alg);
    let is_rsa_alg = [RSA_SHA256, RSA_SHA384, RSA_SHA512].contains(&alg);
    let fits = match key.kind() {
        KeyType::EcdsaP256 | KeyType::EcdsaP384 | KeyType::EcdsaP521 => is_ecdsa_alg,
        KeyType::Rsa { .. } => is_rsa_alg,
        KeyType::Ed25519 => alg == ID_ED25519,
        _ => false,
    };
    if !fits {
        return Err(PopError::AlgorithmKeyMismatch {
            alg: alg.to_string(),
            key: key.kind(),
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
    if key.verify_message(hash, &info, sig).is_err() {
        return Err(PopError::CsrSignatureInvalid);
    }
    Ok(VerifiedKey {
        key_type: key.kind(),
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
    let hash = match key.kind() {
        KeyType::EcdsaP384 => HashAlgorithm::Sha384,
        KeyType::EcdsaP521 => HashAlgorithm::Sha512,
        _ => HashAlgorithm::Sha256,
    };
    if key
        .verify_message(hash, challenge.as_bytes(), signature)
        .is_err()
    {
        return Err(PopError::ChallengeSignatureInvalid {
            challenge: challenge.to_owned(),
        });
    }
    Ok(VerifiedKey {
        key_type: key.kind(),
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
