//! OIDC ID token (JWS compact serialization) verification.
//!
//! The JWS signature is checked by `jsonwebtoken` (aws-lc-rs underneath); issuer keys pass the
//! stack's one key policy ([`ClientPublicKey::from_jwk`]) first. What stays here is the policy
//! on top: the algorithm allow-list, which key may verify which token, and the claim checks,
//! each with an error that names what failed.
//!
//! Only asymmetric algorithms are accepted: with a symmetric (HS*) algorithm anyone who knows
//! the "key" (here: the public JWKS) could mint tokens, and `none` is no signature at all.
//! The clock is a parameter so callers (and tests) control time; the JWKS is a parameter so
//! this module never touches the network. An unknown `kid` has its own error variant so the
//! caller can refresh its cached JWKS once and retry.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm as JwsAlgorithm, DecodingKey};
use serde::Deserialize;
use serde_json::{Map, Value};
use sigstack_keys::{ClientPublicKey, PublicKey};

use crate::config::IssuerConfig;

/// Largest token accepted, in bytes. Real ID tokens are 1–2 KiB; this bounds parsing work.
pub const MAX_TOKEN_BYTES: usize = 32 * 1024;

/// Allowed clock skew for `exp`, `nbf` and `iat`, in seconds.
pub const CLOCK_SKEW_SECS: i64 = 60;

/// One JSON Web Key (RFC 7517) as published in an issuer's `jwks_uri`.
pub use sigstack_keys::Jwk;

/// A JSON Web Key Set, as fetched from the issuer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<Jwk>,
}

impl Jwks {
    /// Parses a JWKS document.
    pub fn from_json(bytes: &[u8]) -> Result<Self, TokenError> {
        serde_json::from_slice(bytes).map_err(|e| TokenError::MalformedJwks(e.to_string()))
    }
}

/// A token whose signature, issuer, audience and validity window have been checked.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedToken {
    /// `iss`, exactly as in the token.
    pub issuer: String,
    /// `sub`.
    pub subject: String,
    /// The JWS algorithm that verified.
    pub algorithm: String,
    /// Every claim, for identity mapping.
    pub claims: Map<String, Value>,
}

/// Why a token was refused. Each variant names the check or claim that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Longer than [`MAX_TOKEN_BYTES`].
    #[error("token is {len} bytes, more than the {max} allowed")]
    TooLarge {
        /// Actual length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not three base64url segments with JSON header and payload.
    #[error("malformed token: {0}")]
    Malformed(String),
    /// `alg: none`.
    #[error("unsigned token (alg \"none\") rejected")]
    Unsigned,
    /// HS256/384/512.
    #[error(
        "symmetric (HMAC) token algorithm {0:?} rejected: only asymmetric signatures are accepted"
    )]
    SymmetricAlgorithm(String),
    /// Any other algorithm we do not accept.
    #[error("unsupported token algorithm {0:?}")]
    UnsupportedAlgorithm(String),
    /// `iss` is not the configured issuer URL.
    #[error("token issuer {actual:?} does not match the expected issuer {expected:?}")]
    WrongIssuer {
        /// Expected issuer URL.
        expected: String,
        /// Token's `iss`.
        actual: String,
    },
    /// The header's `kid` is not in the JWKS: the caller should refresh the JWKS once.
    #[error("token key id {0:?} is not in the issuer's key set")]
    UnknownKeyId(String),
    /// No `kid` and no key in the JWKS fits the algorithm.
    #[error("no key in the issuer's key set can verify algorithm {0}")]
    NoMatchingKey(String),
    /// The JWK selected by `kid` cannot be used (wrong type, bad encoding, weak, `use` ≠ sig).
    #[error("issuer key {kid:?} unusable: {reason}")]
    BadKey {
        /// The key's `kid`.
        kid: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The JWKS document itself did not parse.
    #[error("malformed JWKS: {0}")]
    MalformedJwks(String),
    /// The signature does not verify.
    #[error("token signature does not verify ({0})")]
    BadSignature(String),
    /// A required claim is absent or has the wrong JSON type.
    #[error("claim {claim:?} missing or malformed")]
    MissingClaim {
        /// Claim name.
        claim: &'static str,
    },
    /// `aud` does not contain the client id.
    #[error("token audience {actual:?} does not contain the expected client id {expected:?}")]
    WrongAudience {
        /// Expected client id.
        expected: String,
        /// Token's audience(s).
        actual: Vec<String>,
    },
    /// `exp` (plus skew) is in the past.
    #[error("token expired at {exp} (now {now}, skew {CLOCK_SKEW_SECS}s)")]
    Expired {
        /// `exp` claim.
        exp: i64,
        /// The injected clock.
        now: i64,
    },
    /// `nbf` (minus skew) is in the future.
    #[error("token not valid before {nbf} (now {now}, skew {CLOCK_SKEW_SECS}s)")]
    NotYetValid {
        /// `nbf` claim.
        nbf: i64,
        /// The injected clock.
        now: i64,
    },
    /// `iat` (minus skew) is in the future.
    #[error("token issued in the future at {iat} (now {now}, skew {CLOCK_SKEW_SECS}s)")]
    IssuedInFuture {
        /// `iat` claim.
        iat: i64,
        /// The injected clock.
        now: i64,
    },
}

