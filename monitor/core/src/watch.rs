//! The monitor's configuration file and its watch list.
//!
//! The file is rekor-monitor's YAML (`monitoredValues` with `certIdentities`, `subjects`,
//! `fingerprints`, `fulcioExtensions`, `customExtensions`; `startIndex`), accepted as it is,
//! plus what a monitor of several logs needs: `logs` (URL, API, verifier keys), `witnesses`
//! (URL, cosignature verifier key) and `artifactDigests`. rekor-monitor's output-file keys
//! (`outputIdentities`, `logInfoFile`, `identityMetadataFile`) are accepted and ignored: our
//! findings go to JSON lines. Any other unknown key is an error, so a typo is not a silently
//! empty watch list.
//!
//! Decision: every regular expression must match the whole value (it is anchored), unlike a
//! search: `user@example\.com` must not match `user@example.com.attacker.net`.

use std::collections::BTreeMap;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::facts::{CertFacts, EntryFacts};

/// The configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MonitorConfig {
    /// The logs followed.
    #[serde(default)]
    pub logs: Vec<LogConfig>,
    /// Witnesses whose cosigned checkpoints are compared with ours (split-view detection).
    #[serde(default)]
    pub witnesses: Vec<WitnessConfig>,
    /// rekor-monitor's first index to check, for every log that sets none: entries from there
    /// on are fetched and checked. Without it a log is followed from its latest checkpoint.
    #[serde(default)]
    pub start_index: Option<u64>,
    /// rekor-monitor's last index of a one-off search: accepted, not used (a monitor follows).
    #[serde(default)]
    pub end_index: Option<u64>,
    /// What to look for in every entry.
    #[serde(default)]
    pub monitored_values: MonitoredValues,
    /// rekor-monitor's output file of found identities (ignored: findings are JSON lines).
    #[serde(default)]
    pub output_identities: Option<String>,
    /// rekor-monitor's checkpoint file (ignored: the state is in the database).
    #[serde(default)]
    pub log_info_file: Option<String>,
    /// rekor-monitor's identity metadata file (ignored).
    #[serde(default)]
    pub identity_metadata_file: Option<String>,
}

/// The read API a log speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogApi {
    /// Rekor v2: `<url>/api/v2/checkpoint` and tlog-tiles under `<url>/api/v2/tile/`.
    RekorV2,
    /// static-ct-api: `<url>/checkpoint`, `<url>/tile/…`, entries in `<url>/tile/data/…`.
    Ct,
    /// Rekor v1: `<url>/api/v1/log` (the signed checkpoint), `<url>/api/v1/log/proof`
    /// (consistency proofs) and `<url>/api/v1/log/entries/retrieve` (entries by index).
    RekorV1,
    /// Rekor v2 entries served as plain C2SP tlog-tiles at the URL's root (`<url>/checkpoint`,
    /// `<url>/tile/…`, `<url>/tile/entries/…`): upstream rekor-tiles, public-good's v2 shards.
    Tiles,
}

/// One followed log.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LogConfig {
    /// The log's base URL.
    pub url: String,
    /// Its API.
    pub api: LogApi,
    /// Note verifier keys (`<name>+<key ID>+<base64>`) trusted to sign its checkpoints; the
    /// name is the origin.
    pub keys: Vec<String>,
    /// First index to check (overrides the file's `startIndex`).
    #[serde(default)]
    pub start_index: Option<u64>,
    /// The checkpoint origin when it is not the keys' name: Rekor v1 signs under its name a
    /// checkpoint whose origin is `<name> - <tree ID>`.
    #[serde(default)]
    pub origin: Option<String>,
    /// The log's maximum merge delay (`24h`, `90s`, …; default 24 hours): how late an entry
    /// may reach the tree after its SCT (CT), or the readers after a witness cosigned it.
    #[serde(default)]
    pub max_merge_delay: Option<String>,
}

