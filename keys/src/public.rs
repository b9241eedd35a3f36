use crate::{Algorithm, KeyError};
use aws_lc_rs::signature as lc;
use ecdsa::signature::Verifier;
use std::sync::OnceLock;

/// A public key of a supported algorithm, parsed from DER `SubjectPublicKeyInfo`.
#[derive(Clone, Debug)]
pub enum PublicKey {
    /// ECDSA P-256.
    P256(P256Key),
    /// ECDSA P-384.
    P384(p384::ecdsa::VerifyingKey),
    /// Ed25519.
    Ed25519(ed25519_dalek::VerifyingKey),
}

/// An ECDSA P-256 public key: validated by `p256` when parsed, verified with by aws-lc-rs
/// (several times faster than the pure-Rust arithmetic). aws-lc keeps the point parsed, per
/// digest algorithm, from the first verification on: a key verified with again and again (a
/// CT log's roots, a client key Rekor keeps) is not parsed again for every signature.
#[derive(Clone, Debug)]
pub struct P256Key {
    key: p256::ecdsa::VerifyingKey,
    /// For SHA-256, SHA-384 and SHA-512 digests (aws-lc binds a parsed key to one); `None`
    /// if aws-lc refused the point, which then verifies nothing.
    parsed: [OnceLock<Option<lc::ParsedPublicKey>>; 3],
}

impl P256Key {
    fn new(key: p256::ecdsa::VerifyingKey) -> Self {
        Self {
            key,
            parsed: Default::default(),
        }
    }

    /// The uncompressed SEC 1 point.
    fn sec1_point(&self) -> Vec<u8> {
        self.key.to_encoded_point(false).as_bytes().to_vec()
    }

    /// The key as aws-lc verifies with it over `hash` digests.
    fn parsed(&self, hash: HashAlgorithm) -> Option<&lc::ParsedPublicKey> {
        let (slot, alg) = match hash {
            HashAlgorithm::Sha256 => (0, &lc::ECDSA_P256_SHA256_ASN1),
            HashAlgorithm::Sha384 => (1, &lc::ECDSA_P256_SHA384_ASN1),
            HashAlgorithm::Sha512 => (2, &lc::ECDSA_P256_SHA512_ASN1),
        };
        self.parsed[slot]
            .get_or_init(|| lc::ParsedPublicKey::new(alg, self.sec1_point()).ok())
            .as_ref()
    }

    /// A DER signature over `message` hashed with SHA-256.
    fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self.parsed(HashAlgorithm::Sha256)
            .is_some_and(|key| key.verify_sig(message, signature).is_ok())
    }

    /// A DER signature over a `hash` `digest` (aws-lc truncates a digest longer than the
    /// curve order exactly as SEC 1 and Go's `ecdsa.VerifyASN1` do).
    fn verify_prehashed(&self, hash: HashAlgorithm, digest: &[u8], signature: &[u8]) -> bool {
        let Ok(digest) = aws_lc_rs::digest::Digest::import_less_safe(digest, aws_lc_digest(hash))
        else {
            return false;
        };
        self.parsed(hash)
            .is_some_and(|key| key.verify_digest_sig(&digest, signature).is_ok())
    }
}

impl PublicKey {
    /// Parses a DER `SubjectPublicKeyInfo` of one of our key types: the client-key parse
    /// ([`ClientPublicKey::from_spki_der`]), narrowed to what a log or CA key may be.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        match ClientPublicKey::from_spki_der(der)? {
            ClientPublicKey::Standard(key) => Ok(key),
            other => Err(KeyError::Malformed(format!(
                "a {:?} key is not a P-256, P-384 or Ed25519 key",
                other.kind()
            ))),
        }
    }

    /// Parses a PEM `PUBLIC KEY`.
    pub fn from_spki_pem(pem: &str) -> Result<Self, KeyError> {
        let (label, der) = spki::der::pem::decode_vec(pem.trim().as_bytes())
            .map_err(|e| KeyError::Malformed(format!("PEM: {e}")))?;
        if label != "PUBLIC KEY" {
            return Err(KeyError::Malformed(format!(
                "expected a PUBLIC KEY PEM block, found {label}"
            )));
        }
        Self::from_spki_der(&der)
    }

    /// The algorithm of this key.
    pub fn algorithm(&self) -> Algorithm {
        match self {
            PublicKey::P256(_) => Algorithm::EcdsaP256Sha256,
            PublicKey::P384(_) => Algorithm::EcdsaP384Sha384,
            PublicKey::Ed25519(_) => Algorithm::Ed25519,
        }
    }

    /// Verifies `signature` over `message` with the conventions of [`crate::Signer`].
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), KeyError> {
        let ok = match self {
            // P-256 is on every hot path (SCTs, certificate chains, Rekor entries).
            PublicKey::P256(k) => Some(k.verify(message, signature)),
            PublicKey::P384(k) => p384::ecdsa::DerSignature::from_bytes(signature)
                .ok()
                .map(|s| k.verify(message, &s).is_ok()),
            PublicKey::Ed25519(k) => ed25519_dalek::Signature::from_slice(signature)
                .ok()
                .map(|s| k.verify_strict(message, &s).is_ok()),
        };
        match ok {
            Some(true) => Ok(()),
            _ => Err(KeyError::BadSignature),
        }
    }

    /// The raw 32-byte public key of an Ed25519 key (what signed notes hash into key ids).
    pub fn ed25519_raw(&self) -> Option<[u8; 32]> {
        match self {
            PublicKey::Ed25519(k) => Some(k.to_bytes()),
            _ => None,
        }
    }
}

