//! The v1 shard layout: which tree IDs exist, oldest first, the last one active.
//!
//! Like upstream Rekor's sharding configuration, the layout lives in a file the operator owns:
//! `sigstack rekor new-shard` freezes the active shard and starts a new one by rewriting it;
//! a restarted service picks the change up. Frozen shards keep serving entries and proofs, and
//! log indexes stay global: a shard's entries are numbered after every earlier shard's.
//!
//! Rekor v2 logs are sharded the way upstream runs them, one log per URL: a v2 key rotation
//! freezes the active v2 log with its key and starts generation N+1 under its own origin
//! (`<name>/v2-shards/N+1`) and base URL (`<public URL>/v2-shards/N+1`), which is what
//! `trusted_root.json` and `signing_config` can name. Generation 1 keeps the logs' name as
//! origin and the public URL as base URL, so a layout that never rotated is unchanged.

use serde::{Deserialize, Serialize};
use sigstack_keys::files::{resolve_key_reference, write_atomically, FileAccess};
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
    /// The keys of the frozen Rekor v2 logs, generation 1 first (files relative to the
    /// layout's directory, or `pkcs11:` URIs). The active v2 log is generation
    /// `v2_frozen_keys.len() + 1` and signs with the current v2 key. Written by a v2 key
    /// rotation ([`ShardLayout::rotate_v2_key`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub v2_frozen_keys: Vec<std::path::PathBuf>,
}

/// The URL path below Rekor's public URL where v2 log `generation` is served: empty for
/// generation 1 (the public URL itself), `/v2-shards/<generation>` after it.
pub fn v2_shard_path(generation: u32) -> String {
    if generation <= 1 {
        String::new()
    } else {
        format!("/v2-shards/{generation}")
    }
}

/// The checkpoint origin of v2 log `generation` of logs named `name`: the name for generation
/// 1, then the name and the shard's path, as an origin is its log's URL without the scheme.
pub fn v2_shard_origin(name: &str, generation: u32) -> String {
    format!("{name}{}", v2_shard_path(generation))
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
            v2_frozen_keys: Vec::new(),
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
        Some(resolve_key_reference(key, layout_path))
    }

    /// The generation of the active v2 log (1 until the first v2 key rotation).
    pub fn v2_generation(&self) -> u32 {
        u32::try_from(self.v2_frozen_keys.len()).map_or(u32::MAX, |n| n.saturating_add(1))
    }

    /// Freezes the active v2 log with `retired_key`, the v2 key it was signed with until now:
    /// the next generation, under its own origin and URL, takes the next key. Returns the new
    /// generation.
    pub fn rotate_v2_key(&mut self, retired_key: std::path::PathBuf) -> u32 {
        self.v2_frozen_keys.push(retired_key);
        self.v2_generation()
    }

    /// The frozen v2 logs: their generations and key files (resolved against the directory of
    /// the layout file `layout_path`), oldest first.
    pub fn v2_frozen(&self, layout_path: &Path) -> Vec<(u32, std::path::PathBuf)> {
        (1..)
            .zip(&self.v2_frozen_keys)
            .map(|(generation, key)| (generation, resolve_key_reference(key, layout_path)))
            .collect()
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

/// One inactive shard of upstream Rekor's sharding configuration (the YAML or JSON list its
/// `--trillian_log_server.sharding_config` flag names).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpstreamShard {
    /// The shard's Trillian tree ID.
    #[serde(rename = "treeID")]
    pub tree_id: i64,
    /// Its size; upstream asks Trillian when it is 0. Not needed here: the store holds every
    /// tree and knows its size.
    #[serde(default)]
    pub tree_length: i64,
    /// How the shard signs; unset, with the active key.
    #[serde(default)]
    pub signing_config: UpstreamSigningConfig,
    /// Older releases' public key of the shard (base64 PEM): a public key cannot sign the
    /// shard's checkpoints, so it is refused unless a key file is given too.
    #[serde(default)]
    pub encoded_public_key: Option<String>,
}

