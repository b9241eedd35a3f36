//! Issuer configuration: which OIDC issuers we trust and how their tokens map to certificates.
//!
//! The types read both spellings of upstream Fulcio's configuration unchanged
//! (sigstore/fulcio `pkg/config/config.go` @eb10c98e186f): the YAML form
//! (`oidc-issuers`, `meta-issuers`, `ci-issuer-metadata`, kebab-case fields) and the JSON form
//! (`OIDCIssuers`, `MetaIssuers`, `CIIssuerMetadata`, PascalCase fields). Our own format is the
//! YAML spelling, so an operator can move a deployment's config file across unchanged.
//! [`FulcioConfig::parse`] tries JSON first, then YAML, like upstream, and validates.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::template::Template;

/// The audience every issuer expects unless configured otherwise: Sigstore clients ask their
/// OIDC providers for tokens with `aud = "sigstore"`.
pub const DEFAULT_CLIENT_ID: &str = "sigstore";

fn default_client_id() -> String {
    DEFAULT_CLIENT_ID.to_owned()
}

/// How an issuer's tokens become a certificate identity.
///
/// The legacy provider-specific types upstream still accepts (`github-workflow`, …) are parsed so
/// upstream configs load, but only the generic types are issued for; the legacy ones are
/// rejected when a token arrives ([`crate::IdentityError::UnsupportedIssuerType`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum IssuerType {
    /// SAN rfc822Name from the `email` claim; requires `email_verified`.
    #[serde(rename = "email")]
    Email,
    /// SAN URI from `sub`, which must sit under the configured subject domain.
    #[serde(rename = "uri")]
    Uri,
    /// SAN URI from a SPIFFE ID in `sub`, whose trust domain must be the configured one.
    #[serde(rename = "spiffe")]
    Spiffe,
    /// Kubernetes service-account token; SAN `https://kubernetes.io/namespaces/<ns>/serviceaccounts/<sa>`.
    #[serde(rename = "kubernetes")]
    Kubernetes,
    /// SAN otherName (OID 1.3.6.1.4.1.57264.1.7) `<sub>!<subject-domain>`.
    #[serde(rename = "username")]
    Username,
    /// Generic CI provider: SAN and extensions rendered from `ci-issuer-metadata` templates.
    #[serde(rename = "ci-provider")]
    CiProvider,
    /// Legacy upstream type (parsed, not issued for).
    #[serde(rename = "github-workflow")]
    GithubWorkflow,
    /// Legacy upstream type (parsed, not issued for).
    #[serde(rename = "gitlab-pipeline")]
    GitlabPipeline,
    /// Legacy upstream type (parsed, not issued for).
    #[serde(rename = "codefresh-workflow")]
    CodefreshWorkflow,
    /// Legacy upstream type (parsed, not issued for).
    #[serde(rename = "buildkite-job")]
    BuildkiteJob,
    /// Chainguard identity tokens (parsed, not issued for).
    #[serde(rename = "chainguard-identity")]
    ChainguardIdentity,
}

impl IssuerType {
    /// The claim a proof of possession signs by default (upstream `issuerToChallengeClaim`).
    pub fn default_challenge_claim(self) -> &'static str {
        match self {
            IssuerType::Email => "email",
            _ => "sub",
        }
    }
}

