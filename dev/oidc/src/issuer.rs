//! The issuer itself: its key, its documents (discovery, JWKS) and token minting. No I/O beyond
//! opening the key file.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use p256::pkcs8::DecodePublicKey as _;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};
use sigstack_keys::{Algorithm, Signer, SoftwareKey};

use crate::error::DevOidcError;

/// The audience minted when the request names none: what Sigstore clients and Fulcio expect.
pub const DEFAULT_AUDIENCE: &str = "sigstore";
/// How long a minted token is valid by default: ten minutes, like Fulcio's certificates.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(600);
/// The longest token lifetime [`DevIssuerOptions`] accepts.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// The longest audience accepted, in bytes.
pub const MAX_AUDIENCE_BYTES: usize = 256;
/// The longest e-mail address accepted, in bytes (RFC 5321's path limit less the brackets).
pub const MAX_EMAIL_BYTES: usize = 254;
/// The JWS algorithm of every token: ECDSA P-256 with SHA-256.
pub const SIGNING_ALGORITHM: &str = "ES256";
/// The `grant_type` values the token endpoint accepts in form requests.
pub const GRANT_TYPES: [&str; 2] = ["client_credentials", "urn:sigstack:dev"];
/// The claim every minted token carries, set to `true`, so that anything inspecting a token (or a
/// certificate's issuer) can tell it came from a development issuer.
pub const DEVELOPMENT_CLAIM: &str = "sigstack_development_issuer";

/// Settings of a [`DevIssuer`]; every field has a named default.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DevIssuerOptions {
    /// Lifetime of minted tokens (`exp - iat`). Default [`DEFAULT_TOKEN_LIFETIME`]; at least one
    /// second, at most [`MAX_TOKEN_LIFETIME`].
    pub token_lifetime: Duration,
    /// DANGEROUS: let the issuer URL name a non-loopback host and let the router answer
    /// non-loopback peers. Anyone who can reach the issuer can then obtain a token for any
    /// identity. Only for a container network where nothing but the stack can reach it. Default
    /// `false`.
    pub allow_non_loopback_unsafe: bool,
}

impl Default for DevIssuerOptions {
    fn default() -> Self {
        Self {
            token_lifetime: DEFAULT_TOKEN_LIFETIME,
            allow_non_loopback_unsafe: false,
        }
    }
}

impl DevIssuerOptions {
    /// The defaults with another token lifetime.
    pub fn with_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.token_lifetime = lifetime;
        self
    }

    /// DANGEROUS: the options with [`DevIssuerOptions::allow_non_loopback_unsafe`] set.
    pub fn allow_non_loopback_unsafe(mut self) -> Self {
        self.allow_non_loopback_unsafe = true;
        self
    }

    fn validate(&self) -> Result<(), DevOidcError> {
        if self.token_lifetime < Duration::from_secs(1) {
            return Err(DevOidcError::InvalidOption {
                option: "token_lifetime",
                reason: "must be at least one second",
            });
        }
        if self.token_lifetime > MAX_TOKEN_LIFETIME {
            return Err(DevOidcError::InvalidOption {
                option: "token_lifetime",
                reason: "must be at most 24 hours",
            });
        }
        Ok(())
    }
}

/// A development OpenID Connect issuer: one ES256 key, an issuer URL, and the ability to mint an
/// ID token for any e-mail address. Share it as an `Arc` between the router and in-process
/// callers.
pub struct DevIssuer {
    /// Signs every token; ECDSA P-256, checked at construction.
    signer: Arc<dyn Signer>,
    /// The exact `iss` of every token, as given.
    issuer_url: String,
    /// `issuer_url` without trailing slashes, to build endpoint URLs under.
    base_url: String,
    /// RFC 7638 thumbprint of the public JWK; the `kid` of the key and of every token.
    kid: String,
    /// The public key as a JWK (with `kid`, `alg`, `use`).
    jwk: Value,
    options: DevIssuerOptions,
}