fn malformed(m: impl Into<String>) -> TokenError {
    TokenError::Malformed(m.into())
}

/// A token taken apart without trusting anything in it.
struct Parts<'a> {
    header: Map<String, Value>,
    claims: Map<String, Value>,
    /// `header.payload`, what the signature covers.
    signing_input: &'a [u8],
    /// The signature segment, still base64url.
    signature: &'a str,
}

fn split(token: &str) -> Result<Parts<'_>, TokenError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::TooLarge {
            len: token.len(),
            max: MAX_TOKEN_BYTES,
        });
    }
    let mut it = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err(malformed("expected three dot-separated segments"));
    };
    let decode = |what: &str, seg: &str| {
        URL_SAFE_NO_PAD
            .decode(seg)
            .map_err(|e| malformed(format!("{what} is not base64url: {e}")))
    };
    let json = |what: &str, bytes: Vec<u8>| -> Result<Map<String, Value>, TokenError> {
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(malformed(format!("{what} is not a JSON object"))),
            Err(e) => Err(malformed(format!("{what} is not JSON: {e}"))),
        }
    };
    let header = json("header", decode("header", h)?)?;
    let claims = json("payload", decode("payload", p)?)?;
    decode("signature", s)?;
    Ok(Parts {
        header,
        claims,
        signing_input: &token.as_bytes()[..h.len() + 1 + p.len()],
        signature: s,
    })
}

/// A token taken apart (size, structure, base64url, JSON) without trusting anything in it, so
/// that a server decodes it once: asks its issuer, to pick the issuer's configuration and keys,
/// then verifies it.
pub struct UnverifiedToken<'a> {
    parts: Parts<'a>,
}

impl<'a> UnverifiedToken<'a> {
    /// Takes `token` apart; fails as [`verify_token`] does for a token too large or malformed.
    pub fn parse(token: &'a str) -> Result<Self, TokenError> {
        Ok(Self {
            parts: split(token)?,
        })
    }

    /// Its `iss`, unverified: see [`unverified_issuer`].
    pub fn issuer(&self) -> Result<&str, TokenError> {
        match self.parts.claims.get("iss") {
            Some(Value::String(s)) => Ok(s),
            _ => Err(TokenError::MissingClaim { claim: "iss" }),
        }
    }

    /// [`verify_token`] of the token this was parsed from.
    pub fn verify(
        self,
        issuer: &IssuerConfig,
        jwks: &Jwks,
        now: i64,
    ) -> Result<VerifiedToken, TokenError> {
        verify_parts(self.parts, issuer, jwks, now)
    }
}