/// Upstream's `signingConfig` of a shard.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpstreamSigningConfig {
    /// A key file, a KMS URI, or `memory`.
    #[serde(default)]
    pub signing_scheme_or_key_path: String,
    /// The key file's password.
    #[serde(default)]
    pub file_signer_password: String,
    /// Tink key-encryption key URI.
    #[serde(default, rename = "tinkKEKURI")]
    pub tink_kek_uri: String,
    /// Tink keyset.
    #[serde(default)]
    pub tink_keyset_path: String,
    /// GCP KMS retries.
    #[serde(default, rename = "gcpkmsRetries")]
    pub gcp_kms_retries: u32,
    /// GCP KMS timeout.
    #[serde(default, rename = "gcpkmsTimeout")]
    pub gcp_kms_timeout: u32,
}

/// Why an upstream sharding configuration does not map onto a shard layout.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImportError {
    /// A tree ID that is not positive or appears twice (the active one included).
    #[error("tree ID {0} is not positive or appears twice")]
    BadTreeId(i64),
    /// A shard signs in a way sigstack does not.
    #[error("shard {tree_id}: {reason}")]
    Unsupported {
        /// The shard.
        tree_id: i64,
        /// What is refused, and why.
        reason: String,
    },
}

impl ShardLayout {
    /// The layout of upstream Rekor's sharding configuration `inactive` (oldest first) and its
    /// active tree (`--trillian_log_server.tlog_id`). What maps: each tree ID, in order; a
    /// shard's key file (`signingSchemeOrKeyPath`, a PEM file or a `pkcs11:` URI) becomes its
    /// own key, an unset signing config the active key (as upstream). What is refused: KMS,
    /// Tink and `memory` signers (sigstack signs with files and PKCS#11 tokens), per-shard
    /// passwords (sigstack's come from `--key-password-file`), and a public key without a key
    /// file. `treeLength` is not used: the store knows each tree's size.
    pub fn from_upstream(inactive: &[UpstreamShard], active: i64) -> Result<Self, ImportError> {
        let mut layout = ShardLayout {
            name: None,
            inactive: Vec::new(),
            active,
            keys: Default::default(),
            v2_frozen_keys: Vec::new(),
        };
        let mut seen = std::collections::HashSet::from([active]);
        if active <= 0 {
            return Err(ImportError::BadTreeId(active));
        }
        for shard in inactive {
            if shard.tree_id <= 0 || !seen.insert(shard.tree_id) {
                return Err(ImportError::BadTreeId(shard.tree_id));
            }
            let refuse = |reason: &str| ImportError::Unsupported {
                tree_id: shard.tree_id,
                reason: reason.to_owned(),
            };
            let sc = &shard.signing_config;
            if !sc.tink_kek_uri.is_empty() || !sc.tink_keyset_path.is_empty() {
                return Err(refuse("Tink keysets are not supported: export the key to a PKCS#8 PEM file or a PKCS#11 token"));
            }
            if !sc.file_signer_password.is_empty() {
                return Err(refuse("a per-shard password is not supported: sigstack decrypts every key with --key-password-file (re-encrypt the key under it)"));
            }
            let key = sc.signing_scheme_or_key_path.as_str();
            if key == "memory" {
                return Err(refuse("an in-memory key is gone with the process that made it: the shard's checkpoints cannot be verified under a new one"));
            }
            if key.contains("://") {
                return Err(refuse("KMS signers are not supported: use a PKCS#8 PEM file or a PKCS#11 token (pkcs11: URI)"));
            }
            if key.is_empty() {
                if shard.encoded_public_key.is_some() {
                    return Err(refuse("encodedPublicKey without signingConfig: the shard's private key is needed (give signingConfig.signingSchemeOrKeyPath)"));
                }
            } else {
                layout.keys.insert(shard.tree_id, key.into());
            }
            layout.inactive.push(shard.tree_id);
        }
        Ok(layout)
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
    fn a_v2_key_rotation_starts_the_next_generation_under_its_own_origin_and_url() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shards.json");
        let mut layout = ShardLayout::load_or_create(&path).unwrap();
        assert_eq!(layout.v2_generation(), 1);
        assert_eq!(v2_shard_origin("rekor.example", 1), "rekor.example");
        assert_eq!(v2_shard_path(1), "");
        // A layout that never rotated its v2 key is written as before.
        assert!(!serde_json::to_string(&layout)
            .unwrap()
            .contains("v2_frozen_keys"));
        let v1_active = layout.active;
        assert_eq!(
            layout.rotate_v2_key("keys/retired/a-rekor-v2.pem".into()),
            2
        );
        assert_eq!(layout.rotate_v2_key("pkcs11:object=retired-b".into()), 3);
        // The v1 shards are untouched.
        assert_eq!(layout.active, v1_active);
        layout.save(&path).unwrap();
        let again = ShardLayout::load_or_create(&path).unwrap();
        assert_eq!(again.v2_generation(), 3);
        assert_eq!(
            again.v2_frozen(&path),
            vec![
                (1, dir.path().join("keys/retired/a-rekor-v2.pem")),
                (2, "pkcs11:object=retired-b".into())
            ]
        );
        assert_eq!(v2_shard_path(3), "/v2-shards/3");
        assert_eq!(
            v2_shard_origin("rekor.example", 3),
            "rekor.example/v2-shards/3"
        );
    }