/// The object identifier of SHA-256.
pub const SHA256_OID: spki::ObjectIdentifier =
    spki::ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
/// The object identifier of SHA-384.
pub const SHA384_OID: spki::ObjectIdentifier =
    spki::ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
/// The object identifier of SHA-512.
pub const SHA512_OID: spki::ObjectIdentifier =
    spki::ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");

/// A SHA-2 digest algorithm: what a client pre-hashed its artifact with (Rekor `hashedrekord`,
/// DSSE) and what a timestamp request's message imprint uses. The one definition for the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HashAlgorithm {
    /// SHA-256 (32-byte digests).
    Sha256,
    /// SHA-384 (48-byte digests).
    Sha384,
    /// SHA-512 (64-byte digests).
    Sha512,
}

impl HashAlgorithm {
    /// Every algorithm, strongest last.
    pub const ALL: [HashAlgorithm; 3] = [Self::Sha256, Self::Sha384, Self::Sha512];

    /// The algorithm's object identifier (NIST, 2.16.840.1.101.3.4.2.x).
    pub fn oid(self) -> spki::ObjectIdentifier {
        match self {
            HashAlgorithm::Sha256 => SHA256_OID,
            HashAlgorithm::Sha384 => SHA384_OID,
            HashAlgorithm::Sha512 => SHA512_OID,
        }
    }

    /// The algorithm whose object identifier is `oid`, if it is one of ours.
    pub fn from_oid(oid: &spki::ObjectIdentifier) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.oid() == *oid)
    }

    /// The lower-case name: `sha256`, `sha384`, `sha512`.
    pub fn name(self) -> &'static str {
        match self {
            HashAlgorithm::Sha256 => "sha256",
            HashAlgorithm::Sha384 => "sha384",
            HashAlgorithm::Sha512 => "sha512",
        }
    }

    /// The algorithm named `name` in any case, with or without a dash (`SHA-256`, `sha256`).
    pub fn from_name(name: &str) -> Option<Self> {
        let wanted = name.to_ascii_lowercase().replace('-', "");
        Self::ALL.into_iter().find(|a| a.name() == wanted)
    }

    /// The digest length in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            HashAlgorithm::Sha256 => 32,
            HashAlgorithm::Sha384 => 48,
            HashAlgorithm::Sha512 => 64,
        }
    }

    /// The digest of `message`.
    pub fn digest(self, message: &[u8]) -> Vec<u8> {
        use sha2::Digest as _;
        match self {
            HashAlgorithm::Sha256 => sha2::Sha256::digest(message).to_vec(),
            HashAlgorithm::Sha384 => sha2::Sha384::digest(message).to_vec(),
            HashAlgorithm::Sha512 => sha2::Sha512::digest(message).to_vec(),
        }
    }
}

/// The smallest RSA modulus accepted from clients, in bits.
pub const RSA_MIN_BITS: usize = 2048;
/// The largest RSA modulus accepted from clients, in bits (bounds verification work).
pub const RSA_MAX_BITS: usize = 4096;

impl PublicKey {
    /// Verifies `signature` over an already computed `digest` of the message (hazmat "prehash"
    /// verification, as Rekor's `hashedrekord` does):
    /// - ECDSA (P-256, P-384): DER signature over the digest; any of SHA-256/384/512 is accepted
    ///   with either curve (the digest is truncated or padded to the curve size per SEC 1, as Go's
    ///   `ecdsa.VerifyASN1` does).
    /// - Ed25519: Ed25519ph (RFC 8032, empty context), only with a SHA-512 digest.
    pub fn verify_prehashed(
        &self,
        hash: HashAlgorithm,
        digest: &[u8],
        signature: &[u8],
    ) -> Result<(), KeyError> {
        if digest.len() != hash.digest_len() {
            return Err(KeyError::BadSignature);
        }
        let ok = match self {
            // ECDSA verifies with aws-lc-rs, several times faster than the pure-Rust arithmetic
            // (every Rekor entry pays for one). The key is parsed and validated by `p256`/`p384`
            // either way; aws-lc truncates a longer digest to the curve order exactly as SEC 1
            // (and Go's `ecdsa.VerifyASN1`) do, and accepts only strict DER signatures. P-256
            // keys keep their aws-lc form ([`P256Key`]); P-384 ones, rarer, are parsed each time.
            PublicKey::P256(k) => Some(k.verify_prehashed(hash, digest, signature)),
            PublicKey::P384(k) => {
                let alg = match hash {
                    HashAlgorithm::Sha256 => &lc::ECDSA_P384_SHA256_ASN1,
                    HashAlgorithm::Sha384 => &lc::ECDSA_P384_SHA384_ASN1,
                    HashAlgorithm::Sha512 => &lc::ECDSA_P384_SHA512_ASN1,
                };
                Some(verify_ecdsa_digest(
                    alg,
                    k.to_encoded_point(false).as_bytes(),
                    hash,
                    digest,
                    signature,
                ))
            }
            PublicKey::Ed25519(k) => {
                if hash != HashAlgorithm::Sha512 {
                    return Err(KeyError::UnsupportedAlgorithm(
                        "Ed25519ph requires a SHA-512 digest".into(),
                    ));
                }
                let sig = ed25519_dalek::Signature::from_slice(signature).ok();
                let prehashed = PrecomputedSha512::from_digest(digest);
                match (sig, prehashed) {
                    (Some(s), Some(d)) => Some(k.verify_prehashed(d, None, &s).is_ok()),
                    _ => None,
                }
            }
        };
        match ok {
            Some(true) => Ok(()),
            _ => Err(KeyError::BadSignature),
        }
    }
}