/// Reads `iss` without verifying anything, so the caller can pick the issuer config and JWKS.
/// Never trust the result beyond that lookup.
pub fn unverified_issuer(token: &str) -> Result<String, TokenError> {
    UnverifiedToken::parse(token)?.issuer().map(str::to_owned)
}

/// The algorithm allow-list: RSA (PKCS#1 v1.5 and PSS), ECDSA P-256/P-384 and Ed25519.
fn parse_alg(alg: &str) -> Result<JwsAlgorithm, TokenError> {
    Ok(match alg {
        "RS256" => JwsAlgorithm::RS256,
        "RS384" => JwsAlgorithm::RS384,
        "RS512" => JwsAlgorithm::RS512,
        "PS256" => JwsAlgorithm::PS256,
        "PS384" => JwsAlgorithm::PS384,
        "PS512" => JwsAlgorithm::PS512,
        "ES256" => JwsAlgorithm::ES256,
        "ES384" => JwsAlgorithm::ES384,
        "EdDSA" => JwsAlgorithm::EdDSA,
        a if a.eq_ignore_ascii_case("none") => return Err(TokenError::Unsigned),
        a if a.starts_with("HS") => return Err(TokenError::SymmetricAlgorithm(a.to_owned())),
        a => return Err(TokenError::UnsupportedAlgorithm(a.to_owned())),
    })
}

fn numeric_date(
    claims: &Map<String, Value>,
    claim: &'static str,
) -> Result<Option<i64>, TokenError> {
    match claims.get(claim) {
        None => Ok(None),
        Some(v) => {
            if let Some(i) = v.as_i64() {
                Ok(Some(i))
            } else if let Some(f) = v.as_f64().filter(|f| f.is_finite() && f.abs() < 1e15) {
                // RFC 7519 NumericDate may be fractional; whole seconds suffice here.
                Ok(Some(f.floor() as i64))
            } else {
                Err(TokenError::MissingClaim { claim })
            }
        }
    }
}

/// Verifies `token` as issued by `issuer` (exact `iss`, `aud` ∋ `client_id`) and signed by a key
/// in `jwks`, at time `now` (Unix seconds) with [`CLOCK_SKEW_SECS`] of slack.
///
/// Checks, in order: size, structure, algorithm, `iss`, key selection, signature, `sub`, `aud`,
/// `exp` (required), `nbf` and `iat` (if present).
pub fn verify_token(
    token: &str,
    issuer: &IssuerConfig,
    jwks: &Jwks,
    now: i64,
) -> Result<VerifiedToken, TokenError> {
    verify_parts(split(token)?, issuer, jwks, now)
}

