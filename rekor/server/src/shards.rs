//! The v1 shard layout: which tree IDs exist, oldest first, the last one active.
//!
//! Like upstream Rekor's sharding configuration, the layout lives in a file the operator owns:
//! `sigstack rekor new-shard` freezes the active shard and starts a new one by rewriting it;
//! a restarted service picks the change up. Frozen shards keep serving entries and proofs, and
//! log indexes stay global: a shard's entries are numbered after every earlier shard's.

use serde::{Deserialize, Serialize};
use sigstack_keys::files::{write_atomically, FileAccess};
use std::path::Path;

/// The tree IDs of the v1 shards, and the name of the logs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardLayout {
    /// The logs' name: v1 checkpoints are `<name> - <tree ID>`, and it is the v2 checkpoint
    /// origin (so part of the v2 log ID). Recorded from the public URL's host at the first
    /// start and kept afterwards: a name that followed the URL would silently start new, empty
    /// logs and orphan every entry of the old ones. Absent in layouts older than the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Frozen shards, oldest first.
    #[serde(default)]
    pub inactive: Vec<i64>,
    /// The shard new entries go to.
    pub active: i64,
    /// The v1 keys of frozen shards signed by an earlier key than the current one, by tree ID
    /// (a file, relative to the layout's directory, or a `pkcs11:` URI). A shard not named here
    /// signs with the current v1 key. Written by a v1 key rotation, which freezes the active
    /// shard with its key: a shard's key is its identity (its log ID in every entry).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub keys: std::collections::BTreeMap<i64, std::path::PathBuf>,
}

/// The logs' name a layout settles on for a public URL's host (see [`ShardLayout::settle_name`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettledName {
    /// The layout had no name: it now records the host (save it).
    Recorded(String),
    /// The layout's name is the host.
    Same(String),
    /// The layout names the logs otherwise; its name stays.
    Kept {
        /// The recorded name, which stays.
        name: String,
        /// The public URL's host, which names nothing.
        host: String,
    },
}

impl SettledName {
    /// The name the logs go by.
    pub fn name(&self) -> &str {
        match self {
            Self::Recorded(n) | Self::Same(n) | Self::Kept { name: n, .. } => n,
        }
    }
}

/// Why a shard layout could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ShardLayoutError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not a shard layout.
    #[error("{path} is not a shard layout ({{\"name\": host, \"inactive\": [tree IDs], \"active\": tree ID}}): {reason}")]
    Malformed {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

impl ShardLayout {
    /// A layout of one new shard with a random tree ID.
    pub fn new_random() -> Self {
        Self {
            name: None,
            inactive: Vec::new(),
            keys: Default::default(),
            active: random_tree_id(),
        }
    }

    /// The logs' name for a public URL whose host is `host`: the recorded name if there is
    /// one, else `host`, which the layout then records.
    pub fn settle_name(&mut self, host: &str) -> SettledName {
        match &self.name {
            None => {
                self.name = Some(host.to_owned());
                SettledName::Recorded(host.to_owned())
            }
            Some(name) if name == host => SettledName::Same(name.clone()),
            Some(name) => SettledName::Kept {
                name: name.clone(),
                host: host.to_owned(),
            },
        }
    }

    /// Freezes the active shard with `retired_key`, the v1 key it was signed with until now,
    /// and makes a new shard active (which the next key will sign). Returns the new tree ID.
    pub fn rotate_key(&mut self, retired_key: std::path::PathBuf) -> i64 {
        self.keys.insert(self.active, retired_key);
        self.rotate()
    }

    /// The key file of frozen shard `tree_id`, if it has one of its own, resolved against the
    /// directory of the layout file `layout_path`.
    pub fn key_of(&self, tree_id: i64, layout_path: &Path) -> Option<std::path::PathBuf> {
        let key = self.keys.get(&tree_id)?;
        let is_uri = key.to_str().is_some_and(|k| k.starts_with("pkcs11:"));
        Some(if key.is_absolute() || is_uri {
            key.clone()
        } else {
            layout_path
                .parent()
                .unwrap_or_else(|| Path::new("."))
                .join(key)
        })
    }

    /// Every tree ID, oldest first (the active one last).
    pub fn tree_ids(&self) -> impl Iterator<Item = i64> + '_ {
        self.inactive.iter().copied().chain(Some(self.active))
    }

    /// Freezes the active shard and makes a new one, with a fresh random tree ID, active.
    pub fn rotate(&mut self) -> i64 {
        let mut next = random_tree_id();
        while self.tree_ids().any(|t| t == next) {
            next = random_tree_id();
        }
        self.inactive.push(self.active);
        self.active = next;
        next
    }

    /// Reads the layout in `path`, or creates one with a single new shard there.
    pub fn load_or_create(path: &Path) -> Result<Self, ShardLayoutError> {
        match std::fs::read(path) {
            Ok(bytes) => Self::parse(path, &bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let layout = Self::new_random();
                layout.save(path)?;
                Ok(layout)
            }
            Err(source) => Err(ShardLayoutError::Io {
                path: path.display().to_string(),
                source,
            }),
        }
    }

    fn parse(path: &Path, bytes: &[u8]) -> Result<Self, ShardLayoutError> {
        let malformed = |reason: String| ShardLayoutError::Malformed {
            path: path.display().to_string(),
            reason,
        };
        let layout: Self = serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))?;
        let mut seen = std::collections::HashSet::new();
        for id in layout.tree_ids() {
            if id <= 0 {
                return Err(malformed(format!("tree ID {id} is not positive")));
            }
            if !seen.insert(id) {
                return Err(malformed(format!("tree ID {id} appears twice")));
            }
        }
        if let Some(id) = layout.keys.keys().find(|id| !layout.inactive.contains(id)) {
            return Err(malformed(format!(
                "tree ID {id} has a key of its own but is not a frozen shard"
            )));
        }
        if layout.name.as_deref().is_some_and(str::is_empty) {
            return Err(malformed("the name is empty".into()));
        }
        Ok(layout)
    }

    /// Writes the layout atomically and durably.
    pub fn save(&self, path: &Path) -> Result<(), ShardLayoutError> {
        let io = |source| ShardLayoutError::Io {
            path: path.display().to_string(),
            source,
        };
        let json = serde_json::to_vec_pretty(self).expect("a layout serialises");
        write_atomically(path, &json, FileAccess::Default).map_err(io)?;
        Ok(())
    }
}

