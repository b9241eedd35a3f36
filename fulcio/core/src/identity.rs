//! From verified token claims to the identity a certificate states.
//!
//! Mirrors upstream Fulcio's `pkg/identity/*/principal.go` (@eb10c98e186f): which claim becomes
//! the SAN for each issuer type, which checks each type adds (verified e-mail, SPIFFE trust
//! domain, URI subject domain, …), and how `ci-provider` templates fill the Sigstore extensions.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::config::{CiExtension, FulcioConfig, IssuerConfig, IssuerType};
use crate::template::Template;
use crate::token::VerifiedToken;

/// The subject alternative name the certificate carries (the only identity in it: the
/// certificate subject is empty).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubjectAltName {
    /// rfc822Name.
    Email(String),
    /// uniformResourceIdentifier.
    Uri(String),
    /// otherName of type 1.3.6.1.4.1.57264.1.7 holding a UTF8String `user!domain`.
    Username(String),
}

/// Everything about the requester that goes into the certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Principal {
    /// The SAN.
    pub san: SubjectAltName,
    /// The issuer to state in OIDs .1.1 and .1.8 (the token's `iss`, or for email issuers with an
    /// `issuer-claim`, that claim's value).
    pub issuer: String,
    /// The token's `sub`, for OID .1.24.
    pub token_subject: String,
    /// CI provider extension values (only non-empty ones), OIDs .1.2–.1.6 and .1.9–.1.23.
    pub ci_extensions: BTreeMap<CiExtension, String>,
    /// The string the proof of possession must sign (the issuer's challenge claim).
    pub challenge: String,
}

/// Why claims could not be turned into a certificate identity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// The token's issuer does not match the configuration it is being mapped with.
    #[error("token issuer {token:?} is not the configured issuer {config:?}")]
    IssuerMismatch {
        /// Token `iss`.
        token: String,
        /// Configured URL.
        config: String,
    },
    /// A legacy issuer type this CA does not issue for.
    #[error("issuer type {0:?} is not supported; use ci-provider")]
    UnsupportedIssuerType(IssuerType),
    /// A claim the issuer type needs is absent or not a string.
    #[error("claim {0:?} missing or not a string")]
    MissingClaim(String),
    /// `email_verified` is not true.
    #[error("email_verified claim is not true")]
    EmailNotVerified,
    /// `email` is not an address.
    #[error("email claim {0:?} is not a valid e-mail address")]
    InvalidEmail(String),
    /// `sub` is not a well-formed SPIFFE ID.
    #[error("subject {0:?} is not a valid SPIFFE ID")]
    InvalidSpiffeId(String),
    /// The SPIFFE ID belongs to another trust domain.
    #[error(
        "SPIFFE ID trust domain {actual:?} does not match configured trust domain {expected:?}"
    )]
    WrongTrustDomain {
        /// Configured.
        expected: String,
        /// From the token.
        actual: String,
    },
    /// `uri` subject outside the configured subject domain, or not a URI.
    #[error("subject {subject:?} is not under the configured subject domain {domain:?}: {reason}")]
    UriSubjectNotAllowed {
        /// Token `sub`.
        subject: String,
        /// Configured domain.
        domain: String,
        /// Which part differs.
        reason: String,
    },
    /// `username` subject containing `!` or shaped like an e-mail address.
    #[error("username {0:?} must not contain '!' or be an e-mail address")]
    InvalidUsername(String),
    /// Kubernetes token without namespace/service-account claims.
    #[error("kubernetes claim {0:?} missing or invalid")]
    InvalidKubernetesClaims(&'static str),
    /// The issuer's configuration is incomplete for its type.
    #[error("issuer configuration incomplete: {0}")]
    Config(String),
    /// A CI template could not be rendered.
    #[error("ci-provider template for {field} failed: {reason}")]
    Template {
        /// Which extension (or `subject-alternative-name`).
        field: String,
        /// Why.
        reason: String,
    },
    /// The rendered CI SAN is not an absolute URI.
    #[error("rendered subject alternative name {0:?} is not an absolute URI")]
    InvalidSanUri(String),
}

fn str_claim(token: &VerifiedToken, claim: &str) -> Result<String, IdentityError> {
    match token.claims.get(claim) {
        Some(Value::String(s)) => Ok(s.clone()),
        _ => Err(IdentityError::MissingClaim(claim.to_owned())),
    }
}