/// The digest algorithm of aws-lc-rs matching `hash`.
fn aws_lc_digest(hash: HashAlgorithm) -> &'static aws_lc_rs::digest::Algorithm {
    match hash {
        HashAlgorithm::Sha256 => &aws_lc_rs::digest::SHA256,
        HashAlgorithm::Sha384 => &aws_lc_rs::digest::SHA384,
        HashAlgorithm::Sha512 => &aws_lc_rs::digest::SHA512,
    }
}

/// Verifies an ASN.1 DER ECDSA signature over a precomputed `digest` with aws-lc-rs;
/// `point` is the uncompressed SEC 1 public point.
fn verify_ecdsa_digest(
    alg: &'static aws_lc_rs::signature::EcdsaVerificationAlgorithm,
    point: &[u8],
    hash: HashAlgorithm,
    digest: &[u8],
    signature: &[u8],
) -> bool {
    let Ok(digest) = aws_lc_rs::digest::Digest::import_less_safe(digest, aws_lc_digest(hash))
    else {
        return false;
    };
    aws_lc_rs::signature::UnparsedPublicKey::new(alg, point)
        .verify_digest(&digest, signature)
        .is_ok()
}

/// A finished SHA-512 digest presented through the `Digest` interface `ed25519-dalek` expects for
/// Ed25519ph: it only carries the 64 bytes the client computed (no hashing happens here).
#[derive(Clone, Default)]
struct PrecomputedSha512 {
    buf: Vec<u8>,
}

impl PrecomputedSha512 {
    fn from_digest(digest: &[u8]) -> Option<Self> {
        (digest.len() == 64).then(|| Self {
            buf: digest.to_vec(),
        })
    }
}

impl digest::HashMarker for PrecomputedSha512 {}

impl digest::OutputSizeUser for PrecomputedSha512 {
    type OutputSize = digest::consts::U64;
}

impl digest::Update for PrecomputedSha512 {
    fn update(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }
}

impl digest::FixedOutput for PrecomputedSha512 {
    fn finalize_into(self, out: &mut digest::Output<Self>) {
        // `from_digest` guarantees exactly 64 bytes and nothing calls `update` afterwards.
        if self.buf.len() == out.len() {
            out.copy_from_slice(&self.buf);
        }
    }
}

/// An RSA public key accepted from clients: modulus of [`RSA_MIN_BITS`]..=[`RSA_MAX_BITS`] bits.
#[derive(Clone, Debug)]
pub struct RsaPublicKey(rsa::RsaPublicKey);

impl RsaPublicKey {
    /// Parses a DER `SubjectPublicKeyInfo` holding an `rsaEncryption` key of an accepted size.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        use spki::der::Decode as _;
        // The modulus size is checked before the key is built: the `rsa` crate refuses moduli
        // over its own limit with a message that does not say the size.
        let info = spki::SubjectPublicKeyInfoRef::from_der(der)
            .map_err(|e| KeyError::Malformed(format!("not a SubjectPublicKeyInfo: {e}")))?;
        let bits = info
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| KeyError::Malformed("public key bit string has unused bits".into()))?;
        let key = rsa::pkcs1::RsaPublicKey::from_der(bits)
            .map_err(|e| KeyError::Malformed(format!("RSA public key: {e}")))?;
        Self::from_components(
            rsa::BigUint::from_bytes_be(key.modulus.as_bytes()),
            rsa::BigUint::from_bytes_be(key.public_exponent.as_bytes()),
        )
    }

    /// The key with modulus `n` and public exponent `e`, if the modulus has an accepted size.
    pub fn from_components(n: rsa::BigUint, e: rsa::BigUint) -> Result<Self, KeyError> {
        let bits = n.bits();
        if !(RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits) {
            return Err(KeyError::RsaKeySize { bits });
        }
        rsa::RsaPublicKey::new(n, e)
            .map(Self)
            .map_err(|e| KeyError::Malformed(format!("RSA public key: {e}")))
    }

    /// The big-endian modulus and public exponent.
    pub fn components(&self) -> (Vec<u8>, Vec<u8>) {
        use rsa::traits::PublicKeyParts as _;
        (self.0.n().to_bytes_be(), self.0.e().to_bytes_be())
    }

    /// The modulus size in bits.
    pub fn bits(&self) -> usize {
        use rsa::traits::PublicKeyParts as _;
        self.0.n().bits()
    }

    /// Verifies an RSASSA-PKCS1-v1_5 signature over a precomputed digest.
    pub fn verify_pkcs1v15_prehashed(
        &self,
        hash: HashAlgorithm,
        digest: &[u8],
        signature: &[u8],
    ) -> Result<(), KeyError> {
        if digest.len() != hash.digest_len() {
            return Err(KeyError::BadSignature);
        }
        let scheme = match hash {
            HashAlgorithm::Sha256 => rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
            HashAlgorithm::Sha384 => rsa::Pkcs1v15Sign::new::<sha2::Sha384>(),
            HashAlgorithm::Sha512 => rsa::Pkcs1v15Sign::new::<sha2::Sha512>(),
        };
        self.0
            .verify(scheme, digest, signature)
            .map_err(|_| KeyError::BadSignature)
    }

    /// Verifies an RSASSA-PSS signature (MGF1 with the same hash) over a precomputed digest.
    pub fn verify_pss_prehashed(
        &self,
        hash: HashAlgorithm,
        digest: &[u8],
        signature: &[u8],
    ) -> Result<(), KeyError> {
        if digest.len() != hash.digest_len() {
            return Err(KeyError::BadSignature);
        }
        let scheme = match hash {
            HashAlgorithm::Sha256 => rsa::Pss::new::<sha2::Sha256>(),
            HashAlgorithm::Sha384 => rsa::Pss::new::<sha2::Sha384>(),
            HashAlgorithm::Sha512 => rsa::Pss::new::<sha2::Sha512>(),
        };
        self.0
            .verify(scheme, digest, signature)
            .map_err(|_| KeyError::BadSignature)
    }
}

