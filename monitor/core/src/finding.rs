//! What the monitor reports: one [`Finding`] per problem or match, written as one JSON line.

use serde::{Deserialize, Serialize};

/// The kinds of findings, each with a stable snake_case name (the JSON `kind`, the metric
/// label, what `docs/lab.md`'s table lists).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FindingKind {
    /// A checkpoint without a valid signature by a key trusted for the log (a checkpoint
    /// signed by another key, a corrupted signature, another origin).
    BadSignature,
    /// A checkpoint smaller than one already verified.
    Rollback,
    /// A checkpoint of the same size as one already verified, with another root.
    Fork,
    /// The log's tiles or entries between two verified checkpoints do not lead from the first
    /// root to the second: the new tree does not contain the old one, or an entry served is
    /// not the one the tree holds (dropped, rewritten, or a wrong proof).
    Inconsistent,
    /// A witness cosigned a checkpoint of this log that is not consistent with the ones this
    /// monitor verified: the log shows different trees to different clients.
    SplitView,
    /// The log's answers could not be fetched or parsed for longer than the configured time.
    Unreachable,
    /// The log integrated entries later than it promised: a CT log signed a tree head without
    /// entries whose SCTs were older than its maximum merge delay, or a log served its readers
    /// a tree smaller than one a witness had cosigned longer than that delay before.
    LateIntegration,
    /// An entry matched the watch list.
    IdentityMatch,
}

impl FindingKind {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::BadSignature => "bad_signature",
            FindingKind::Rollback => "rollback",
            FindingKind::Fork => "fork",
            FindingKind::Inconsistent => "inconsistent",
            FindingKind::SplitView => "split_view",
            FindingKind::Unreachable => "unreachable",
            FindingKind::LateIntegration => "late_integration",
            FindingKind::IdentityMatch => "identity_match",
        }
    }

    /// Every kind, in order.
    pub const ALL: [FindingKind; 8] = [
        FindingKind::BadSignature,
        FindingKind::Rollback,
        FindingKind::Fork,
        FindingKind::Inconsistent,
        FindingKind::SplitView,
        FindingKind::Unreachable,
        FindingKind::LateIntegration,
        FindingKind::IdentityMatch,
    ];
}

/// One finding. `log` names the log as configured (its URL); the driver adds the time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// What was found.
    pub kind: FindingKind,
    /// The log's URL as configured.
    pub log: String,
    /// A human-readable explanation.
    pub detail: String,
    /// The entry concerned (identity matches), by index in the log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
    /// For identity matches: which watch-list item matched, and the value that matched it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matched: Vec<crate::watch::Match>,
    /// The checkpoint concerned (as served), when the finding is about one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
}

impl Finding {
    /// A finding about the log itself (no entry).
    pub fn about_log(kind: FindingKind, log: &str, detail: impl Into<String>) -> Self {
        Finding {
            kind,
            log: log.to_string(),
            detail: detail.into(),
            index: None,
            matched: Vec::new(),
            checkpoint: None,
        }
    }

    /// The same finding, naming the checkpoint note it is about.
    pub fn with_checkpoint(mut self, note: &[u8]) -> Self {
        self.checkpoint = Some(String::from_utf8_lossy(note).into_owned());
        self
    }
}