/// Maps a verified token to a [`Principal`] using its issuer's config (as returned by
/// [`FulcioConfig::issuer`]) and, for CI providers, `config.ci_issuer_metadata`.
pub fn principal_from_token(
    token: &VerifiedToken,
    issuer: &IssuerConfig,
    config: &FulcioConfig,
) -> Result<Principal, IdentityError> {
    if token.issuer != issuer.issuer_url {
        return Err(IdentityError::IssuerMismatch {
            token: token.issuer.clone(),
            config: issuer.issuer_url.clone(),
        });
    }
    let sub = token.subject.clone();
    let mut issuer_out = token.issuer.clone();
    let mut ci_extensions = BTreeMap::new();
    let san = match issuer.issuer_type {
        IssuerType::Email => {
            let email = str_claim(token, "email")?;
            if !issuer.skip_email_verification_unsafe {
                let verified = matches!(
                    token.claims.get("email_verified"),
                    Some(Value::Bool(true))
                ) || matches!(token.claims.get("email_verified"), Some(Value::String(s)) if s == "true");
                if !verified {
                    return Err(IdentityError::EmailNotVerified);
                }
            }
            if !is_email(&email) {
                return Err(IdentityError::InvalidEmail(email));
            }
            if let Some(path) = issuer.issuer_claim.as_deref().filter(|p| !p.is_empty()) {
                issuer_out = claim_at_path(token, path)?;
            }
            SubjectAltName::Email(email)
        }
        IssuerType::Uri => {
            let domain = issuer
                .subject_domain
                .clone()
                .ok_or_else(|| IdentityError::Config("uri issuer without subject-domain".into()))?;
            let deny = |reason: String| IdentityError::UriSubjectNotAllowed {
                subject: sub.clone(),
                domain: domain.clone(),
                reason,
            };
            if is_email(&sub) {
                return Err(deny("subject is an e-mail address".into()));
            }
            let s = url::Url::parse(&sub).map_err(|e| deny(format!("not a URI: {e}")))?;
            let d = url::Url::parse(&domain)
                .map_err(|e| IdentityError::Config(format!("subject-domain: {e}")))?;
            if s.scheme() != d.scheme() {
                return Err(deny(format!("scheme {} is not {}", s.scheme(), d.scheme())));
            }
            if s.host_str() != d.host_str() {
                return Err(deny(format!(
                    "host {:?} is not {:?}",
                    s.host_str(),
                    d.host_str()
                )));
            }
            SubjectAltName::Uri(sub.clone())
        }
        IssuerType::Spiffe => {
            let td = issuer.spiffe_trust_domain.clone().ok_or_else(|| {
                IdentityError::Config("spiffe issuer without spiffe-trust-domain".into())
            })?;
            let actual = spiffe_trust_domain(&sub)
                .ok_or_else(|| IdentityError::InvalidSpiffeId(sub.clone()))?;
            if actual != td {
                return Err(IdentityError::WrongTrustDomain {
                    expected: td,
                    actual: actual.to_owned(),
                });
            }
            SubjectAltName::Uri(sub.clone())
        }
        IssuerType::Kubernetes => {
            let k8s = token.claims.get("kubernetes.io");
            let ns = k8s.and_then(|k| k.get("namespace")).and_then(Value::as_str);
            let sa = k8s
                .and_then(|k| k.get("serviceaccount"))
                .and_then(|s| s.get("name"))
                .and_then(Value::as_str);
            let ok = |s: &str| {
                !s.is_empty()
                    && s.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            };
            let ns = ns
                .filter(|s| ok(s))
                .ok_or(IdentityError::InvalidKubernetesClaims(
                    "kubernetes.io.namespace",
                ))?;
            let sa = sa
                .filter(|s| ok(s))
                .ok_or(IdentityError::InvalidKubernetesClaims(
                    "kubernetes.io.serviceaccount.name",
                ))?;
            SubjectAltName::Uri(format!(
                "https://kubernetes.io/namespaces/{ns}/serviceaccounts/{sa}"
            ))
        }
        IssuerType::Username => {
            if sub.contains('!') || is_email(&sub) {
                return Err(IdentityError::InvalidUsername(sub));
            }
            let domain = issuer
                .subject_domain
                .as_deref()
                .filter(|d| !d.is_empty())
                .ok_or_else(|| {
                    IdentityError::Config("username issuer without subject-domain".into())
                })?;
            SubjectAltName::Username(format!("{sub}!{domain}"))
        }
        IssuerType::CiProvider => {
            let name = issuer.ci_provider.as_deref().unwrap_or("");
            let md = config.ci_issuer_metadata.get(name).ok_or_else(|| {
                IdentityError::Config(format!("no ci-issuer-metadata for {name:?}"))
            })?;
            let mut data = md.default_template_values.clone();
            for (k, v) in &token.claims {
                data.insert(k.clone(), go_string(v));
            }
            if md.subject_alternative_name_template.trim().is_empty() {
                return Err(IdentityError::Config(format!(
                    "{name}: empty subject-alternative-name-template"
                )));
            }
            let san = apply(
                &md.subject_alternative_name_template,
                &data,
                "subject-alternative-name",
            )?;
            match url::Url::parse(&san) {
                Ok(_) => {}
                Err(_) => return Err(IdentityError::InvalidSanUri(san)),
            }
            for (ext, t) in &md.extension_templates {
                if t.trim().is_empty() {
                    continue;
                }
                let v = apply(t, &data, &format!("{ext:?}"))?;
                if !v.is_empty() {
                    ci_extensions.insert(*ext, v);
                }
            }
            SubjectAltName::Uri(san)
        }
        other => return Err(IdentityError::UnsupportedIssuerType(other)),
    };
    let challenge = str_claim(token, issuer.challenge_claim())?;
    Ok(Principal {
        san,
        issuer: issuer_out,
        token_subject: sub,
        ci_extensions,
        challenge,
    })
}