/// The SubjectPublicKeyInfo algorithm OIDs a client key may carry.
const ID_EC_PUBLIC_KEY: spki::ObjectIdentifier =
    spki::ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const ID_ED25519: spki::ObjectIdentifier = spki::ObjectIdentifier::new_unwrap("1.3.101.112");
const RSA_ENCRYPTION: spki::ObjectIdentifier =
    spki::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const CURVE_P256: spki::ObjectIdentifier =
    spki::ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const CURVE_P384: spki::ObjectIdentifier = spki::ObjectIdentifier::new_unwrap("1.3.132.0.34");
const CURVE_P521: spki::ObjectIdentifier = spki::ObjectIdentifier::new_unwrap("1.3.132.0.35");

/// A readable name for a curve we refuse, so the error says what the client sent.
fn curve_name(curve: &spki::ObjectIdentifier) -> String {
    match curve.to_string().as_str() {
        "1.2.840.10045.3.1.1" => "P-192 (prime192v1)".into(),
        "1.3.132.0.33" => "P-224 (secp224r1)".into(),
        "1.3.132.0.10" => "secp256k1".into(),
        other => other.into(),
    }
}

/// The kind of a [`ClientPublicKey`], for policies keyed on it (a CSR's signature algorithm
/// must fit the key; Rekor v2's `keyDetails` must name it exactly).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ClientKeyKind {
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

/// A public key a client signs with, under the stack's one policy: ECDSA P-256, P-384 and
/// P-521, Ed25519, RSA of [`RSA_MIN_BITS`]..=[`RSA_MAX_BITS`] bits. Parsed from a DER
/// `SubjectPublicKeyInfo` (PKIX, and so from certificates and CSRs) or from a JWK; Rekor entries,
/// Fulcio's proof of possession and OIDC token keys all go through it.
#[derive(Clone)]
#[non_exhaustive]
pub enum ClientPublicKey {
    /// ECDSA P-256 / P-384 or Ed25519: the types our own keys also have.
    Standard(PublicKey),
    /// ECDSA P-521.
    P521(p521::ecdsa::VerifyingKey),
    /// RSA, [`RSA_MIN_BITS`]..=[`RSA_MAX_BITS`] bits.
    Rsa(RsaPublicKey),
}

impl std::fmt::Debug for ClientPublicKey {
    // `p521`'s verifying key has no `Debug`; the kind is what a reader of a log needs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ClientPublicKey")
            .field(&self.kind())
            .finish()
    }
}