/// One trusted OIDC issuer (or, under `meta-issuers`, a family of them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// The exact `iss` a token must carry. Empty for meta-issuers: the pattern is the map key.
    #[serde(rename = "issuer-url", alias = "IssuerURL", default)]
    pub issuer_url: String,
    /// The audience (`aud`) a token must contain. Defaults to [`DEFAULT_CLIENT_ID`].
    #[serde(
        rename = "client-id",
        alias = "ClientID",
        default = "default_client_id"
    )]
    pub client_id: String,
    /// How claims map to the certificate.
    #[serde(rename = "type", alias = "Type")]
    pub issuer_type: IssuerType,
    /// For `ci-provider`: the key into [`FulcioConfig::ci_issuer_metadata`].
    #[serde(
        rename = "ci-provider",
        alias = "CIProvider",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub ci_provider: Option<String>,
    /// For `email`: a `$.a.b` path to the claim holding the issuer to certify instead of `iss`
    /// (Dex federates several upstream providers behind one `iss`).
    #[serde(
        rename = "issuer-claim",
        alias = "IssuerClaim",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub issuer_claim: Option<String>,
    /// For `uri`: the scheme+host subjects must use; for `username`: the domain after `!`.
    #[serde(
        rename = "subject-domain",
        alias = "SubjectDomain",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub subject_domain: Option<String>,
    /// For `spiffe`: the only trust domain this issuer may vouch for.
    #[serde(
        rename = "spiffe-trust-domain",
        alias = "SPIFFETrustDomain",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub spiffe_trust_domain: Option<String>,
    /// The claim a proof of possession signs, if not the type's default.
    #[serde(
        rename = "challenge-claim",
        alias = "ChallengeClaim",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub challenge_claim: Option<String>,
    /// Human description (informational).
    #[serde(
        rename = "description",
        alias = "Description",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub description: Option<String>,
    /// Contact for the issuer's operators (informational).
    #[serde(
        rename = "contact",
        alias = "Contact",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub contact: Option<String>,
    /// Deployment environment restriction (`staging`/`production`; informational here).
    #[serde(
        rename = "environment",
        alias = "Environment",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub environment: Option<String>,
    /// PEM CA certificate to trust when fetching this issuer's discovery document and JWKS.
    #[serde(
        rename = "ca-cert",
        alias = "CACert",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub ca_cert: Option<String>,
    /// DANGEROUS: accept `email` tokens without `email_verified = true`. Only for internal IdPs
    /// that verify addresses themselves but omit the claim.
    #[serde(
        rename = "skip-email-verification",
        alias = "SkipEmailVerification",
        default,
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub skip_email_verification_unsafe: bool,
}

impl IssuerConfig {
    /// The claim whose value the client signs as proof of possession.
    pub fn challenge_claim(&self) -> &str {
        match &self.challenge_claim {
            Some(c) if !c.is_empty() => c,
            _ => self.issuer_type.default_challenge_claim(),
        }
    }
}

/// A Sigstore certificate extension a CI provider template can fill (OIDs .1.2–.1.6, .1.9–.1.23).
///
/// Ordered by OID so rendered extensions come out in upstream's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[non_exhaustive]
#[allow(missing_docs)] // Each variant is named after its upstream field; see `oid_arc`.
pub enum CiExtension {
    #[serde(rename = "github-workflow-trigger", alias = "GithubWorkflowTrigger")]
    GithubWorkflowTrigger,
    #[serde(rename = "github-workflow-sha", alias = "GithubWorkflowSHA")]
    GithubWorkflowSha,
    #[serde(rename = "github-workflow-name", alias = "GithubWorkflowName")]
    GithubWorkflowName,
    #[serde(
        rename = "github-workflow-repository",
        alias = "GithubWorkflowRepository"
    )]
    GithubWorkflowRepository,
    #[serde(rename = "github-workflow-ref", alias = "GithubWorkflowRef")]
    GithubWorkflowRef,
    #[serde(rename = "build-signer-uri", alias = "BuildSignerURI")]
    BuildSignerUri,
    #[serde(rename = "build-signer-digest", alias = "BuildSignerDigest")]
    BuildSignerDigest,
    #[serde(rename = "runner-environment", alias = "RunnerEnvironment")]
    RunnerEnvironment,
    #[serde(rename = "source-repository-uri", alias = "SourceRepositoryURI")]
    SourceRepositoryUri,
    #[serde(rename = "source-repository-digest", alias = "SourceRepositoryDigest")]
    SourceRepositoryDigest,
    #[serde(rename = "source-repository-ref", alias = "SourceRepositoryRef")]
    SourceRepositoryRef,
    #[serde(
        rename = "source-repository-identifier",
        alias = "SourceRepositoryIdentifier"
    )]
    SourceRepositoryIdentifier,
    #[serde(
        rename = "source-repository-owner-uri",
        alias = "SourceRepositoryOwnerURI"
    )]
    SourceRepositoryOwnerUri,
    #[serde(
        rename = "source-repository-owner-identifier",
        alias = "SourceRepositoryOwnerIdentifier"
    )]
    SourceRepositoryOwnerIdentifier,
    #[serde(rename = "build-config-uri", alias = "BuildConfigURI")]
    BuildConfigUri,
    #[serde(rename = "build-config-digest", alias = "BuildConfigDigest")]
    BuildConfigDigest,
    #[serde(rename = "build-trigger", alias = "BuildTrigger")]
    BuildTrigger,
    #[serde(rename = "run-invocation-uri", alias = "RunInvocationURI")]
    RunInvocationUri,
    #[serde(
        rename = "source-repository-visibility-at-signing",
        alias = "SourceRepositoryVisibilityAtSigning"
    )]
    SourceRepositoryVisibilityAtSigning,
    #[serde(rename = "deployment-environment", alias = "DeploymentEnvironment")]
    DeploymentEnvironment,
}