impl std::fmt::Debug for DevIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevIssuer")
            .field("issuer_url", &self.issuer_url)
            .field("kid", &self.kid)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl DevIssuer {
    /// Opens the issuer whose ES256 key is at `key_path` (created, owner-only, on first use) and
    /// whose tokens carry `iss = issuer_url`; default [`DevIssuerOptions`], so `issuer_url` must
    /// name a loopback host (`localhost`, `127.0.0.0/8`, `[::1]`).
    pub fn open(key_path: &Path, issuer_url: &str) -> Result<Arc<Self>, DevOidcError> {
        Self::open_with(key_path, issuer_url, DevIssuerOptions::default())
    }

    /// As [`DevIssuer::open`], with `options`.
    pub fn open_with(
        key_path: &Path,
        issuer_url: &str,
        options: DevIssuerOptions,
    ) -> Result<Arc<Self>, DevOidcError> {
        let key = SoftwareKey::load_or_generate(key_path, Algorithm::EcdsaP256Sha256).map_err(
            |source| DevOidcError::Key {
                path: key_path.to_owned(),
                source,
            },
        )?;
        Self::with_signer(Arc::new(key), issuer_url, options)
    }

    /// An issuer signing with `signer`, which must be an ECDSA P-256 key (an HSM key, say).
    pub fn with_signer(
        signer: Arc<dyn Signer>,
        issuer_url: &str,
        options: DevIssuerOptions,
    ) -> Result<Arc<Self>, DevOidcError> {
        options.validate()?;
        if signer.algorithm() != Algorithm::EcdsaP256Sha256 {
            return Err(DevOidcError::WrongKeyAlgorithm(signer.algorithm().name()));
        }
        check_issuer_url(issuer_url, options.allow_non_loopback_unsafe)?;
        let public = p256::PublicKey::from_public_key_der(signer.public_key_der())
            .map_err(|_| DevOidcError::MalformedPublicKey)?;
        let point = public.to_encoded_point(false);
        let (Some(x), Some(y)) = (point.x(), point.y()) else {
            return Err(DevOidcError::MalformedPublicKey);
        };
        let (x, y) = (B64URL.encode(x), B64URL.encode(y));
        // RFC 7638 §3.2: the required members in lexicographic order, no whitespace.
        let thumbprint_input = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        let kid = B64URL.encode(Sha256::digest(thumbprint_input.as_bytes()));
        let jwk = json!({
            "kty": "EC", "crv": "P-256", "x": x, "y": y,
            "kid": kid, "alg": SIGNING_ALGORITHM, "use": "sig",
        });
        Ok(Arc::new(Self {
            signer,
            issuer_url: issuer_url.to_owned(),
            base_url: issuer_url.trim_end_matches('/').to_owned(),
            kid,
            jwk,
            options,
        }))
    }

    /// The exact `iss` of every token; Fulcio's configuration must name it verbatim.
    pub fn issuer_url(&self) -> &str {
        &self.issuer_url
    }

    /// The `kid` of the signing key (its RFC 7638 JWK thumbprint).
    pub fn key_id(&self) -> &str {
        &self.kid
    }

    /// The options in force.
    pub fn options(&self) -> &DevIssuerOptions {
        &self.options
    }

    /// `<issuer>/token`.
    pub fn token_endpoint(&self) -> String {
        format!("{}/token", self.base_url)
    }

    /// The JWKS document served at `<issuer>/jwks`: the one ES256 public key.
    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.jwk.clone()] })
    }

    /// The OpenID Connect discovery document served at
    /// `<issuer>/.well-known/openid-configuration`.
    ///
    /// It has every member OpenID Connect Discovery 1.0 §3 requires. There is no interactive
    /// login: `authorization_endpoint` answers with an OAuth error that points at the token
    /// endpoint, which is the only way to get a token.
    pub fn discovery_document(&self) -> Value {
        let base = &self.base_url;
        json!({
            "issuer": self.issuer_url,
            "authorization_endpoint": format!("{base}/authorize"),
            "token_endpoint": format!("{base}/token"),
            "jwks_uri": format!("{base}/jwks"),
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [SIGNING_ALGORITHM],
            "grant_types_supported": GRANT_TYPES,
            "token_endpoint_auth_methods_supported": ["none"],
            "scopes_supported": ["openid", "email"],
            "claims_supported": ["iss", "sub", "aud", "iat", "nbf", "exp", "email", "email_verified", DEVELOPMENT_CLAIM],
            "service_documentation": format!("{base}/"),
            "op_policy_uri": format!("{base}/"),
            DEVELOPMENT_CLAIM: true,
            "sigstack_note": "DEVELOPMENT ISSUER: mints a token for any e-mail address to anyone who asks. Never trust it in production.",
        })
    }

    /// Mints a signed ID token for `email` with audience `audience`, issued at `now` (Unix
    /// seconds) and valid for the configured lifetime.
    ///
    /// Claims: `iss`, `sub` = `email`, `aud`, `iat` = `nbf` = `now`, `exp`, `email`,
    /// `email_verified: true` and [`DEVELOPMENT_CLAIM`]`: true`. Header: `alg` ES256, `typ` JWT,
    /// `kid`. The e-mail and audience are checked first ([`validate_email`],
    /// [`validate_audience`]).
    pub fn mint(&self, email: &str, audience: &str, now: i64) -> Result<String, DevOidcError> {
        validate_email(email)?;
        validate_audience(audience)?;
        let exp = now.saturating_add(self.lifetime_secs());
        let header = json!({ "alg": SIGNING_ALGORITHM, "typ": "JWT", "kid": self.kid });
        let claims = json!({
            "iss": self.issuer_url,
            "sub": email,
            "aud": audience,
            "iat": now,
            "nbf": now,
            "exp": exp,
            "email": email,
            "email_verified": true,
            DEVELOPMENT_CLAIM: true,
        });
        let signing_input = format!(
            "{}.{}",
            B64URL.encode(header.to_string()),
            B64URL.encode(claims.to_string())
        );
        let der = self
            .signer
            .sign(signing_input.as_bytes())
            .map_err(DevOidcError::Signing)?;
        // The signer speaks DER (ASN.1 Ecdsa-Sig-Value); JWS wants the fixed-size r ‖ s
        // (RFC 7518 §3.4).
        let signature = ecdsa::Signature::<p256::NistP256>::from_der(&der)
            .map_err(|_| DevOidcError::MalformedSignature)?;
        Ok(format!(
            "{signing_input}.{}",
            B64URL.encode(signature.to_bytes())
        ))
    }

    /// The token lifetime in whole seconds (`expires_in`).
    pub fn lifetime_secs(&self) -> i64 {
        // Bounded by MAX_TOKEN_LIFETIME at construction.
        self.options.token_lifetime.as_secs() as i64
    }
}