impl LogConfig {
    /// The maximum merge delay, parsed ([`crate::merge_delay::DEFAULT_MAX_MERGE_DELAY`] if
    /// not set).
    pub fn max_merge_delay(&self) -> Result<std::time::Duration, WatchError> {
        match &self.max_merge_delay {
            None => Ok(crate::merge_delay::DEFAULT_MAX_MERGE_DELAY),
            Some(text) => humantime::parse_duration(text).map_err(|_| WatchError::Invalid {
                field: "maxMergeDelay".into(),
                value: text.clone(),
                expected: "a duration such as 24h or 90s",
            }),
        }
    }
}

/// One witness.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WitnessConfig {
    /// Its base URL (it serves `GET <url>/<origin hash>/checkpoint`).
    pub url: String,
    /// Its cosignature verifier key.
    pub key: String,
}

/// rekor-monitor's `monitoredValues`, plus `artifactDigests`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MonitoredValues {
    /// Certificate identities: a SAN regex and, optionally, OIDC issuer regexes.
    #[serde(default)]
    pub cert_identities: Vec<CertIdentity>,
    /// Subject regexes, matched against any certificate SAN.
    #[serde(default)]
    pub subjects: Vec<String>,
    /// Hex SHA-256 fingerprints of a certificate or of a DER public key (any case).
    #[serde(default)]
    pub fingerprints: Vec<String>,
    /// Fulcio extensions by rekor-monitor's names (`build-config-uri`, …), exact values.
    #[serde(default)]
    pub fulcio_extensions: BTreeMap<String, Vec<String>>,
    /// Any extension by dotted OID, exact values.
    #[serde(default)]
    pub custom_extensions: Vec<CustomExtension>,
    /// Artifact digests, `sha256:<hex>` (or bare hex, taken as SHA-256).
    #[serde(default)]
    pub artifact_digests: Vec<String>,
}

/// One `certIdentities` item.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CertIdentity {
    /// SAN regex.
    pub cert_subject: String,
    /// OIDC issuer regexes; empty: any issuer.
    #[serde(default)]
    pub issuers: Vec<String>,
}

/// One `customExtensions` item.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomExtension {
    /// Dotted OID.
    pub object_identifier: String,
    /// Exact value(s): rekor-monitor's README writes one string, its code a list.
    pub extension_values: OneOrMany,
}

/// A string or a list of strings.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One value.
    One(String),
    /// Several.
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

/// Why a configuration cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WatchError {
    /// Not YAML of the expected shape.
    #[error("not a monitor configuration")]
    Yaml(#[source] serde_yaml_ng::Error),
    /// A regular expression does not compile.
    #[error("{field}: invalid regular expression {pattern:?}")]
    Regex {
        /// Where.
        field: String,
        /// The expression.
        pattern: String,
        /// Why.
        #[source]
        source: Box<regex::Error>,
    },
    /// A `fulcioExtensions` name that Fulcio does not define.
    #[error("fulcioExtensions: unknown extension {0:?}")]
    UnknownFulcioExtension(String),
    /// A fingerprint or digest that is not hex, or an OID that is not dotted decimal.
    #[error("{field}: {value:?} is not {expected}")]
    Invalid {
        /// Where.
        field: String,
        /// The value.
        value: String,
        /// What it should be.
        expected: &'static str,
    },
}

impl MonitorConfig {
    /// Parses the YAML text.
    pub fn parse(yaml: &str) -> Result<Self, WatchError> {
        serde_yaml_ng::from_str(yaml).map_err(WatchError::Yaml)
    }
}

