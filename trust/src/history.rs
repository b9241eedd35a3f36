//! The instance's key history: every CA, log key, TSA and OIDC provider it has ever used, each
//! with its validity window. Rotation closes a window; nothing is ever deleted, so signatures
//! made under a retired key keep verifying.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::instance::DEFAULT_OPERATOR;
use crate::{
    CertificateAuthority, CtLog, Error, Instance, OidcProvider, RekorApi, Timestamp,
    TimestampAuthority, TransparencyLog,
};

/// The history file format version [`TrustHistory::to_json`] writes.
pub const HISTORY_FORMAT_VERSION: u32 = 1;

/// A `validFor` window: `start` inclusive, `end` absent while the entry is current.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidFor {
    /// When the entry started being used.
    pub start: Timestamp,
    /// When it stopped being used; `None` while current.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<Timestamp>,
}

/// One thing clients trust or call.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TrustItem {
    /// A Fulcio CA chain.
    CertificateAuthority(CertificateAuthority),
    /// A CT log key.
    CtLog(CtLog),
    /// A Rekor log key (v1 or v2).
    TransparencyLog(TransparencyLog),
    /// A TSA chain.
    TimestampAuthority(TimestampAuthority),
    /// An OIDC provider URL.
    OidcProvider(OidcProvider),
}

impl TrustItem {
    /// Earliest plausible start for an item seen for the first time: a certificate's notBefore
    /// (signatures may already exist under it), otherwise `now`.
    fn first_start(&self, now: Timestamp) -> Timestamp {
        match self {
            TrustItem::CertificateAuthority(ca) => ca.chain.not_before.min(now),
            TrustItem::TimestampAuthority(tsa) => tsa.chain.not_before.min(now),
            _ => now,
        }
    }

    /// The item with its URLs blanked: what identifies it as a trust anchor. A CA, log or
    /// TSA that moves to another URL keeps its keys, and with them its validity window.
    fn anchor(&self) -> Option<TrustItem> {
        let mut item = self.clone();
        match &mut item {
            TrustItem::CertificateAuthority(ca) => ca.url.clear(),
            TrustItem::CtLog(log) => log.base_url.clear(),
            TrustItem::TransparencyLog(log) => log.base_url.clear(),
            TrustItem::TimestampAuthority(tsa) => {
                tsa.base_url.clear();
                tsa.url.clear();
            }
            // A provider is nothing but its URL.
            TrustItem::OidcProvider(_) => return None,
        }
        Some(item)
    }
}

/// An item and the window it was (or is) in use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryEntry {
    pub(crate) item: TrustItem,
    pub(crate) valid_for: ValidFor,
}

impl HistoryEntry {
    /// What is trusted.
    pub fn item(&self) -> &TrustItem {
        &self.item
    }

    /// When.
    pub fn valid_for(&self) -> ValidFor {
        self.valid_for
    }

    /// Whether the window is still open.
    pub fn is_current(&self) -> bool {
        self.valid_for.end.is_none()
    }
}

/// Every key, CA, log and TSA an instance has used, with validity windows.
///
/// The caller keeps it as JSON in its data directory ([`TrustHistory::to_json`] /
/// [`TrustHistory::from_json`]) and calls [`TrustHistory::observe`] with the current
/// [`Instance`] at every start-up (and after every rotation); trust documents are generated from
/// the history, so a rotated-out key stays listed with its window closed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustHistory {
    operator: String,
    entries: Vec<HistoryEntry>,
}

impl Default for TrustHistory {
    fn default() -> Self {
        Self::new()
    }
}

impl TrustHistory {
    /// An empty history.
    pub fn new() -> Self {
        TrustHistory {
            operator: DEFAULT_OPERATOR.to_owned(),
            entries: Vec::new(),
        }
    }

    /// A history holding just `current`, opened at `now`.
    pub fn from_instance(current: &Instance, now: impl Into<Timestamp>) -> Self {
        let mut h = Self::new();
        h.observe(current, now);
        h
    }