impl CiExtension {
    /// The last arc of the OID `1.3.6.1.4.1.57264.1.<arc>`.
    pub fn oid_arc(self) -> u32 {
        use CiExtension::*;
        match self {
            GithubWorkflowTrigger => 2,
            GithubWorkflowSha => 3,
            GithubWorkflowName => 4,
            GithubWorkflowRepository => 5,
            GithubWorkflowRef => 6,
            BuildSignerUri => 9,
            BuildSignerDigest => 10,
            RunnerEnvironment => 11,
            SourceRepositoryUri => 12,
            SourceRepositoryDigest => 13,
            SourceRepositoryRef => 14,
            SourceRepositoryIdentifier => 15,
            SourceRepositoryOwnerUri => 16,
            SourceRepositoryOwnerIdentifier => 17,
            BuildConfigUri => 18,
            BuildConfigDigest => 19,
            BuildTrigger => 20,
            RunInvocationUri => 21,
            SourceRepositoryVisibilityAtSigning => 22,
            DeploymentEnvironment => 23,
        }
    }

    /// Whether the value is stored as raw bytes (the deprecated .1.2–.1.6) rather than a DER
    /// UTF8String (.1.9 onwards).
    pub fn is_raw_encoding(self) -> bool {
        self.oid_arc() <= 6
    }
}

/// How a CI provider's token claims fill the certificate (upstream `IssuerMetadata`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CiIssuerMetadata {
    /// Values templates may use when the token lacks the claim (claims win over defaults).
    #[serde(
        rename = "default-template-values",
        alias = "DefaultTemplateValues",
        default
    )]
    pub default_template_values: BTreeMap<String, String>,
    /// Per extension: a Go `text/template` string (if it contains `{{`) or a bare claim name.
    #[serde(rename = "extension-templates", alias = "ExtensionTemplates", default)]
    pub extension_templates: BTreeMap<CiExtension, String>,
    /// Template for the SAN URI (typically equal to the build signer URI).
    #[serde(
        rename = "subject-alternative-name-template",
        alias = "SubjectAlternativeNameTemplate",
        default
    )]
    pub subject_alternative_name_template: String,
}

/// The whole issuer configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FulcioConfig {
    /// Issuers keyed by their exact issuer URL.
    #[serde(rename = "oidc-issuers", alias = "OIDCIssuers", default)]
    pub oidc_issuers: BTreeMap<String, IssuerConfig>,
    /// Issuer families keyed by a URL pattern in which `*` stands for one or more of
    /// `[-_a-zA-Z0-9]` (so never a `.`, `/` or `:`): one DNS label or path segment, or part of one.
    #[serde(rename = "meta-issuers", alias = "MetaIssuers", default)]
    pub meta_issuers: BTreeMap<String, IssuerConfig>,
    /// CI provider name → templates, referenced by [`IssuerConfig::ci_provider`].
    #[serde(rename = "ci-issuer-metadata", alias = "CIIssuerMetadata", default)]
    pub ci_issuer_metadata: BTreeMap<String, CiIssuerMetadata>,
}

/// Why a configuration was refused. Each names the offending issuer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Neither valid JSON nor valid YAML of the expected shape.
    #[error("config is neither valid JSON ({json}) nor valid YAML ({yaml})")]
    Syntax {
        /// The JSON parser's complaint.
        json: String,
        /// The YAML parser's complaint.
        yaml: String,
    },
    /// A semantic rule failed.
    #[error("issuer {issuer:?}: {reason}")]
    Invalid {
        /// The issuer URL or meta-issuer pattern.
        issuer: String,
        /// What is wrong.
        reason: String,
    },
}