impl ClientPublicKey {
    /// Parses a DER `SubjectPublicKeyInfo`. Other curves (P-192, P-224, secp256k1), other
    /// algorithms and out-of-range RSA sizes are refused with an error naming them.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        use spki::der::Decode as _;
        let info = spki::SubjectPublicKeyInfoRef::from_der(der)
            .map_err(|e| KeyError::Malformed(format!("not a SubjectPublicKeyInfo: {e}")))?;
        let bits = info
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| KeyError::Malformed("public key bit string has unused bits".into()))?;
        let oid = info.algorithm.oid;
        if oid == ID_EC_PUBLIC_KEY {
            let curve = info
                .algorithm
                .parameters_oid()
                .map_err(|e| KeyError::Malformed(format!("EC key without a named curve: {e}")))?;
            Self::from_ec_point(&curve, bits)
        } else if oid == ID_ED25519 {
            Self::from_ed25519(bits)
        } else if oid == RSA_ENCRYPTION {
            RsaPublicKey::from_spki_der(der).map(ClientPublicKey::Rsa)
        } else {
            Err(KeyError::UnsupportedKeyType(oid.to_string()))
        }
    }

    /// The key on `curve` at the SEC 1 encoded `point`.
    fn from_ec_point(curve: &spki::ObjectIdentifier, point: &[u8]) -> Result<Self, KeyError> {
        let invalid =
            |e: &dyn std::fmt::Display| KeyError::Malformed(format!("invalid EC point: {e}"));
        Ok(match *curve {
            c if c == CURVE_P256 => ClientPublicKey::Standard(PublicKey::P256(P256Key::new(
                p256::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(|e| invalid(&e))?,
            ))),
            c if c == CURVE_P384 => ClientPublicKey::Standard(PublicKey::P384(
                p384::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(|e| invalid(&e))?,
            )),
            c if c == CURVE_P521 => ClientPublicKey::P521(
                p521::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(|e| invalid(&e))?,
            ),
            c => return Err(KeyError::UnsupportedCurve(curve_name(&c))),
        })
    }

    fn from_ed25519(raw: &[u8]) -> Result<Self, KeyError> {
        let raw: [u8; 32] = raw
            .try_into()
            .map_err(|_| KeyError::Malformed("Ed25519 key is not 32 bytes".into()))?;
        ed25519_dalek::VerifyingKey::from_bytes(&raw)
            .map(|k| ClientPublicKey::Standard(PublicKey::Ed25519(k)))
            .map_err(|e| KeyError::Malformed(format!("Ed25519 key: {e}")))
    }

    /// Parses a JSON Web Key (RFC 7517/7518/8037): `EC` (P-256, P-384, P-521), `OKP` (Ed25519)
    /// or `RSA`, under the same policy as [`ClientPublicKey::from_spki_der`]. Only the key
    /// material is read; `use` and `alg` are the caller's policy.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, KeyError> {
        use base64::Engine as _;
        let field = |name: &str, value: &Option<String>| -> Result<Vec<u8>, KeyError> {
            let value = value
                .as_deref()
                .ok_or_else(|| KeyError::Malformed(format!("missing \"{name}\"")))?;
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(value.trim_end_matches('='))
                .map_err(|e| KeyError::Malformed(format!("\"{name}\" is not base64url: {e}")))
        };
        match (jwk.kty.as_str(), jwk.crv.as_deref()) {
            ("EC", crv) => {
                let curve = match crv {
                    Some("P-256") => CURVE_P256,
                    Some("P-384") => CURVE_P384,
                    Some("P-521") => CURVE_P521,
                    other => {
                        return Err(KeyError::UnsupportedCurve(
                            other.unwrap_or("(none)").to_owned(),
                        ))
                    }
                };
                let (x, y) = (field("x", &jwk.x)?, field("y", &jwk.y)?);
                let mut point = Vec::with_capacity(1 + x.len() + y.len());
                point.push(4);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                Self::from_ec_point(&curve, &point)
            }
            ("OKP", Some("Ed25519")) => Self::from_ed25519(&field("x", &jwk.x)?),
            ("OKP", crv) => Err(KeyError::UnsupportedCurve(
                crv.unwrap_or("(none)").to_owned(),
            )),
            ("RSA", _) => {
                let n = rsa::BigUint::from_bytes_be(&field("n", &jwk.n)?);
                let e = rsa::BigUint::from_bytes_be(&field("e", &jwk.e)?);
                RsaPublicKey::from_components(n, e).map(ClientPublicKey::Rsa)
            }
            (kty, _) => Err(KeyError::UnsupportedKeyType(format!(
                "JWK key type {kty:?}"
            ))),
        }
    }

    /// What kind of key this is.
    pub fn kind(&self) -> ClientKeyKind {
        match self {
            ClientPublicKey::Standard(PublicKey::P256(_)) => ClientKeyKind::EcdsaP256,
            ClientPublicKey::Standard(PublicKey::P384(_)) => ClientKeyKind::EcdsaP384,
            ClientPublicKey::Standard(PublicKey::Ed25519(_)) => ClientKeyKind::Ed25519,
            ClientPublicKey::P521(_) => ClientKeyKind::EcdsaP521,
            ClientPublicKey::Rsa(k) => ClientKeyKind::Rsa { bits: k.bits() },
        }
    }

    /// The uncompressed SEC 1 point of an ECDSA key.
    pub fn ec_point(&self) -> Option<Vec<u8>> {
        match self {
            ClientPublicKey::Standard(PublicKey::P256(k)) => Some(k.sec1_point()),
            ClientPublicKey::Standard(PublicKey::P384(k)) => {
                Some(k.to_encoded_point(false).as_bytes().to_vec())
            }
            ClientPublicKey::P521(k) => Some(k.to_encoded_point(false).as_bytes().to_vec()),
            _ => None,
        }
    }

    /// Verifies a signature over a precomputed digest: ECDSA and Ed25519ph as
    /// [`PublicKey::verify_prehashed`], RSA with PKCS#1 v1.5 padding.
    pub fn verify_prehashed(
        &self,
        hash: HashAlgorithm,
        digest: &[u8],
        signature: &[u8],
    ) -> Result<(), KeyError> {
        match self {
            ClientPublicKey::Standard(k) => k.verify_prehashed(hash, digest, signature),
            ClientPublicKey::P521(k) => verify_p521_prehashed(k, hash, digest, signature),
            ClientPublicKey::Rsa(k) => k.verify_pkcs1v15_prehashed(hash, digest, signature),
        }
    }

    /// Verifies a signature over `message` hashed with `hash` (ECDSA: any curve with any of the
    /// hashes; RSA: PKCS#1 v1.5). Ed25519 ignores `hash` and verifies pure Ed25519 over the
    /// message, as DSSE verifiers and X.509 (CSR) signatures do.
    pub fn verify_message(
        &self,
        hash: HashAlgorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), KeyError> {
        match self {
            ClientPublicKey::Standard(k @ PublicKey::Ed25519(_)) => k.verify(message, signature),
            other => other.verify_prehashed(hash, &hash.digest(message), signature),
        }
    }
}