/// Fulcio's extension names (as rekor-monitor spells them) and their OIDs, from Fulcio's
/// `docs/oid-info.md`.
const FULCIO_EXTENSIONS: &[(&str, &str)] = &[
    ("issuer", "1.3.6.1.4.1.57264.1.8"),
    ("github-workflow-trigger", "1.3.6.1.4.1.57264.1.2"),
    ("github-workflow-sha", "1.3.6.1.4.1.57264.1.3"),
    ("github-workflow-name", "1.3.6.1.4.1.57264.1.4"),
    ("github-workflow-repository", "1.3.6.1.4.1.57264.1.5"),
    ("github-workflow-ref", "1.3.6.1.4.1.57264.1.6"),
    ("build-signer-uri", "1.3.6.1.4.1.57264.1.9"),
    ("build-signer-digest", "1.3.6.1.4.1.57264.1.10"),
    ("runner-environment", "1.3.6.1.4.1.57264.1.11"),
    ("source-repository-uri", "1.3.6.1.4.1.57264.1.12"),
    ("source-repository-digest", "1.3.6.1.4.1.57264.1.13"),
    ("source-repository-ref", "1.3.6.1.4.1.57264.1.14"),
    ("source-repository-identifier", "1.3.6.1.4.1.57264.1.15"),
    ("source-repository-owner-uri", "1.3.6.1.4.1.57264.1.16"),
    (
        "source-repository-owner-identifier",
        "1.3.6.1.4.1.57264.1.17",
    ),
    ("build-config-uri", "1.3.6.1.4.1.57264.1.18"),
    ("build-config-digest", "1.3.6.1.4.1.57264.1.19"),
    ("build-trigger", "1.3.6.1.4.1.57264.1.20"),
    ("run-invocation-uri", "1.3.6.1.4.1.57264.1.21"),
    (
        "source-repository-visibility-at-signing",
        "1.3.6.1.4.1.57264.1.22",
    ),
];

/// Which watch-list item matched an entry, and the value it matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Match {
    /// The item, as `<list>[<position>]` in the configuration (`certIdentities[0]`).
    pub rule: String,
    /// The entry's value that matched.
    pub value: String,
}

#[derive(Debug, Clone)]
struct IdentityRule {
    subject: Regex,
    issuers: Vec<Regex>,
}

/// The compiled watch list.
#[derive(Debug, Clone, Default)]
pub struct WatchList {
    identities: Vec<IdentityRule>,
    subjects: Vec<Regex>,
    fingerprints: Vec<String>,
    /// (rule name, OID, exact values).
    extensions: Vec<(String, String, Vec<String>)>,
    digests: Vec<String>,
}

fn anchored(field: String, pattern: &str) -> Result<Regex, WatchError> {
    Regex::new(&format!("^(?:{pattern})$")).map_err(|e| WatchError::Regex {
        field,
        pattern: pattern.to_string(),
        source: Box::new(e),
    })
}

fn lower_hex(field: String, value: &str) -> Result<String, WatchError> {
    let v = value.trim().to_ascii_lowercase();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(WatchError::Invalid {
            field,
            value: value.to_string(),
            expected: "hexadecimal",
        });
    }
    Ok(v)
}