/// Checks that `pem` holds one or more PEM certificates that parse as X.509; how many.
pub(crate) fn pem_certificates(pem: &str) -> Result<usize, String> {
    // x509-cert 0.2.5's `load_pem_chain` underflows on input that is empty once trailing
    // newlines are stripped, and accepts text without any PEM block: check both first.
    if !pem.contains("-----BEGIN CERTIFICATE-----") {
        return Err("no BEGIN CERTIFICATE block".into());
    }
    let certs =
        x509_cert::Certificate::load_pem_chain(pem.as_bytes()).map_err(|e| e.to_string())?;
    if certs.is_empty() {
        return Err("no certificate".into());
    }
    Ok(certs.len())
}

fn invalid(issuer: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        issuer: issuer.to_owned(),
        reason: reason.into(),
    }
}

impl FulcioConfig {
    /// Parses JSON, else YAML (upstream `parseConfig`), then [`validate`](Self::validate)s.
    pub fn parse(bytes: &[u8]) -> Result<Self, ConfigError> {
        let cfg = match serde_json::from_slice::<FulcioConfig>(bytes) {
            Ok(c) => c,
            Err(json) => match serde_yaml_ng::from_slice::<FulcioConfig>(bytes) {
                Ok(c) => c,
                Err(yaml) => {
                    return Err(ConfigError::Syntax {
                        json: json.to_string(),
                        yaml: yaml.to_string(),
                    })
                }
            },
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks every rule upstream's `validateConfig` checks, plus that each `ci-provider`
    /// issuer names existing metadata (upstream only finds out when a token arrives).
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (key, iss) in &self.oidc_issuers {
            if iss.issuer_url != *key {
                return Err(invalid(
                    key,
                    format!("issuer-url {:?} differs from its key", iss.issuer_url),
                ));
            }
            self.validate_common(key, iss)?;
            if iss.issuer_claim.is_some() && iss.issuer_type != IssuerType::Email {
                return Err(invalid(key, "only email issuers can use issuer-claim"));
            }
            match iss.issuer_type {
                IssuerType::Spiffe => {
                    let td = iss.spiffe_trust_domain.as_deref().unwrap_or("");
                    if td.is_empty() {
                        return Err(invalid(key, "spiffe issuer must set spiffe-trust-domain"));
                    }
                    if !crate::identity::is_valid_trust_domain(td) {
                        return Err(invalid(
                            key,
                            format!("spiffe trust domain {td:?} is invalid"),
                        ));
                    }
                }
                IssuerType::Uri => {
                    let dom = iss.subject_domain.as_deref().unwrap_or("");
                    let d = url::Url::parse(dom).map_err(|e| {
                        invalid(
                            key,
                            format!("uri subject-domain {dom:?} must be a URL with a scheme: {e}"),
                        )
                    })?;
                    let i = url::Url::parse(key)
                        .map_err(|e| invalid(key, format!("issuer URL must have a scheme: {e}")))?;
                    if d.scheme() != i.scheme() {
                        return Err(invalid(
                            key,
                            format!(
                                "subject-domain scheme {} differs from issuer scheme {}",
                                d.scheme(),
                                i.scheme()
                            ),
                        ));
                    }
                    allowed_domain(key, d.host_str().unwrap_or(""), i.host_str().unwrap_or(""))?;
                }
                IssuerType::Username => {
                    let dom = iss.subject_domain.as_deref().unwrap_or("");
                    if dom.is_empty() {
                        return Err(invalid(key, "username issuer must set subject-domain"));
                    }
                    if dom.contains("://") {
                        return Err(invalid(
                            key,
                            "username subject-domain must not contain a scheme",
                        ));
                    }
                    let i = url::Url::parse(key)
                        .map_err(|e| invalid(key, format!("issuer URL must have a scheme: {e}")))?;
                    allowed_domain(key, dom, i.host_str().unwrap_or(""))?;
                }
                _ => {}
            }
        }
        for (pattern, iss) in &self.meta_issuers {
            if pattern.is_empty() {
                return Err(invalid(pattern, "empty meta-issuer pattern"));
            }
            self.validate_common(pattern, iss)?;
            if iss.issuer_type == IssuerType::Spiffe {
                return Err(invalid(
                    pattern,
                    "SPIFFE meta issuers are not supported (one trust domain per issuer)",
                ));
            }
        }
        for (name, md) in &self.ci_issuer_metadata {
            for (ext, t) in &md.extension_templates {
                Template::parse(t)
                    .map_err(|e| invalid(name, format!("extension template {ext:?}: {e}")))?;
            }
            Template::parse(&md.subject_alternative_name_template)
                .map_err(|e| invalid(name, format!("subject-alternative-name-template: {e}")))?;
        }
        if self.oidc_issuers.is_empty() && self.meta_issuers.is_empty() {
            // Unknown top-level keys are ignored (upstream files carry a `define:` block), so a
            // misspelt `oidc-issuers` would otherwise load as a CA that trusts no one.
            return Err(invalid("", "no oidc-issuers or meta-issuers configured"));
        }
        Ok(())
    }

    fn validate_common(&self, key: &str, iss: &IssuerConfig) -> Result<(), ConfigError> {
        if iss.client_id.is_empty() {
            return Err(invalid(key, "client-id must not be empty"));
        }
        if let Some(ca) = &iss.ca_cert {
            pem_certificates(ca).map_err(|reason| {
                invalid(key, format!("ca-cert is not a PEM certificate: {reason}"))
            })?;
        }
        if iss.issuer_type == IssuerType::CiProvider {
            let name = iss.ci_provider.as_deref().unwrap_or("");
            if !self.ci_issuer_metadata.contains_key(name) {
                return Err(invalid(
                    key,
                    format!("ci-provider {name:?} has no ci-issuer-metadata entry"),
                ));
            }
        }
        Ok(())
    }

    /// Finds the configuration for a token's `iss`: an exact `oidc-issuers` match first, else the
    /// first matching `meta-issuers` pattern (in sorted pattern order, so the answer is
    /// deterministic, unlike upstream's map iteration), returned with `issuer_url` set to `iss`.
    /// Unlike upstream, a meta-issuer's `challenge-claim` carries over to the concrete issuer.
    pub fn issuer(&self, iss: &str) -> Option<IssuerConfig> {
        if let Some(c) = self.oidc_issuers.get(iss) {
            return Some(c.clone());
        }
        self.meta_issuers
            .iter()
            .find(|(pattern, _)| meta_issuer_matches(pattern, iss))
            .map(|(_, c)| IssuerConfig {
                issuer_url: iss.to_owned(),
                ..c.clone()
            })
    }
}

/// Upstream `validateAllowedDomain`: same host, or same last two DNS labels.
fn allowed_domain(key: &str, subject: &str, issuer: &str) -> Result<(), ConfigError> {
    if subject == issuer {
        return Ok(());
    }
    let s: Vec<&str> = subject.split('.').collect();
    let i: Vec<&str> = issuer.split('.').collect();
    if s.len() < 2 || i.len() < 2 {
        return Err(invalid(
            key,
            format!("hostname too short: {subject:?} / {issuer:?}"),
        ));
    }
    if s[s.len() - 1] == i[i.len() - 1] && s[s.len() - 2] == i[i.len() - 2] {
        return Ok(());
    }
    Err(invalid(
        key,
        format!(
            "subject domain {subject:?} and issuer {issuer:?} differ in their top two DNS labels"
        ),
    ))
}

fn is_wildcard_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// Upstream `MetaRegex` semantics without a regex engine: the whole of `iss` must match; each
/// `*` matches one or more of `[-_a-zA-Z0-9]`; everything else is literal.
pub fn meta_issuer_matches(pattern: &str, iss: &str) -> bool {
    fn go(pat: &[u8], s: &[u8]) -> bool {
        match pat.iter().position(|&b| b == b'*') {
            None => pat == s,
            Some(star) => {
                let (lit, rest) = (&pat[..star], &pat[star + 1..]);
                if !s.starts_with(lit) {
                    return false;
                }
                let s = &s[lit.len()..];
                let run = s.iter().take_while(|&&b| is_wildcard_char(b)).count();
                (1..=run).rev().any(|n| go(rest, &s[n..]))
            }
        }
    }
    go(pattern.as_bytes(), iss.as_bytes())
}

#[cfg(test)]
pub(crate) mod tests_support {
    use super::FulcioConfig;