fn verify_parts(
    parts: Parts<'_>,
    issuer: &IssuerConfig,
    jwks: &Jwks,
    now: i64,
) -> Result<VerifiedToken, TokenError> {
    let alg_name = match parts.header.get("alg") {
        Some(Value::String(a)) => a.clone(),
        _ => return Err(malformed("header has no \"alg\"")),
    };
    let alg = parse_alg(&alg_name)?;
    if let Some(crit) = parts.header.get("crit") {
        return Err(malformed(format!(
            "unsupported critical header parameters {crit}"
        )));
    }
    let iss = match parts.claims.get("iss") {
        Some(Value::String(s)) => s.clone(),
        _ => return Err(TokenError::MissingClaim { claim: "iss" }),
    };
    if iss != issuer.issuer_url {
        return Err(TokenError::WrongIssuer {
            expected: issuer.issuer_url.clone(),
            actual: iss,
        });
    }

    match parts.header.get("kid") {
        Some(Value::String(kid)) => {
            let key = jwks
                .keys
                .iter()
                .find(|k| k.kid.as_deref() == Some(kid.as_str()))
                .ok_or_else(|| TokenError::UnknownKeyId(kid.clone()))?;
            verify_with(key, alg, &alg_name, parts.signing_input, parts.signature)?;
        }
        Some(_) => return Err(malformed("header \"kid\" is not a string")),
        None => {
            // No kid: like go-oidc, try every key that fits the algorithm.
            let mut err = TokenError::NoMatchingKey(alg_name.clone());
            let mut verified = false;
            for key in &jwks.keys {
                match verify_with(key, alg, &alg_name, parts.signing_input, parts.signature) {
                    Ok(()) => {
                        verified = true;
                        break;
                    }
                    Err(e @ TokenError::BadSignature(_)) => err = e,
                    Err(_) => {}
                }
            }
            if !verified {
                return Err(err);
            }
        }
    }

    let claims = parts.claims;
    let subject = match claims.get("sub") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => return Err(TokenError::MissingClaim { claim: "sub" }),
    };
    let auds: Vec<String> = match claims.get("aud") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or(TokenError::MissingClaim { claim: "aud" })?,
        _ => return Err(TokenError::MissingClaim { claim: "aud" }),
    };
    if !auds.contains(&issuer.client_id) {
        return Err(TokenError::WrongAudience {
            expected: issuer.client_id.clone(),
            actual: auds,
        });
    }
    let exp = numeric_date(&claims, "exp")?.ok_or(TokenError::MissingClaim { claim: "exp" })?;
    if now > exp.saturating_add(CLOCK_SKEW_SECS) {
        return Err(TokenError::Expired { exp, now });
    }
    if let Some(nbf) = numeric_date(&claims, "nbf")? {
        if now.saturating_add(CLOCK_SKEW_SECS) < nbf {
            return Err(TokenError::NotYetValid { nbf, now });
        }
    }
    if let Some(iat) = numeric_date(&claims, "iat")? {
        if now.saturating_add(CLOCK_SKEW_SECS) < iat {
            return Err(TokenError::IssuedInFuture { iat, now });
        }
    }
    Ok(VerifiedToken {
        issuer: issuer.issuer_url.clone(),
        subject,
        algorithm: alg_name,
        claims,
    })
}

fn bad_key(key: &Jwk, reason: impl Into<String>) -> TokenError {
    TokenError::BadKey {
        kid: key.kid.clone().unwrap_or_default(),
        reason: reason.into(),
    }
}

/// The JWK type and curve an algorithm needs (`None`: any RSA key).
fn required_key(alg: JwsAlgorithm) -> (&'static str, Option<&'static str>) {
    match alg {
        JwsAlgorithm::ES256 => ("EC", Some("P-256")),
        JwsAlgorithm::ES384 => ("EC", Some("P-384")),
        JwsAlgorithm::EdDSA => ("OKP", Some("Ed25519")),
        _ => ("RSA", None),
    }
}

/// The key in the form `jsonwebtoken` verifies with.
fn decoding_key(key: &ClientPublicKey) -> Option<DecodingKey> {
    match key {
        ClientPublicKey::Standard(PublicKey::Ed25519(k)) => {
            Some(DecodingKey::from_ed_der(k.as_bytes()))
        }
        ClientPublicKey::Rsa(k) => {
            let (n, e) = k.components();
            Some(DecodingKey::from_rsa_raw_components(&n, &e))
        }
        other => other
            .ec_point()
            .map(|point| DecodingKey::from_ec_der(&point)),
    }
}