impl WatchList {
    /// Compiles `monitoredValues`.
    pub fn new(values: MonitoredValues) -> Result<Self, WatchError> {
        let mut list = WatchList::default();
        for (i, id) in values.cert_identities.iter().enumerate() {
            let field = format!("certIdentities[{i}]");
            list.identities.push(IdentityRule {
                subject: anchored(format!("{field}.certSubject"), &id.cert_subject)?,
                issuers: id
                    .issuers
                    .iter()
                    .map(|p| anchored(format!("{field}.issuers"), p))
                    .collect::<Result<_, _>>()?,
            });
        }
        for (i, s) in values.subjects.iter().enumerate() {
            list.subjects.push(anchored(format!("subjects[{i}]"), s)?);
        }
        for (i, f) in values.fingerprints.iter().enumerate() {
            list.fingerprints
                .push(lower_hex(format!("fingerprints[{i}]"), f)?);
        }
        for (name, wanted) in values.fulcio_extensions {
            let oid = FULCIO_EXTENSIONS
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, oid)| oid.to_string())
                .ok_or_else(|| WatchError::UnknownFulcioExtension(name.clone()))?;
            list.extensions
                .push((format!("fulcioExtensions.{name}"), oid, wanted));
        }
        for (i, ext) in values.custom_extensions.into_iter().enumerate() {
            let field = format!("customExtensions[{i}]");
            let oid = ext.object_identifier.trim().to_string();
            if der::asn1::ObjectIdentifier::new(&oid).is_err() {
                return Err(WatchError::Invalid {
                    field,
                    value: oid,
                    expected: "a dotted OID",
                });
            }
            list.extensions
                .push((field, oid, ext.extension_values.into_vec()));
        }
        for (i, d) in values.artifact_digests.iter().enumerate() {
            let field = format!("artifactDigests[{i}]");
            let (alg, hex) = d.split_once(':').unwrap_or(("sha256", d));
            let hex = lower_hex(field, hex)?;
            list.digests
                .push(format!("{}:{hex}", alg.trim().to_ascii_lowercase()));
        }
        Ok(list)
    }

    /// Whether the list is empty (the monitor then checks consistency only).
    pub fn is_empty(&self) -> bool {
        self.identities.is_empty()
            && self.subjects.is_empty()
            && self.fingerprints.is_empty()
            && self.extensions.is_empty()
            && self.digests.is_empty()
    }

    fn certificate_matches(&self, cert: &CertFacts, out: &mut Vec<Match>) {
        for (i, rule) in self.identities.iter().enumerate() {
            let issuer_ok = rule.issuers.is_empty()
                || cert
                    .issuer
                    .as_deref()
                    .is_some_and(|iss| rule.issuers.iter().any(|r| r.is_match(iss)));
            if !issuer_ok {
                continue;
            }
            if let Some(s) = cert.subjects.iter().find(|s| rule.subject.is_match(s)) {
                out.push(Match {
                    rule: format!("certIdentities[{i}]"),
                    value: match &cert.issuer {
                        Some(iss) => format!("{s} ({iss})"),
                        None => s.clone(),
                    },
                });
            }
        }
        for (i, rule) in self.subjects.iter().enumerate() {
            if let Some(s) = cert.subjects.iter().find(|s| rule.is_match(s)) {
                out.push(Match {
                    rule: format!("subjects[{i}]"),
                    value: s.clone(),
                });
            }
        }
        for (i, f) in self.fingerprints.iter().enumerate() {
            if [&cert.fingerprint, &cert.key_fingerprint].contains(&f) {
                out.push(Match {
                    rule: format!("fingerprints[{i}]"),
                    value: f.clone(),
                });
            }
        }
        for (rule, oid, wanted) in &self.extensions {
            for (ext_oid, value) in &cert.extensions {
                if ext_oid == oid && wanted.contains(value) {
                    out.push(Match {
                        rule: rule.clone(),
                        value: value.clone(),
                    });
                }
            }
        }
    }

    /// Every item of the list that `facts` match (empty: no match).
    pub fn matches(&self, facts: &EntryFacts) -> Vec<Match> {
        let mut out = Vec::new();
        for cert in &facts.certificates {
            self.certificate_matches(cert, &mut out);
        }
        for (i, f) in self.fingerprints.iter().enumerate() {
            if facts.key_fingerprints.contains(f) {
                out.push(Match {
                    rule: format!("fingerprints[{i}]"),
                    value: f.clone(),
                });
            }
        }
        for (i, d) in self.digests.iter().enumerate() {
            if facts.digests.contains(d) {
                out.push(Match {
                    rule: format!("artifactDigests[{i}]"),
                    value: d.clone(),
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(subject: &str, issuer: Option<&str>) -> CertFacts {
        CertFacts {
            fingerprint: "aa".repeat(32),
            key_fingerprint: "bb".repeat(32),
            subjects: vec![subject.to_string()],
            issuer: issuer.map(str::to_string),
            extensions: vec![(
                "1.3.6.1.4.1.57264.1.18".into(),
                "https://example.com/build.yml".into(),
            )],
        }
    }

    fn facts(c: CertFacts) -> EntryFacts {
        EntryFacts {
            certificates: vec![c],
            key_fingerprints: vec![],
            digests: vec![format!("sha256:{}", "cc".repeat(32))],
        }
    }

    /// rekor-monitor's README example, verbatim.
    const REKOR_MONITOR_EXAMPLE: &str = r#"
startIndex: 1000
endIndex: 2000
monitoredValues:
  certIdentities:
    - certSubject: user@domain\.com
    - certSubject: otheruser@domain\.com
      issuers:
        - https://accounts\.google\.com
        - https://github\.com/login
    - certSubject: https://github\.com/actions/starter-workflows/blob/main/\.github/workflows/lint\.yaml@.*
      issuers:
        - https://token\.actions\.githubusercontent\.com
  subjects:
    - subject@domain\.com
  fingerprints:
    - A0B1C2D3E4F5
  fulcioExtensions:
    build-config-uri:
      - https://example.com/owner/repository/build-config.yml
  customExtensions:
    - objectIdentifier: 1.3.6.1.4.1.57264.1.9
      extensionValues: https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@v1.4.0
outputIdentities: identities.txt
logInfoFile: logInfo.txt
identityMetadataFile: metadata.json
"#;

    #[test]
    fn accepts_rekor_monitors_example() {
        let config = MonitorConfig::parse(REKOR_MONITOR_EXAMPLE).unwrap();
        assert_eq!(config.start_index, Some(1000));
        let list = WatchList::new(config.monitored_values).unwrap();
        let m = list.matches(&facts(cert("user@domain.com", None)));
        assert_eq!(m[0].rule, "certIdentities[0]");
        // Anchored: a longer identity does not match.
        assert!(list
            .matches(&facts(cert("user@domain.com.evil", None)))
            .is_empty());
        // Issuer regexes apply.
        assert!(list
            .matches(&facts(cert("otheruser@domain.com", Some("https://evil"))))
            .is_empty());
        let m = list.matches(&facts(cert(
            "otheruser@domain.com",
            Some("https://github.com/login"),
        )));
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].rule, "certIdentities[1]");
        let wf = "https://github.com/actions/starter-workflows/blob/main/.github/workflows/lint.yaml@refs/heads/main";
        let m = list.matches(&facts(cert(
            wf,
            Some("https://token.actions.githubusercontent.com"),
        )));
        assert_eq!(m[0].rule, "certIdentities[2]");
    }

    #[test]
    fn fingerprints_extensions_and_digests() {
        let yaml = format!(
            "monitoredValues:\n  fingerprints: [\"{}\"]\n  fulcioExtensions:\n    build-config-uri: [\"https://example.com/build.yml\"]\n  artifactDigests: [\"{}\"]\n",
            "BB".repeat(32),
            "cc".repeat(32)
        );
        let list = WatchList::new(MonitorConfig::parse(&yaml).unwrap().monitored_values).unwrap();
        let rules: Vec<String> = list
            .matches(&facts(cert("x", None)))
            .into_iter()
            .map(|m| m.rule)
            .collect();
        assert_eq!(
            rules,
            [
                "fingerprints[0]",
                "fulcioExtensions.build-config-uri",
                "artifactDigests[0]"
            ]
        );
    }

    #[test]
    fn bad_configurations_are_refused() {
        for yaml in [
            "monitoredValues:\n  certIdentities:\n    - certSubject: \"(\"\n",
            "monitoredValues:\n  fingerprints: [\"xyz\"]\n",
            "monitoredValues:\n  fulcioExtensions:\n    no-such: [\"a\"]\n",
            "monitoredValues:\n  customExtensions:\n    - objectIdentifier: banana\n      extensionValues: a\n",
            "monitoredValue: {}\n",
        ] {
            let r = MonitorConfig::parse(yaml).and_then(|c| WatchList::new(c.monitored_values));
            assert!(r.is_err(), "{yaml}");
        }
    }

    #[test]
    fn log_entries_take_an_origin_and_a_maximum_merge_delay() {
        let yaml = "logs:\n  - url: http://r\n    api: rekor-v1\n    keys: [k]\n    origin: r - 1\n    maxMergeDelay: 90s\n  - url: http://c\n    api: ct\n    keys: [k]\n";
        let config = MonitorConfig::parse(yaml).unwrap();
        assert_eq!(config.logs[0].api, LogApi::RekorV1);
        assert_eq!(config.logs[0].origin.as_deref(), Some("r - 1"));
        assert_eq!(
            config.logs[0].max_merge_delay().unwrap(),
            std::time::Duration::from_secs(90)
        );
        assert_eq!(
            config.logs[1].max_merge_delay().unwrap(),
            crate::merge_delay::DEFAULT_MAX_MERGE_DELAY
        );
        let mut bad = config.logs[1].clone();
        bad.max_merge_delay = Some("soon".into());
        assert!(bad.max_merge_delay().is_err());
    }
}