    pub(crate) fn vectors_path(rel: &str) -> std::path::PathBuf {
        sigstack_test_vectors::dir().join(rel)
    }

    pub(crate) fn upstream() -> FulcioConfig {
        let bytes =
            std::fs::read(vectors_path("fulcio/config/identity-config.yaml")).expect("vector");
        FulcioConfig::parse(&bytes).expect("upstream config parses")
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::upstream;
    use super::*;

    #[test]
    fn parses_upstream_yaml() {
        let c = upstream();
        let gh = &c.oidc_issuers["https://token.actions.githubusercontent.com"];
        assert_eq!(gh.issuer_type, IssuerType::CiProvider);
        assert_eq!(gh.ci_provider.as_deref(), Some("github-workflow"));
        assert_eq!(gh.client_id, "sigstore");
        let dex = &c.oidc_issuers["https://oauth2.sigstore.dev/auth"];
        assert_eq!(
            dex.issuer_claim.as_deref(),
            Some("$.federated_claims.connector_id")
        );
        assert_eq!(dex.environment.as_deref(), Some("production"));
        assert_eq!(
            c.oidc_issuers["https://issuer.enforce.dev"].issuer_type,
            IssuerType::ChainguardIdentity
        );
        let md = &c.ci_issuer_metadata["github-workflow"];
        assert_eq!(md.default_template_values["url"], "https://github.com");
        assert_eq!(
            md.extension_templates[&CiExtension::BuildSignerDigest],
            "job_workflow_sha"
        );
        assert_eq!(
            md.subject_alternative_name_template,
            "{{ .url }}/{{ .job_workflow_ref }}"
        );
        assert_eq!(c.ci_issuer_metadata.len(), 6);
        assert!(c
            .meta_issuers
            .contains_key("https://oidc.eks.*.amazonaws.com/id/*"));
    }

    #[test]
    fn parses_upstream_json_spelling() {
        let json = r#"{
          "OIDCIssuers": {"https://accounts.example.com": {"IssuerURL": "https://accounts.example.com",
             "ClientID": "sigstore", "Type": "uri", "SubjectDomain": "https://example.com"}},
          "MetaIssuers": {"https://*.example.org": {"ClientID": "aud", "Type": "kubernetes"}},
          "CIIssuerMetadata": {"x": {"DefaultTemplateValues": {"url": "u"},
             "ExtensionTemplates": {"BuildSignerURI": "{{ .url }}/{{ .w }}"},
             "SubjectAlternativeNameTemplate": "{{ .url }}"}}
        }"#;
        let c = FulcioConfig::parse(json.as_bytes()).unwrap();
        assert_eq!(
            c.oidc_issuers["https://accounts.example.com"].issuer_type,
            IssuerType::Uri
        );
        assert_eq!(c.meta_issuers["https://*.example.org"].client_id, "aud");
        assert_eq!(
            c.ci_issuer_metadata["x"].extension_templates[&CiExtension::BuildSignerUri],
            "{{ .url }}/{{ .w }}"
        );
    }