/// A positive random 63-bit tree ID, as Trillian-backed Rekor uses.
fn random_tree_id() -> i64 {
    (rand::random::<u64>() >> 1).max(1) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_keeps_order_and_uniqueness() {
        let mut layout = ShardLayout::new_random();
        let first = layout.active;
        let second = layout.rotate();
        let third = layout.rotate();
        assert_eq!(
            layout.tree_ids().collect::<Vec<_>>(),
            vec![first, second, third]
        );
        assert_eq!(layout.active, third);
    }

    #[test]
    fn a_key_rotation_freezes_the_shard_with_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shards.json");
        let mut layout = ShardLayout::load_or_create(&path).unwrap();
        let first = layout.active;
        let second = layout.rotate_key("keys/retired/old-rekor-v1.pem".into());
        layout.save(&path).unwrap();
        let again = ShardLayout::load_or_create(&path).unwrap();
        assert_eq!(again.inactive, vec![first]);
        assert_eq!(again.active, second);
        assert_eq!(
            again.key_of(first, &path).unwrap(),
            dir.path().join("keys/retired/old-rekor-v1.pem")
        );
        assert_eq!(again.key_of(second, &path), None);
        // A key for a shard that is not frozen is refused.
        std::fs::write(&path, r#"{"active": 3, "keys": {"3": "k.pem"}}"#).unwrap();
        assert!(ShardLayout::load_or_create(&path).is_err());
    }

    #[test]
    fn the_first_name_is_recorded_and_then_kept() {
        let mut layout = ShardLayout::new_random();
        assert_eq!(
            layout.settle_name("rekor.example"),
            SettledName::Recorded("rekor.example".into())
        );
        assert_eq!(
            layout.settle_name("rekor.example"),
            SettledName::Same("rekor.example".into())
        );
        let moved = layout.settle_name("transparency.example");
        assert_eq!(moved.name(), "rekor.example");
        assert!(matches!(moved, SettledName::Kept { .. }));
        // Layouts written before the name existed still load, and serialise without it.
        let old: ShardLayout = serde_json::from_str(r#"{"inactive": [], "active": 7}"#).unwrap();
        assert_eq!(old.name, None);
        assert!(!serde_json::to_string(&old).unwrap().contains("name"));
    }

    #[test]
    fn load_or_create_round_trips_and_refuses_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shards.json");
        let created = ShardLayout::load_or_create(&path).unwrap();
        assert_eq!(ShardLayout::load_or_create(&path).unwrap(), created);
        std::fs::write(&path, br#"{"active": 5, "inactive": [5]}"#).unwrap();
        let e = ShardLayout::load_or_create(&path).unwrap_err().to_string();
        assert!(e.contains("appears twice"), "{e}");
        std::fs::write(&path, b"nonsense").unwrap();
        assert!(ShardLayout::load_or_create(&path).is_err());
    }
}