    /// Records that `current` is what the instance uses at `now`. Items not yet current are
    /// opened (`validFor.start` = `now`, or a first-seen certificate's notBefore if earlier);
    /// current items that are no longer in `current` are closed (`validFor.end` = `now`).
    /// Entries are never removed or reopened: an item that comes back gets a new entry.
    ///
    /// Returns whether anything changed (the caller then saves the history and republishes).
    pub fn observe(&mut self, current: &Instance, now: impl Into<Timestamp>) -> bool {
        let now = now.into();
        let mut changed = false;
        let operator = if current.operator.is_empty() {
            DEFAULT_OPERATOR
        } else {
            current.operator.as_str()
        };
        if self.operator != operator {
            self.operator = operator.to_owned();
            changed = true;
        }

        let mut items: Vec<TrustItem> = Vec::new();
        let all = current
            .certificate_authorities
            .iter()
            .cloned()
            .map(TrustItem::CertificateAuthority)
            .chain(current.ctlogs.iter().cloned().map(TrustItem::CtLog))
            .chain(
                current
                    .tlogs
                    .iter()
                    .cloned()
                    .map(TrustItem::TransparencyLog),
            )
            .chain(
                current
                    .timestamp_authorities
                    .iter()
                    .cloned()
                    .map(TrustItem::TimestampAuthority),
            )
            .chain(
                current
                    .oidc_providers
                    .iter()
                    .cloned()
                    .map(TrustItem::OidcProvider),
            );
        for item in all {
            if !items.contains(&item) {
                items.push(item);
            }
        }

        // A current anchor at a new URL moves in place rather than closing its window: its
        // key did not change, and clients that index logs by key ID (sigstore-go keeps one
        // entry per log ID) must keep seeing one window that covers its whole use.
        for item in &items {
            let Some(anchor) = item.anchor() else {
                continue;
            };
            if let Some(e) = self.entries.iter_mut().find(|e| {
                e.is_current() && e.item != *item && e.item.anchor().as_ref() == Some(&anchor)
            }) {
                e.item = item.clone();
                changed = true;
            }
        }
        for e in &mut self.entries {
            if e.valid_for.end.is_none() && !items.contains(&e.item) {
                // A clock that went backwards must not make an inverted window.
                e.valid_for.end = Some(now.max(e.valid_for.start));
                changed = true;
            }
        }
        for item in items {
            if self
                .entries
                .iter()
                .any(|e| e.is_current() && e.item == item)
            {
                continue;
            }
            let seen_before = self.entries.iter().any(|e| e.item == item);
            let start = if seen_before {
                now
            } else {
                item.first_start(now)
            };
            self.entries.push(HistoryEntry {
                item,
                valid_for: ValidFor { start, end: None },
            });
            changed = true;
        }
        changed
    }

    /// The operator name published in signing_config.
    pub fn operator(&self) -> &str {
        &self.operator
    }

    /// All entries, oldest first.
    pub fn entries(&self) -> &[HistoryEntry] {
        &self.entries
    }

    /// The entries whose window is open.
    pub fn current(&self) -> impl Iterator<Item = &HistoryEntry> {
        self.entries.iter().filter(|e| e.is_current())
    }

    /// The history as pretty JSON (deterministic, newline-terminated), for the caller's data
    /// directory.
    pub fn to_json(&self) -> Vec<u8> {
        let file = HistoryFile {
            version: HISTORY_FORMAT_VERSION,
            operator: self.operator.clone(),
            entries: self.entries.iter().map(EntryFile::from).collect(),
        };
        crate::documents::pretty(&file)
    }

    /// Reads a history written by [`TrustHistory::to_json`], re-validating every key and chain.
    pub fn from_json(bytes: &[u8]) -> Result<Self, Error> {
        let file: HistoryFile =
            serde_json::from_slice(bytes).map_err(|e| Error::InvalidHistory(e.to_string()))?;
        if file.version != HISTORY_FORMAT_VERSION {
            return Err(Error::InvalidHistory(format!(
                "unsupported version {}",
                file.version
            )));
        }
        let mut entries = Vec::with_capacity(file.entries.len());
        for e in file.entries {
            if e.valid_for.end.is_some_and(|end| end < e.valid_for.start) {
                return Err(Error::InvalidHistory(
                    "validFor ends before it starts".into(),
                ));
            }
            entries.push(HistoryEntry {
                item: e.item.into_item()?,
                valid_for: e.valid_for,
            });
        }
        Ok(TrustHistory {
            operator: file.operator,
            entries,
        })
    }
}