/// ECDSA P-521 over a precomputed digest (DER signature). RustCrypto refuses prehashes shorter
/// than half the field (SHA-256 on P-521, which OpenSSL uses by default); left-padding to the
/// field size keeps the integer, and so the result, unchanged (SEC 1 §4.1.4 step 5).
fn verify_p521_prehashed(
    key: &p521::ecdsa::VerifyingKey,
    hash: HashAlgorithm,
    digest: &[u8],
    signature: &[u8],
) -> Result<(), KeyError> {
    use ecdsa::signature::hazmat::PrehashVerifier as _;
    if digest.len() != hash.digest_len() {
        return Err(KeyError::BadSignature);
    }
    let mut padded = vec![0u8; 66usize.saturating_sub(digest.len())];
    padded.extend_from_slice(digest);
    let signature =
        p521::ecdsa::Signature::from_der(signature).map_err(|_| KeyError::BadSignature)?;
    key.verify_prehash(&padded, &signature)
        .map_err(|_| KeyError::BadSignature)
}

/// One JSON Web Key (RFC 7517) as an OpenID Provider publishes it in its `jwks_uri`. Only the
/// members a public signature key has are read; a key set may hold keys of other types, which
/// stay readable here and are refused only when one is used.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Deserialize)]
pub struct Jwk {
    /// Key type: `RSA`, `EC` or `OKP`.
    pub kty: String,
    /// Key ID, matched against a JWS header's `kid`.
    #[serde(default)]
    pub kid: Option<String>,
    /// Algorithm the key is restricted to, if any.
    #[serde(default)]
    pub alg: Option<String>,
    /// Intended use; only absent or `sig` keys verify signatures.
    #[serde(default, rename = "use")]
    pub use_: Option<String>,
    /// Curve of EC (`P-256`, `P-384`, `P-521`) and OKP (`Ed25519`) keys.
    #[serde(default)]
    pub crv: Option<String>,
    /// EC x coordinate / OKP public key (base64url).
    #[serde(default)]
    pub x: Option<String>,
    /// EC y coordinate (base64url).
    #[serde(default)]
    pub y: Option<String>,
    /// RSA modulus (base64url).
    #[serde(default)]
    pub n: Option<String>,
    /// RSA public exponent (base64url).
    #[serde(default)]
    pub e: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use ecdsa::signature::hazmat::PrehashSigner;
    use rsa::pkcs8::EncodePublicKey as _;

    const ALL: [HashAlgorithm; 3] = [
        HashAlgorithm::Sha256,
        HashAlgorithm::Sha384,
        HashAlgorithm::Sha512,
    ];

    #[test]
    fn ecdsa_prehash_accepts_every_digest_with_either_curve() {
        let p256 = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
        let p384 = p384::ecdsa::SigningKey::random(&mut rand_core::OsRng);
        let k256 =
            PublicKey::from_spki_der(p256.verifying_key().to_public_key_der().unwrap().as_bytes())
                .unwrap();
        let k384 =
            PublicKey::from_spki_der(p384.verifying_key().to_public_key_der().unwrap().as_bytes())
                .unwrap();
        for hash in ALL {
            let digest = hash.digest(b"artifact");
            let s256: p256::ecdsa::Signature = p256.sign_prehash(&digest).unwrap();
            let s384: p384::ecdsa::Signature = p384.sign_prehash(&digest).unwrap();
            k256.verify_prehashed(hash, &digest, s256.to_der().as_bytes())
                .unwrap();
            k384.verify_prehashed(hash, &digest, s384.to_der().as_bytes())
                .unwrap();
            let mut other = digest.clone();
            other[0] ^= 1;
            assert!(k256
                .verify_prehashed(hash, &other, s256.to_der().as_bytes())
                .is_err());
            // The digest length must match the algorithm.
            assert!(k256
                .verify_prehashed(hash, &digest[..20], s256.to_der().as_bytes())
                .is_err());
        }
    }

    #[test]
    fn a_p256_key_kept_parsed_verifies_messages_and_digests_alike_and_its_clones_too() {
        use crate::Signer as _;
        let signer = crate::SoftwareKey::generate(Algorithm::EcdsaP256Sha256);
        let key = PublicKey::from_spki_der(signer.public_key_der()).unwrap();
        let signature = signer.sign(b"message").unwrap();
        let digest = HashAlgorithm::Sha256.digest(b"message");
        for round in 0..2 {
            key.verify(b"message", &signature).unwrap();
            key.verify_prehashed(HashAlgorithm::Sha256, &digest, &signature)
                .unwrap();
            assert!(key.verify(b"massage", &signature).is_err(), "round {round}");
            assert!(key
                .verify_prehashed(
                    HashAlgorithm::Sha384,
                    &HashAlgorithm::Sha384.digest(b"message"),
                    &signature
                )
                .is_err());
        }
        key.clone().verify(b"message", &signature).unwrap();
    }

    #[test]
    fn ecdsa_prehash_accepts_high_s_and_refuses_garbage_like_go() {
        // Go's `ecdsa.VerifyASN1` accepts both (r, s) and (r, n - s); so must we.
        let key = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
        let public =
            PublicKey::from_spki_der(key.verifying_key().to_public_key_der().unwrap().as_bytes())
                .unwrap();
        let digest = HashAlgorithm::Sha256.digest(b"artifact");
        let sig: p256::ecdsa::Signature = key.sign_prehash(&digest).unwrap();
        let (r, s) = sig.split_scalars();
        let flipped = p256::ecdsa::Signature::from_scalars(r.to_bytes(), (-*s).to_bytes()).unwrap();
        for sig in [sig, flipped] {
            public
                .verify_prehashed(HashAlgorithm::Sha256, &digest, sig.to_der().as_bytes())
                .unwrap();
        }
        // Raw (r ‖ s) instead of DER, trailing bytes after the DER, and no signature at all.
        let der = sig.to_der().as_bytes().to_vec();
        let mut trailing = der.clone();
        trailing.push(0);
        for bad in [sig.to_bytes().to_vec(), trailing, Vec::new()] {
            assert!(public
                .verify_prehashed(HashAlgorithm::Sha256, &digest, &bad)
                .is_err());
        }
    }