    #[test]
    fn client_id_defaults_to_sigstore() {
        let c = FulcioConfig::parse(b"oidc-issuers:\n  https://a.example.com:\n    issuer-url: https://a.example.com\n    type: email\n").unwrap();
        assert_eq!(
            c.oidc_issuers["https://a.example.com"].client_id,
            "sigstore"
        );
    }

    #[test]
    fn lookup_exact_then_meta() {
        let c = upstream();
        let gh = c
            .issuer("https://token.actions.githubusercontent.com")
            .unwrap();
        assert_eq!(gh.issuer_type, IssuerType::CiProvider);
        let eks = c
            .issuer("https://oidc.eks.us-west-2.amazonaws.com/id/B02C93B6A2D30341AD01E1B6D48164CB")
            .unwrap();
        assert_eq!(eks.issuer_type, IssuerType::Kubernetes);
        assert_eq!(
            eks.issuer_url,
            "https://oidc.eks.us-west-2.amazonaws.com/id/B02C93B6A2D30341AD01E1B6D48164CB"
        );
        assert!(c
            .issuer("https://container.googleapis.com/v1/projects/mattmoor-credit/locations/us-west1-b/clusters/tenant-cluster")
            .is_some());
        let gh_ent = c
            .issuer("https://token.actions.githubusercontent.com/my-enterprise")
            .unwrap();
        assert_eq!(gh_ent.ci_provider.as_deref(), Some("github-workflow"));
        // `*` never spans a dot, a slash, or is empty; and the match is anchored.
        assert!(c
            .issuer("https://oidc.eks.us.west.amazonaws.com/id/X")
            .is_none());
        assert!(c.issuer("https://oidc.eks..amazonaws.com/id/X").is_none());
        assert!(c
            .issuer("https://oidc.eks.x.amazonaws.com/id/a/b")
            .is_none());
        assert!(c
            .issuer("http://localhost:3000?https://oidc.eks.x.amazonaws.com/id/a")
            .is_none());
        assert!(c
            .issuer("https://oidc.eks.x.amazonaws.com/id/a?x=1")
            .is_none());
        assert!(c.issuer("https://evil.example.com").is_none());
    }