// ---- the on-disk format -------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq)]
struct B64(Vec<u8>);

impl Serialize for B64 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for B64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        STANDARD
            .decode(s)
            .map(B64)
            .map_err(serde::de::Error::custom)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HistoryFile {
    version: u32,
    operator: String,
    entries: Vec<EntryFile>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EntryFile {
    #[serde(flatten)]
    item: ItemFile,
    valid_for: ValidFor,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
enum ItemFile {
    #[serde(rename_all = "camelCase")]
    CertificateAuthority { url: String, cert_chain: Vec<B64> },
    #[serde(rename_all = "camelCase")]
    CtLog { base_url: String, public_key: B64 },
    #[serde(rename_all = "camelCase")]
    RekorV1 { base_url: String, public_key: B64 },
    #[serde(rename_all = "camelCase")]
    RekorV2 {
        base_url: String,
        origin: String,
        public_key: B64,
    },
    #[serde(rename_all = "camelCase")]
    TimestampAuthority {
        base_url: String,
        cert_chain: Vec<B64>,
    },
    #[serde(rename_all = "camelCase")]
    OidcProvider { url: String },
}

impl From<&HistoryEntry> for EntryFile {
    fn from(e: &HistoryEntry) -> Self {
        let chain = |c: &[Vec<u8>]| c.iter().cloned().map(B64).collect();
        let item = match &e.item {
            TrustItem::CertificateAuthority(ca) => ItemFile::CertificateAuthority {
                url: ca.url.clone(),
                cert_chain: chain(&ca.chain.certs),
            },
            TrustItem::CtLog(ct) => ItemFile::CtLog {
                base_url: ct.base_url.clone(),
                public_key: B64(ct.key.spki_der.clone()),
            },
            TrustItem::TransparencyLog(t) => match (t.api, &t.origin) {
                (RekorApi::V2, Some(origin)) => ItemFile::RekorV2 {
                    base_url: t.base_url.clone(),
                    origin: origin.clone(),
                    public_key: B64(t.key.spki_der.clone()),
                },
                _ => ItemFile::RekorV1 {
                    base_url: t.base_url.clone(),
                    public_key: B64(t.key.spki_der.clone()),
                },
            },
            TrustItem::TimestampAuthority(tsa) => ItemFile::TimestampAuthority {
                base_url: tsa.base_url.clone(),
                cert_chain: chain(&tsa.chain.certs),
            },
            TrustItem::OidcProvider(o) => ItemFile::OidcProvider { url: o.url.clone() },
        };
        EntryFile {
            item,
            valid_for: e.valid_for,
        }
    }
}

impl ItemFile {
    fn into_item(self) -> Result<TrustItem, Error> {
        let unchain = |c: Vec<B64>| c.into_iter().map(|b| b.0).collect();
        Ok(match self {
            ItemFile::CertificateAuthority { url, cert_chain } => TrustItem::CertificateAuthority(
                CertificateAuthority::new(url, unchain(cert_chain))?,
            ),
            ItemFile::CtLog {
                base_url,
                public_key,
            } => TrustItem::CtLog(CtLog::new(base_url, &public_key.0)?),
            ItemFile::RekorV1 {
                base_url,
                public_key,
            } => TrustItem::TransparencyLog(TransparencyLog::rekor_v1(base_url, &public_key.0)?),
            ItemFile::RekorV2 {
                base_url,
                origin,
                public_key,
            } => TrustItem::TransparencyLog(TransparencyLog::rekor_v2_spki(
                base_url,
                origin,
                &public_key.0,
            )?),
            ItemFile::TimestampAuthority {
                base_url,
                cert_chain,
            } => TrustItem::TimestampAuthority(TimestampAuthority::new(
                base_url,
                unchain(cert_chain),
            )?),
            ItemFile::OidcProvider { url } => TrustItem::OidcProvider(OidcProvider::new(url)?),
        })
    }
}