    #[test]
    fn ed25519ph_only_with_sha512() {
        use sha2::Digest as _;
        let sk = ed25519_dalek::SigningKey::generate(&mut rand_core::OsRng);
        let pk =
            PublicKey::from_spki_der(sk.verifying_key().to_public_key_der().unwrap().as_bytes())
                .unwrap();
        let mut h = sha2::Sha512::new();
        h.update(b"artifact");
        let digest = h.clone().finalize().to_vec();
        let sig = sk.sign_prehashed(h, None).unwrap().to_bytes();
        pk.verify_prehashed(HashAlgorithm::Sha512, &digest, &sig)
            .unwrap();
        assert!(pk
            .verify_prehashed(HashAlgorithm::Sha256, &digest[..32], &sig)
            .is_err());
        // A pure Ed25519 signature over the digest bytes is a different scheme.
        let pure = ed25519_dalek::Signer::sign(&sk, &digest).to_bytes();
        assert!(pk
            .verify_prehashed(HashAlgorithm::Sha512, &digest, &pure)
            .is_err());
    }

    #[test]
    fn rsa_pkcs1v15_and_pss_and_size_limits() {
        let sk = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048).unwrap();
        let der = sk.to_public_key().to_public_key_der().unwrap();
        let key = ClientPublicKey::from_spki_der(der.as_bytes()).unwrap();
        let ClientPublicKey::Rsa(rsa_key) = &key else {
            panic!("not RSA")
        };
        assert_eq!(rsa_key.bits(), 2048);
        for hash in ALL {
            let digest = hash.digest(b"artifact");
            let scheme = match hash {
                HashAlgorithm::Sha256 => rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
                HashAlgorithm::Sha384 => rsa::Pkcs1v15Sign::new::<sha2::Sha384>(),
                HashAlgorithm::Sha512 => rsa::Pkcs1v15Sign::new::<sha2::Sha512>(),
            };
            let sig = sk.sign(scheme, &digest).unwrap();
            key.verify_prehashed(hash, &digest, &sig).unwrap();
            key.verify_message(hash, b"artifact", &sig).unwrap();
            assert!(key.verify_message(hash, b"artifacT", &sig).is_err());
        }
        let digest = HashAlgorithm::Sha256.digest(b"artifact");
        let pss = sk
            .sign_with_rng(
                &mut rand_core::OsRng,
                rsa::Pss::new::<sha2::Sha256>(),
                &digest,
            )
            .unwrap();
        rsa_key
            .verify_pss_prehashed(HashAlgorithm::Sha256, &digest, &pss)
            .unwrap();
        // PKCS#1 v1.5 is the scheme of `verify_prehashed`; a PSS signature does not pass it.
        assert!(key
            .verify_prehashed(HashAlgorithm::Sha256, &digest, &pss)
            .is_err());