    proptest::proptest! {
        /// Every generation has its own origin and path, and each origin is its path under
        /// the name: no two v2 logs ever share a log ID, whatever their keys.
        #[test]
        fn v2_generations_never_share_an_origin_or_a_path(a in 1u32..10_000, b in 1u32..10_000) {
            proptest::prop_assume!(a != b);
            proptest::prop_assert_ne!(v2_shard_origin("r.example", a), v2_shard_origin("r.example", b));
            proptest::prop_assert_ne!(v2_shard_path(a), v2_shard_path(b));
            proptest::prop_assert_eq!(
                v2_shard_origin("r.example", a),
                format!("r.example{}", v2_shard_path(a))
            );
        }
    }

    #[test]
    fn upstream_sharding_configurations_map_or_are_refused_with_the_reason() {
        let shard = |tree_id, key: &str| UpstreamShard {
            tree_id,
            tree_length: 10,
            signing_config: UpstreamSigningConfig {
                signing_scheme_or_key_path: key.into(),
                ..Default::default()
            },
            encoded_public_key: None,
        };
        let layout =
            ShardLayout::from_upstream(&[shard(11, ""), shard(22, "/keys/old.pem")], 33).unwrap();
        assert_eq!(layout.tree_ids().collect::<Vec<_>>(), vec![11, 22, 33]);
        assert_eq!(layout.keys.len(), 1);
        assert_eq!(layout.keys[&22], Path::new("/keys/old.pem"));
        for (bad, why) in [
            (vec![shard(11, "memory")], "in-memory"),
            (vec![shard(11, "gcpkms://projects/p/key")], "KMS"),
            (vec![shard(11, ""), shard(11, "")], "twice"),
            (vec![shard(33, "")], "twice"),
            (vec![shard(-1, "")], "positive"),
        ] {
            let e = ShardLayout::from_upstream(&bad, 33)
                .unwrap_err()
                .to_string();
            assert!(e.contains(why), "{e}");
        }
        let mut tink = shard(11, "");
        tink.signing_config.tink_keyset_path = "k.json".into();
        let mut password = shard(11, "k.pem");
        password.signing_config.file_signer_password = "pw".into();
        let mut public_only = shard(11, "");
        public_only.encoded_public_key = Some("LS0t".into());
        for bad in [tink, password, public_only] {
            assert!(ShardLayout::from_upstream(&[bad], 33).is_err());
        }
        // Upstream's field names, as its documentation writes them.
        let parsed: Vec<UpstreamShard> = serde_json::from_str(
            r#"[{"treeID": 5, "treeLength": 7, "signingConfig": {"signingSchemeOrKeyPath": "k.pem"}}]"#,
        )
        .unwrap();
        assert_eq!(parsed[0].tree_id, 5);
        assert_eq!(parsed[0].signing_config.signing_scheme_or_key_path, "k.pem");
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