/// Upstream `applyTemplateOrReplace`: a template if it contains `{{`, else a claim name.
fn apply(t: &str, data: &BTreeMap<String, String>, field: &str) -> Result<String, IdentityError> {
    let fail = |reason: String| IdentityError::Template {
        field: field.to_owned(),
        reason,
    };
    if t.contains("{{") {
        Template::parse(t)
            .and_then(|p| p.render(data))
            .map_err(|e| fail(e.to_string()))
    } else {
        data.get(t).cloned().ok_or_else(|| {
            fail(format!(
                "claim {t:?} present in neither the token nor the defaults"
            ))
        })
    }
}

/// Formats a claim the way upstream's `mapValuesToString` (Go `%v`) does, so templates see
/// the same strings: integral numbers without a fraction, `true`/`false`, `<nil>`, `[a b]`,
/// `map[k:v]` (keys sorted).
fn go_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "<nil>".into(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (_, Some(u), _) => u.to_string(),
            (_, _, Some(f)) if f.fract() == 0.0 && f.abs() < 1e21 => format!("{f:.0}"),
            (_, _, Some(f)) => f.to_string(),
            _ => n.to_string(),
        },
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(go_string).collect::<Vec<_>>().join(" ")
        ),
        Value::Object(m) => {
            let mut kv: Vec<_> = m
                .iter()
                .map(|(k, v)| format!("{k}:{}", go_string(v)))
                .collect();
            kv.sort();
            format!("map[{}]", kv.join(" "))
        }
    }
}

/// `$.a.b` → claims["a"]["b"], which must be a string.
fn claim_at_path(token: &VerifiedToken, path: &str) -> Result<String, IdentityError> {
    let rest = path.strip_prefix("$.").ok_or_else(|| {
        IdentityError::Config(format!("issuer-claim {path:?} must start with \"$.\""))
    })?;
    let mut parts = rest.split('.');
    let first = parts.next().unwrap_or("");
    let mut cur = token.claims.get(first);
    for p in parts {
        cur = cur.and_then(|v| v.get(p));
    }
    match cur {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        _ => Err(IdentityError::MissingClaim(path.to_owned())),
    }
}

/// A pragmatic address check: one `@`, non-empty local part, a dotted domain, no whitespace or
/// control characters (upstream uses govalidator's regex; certificates need no more).
fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    s.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && !local.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && local
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && c != '<' && c != '>')
}

/// SPIFFE trust domain syntax: lowercase letters, digits, `.`, `-`, `_`.
pub(crate) fn is_valid_trust_domain(td: &str) -> bool {
    !td.is_empty()
        && td.len() <= 255
        && td.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-' || b == b'_'
        })
}