        let small = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 1024).unwrap();
        let der = small.to_public_key().to_public_key_der().unwrap();
        assert!(matches!(
            ClientPublicKey::from_spki_der(der.as_bytes()),
            Err(KeyError::RsaKeySize { bits: 1024 })
        ));
        assert!(ClientPublicKey::from_spki_der(b"not a key").is_err());
    }

    #[test]
    fn p521_verifies_every_digest_including_sha256() {
        use ecdsa::signature::hazmat::PrehashSigner as _;
        let sk = p521::ecdsa::SigningKey::random(&mut rand_core::OsRng);
        let vk = p521::ecdsa::VerifyingKey::from(&sk);
        let der = vk.to_encoded_point(false);
        let spki = spki_der(CURVE_P521, der.as_bytes());
        let key = ClientPublicKey::from_spki_der(&spki).unwrap();
        assert_eq!(key.kind(), ClientKeyKind::EcdsaP521);
        for hash in ALL {
            let digest = hash.digest(b"artifact");
            let mut padded = vec![0u8; 66usize.saturating_sub(digest.len())];
            padded.extend_from_slice(&digest);
            let sig: p521::ecdsa::Signature = sk.sign_prehash(&padded).unwrap();
            let sig = sig.to_der();
            key.verify_prehashed(hash, &digest, sig.as_bytes()).unwrap();
            key.verify_message(hash, b"artifact", sig.as_bytes())
                .unwrap();
            assert!(key
                .verify_message(hash, b"artifacT", sig.as_bytes())
                .is_err());
        }
    }

    /// A DER SubjectPublicKeyInfo of an EC key on `curve` (any point bytes).
    fn spki_der(curve: spki::ObjectIdentifier, point: &[u8]) -> Vec<u8> {
        use spki::der::Encode as _;
        spki::SubjectPublicKeyInfoOwned {
            algorithm: spki::AlgorithmIdentifierOwned {
                oid: ID_EC_PUBLIC_KEY,
                parameters: Some(spki::der::Any::from(&curve)),
            },
            subject_public_key: spki::der::asn1::BitString::from_bytes(point).unwrap(),
        }
        .to_der()
        .unwrap()
    }

    #[test]
    fn refusals_name_the_curve_the_type_and_the_size() {
        let p192 = spki::ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.1");
        let e = ClientPublicKey::from_spki_der(&spki_der(p192, &[4; 49])).unwrap_err();
        assert!(
            matches!(&e, KeyError::UnsupportedCurve(c) if c.contains("P-192")),
            "{e}"
        );
        let k256 = spki::ObjectIdentifier::new_unwrap("1.3.132.0.10");
        let e = ClientPublicKey::from_spki_der(&spki_der(k256, &[4; 65])).unwrap_err();
        assert!(e.to_string().contains("secp256k1"), "{e}");
        // A DSA key (1.2.840.10040.4.1) is no type we take.
        let mut dsa = spki_der(CURVE_P256, &[4; 65]);
        let ec = ID_EC_PUBLIC_KEY.as_bytes().to_vec();
        let at = dsa.windows(ec.len()).position(|w| w == ec).unwrap();
        dsa[at..at + ec.len()].copy_from_slice(&[0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01]);
        let e = ClientPublicKey::from_spki_der(&dsa).unwrap_err();
        assert!(
            matches!(&e, KeyError::UnsupportedKeyType(t) if t == "1.2.840.10040.4.1"),
            "{e}"
        );
        // A bad point on a good curve is malformed, not unsupported.
        let e = ClientPublicKey::from_spki_der(&spki_der(CURVE_P256, &[4; 65])).unwrap_err();
        assert!(matches!(e, KeyError::Malformed(_)), "{e}");
    }

    #[test]
    fn jwks_of_every_type_parse_to_the_same_key_as_their_spki() {
        use base64::Engine as _;
        let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let jwk = |kty: &str, crv: Option<&str>| Jwk {
            kty: kty.into(),
            crv: crv.map(Into::into),
            ..Jwk::default()
        };

        let p256 = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
        let point = p256.verifying_key().to_encoded_point(false);
        let mut k = jwk("EC", Some("P-256"));
        k.x = Some(b64(point.x().unwrap()));
        k.y = Some(b64(point.y().unwrap()));
        let key = ClientPublicKey::from_jwk(&k).unwrap();
        assert_eq!(key.kind(), ClientKeyKind::EcdsaP256);
        assert_eq!(key.ec_point().unwrap(), point.as_bytes());
        k.crv = Some("P-384".into());
        assert!(matches!(
            ClientPublicKey::from_jwk(&k),
            Err(KeyError::Malformed(_))
        ));
        k.crv = Some("secp256k1".into());
        assert!(matches!(
            ClientPublicKey::from_jwk(&k),
            Err(KeyError::UnsupportedCurve(_))
        ));
        k.crv = Some("P-256".into());
        k.y = None;
        let e = ClientPublicKey::from_jwk(&k).unwrap_err();
        assert!(e.to_string().contains("missing \"y\""), "{e}");

        let ed = ed25519_dalek::SigningKey::generate(&mut rand_core::OsRng);
        let mut k = jwk("OKP", Some("Ed25519"));
        k.x = Some(b64(ed.verifying_key().as_bytes()));
        assert_eq!(
            ClientPublicKey::from_jwk(&k).unwrap().kind(),
            ClientKeyKind::Ed25519
        );
        k.crv = Some("X25519".into());
        assert!(matches!(
            ClientPublicKey::from_jwk(&k),
            Err(KeyError::UnsupportedCurve(_))
        ));

        for (bits, ok) in [(1024, false), (2048, true)] {
            let sk = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, bits).unwrap();
            let public = RsaPublicKey(sk.to_public_key());
            let (n, e) = public.components();
            let mut k = jwk("RSA", None);
            k.n = Some(b64(&n));
            k.e = Some(b64(&e));
            match ClientPublicKey::from_jwk(&k) {
                Ok(key) => {
                    assert!(ok);
                    assert_eq!(key.kind(), ClientKeyKind::Rsa { bits });
                }
                Err(e) => {
                    assert!(!ok);
                    assert!(matches!(e, KeyError::RsaKeySize { bits: 1024 }), "{e}");
                }
            }
        }
        let e = ClientPublicKey::from_jwk(&jwk("oct", None)).unwrap_err();
        assert!(matches!(e, KeyError::UnsupportedKeyType(_)), "{e}");
    }

    #[test]
    fn client_keys_verify_messages_like_dsse() {
        let p384 = p384::ecdsa::SigningKey::random(&mut rand_core::OsRng);
        let key = ClientPublicKey::from_spki_der(
            p384.verifying_key().to_public_key_der().unwrap().as_bytes(),
        )
        .unwrap();
        // DSSE in Rekor v1 hashes with SHA-256 whatever the curve.
        let digest = HashAlgorithm::Sha256.digest(b"pae");
        let sig: p384::ecdsa::Signature = p384.sign_prehash(&digest).unwrap();
        key.verify_message(HashAlgorithm::Sha256, b"pae", sig.to_der().as_bytes())
            .unwrap();

        let ed = ed25519_dalek::SigningKey::generate(&mut rand_core::OsRng);
        let key = ClientPublicKey::from_spki_der(
            ed.verifying_key().to_public_key_der().unwrap().as_bytes(),
        )
        .unwrap();
        let sig = ed25519_dalek::Signer::sign(&ed, b"pae").to_bytes();
        key.verify_message(HashAlgorithm::Sha512, b"pae", &sig)
            .unwrap();
    }
}