    #[test]
    fn wildcard_matching_edges() {
        assert!(meta_issuer_matches(
            "https://*.example.com",
            "https://a-b_C9.example.com"
        ));
        assert!(!meta_issuer_matches(
            "https://*.example.com",
            "https://a.b.example.com"
        ));
        assert!(!meta_issuer_matches(
            "https://*.example.com",
            "https://.example.com"
        ));
        assert!(meta_issuer_matches("https://x/*-*", "https://x/a-b-c"));
        assert!(!meta_issuer_matches("https://x/*", "https://x/é"));
        assert!(meta_issuer_matches("https://x", "https://x"));
        assert!(!meta_issuer_matches("https://x", "https://xy"));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_config_and_issuers_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300), iss in "[a-z*:/.-]{0,40}") {
            let _ = FulcioConfig::parse(&bytes);
            let _ = meta_issuer_matches(&iss, "https://a.b/c");
            let _ = meta_issuer_matches("https://*.b/*", &iss);
        }
    }

    #[test]
    fn validation_rules() {
        let bad = [
            ("oidc-issuers:\n  https://a.example.com:\n    issuer-url: https://a.example.com\n    type: uri\n", "subject-domain"),
            ("oidc-issuers:\n  https://a.example.com:\n    issuer-url: https://a.example.com\n    type: uri\n    subject-domain: https://other.org\n", "top two DNS labels"),
            ("oidc-issuers:\n  https://a.example.com:\n    issuer-url: https://a.example.com\n    type: username\n    subject-domain: https://example.com\n", "scheme"),
            ("oidc-issuers:\n  https://a.example.com:\n    issuer-url: https://a.example.com\n    type: spiffe\n", "spiffe-trust-domain"),
            ("oidc-issuers:\n  https://a.example.com:\n    issuer-url: https://a.example.com\n    type: spiffe\n    spiffe-trust-domain: Bad/TD\n", "invalid"),
            ("oidc-issuers:\n  https://a.example.com:\n    issuer-url: https://a.example.com\n    type: uri\n    subject-domain: https://example.com\n    issuer-claim: $.x\n", "issuer-claim"),
            ("oidc-issuers:\n  https://a.example.com:\n    issuer-url: https://b.example.com\n    type: email\n", "differs from its key"),
            ("oidc-issuers:\n  https://a.example.com:\n    issuer-url: https://a.example.com\n    type: ci-provider\n    ci-provider: nope\n", "ci-issuer-metadata"),
            ("meta-issuers:\n  https://*.example.com:\n    type: spiffe\n", "SPIFFE meta"),
            ("ci-issuer-metadata:\n  p:\n    subject-alternative-name-template: \"{{ .url \"\n", "template"),
            ("oidc-issuers:\n  https://a.example.com:\n    issuer-url: https://a.example.com\n    type: email\n    ca-cert: internal CA\n", "ca-cert is not a PEM certificate"),
            ("oidc-issuers:\n  https://a.example.com:\n    issuer-url: https://a.example.com\n    type: email\n    ca-cert: \"-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----\\n\"\n", "ca-cert is not a PEM certificate"),
        ];
        for (yaml, want) in bad {
            let err = FulcioConfig::parse(yaml.as_bytes())
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{yaml}: {err}");
        }
        let e = FulcioConfig::parse(b"oidc-issuer:\n  https://a:\n    type: email\n").unwrap_err();
        assert!(e.to_string().contains("no oidc-issuers"), "{e}");
        let ok = "oidc-issuers:\n  https://accounts.example.com:\n    issuer-url: https://accounts.example.com\n    type: username\n    subject-domain: example.com\n";
        FulcioConfig::parse(ok.as_bytes()).unwrap();
    }

    #[test]
    fn unknown_fields_and_types_are_rejected() {
        let e = FulcioConfig::parse(b"oidc-issuers:\n  https://a:\n    issuer-url: https://a\n    type: email\n    clientid: x\n");
        assert!(e.is_err());
        let e = FulcioConfig::parse(
            b"oidc-issuers:\n  https://a:\n    issuer-url: https://a\n    type: magic\n",
        );
        assert!(e.is_err());
    }
}