/// Parses `spiffe://<trust-domain>[/<segment>…]` per the SPIFFE ID spec and returns the trust
/// domain, or `None` if malformed.
fn spiffe_trust_domain(id: &str) -> Option<&str> {
    if id.len() > 2048 {
        return None;
    }
    let rest = id.strip_prefix("spiffe://")?;
    let (td, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if !is_valid_trust_domain(td) {
        return None;
    }
    if !path.is_empty() {
        for seg in path[1..].split('/') {
            if seg.is_empty()
                || seg == "."
                || seg == ".."
                || !seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
            {
                return None;
            }
        }
    }
    Some(td)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::token::tests::{issuer, ISS};
    use serde_json::json;

    pub(crate) fn token(claims: Value) -> VerifiedToken {
        VerifiedToken {
            issuer: claims["iss"].as_str().unwrap_or(ISS).to_owned(),
            subject: claims["sub"].as_str().unwrap_or("").to_owned(),
            algorithm: "ES256".into(),
            claims: claims.as_object().cloned().unwrap_or_default(),
        }
    }

    fn cfg() -> FulcioConfig {
        FulcioConfig::default()
    }

    #[test]
    fn email_requires_verified() {
        let i = issuer(IssuerType::Email);
        let t = token(
            json!({"iss": ISS, "sub": "123", "email": "a@example.com", "email_verified": true}),
        );
        let p = principal_from_token(&t, &i, &cfg()).unwrap();
        assert_eq!(p.san, SubjectAltName::Email("a@example.com".into()));
        assert_eq!(p.challenge, "a@example.com");
        assert_eq!(p.issuer, ISS);
        let t = token(
            json!({"iss": ISS, "sub": "123", "email": "a@example.com", "email_verified": false}),
        );
        assert_eq!(
            principal_from_token(&t, &i, &cfg()),
            Err(IdentityError::EmailNotVerified)
        );
        let t = token(json!({"iss": ISS, "sub": "123", "email": "a@example.com"}));
        assert_eq!(
            principal_from_token(&t, &i, &cfg()),
            Err(IdentityError::EmailNotVerified)
        );
        let t = token(
            json!({"iss": ISS, "sub": "123", "email": "not an email", "email_verified": true}),
        );
        assert!(matches!(
            principal_from_token(&t, &i, &cfg()),
            Err(IdentityError::InvalidEmail(_))
        ));
    }

    #[test]
    fn email_issuer_claim_dex() {
        let mut i = issuer(IssuerType::Email);
        i.issuer_claim = Some("$.federated_claims.connector_id".into());
        let t = token(
            json!({"iss": ISS, "sub": "x", "email": "w.vollprecht@gmail.com", "email_verified": true,
            "federated_claims": {"connector_id": "https://github.com/login/oauth", "user_id": "1"}}),
        );
        let p = principal_from_token(&t, &i, &cfg()).unwrap();
        assert_eq!(p.issuer, "https://github.com/login/oauth");
    }

    #[test]
    fn spiffe_trust_domain_checked() {
        let mut i = issuer(IssuerType::Spiffe);
        i.spiffe_trust_domain = Some("example.com".into());
        let ok = token(json!({"iss": ISS, "sub": "spiffe://example.com/ns/foo/sa/bar"}));
        assert_eq!(
            principal_from_token(&ok, &i, &cfg()).unwrap().san,
            SubjectAltName::Uri("spiffe://example.com/ns/foo/sa/bar".into())
        );
        let other = token(json!({"iss": ISS, "sub": "spiffe://evil.com/ns/foo"}));
        assert!(matches!(
            principal_from_token(&other, &i, &cfg()),
            Err(IdentityError::WrongTrustDomain { .. })
        ));
        for bad in [
            "https://example.com/x",
            "spiffe://example.com/a//b",
            "spiffe://Example.com/x",
            "spiffe://example.com/../x",
            "spiffe://example.com/x/",
        ] {
            let t = token(json!({"iss": ISS, "sub": bad}));
            assert!(
                matches!(
                    principal_from_token(&t, &i, &cfg()),
                    Err(IdentityError::InvalidSpiffeId(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn uri_subject_domain() {
        let mut i = issuer(IssuerType::Uri);
        i.subject_domain = Some("https://example.com".into());
        let ok = token(json!({"iss": ISS, "sub": "https://example.com/users/1"}));
        assert_eq!(
            principal_from_token(&ok, &i, &cfg()).unwrap().san,
            SubjectAltName::Uri("https://example.com/users/1".into())
        );
        for bad in [
            "http://example.com/u",
            "https://evil.com/u",
            "a@example.com",
            "nope",
        ] {
            let t = token(json!({"iss": ISS, "sub": bad}));
            assert!(
                matches!(
                    principal_from_token(&t, &i, &cfg()),
                    Err(IdentityError::UriSubjectNotAllowed { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn kubernetes_san() {
        let i = issuer(IssuerType::Kubernetes);
        let t = token(
            json!({"iss": ISS, "sub": "system:serviceaccount:default:builder",
            "kubernetes.io": {"namespace": "default", "pod": {"name": "p", "uid": "u"},
                              "serviceaccount": {"name": "builder", "uid": "u2"}}}),
        );
        let p = principal_from_token(&t, &i, &cfg()).unwrap();
        assert_eq!(
            p.san,
            SubjectAltName::Uri(
                "https://kubernetes.io/namespaces/default/serviceaccounts/builder".into()
            )
        );
        assert_eq!(p.challenge, "system:serviceaccount:default:builder");
        let t = token(
            json!({"iss": ISS, "sub": "s", "kubernetes.io": {"namespace": "a/b", "serviceaccount": {"name": "x"}}}),
        );
        assert!(matches!(
            principal_from_token(&t, &i, &cfg()),
            Err(IdentityError::InvalidKubernetesClaims(_))
        ));
        let t = token(json!({"iss": ISS, "sub": "s"}));
        assert!(matches!(
            principal_from_token(&t, &i, &cfg()),
            Err(IdentityError::InvalidKubernetesClaims(_))
        ));
    }

    #[test]
    fn username_othername() {
        let mut i = issuer(IssuerType::Username);
        i.subject_domain = Some("oidc.local".into());
        let t = token(json!({"iss": ISS, "sub": "foo"}));
        assert_eq!(
            principal_from_token(&t, &i, &cfg()).unwrap().san,
            SubjectAltName::Username("foo!oidc.local".into())
        );
        for bad in ["a!b", "a@b.com"] {
            let t = token(json!({"iss": ISS, "sub": bad}));
            assert!(matches!(
                principal_from_token(&t, &i, &cfg()),
                Err(IdentityError::InvalidUsername(_))
            ));
        }
    }

    #[test]
    fn legacy_types_and_issuer_mismatch() {
        let i = issuer(IssuerType::GithubWorkflow);
        let t = token(json!({"iss": ISS, "sub": "x"}));
        assert!(matches!(
            principal_from_token(&t, &i, &cfg()),
            Err(IdentityError::UnsupportedIssuerType(_))
        ));
        let t = token(json!({"iss": "https://other", "sub": "x"}));
        assert!(matches!(
            principal_from_token(&t, &i, &cfg()),
            Err(IdentityError::IssuerMismatch { .. })
        ));
    }

    #[test]
    fn go_value_formatting() {
        assert_eq!(go_string(&json!(12359147651u64)), "12359147651");
        assert_eq!(go_string(&json!(1.5)), "1.5");
        assert_eq!(go_string(&json!(2.0)), "2");
        assert_eq!(go_string(&json!(true)), "true");
        assert_eq!(go_string(&json!(null)), "<nil>");
        assert_eq!(go_string(&json!(["a", 1])), "[a 1]");
        assert_eq!(go_string(&json!({"b": 1, "a": "x"})), "map[a:x b:1]");
    }

    /// The claim set a GitHub Actions token carries, rebuilt from the extensions of the real
    /// public-good certificate in the vectors.
    pub(crate) fn github_claims_public_good() -> Value {
        json!({
            "iss": "https://token.actions.githubusercontent.com",
            "aud": "sigstore",
            "sub": "repo:sigstore-conformance/extremely-dangerous-public-oidc-beacon:ref:refs/heads/main",
            "ref": "refs/heads/main",
            "sha": "82a3bfe6dd50fe9c71d6315eae66da15307856cf",
            "repository": "sigstore-conformance/extremely-dangerous-public-oidc-beacon",
            "repository_owner": "sigstore-conformance",
            "repository_owner_id": "131804563",
            "repository_id": "632596897",
            "repository_visibility": "public",
            "run_id": "12359147651",
            "run_number": "1",
            "run_attempt": "1",
            "actor": "someone",
            "workflow": "Extremely dangerous OIDC beacon",
            "event_name": "workflow_dispatch",
            "ref_type": "branch",
            "workflow_ref": "sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main",
            "workflow_sha": "82a3bfe6dd50fe9c71d6315eae66da15307856cf",
            "job_workflow_ref": "sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main",
            "job_workflow_sha": "82a3bfe6dd50fe9c71d6315eae66da15307856cf",
            "runner_environment": "github-hosted",
        })
    }

    /// Same for the 2026 staging certificate (which also carries .1.24). `run_id` is a JSON
    /// number here to exercise upstream's integral-float formatting.
    pub(crate) fn github_claims_staging() -> Value {
        json!({
            "iss": "https://token.actions.githubusercontent.com",
            "aud": "sigstore",
            "sub": "repo:sigstore/root-signing-staging:ref:refs/heads/main",
            "ref": "refs/heads/main",
            "sha": "1e0a247d769aabbd10e21c3456c51fc801fe8b26",
            "repository": "sigstore/root-signing-staging",
            "repository_owner": "sigstore",
            "repository_owner_id": "71096353",
            "repository_id": "709918736",
            "repository_visibility": "public",
            "run_id": 28919686714u64,
            "run_attempt": "1",
            "workflow": "TUF-on-CI repository tests",
            "event_name": "schedule",
            "workflow_ref": "sigstore/root-signing-staging/.github/workflows/test.yml@refs/heads/main",
            "workflow_sha": "1e0a247d769aabbd10e21c3456c51fc801fe8b26",
            "job_workflow_ref": "sigstore/root-signing-staging/.github/workflows/custom-test.yml@refs/heads/main",
            "job_workflow_sha": "1e0a247d769aabbd10e21c3456c51fc801fe8b26",
            "runner_environment": "github-hosted",
        })
    }

    #[test]
    fn github_actions_ci_provider_values() {
        let c = crate::config::tests_support::upstream();
        let i = c
            .issuer("https://token.actions.githubusercontent.com")
            .unwrap();
        let p = principal_from_token(&token(github_claims_public_good()), &i, &c).unwrap();
        assert_eq!(
            p.san,
            SubjectAltName::Uri("https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main".into())
        );
        assert_eq!(p.ci_extensions[&CiExtension::RunInvocationUri], "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/actions/runs/12359147651/attempts/1");
        assert!(!p
            .ci_extensions
            .contains_key(&CiExtension::DeploymentEnvironment));
        assert_eq!(p.challenge, p.token_subject);
        // A claim a bare-name template needs is missing → precise error.
        let mut claims = github_claims_public_good();
        claims.as_object_mut().unwrap().remove("job_workflow_sha");
        let e = principal_from_token(&token(claims), &i, &c).unwrap_err();
        assert!(e.to_string().contains("job_workflow_sha"), "{e}");
    }

    #[test]
    fn gitlab_ref_template() {
        let c = crate::config::tests_support::upstream();
        let i = c.issuer("https://gitlab.com").unwrap();
        let claims = json!({"iss": "https://gitlab.com", "sub": "project_path:g/p:ref_type:tag:ref:v1",
            "ci_config_ref_uri": "gitlab.com/g/p//.gitlab-ci.yml@refs/tags/v1", "ci_config_sha": "abc",
            "runner_environment": "gitlab-hosted", "project_path": "g/p", "sha": "abc", "ref_type": "tag", "ref": "v1",
            "project_id": 42, "namespace_path": "g", "namespace_id": "7", "pipeline_source": "push",
            "job_id": "99", "project_visibility": "private"});
        let p = principal_from_token(&token(claims), &i, &c).unwrap();
        assert_eq!(
            p.ci_extensions[&CiExtension::SourceRepositoryRef],
            "refs/tags/v1"
        );
        assert_eq!(
            p.ci_extensions[&CiExtension::SourceRepositoryIdentifier],
            "42"
        );
        assert_eq!(
            p.san,
            SubjectAltName::Uri("https://gitlab.com/g/p//.gitlab-ci.yml@refs/tags/v1".into())
        );
    }
}