/// Whether `host` (a URL host) is a loopback name or address.
fn is_loopback_host(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

fn check_issuer_url(issuer_url: &str, allow_non_loopback: bool) -> Result<(), DevOidcError> {
    let invalid = |reason| DevOidcError::InvalidIssuerUrl {
        url: issuer_url.to_owned(),
        reason,
    };
    let url = url::Url::parse(issuer_url).map_err(|_| invalid("not an absolute URL"))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(invalid("scheme must be http or https"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(
            "must have no query or fragment (OpenID Connect Discovery §3)",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("must have no user name or password"));
    }
    let Some(host) = url.host() else {
        return Err(invalid("has no host"));
    };
    if !allow_non_loopback && !is_loopback_host(&host) {
        return Err(invalid(
            "host is not loopback (localhost, 127.0.0.0/8, [::1]); the development issuer is loopback-only unless allow_non_loopback_unsafe is set",
        ));
    }
    Ok(())
}

/// Checks that `email` is a plain ASCII address `local@domain` Fulcio will certify: at most
/// [`MAX_EMAIL_BYTES`]; local part of 1–64 RFC 5322 `atext` characters and single dots, not
/// starting or ending with a dot; domain of at least two dot-separated labels of letters, digits
/// and inner hyphens, 1–63 characters each. Quoted local parts, comments, address literals and
/// non-ASCII addresses are refused: a development issuer needs none of them.
pub fn validate_email(email: &str) -> Result<(), DevOidcError> {
    let err = DevOidcError::InvalidEmail;
    if email.is_empty() {
        return Err(err("empty"));
    }
    if email.len() > MAX_EMAIL_BYTES {
        return Err(err("longer than 254 bytes"));
    }
    if !email.is_ascii() {
        return Err(err("only ASCII addresses are accepted"));
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Err(err("no @"));
    };
    if domain.contains('@') {
        return Err(err("more than one @"));
    }
    if local.is_empty() {
        return Err(err("empty local part before the @"));
    }
    if local.len() > 64 {
        return Err(err("local part longer than 64 bytes"));
    }
    const ATEXT_SPECIALS: &[u8] = b"!#$%&'*+-/=?^_`{|}~";
    if !local
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || ATEXT_SPECIALS.contains(&b))
    {
        return Err(err(
            "local part has a character other than letters, digits, dots and !#$%&'*+-/=?^_`{|}~",
        ));
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(err(
            "local part starts or ends with a dot, or has two dots in a row",
        ));
    }
    if domain.is_empty() {
        return Err(err("empty domain after the @"));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Err(err("domain has no dot (example.com, not example)"));
    }
    for label in labels {
        if label.is_empty() {
            return Err(err(
                "domain has an empty label (leading, trailing or double dot)",
            ));
        }
        if label.len() > 63 {
            return Err(err("domain label longer than 63 bytes"));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(err(
                "domain has a character other than letters, digits, hyphens and dots",
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(err("domain label starts or ends with a hyphen"));
        }
    }
    Ok(())
}

/// Checks that `audience` is 1 to [`MAX_AUDIENCE_BYTES`] bytes of visible ASCII (no spaces).
pub fn validate_audience(audience: &str) -> Result<(), DevOidcError> {
    if audience.is_empty() {
        return Err(DevOidcError::InvalidAudience("empty"));
    }
    if audience.len() > MAX_AUDIENCE_BYTES {
        return Err(DevOidcError::InvalidAudience("longer than 256 bytes"));
    }
    if !audience.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(DevOidcError::InvalidAudience(
            "has a character other than visible ASCII (spaces and control characters are refused)",
        ));
    }
    Ok(())
}

/// The Fulcio issuer configuration (upstream Fulcio's YAML format, which `fulcio::FulcioConfig`
/// reads) that trusts the development issuer at `issuer_url` for e-mail identities with the
/// audience [`DEFAULT_AUDIENCE`]. The launcher writes it where the CA reads its configuration.
pub fn fulcio_issuer_yaml(issuer_url: &str) -> String {
    // A JSON string is a valid YAML double-quoted scalar: quoting this way survives any URL.
    let url = serde_json::Value::from(issuer_url).to_string();
    format!(
        "# sigstack DEVELOPMENT issuer: it mints tokens for any e-mail address.\n\
         # Never let a production Fulcio trust it.\n\
         oidc-issuers:\n  \
           {url}:\n    \
             issuer-url: {url}\n    \
             client-id: {DEFAULT_AUDIENCE}\n    \
             type: email\n    \
             description: \"sigstack development issuer - NOT FOR PRODUCTION\"\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        for ok in [
            "alice@example.com",
            "a.b+tag@sub.example.co.uk",
            "x@a-b.io",
            "o'brien@example.org",
        ] {
            validate_email(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for bad in [
            "",
            "alice",
            "@example.com",
            "alice@",
            "alice@example",
            "a@b@example.com",
            "alice@exa mple.com",
            "al ice@example.com",
            ".alice@example.com",
            "alice.@example.com",
            "al..ice@example.com",
            "alice@-example.com",
            "alice@example-.com",
            "alice@example..com",
            "alice@.example.com",
            "alice@example.com.",
            "alïce@example.com",
            "\"alice\"@example.com",
            "alice@[127.0.0.1]",
            "alice@example.com\n",
            "<alice@example.com>",
        ] {
            assert!(validate_email(bad).is_err(), "{bad:?} accepted");
        }
        let long_local = format!("{}@example.com", "a".repeat(65));
        assert!(validate_email(&long_local).is_err());
        let long = format!("{}@{}.com", "a".repeat(64), "b".repeat(200));
        assert!(validate_email(&long).is_err());
    }

    #[test]
    fn audiences() {
        validate_audience("sigstore").unwrap();
        validate_audience("https://example.com/aud").unwrap();
        validate_audience(&"a".repeat(MAX_AUDIENCE_BYTES)).unwrap();
        for bad in ["", "a b", "tab\t", "é"] {
            assert!(validate_audience(bad).is_err(), "{bad:?}");
        }
        assert!(validate_audience(&"a".repeat(MAX_AUDIENCE_BYTES + 1)).is_err());
    }

    #[test]
    fn issuer_urls() {
        for ok in [
            "http://127.0.0.1:5556",
            "http://localhost:1/",
            "http://[::1]:8080",
            "https://127.1.2.3/dev",
        ] {
            check_issuer_url(ok, false).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for bad in [
            "127.0.0.1:5556",
            "ftp://127.0.0.1",
            "http://127.0.0.1/?q=1",
            "http://127.0.0.1/#f",
            "http://u:p@127.0.0.1/",
            "http://example.com",
            "http://0.0.0.0:5556",
            "http://10.0.0.1",
        ] {
            assert!(check_issuer_url(bad, false).is_err(), "{bad}");
        }
        check_issuer_url("http://dev-oidc:5556", true).unwrap();
    }

    #[test]
    fn options_are_bounded_and_key_must_be_p256() {
        let key: Arc<dyn Signer> = Arc::new(SoftwareKey::generate(Algorithm::EcdsaP256Sha256));
        let url = "http://127.0.0.1:1";
        for bad in [Duration::ZERO, MAX_TOKEN_LIFETIME + Duration::from_secs(1)] {
            let e = DevIssuer::with_signer(
                key.clone(),
                url,
                DevIssuerOptions::default().with_token_lifetime(bad),
            )
            .unwrap_err();
            assert!(matches!(e, DevOidcError::InvalidOption { .. }), "{e}");
        }
        let ed: Arc<dyn Signer> = Arc::new(SoftwareKey::generate(Algorithm::Ed25519));
        let e = DevIssuer::with_signer(ed, url, DevIssuerOptions::default()).unwrap_err();
        assert!(
            matches!(e, DevOidcError::WrongKeyAlgorithm("ed25519")),
            "{e}"
        );
        let issuer = DevIssuer::with_signer(key, url, DevIssuerOptions::default()).unwrap();
        // RFC 7638 thumbprints are 32 bytes, 43 base64url characters.
        assert_eq!(issuer.key_id().len(), 43);
        assert_eq!(issuer.lifetime_secs(), 600);
    }

    #[test]
    fn yaml_quotes_the_url() {
        let y = fulcio_issuer_yaml("http://127.0.0.1:5556");
        assert!(
            y.contains("\"http://127.0.0.1:5556\":\n    issuer-url: \"http://127.0.0.1:5556\"\n")
        );
        assert!(y.contains("type: email"));
    }
}