/// Verifies the token's signature with `key`, after the checks that it may: `use` is `sig`, the
/// key is not restricted to another algorithm, its type and curve fit the algorithm, and it
/// passes the stack's key policy.
fn verify_with(
    key: &Jwk,
    alg: JwsAlgorithm,
    alg_name: &str,
    signing_input: &[u8],
    signature: &str,
) -> Result<(), TokenError> {
    if let Some(u) = &key.use_ {
        if u != "sig" {
            return Err(bad_key(key, format!("key use is {u:?}, not \"sig\"")));
        }
    }
    if let Some(a) = &key.alg {
        if a != alg_name {
            return Err(bad_key(
                key,
                format!("key is for {a}, token uses {alg_name}"),
            ));
        }
    }
    let (kty, crv) = required_key(alg);
    if key.kty != kty || (crv.is_some() && key.crv.as_deref() != crv) {
        let wanted = [Some(kty), crv].into_iter().flatten().collect::<Vec<_>>();
        return Err(bad_key(
            key,
            format!(
                "{alg_name} needs an {} key, key is {} {:?}",
                wanted.join(" "),
                key.kty,
                key.crv
            ),
        ));
    }
    let public = ClientPublicKey::from_jwk(key).map_err(|e| bad_key(key, e.to_string()))?;
    let decoding = decoding_key(&public)
        .ok_or_else(|| bad_key(key, format!("{alg_name} cannot use a {:?}", public.kind())))?;
    match jsonwebtoken::crypto::verify(signature, signing_input, &decoding, alg) {
        Ok(true) => Ok(()),
        Ok(false) => Err(TokenError::BadSignature(format!(
            "{alg_name}: signature error"
        ))),
        Err(e) => Err(TokenError::BadSignature(format!("{alg_name}: {e}"))),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::{IssuerType, DEFAULT_CLIENT_ID};
    use rand_core::OsRng;
    use serde_json::json;
    use std::sync::OnceLock;

    pub(crate) const ISS: &str = "https://issuer.example.com";
    pub(crate) const NOW: i64 = 1_700_000_000;

    pub(crate) fn issuer(t: IssuerType) -> IssuerConfig {
        IssuerConfig {
            issuer_url: ISS.into(),
            client_id: DEFAULT_CLIENT_ID.into(),
            issuer_type: t,
            ci_provider: None,
            issuer_claim: None,
            subject_domain: None,
            spiffe_trust_domain: None,
            challenge_claim: None,
            description: None,
            contact: None,
            environment: None,
            ca_cert: None,
            skip_email_verification_unsafe: false,
        }
    }

    fn b64(b: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(b)
    }

    pub(crate) fn std_claims() -> Value {
        json!({"iss": ISS, "sub": "alice", "aud": "sigstore", "exp": NOW + 600, "iat": NOW, "nbf": NOW})
    }

    fn rsa_key() -> &'static rsa::RsaPrivateKey {
        static K: OnceLock<rsa::RsaPrivateKey> = OnceLock::new();
        K.get_or_init(|| rsa::RsaPrivateKey::new(&mut OsRng, 2048).expect("rsa keygen"))
    }

    fn p256_key() -> &'static p256::ecdsa::SigningKey {
        static K: OnceLock<p256::ecdsa::SigningKey> = OnceLock::new();
        K.get_or_init(|| p256::ecdsa::SigningKey::random(&mut OsRng))
    }

    pub(crate) fn ed_key() -> &'static ed25519_dalek::SigningKey {
        static K: OnceLock<ed25519_dalek::SigningKey> = OnceLock::new();
        K.get_or_init(|| ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]))
    }

    pub(crate) fn jwks() -> Jwks {
        use rsa::traits::PublicKeyParts;
        let r = rsa_key().to_public_key();
        let p = p256_key().verifying_key().to_encoded_point(false);
        let j = json!({"keys": [
            {"kty": "RSA", "kid": "rsa", "use": "sig", "n": b64(&r.n().to_bytes_be()), "e": b64(&r.e().to_bytes_be())},
            {"kty": "EC", "kid": "ec", "crv": "P-256", "x": b64(p.x().unwrap()), "y": b64(p.y().unwrap())},
            {"kty": "OKP", "kid": "ed", "crv": "Ed25519", "x": b64(ed_key().verifying_key().as_bytes())}
        ]});
        Jwks::from_json(j.to_string().as_bytes()).unwrap()
    }

    pub(crate) fn sign(alg: &str, kid: Option<&str>, claims: &Value) -> String {
        let mut h = json!({"alg": alg, "typ": "JWT"});
        if let Some(k) = kid {
            h["kid"] = json!(k);
        }
        let input = format!(
            "{}.{}",
            b64(h.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let sig: Vec<u8> = match alg {
            "RS256" => {
                use rsa::signature::{SignatureEncoding, Signer};
                rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(rsa_key().clone())
                    .sign(input.as_bytes())
                    .to_vec()
            }
            "RS512" => {
                use rsa::signature::{SignatureEncoding, Signer};
                rsa::pkcs1v15::SigningKey::<sha2::Sha512>::new(rsa_key().clone())
                    .sign(input.as_bytes())
                    .to_vec()
            }
            "PS384" => {
                use rsa::signature::{RandomizedSigner, SignatureEncoding};
                rsa::pss::SigningKey::<sha2::Sha384>::new(rsa_key().clone())
                    .sign_with_rng(&mut OsRng, input.as_bytes())
                    .to_vec()
            }
            "ES256" => {
                use p256::ecdsa::signature::Signer;
                let s: p256::ecdsa::Signature = p256_key().sign(input.as_bytes());
                s.to_bytes().to_vec()
            }
            "EdDSA" => {
                use ed25519_dalek::Signer;
                ed_key().sign(input.as_bytes()).to_bytes().to_vec()
            }
            "HS256" | "none" => Vec::new(),
            other => panic!("test cannot sign {other}"),
        };
        format!("{input}.{}", b64(&sig))
    }

    fn verify(tok: &str) -> Result<VerifiedToken, TokenError> {
        verify_token(tok, &issuer(IssuerType::Uri), &jwks(), NOW)
    }

    #[test]
    fn accepts_rs256_ps384_es256_eddsa() {
        for (alg, kid) in [
            ("RS256", "rsa"),
            ("PS384", "rsa"),
            ("ES256", "ec"),
            ("EdDSA", "ed"),
        ] {
            let v = verify(&sign(alg, Some(kid), &std_claims())).unwrap();
            assert_eq!(v.subject, "alice");
            assert_eq!(v.algorithm, alg);
        }
        // Without kid every fitting key is tried.
        verify(&sign("ES256", None, &std_claims())).unwrap();
        // aud as an array.
        let mut c = std_claims();
        c["aud"] = json!(["other", "sigstore"]);
        verify(&sign("EdDSA", Some("ed"), &c)).unwrap();
        assert_eq!(
            unverified_issuer(&sign("EdDSA", Some("ed"), &c)).unwrap(),
            ISS
        );
    }

    #[test]
    fn time_checks_with_skew() {
        let mut c = std_claims();
        c["exp"] = json!(NOW - 61);
        assert!(matches!(
            verify(&sign("ES256", Some("ec"), &c)),
            Err(TokenError::Expired { .. })
        ));
        c["exp"] = json!(NOW - 59);
        verify(&sign("ES256", Some("ec"), &c)).unwrap();
        let mut c = std_claims();
        c["nbf"] = json!(NOW + 61);
        assert!(matches!(
            verify(&sign("ES256", Some("ec"), &c)),
            Err(TokenError::NotYetValid { .. })
        ));
        c["nbf"] = json!(NOW + 59);
        verify(&sign("ES256", Some("ec"), &c)).unwrap();
        let mut c = std_claims();
        c["iat"] = json!(NOW + 120);
        assert!(matches!(
            verify(&sign("ES256", Some("ec"), &c)),
            Err(TokenError::IssuedInFuture { .. })
        ));
        let mut c = std_claims();
        c.as_object_mut().unwrap().remove("exp");
        assert_eq!(
            verify(&sign("ES256", Some("ec"), &c)),
            Err(TokenError::MissingClaim { claim: "exp" })
        );
    }

    #[test]
    fn rejects_bad_tokens_precisely() {
        let mut c = std_claims();
        c["aud"] = json!("not-sigstore");
        let e = verify(&sign("ES256", Some("ec"), &c)).unwrap_err();
        assert!(matches!(e, TokenError::WrongAudience { .. }), "{e}");
        assert!(e.to_string().contains("audience"));

        let mut c = std_claims();
        c["iss"] = json!("https://evil.example.com");
        let e = verify(&sign("ES256", Some("ec"), &c)).unwrap_err();
        assert!(matches!(e, TokenError::WrongIssuer { .. }), "{e}");

        assert_eq!(
            verify(&sign("none", None, &std_claims())),
            Err(TokenError::Unsigned)
        );
        assert_eq!(
            verify(&sign("HS256", Some("rsa"), &std_claims())),
            Err(TokenError::SymmetricAlgorithm("HS256".into()))
        );
        assert_eq!(
            verify(&sign("ES256", Some("rotated"), &std_claims())),
            Err(TokenError::UnknownKeyId("rotated".into()))
        );
        let big = "a".repeat(MAX_TOKEN_BYTES + 1);
        assert!(matches!(verify(&big), Err(TokenError::TooLarge { .. })));
        for junk in [
            "",
            "a.b",
            "a.b.c.d",
            "!!.e30.",
            "e30.bm90anNvbg.",
            "WzFd.e30.",
        ] {
            assert!(
                matches!(verify(junk), Err(TokenError::Malformed(_))),
                "{junk}"
            );
        }
        // Signature by the wrong key / tampered payload.
        let t = sign("ES256", Some("ec"), &std_claims());
        let mut parts: Vec<&str> = t.split('.').collect();
        let other = b64(
            json!({"iss": ISS, "sub": "mallory", "aud": "sigstore", "exp": NOW + 600})
                .to_string()
                .as_bytes(),
        );
        parts[1] = &other;
        assert!(matches!(
            verify(&parts.join(".")),
            Err(TokenError::BadSignature(_))
        ));
        // kid points at a key of the wrong type.
        let e = verify(&sign("ES256", Some("rsa"), &std_claims())).unwrap_err();
        assert!(matches!(e, TokenError::BadKey { .. }), "{e}");
        // Missing sub.
        let mut c = std_claims();
        c.as_object_mut().unwrap().remove("sub");
        assert_eq!(
            verify(&sign("EdDSA", Some("ed"), &c)),
            Err(TokenError::MissingClaim { claim: "sub" })
        );
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_tokens_never_panic(s in "[A-Za-z0-9_.-]{0,400}") {
            let _ = unverified_issuer(&s);
            let _ = verify(&s);
        }

        #[test]
        fn arbitrary_claims_never_panic(exp in proptest::prelude::any::<i64>(), aud in proptest::prelude::any::<String>(), f in proptest::prelude::any::<f64>()) {
            let c = json!({"iss": ISS, "sub": "s", "aud": aud, "exp": exp, "nbf": f, "iat": f});
            let _ = verify(&sign("EdDSA", Some("ed"), &c));
        }
    }

    #[test]
    fn weak_rsa_issuer_key_is_refused() {
        use rsa::traits::PublicKeyParts;
        let k = rsa::RsaPrivateKey::new(&mut OsRng, 1024)
            .unwrap()
            .to_public_key();
        let j = Jwks {
            keys: vec![Jwk {
                kty: "RSA".into(),
                kid: Some("weak".into()),
                alg: None,
                use_: None,
                crv: None,
                x: None,
                y: None,
                n: Some(b64(&k.n().to_bytes_be())),
                e: Some(b64(&k.e().to_bytes_be())),
            }],
        };
        let e = verify_token(
            &sign("RS256", Some("weak"), &std_claims()),
            &issuer(IssuerType::Uri),
            &j,
            NOW,
        )
        .unwrap_err();
        assert!(e.to_string().contains("2048"), "{e}");
    }
}
