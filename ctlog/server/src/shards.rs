//! The CT log's shard layout: which shards exist, the key each frozen one keeps, and the
//! certificate expiry window of each temporal shard.
//!
//! A CT log's key is its identity (its log ID is in every SCT), so a new key is a new log: a
//! rotation freezes the active shard with its key and starts the next generation beside it,
//! under its own origin (`<origin>/shards/<N>`) and URL (`<public URL>/shards/<N>`), as public
//! CT logs run one log per URL. Generation 1 keeps the configured origin and the public URL
//! itself, so a log that never rotated is unchanged. Frozen shards keep serving their entries,
//! checkpoints and proofs, read-only, under their own keys.
//!
//! Like public CT logs' temporal shards, a shard may have an expiry window: it accepts only
//! certificates whose notAfter falls in `[start, end)`.

use serde::{Deserialize, Serialize};
use sigstack_keys::files::{resolve_key_reference, write_atomically, FileAccess};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The shards of one CT log (generation 1 first), as the operator's layout file records them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CtShardLayout {
    /// Frozen shards, generation 1 first. The active shard is generation `frozen.len() + 1`
    /// and signs with the current CT log key.
    #[serde(default)]
    pub frozen: Vec<FrozenShard>,
    /// The active shard's expiry window; absent, it accepts any notAfter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<ExpiryWindow>,
}

/// A frozen shard: read-only, signed by the key it was active with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrozenShard {
    /// Its key: a file (relative to the layout's directory) or a `pkcs11:` URI.
    pub key: PathBuf,
    /// The expiry window it had while active, kept for the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<ExpiryWindow>,
}

/// A temporal shard's window of certificate expiry times, `[start, end)`, written in the
/// layout as RFC 3339 times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "WindowText", into = "WindowText")]
pub struct ExpiryWindow {
    start: SystemTime,
    end: SystemTime,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WindowText {
    start: String,
    end: String,
}

impl TryFrom<WindowText> for ExpiryWindow {
    type Error = String;

    fn try_from(w: WindowText) -> Result<Self, String> {
        let time = |t: &str| {
            humantime::parse_rfc3339(t).map_err(|e| format!("{t:?} is not an RFC 3339 time: {e}"))
        };
        ExpiryWindow::new(time(&w.start)?, time(&w.end)?)
    }
}

impl From<ExpiryWindow> for WindowText {
    fn from(w: ExpiryWindow) -> Self {
        WindowText {
            start: humantime::format_rfc3339_seconds(w.start).to_string(),
            end: humantime::format_rfc3339_seconds(w.end).to_string(),
        }
    }
}

impl ExpiryWindow {
    /// The window `[start, end)`; refused if empty.
    pub fn new(start: SystemTime, end: SystemTime) -> Result<Self, String> {
        if end <= start {
            return Err("an expiry window must end after it starts".into());
        }
        Ok(Self { start, end })
    }

    /// `START/END`, two RFC 3339 times (`2026-01-01T00:00:00Z/2027-01-01T00:00:00Z`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let (start, end) = text
            .split_once('/')
            .ok_or_else(|| format!("{text:?} is not START/END (two RFC 3339 times)"))?;
        Self::try_from(WindowText {
            start: start.trim().to_owned(),
            end: end.trim().to_owned(),
        })
    }

    /// Whether a certificate whose notAfter is `not_after` (Unix seconds) belongs here.
    pub fn admits(&self, not_after: u64) -> bool {
        let t = UNIX_EPOCH + Duration::from_secs(not_after);
        self.start <= t && t < self.end
    }
}

impl std::fmt::Display for ExpiryWindow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let w = WindowText::from(*self);
        write!(f, "[{}, {})", w.start, w.end)
    }
}

/// Why a layout could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CtShardLayoutError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not a CT shard layout.
    #[error("{path} is not a CT shard layout ({{\"frozen\": [{{\"key\": file}}], \"not_after\": {{\"start\", \"end\"}}}}): {reason}")]
    Malformed {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// The URL path below the CT log's public URL where shard `generation` is served: empty for
/// generation 1, `/shards/<generation>` after it.
pub fn shard_path(generation: u32) -> String {
    if generation <= 1 {
        String::new()
    } else {
        format!("/shards/{generation}")
    }
}

/// The origin of shard `generation` of the log whose first origin is `origin`.
pub fn shard_origin(origin: &str, generation: u32) -> String {
    format!("{}{}", origin.trim_end_matches('/'), shard_path(generation))
}

impl CtShardLayout {
    /// The active shard's generation (1 until the first rotation).
    pub fn generation(&self) -> u32 {
        u32::try_from(self.frozen.len()).map_or(u32::MAX, |n| n.saturating_add(1))
    }

    /// Freezes the active shard with `retired_key`, the key it was signed with until now; the
    /// next generation, with the next key, becomes active with `not_after` as its window.
    /// Returns the new generation.
    pub fn rotate(&mut self, retired_key: PathBuf, not_after: Option<ExpiryWindow>) -> u32 {
        let frozen_window = std::mem::replace(&mut self.not_after, not_after);
        self.frozen.push(FrozenShard {
            key: retired_key,
            not_after: frozen_window,
        });
        self.generation()
    }

    /// The frozen shards' generations and keys (resolved against the directory of the layout
    /// file `layout_path`), oldest first.
    pub fn frozen_keys(&self, layout_path: &Path) -> Vec<(u32, PathBuf)> {
        (1..)
            .zip(&self.frozen)
            .map(|(generation, s)| (generation, resolve_key_reference(&s.key, layout_path)))
            .collect()
    }

    /// Reads the layout in `path`, or creates an empty one (one shard, generation 1) there.
    pub fn load_or_create(path: &Path) -> Result<Self, CtShardLayoutError> {
        let io = |source| CtShardLayoutError::Io {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read(path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).map_err(|e| CtShardLayoutError::Malformed {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let layout = Self::default();
                layout.save(path)?;
                Ok(layout)
            }
            Err(e) => Err(io(e)),
        }
    }

    /// Reads the layout in `path`; a missing file is a log of one shard (for readers that must
    /// not create it, such as Fulcio choosing the shard to submit to).
    pub fn load_if_present(path: &Path) -> Result<Self, CtShardLayoutError> {
        if path.exists() {
            Self::load_or_create(path)
        } else {
            Ok(Self::default())
        }
    }

    /// Writes the layout atomically and durably.
    pub fn save(&self, path: &Path) -> Result<(), CtShardLayoutError> {
        let json = serde_json::to_vec_pretty(self).expect("a layout serialises");
        write_atomically(path, &json, FileAccess::Default).map_err(|source| {
            CtShardLayoutError::Io {
                path: path.display().to_string(),
                source,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn a_rotation_freezes_the_shard_with_its_key_and_window() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ctlog-shards.json");
        let mut layout = CtShardLayout::load_or_create(&path).unwrap();
        assert_eq!(layout.generation(), 1);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap().trim(),
            "{\n  \"frozen\": []\n}"
        );
        let y2026 = ExpiryWindow::parse("2026-01-01T00:00:00Z/2027-01-01T00:00:00Z").unwrap();
        assert_eq!(
            layout.rotate("keys/retired/a-ctlog.pem".into(), Some(y2026)),
            2
        );
        assert_eq!(layout.rotate("pkcs11:object=retired-b".into(), None), 3);
        layout.save(&path).unwrap();
        let again = CtShardLayout::load_or_create(&path).unwrap();
        assert_eq!(again, layout);
        assert_eq!(again.frozen[1].not_after, Some(y2026));
        assert_eq!(again.not_after, None);
        assert_eq!(
            again.frozen_keys(&path),
            vec![
                (1, dir.path().join("keys/retired/a-ctlog.pem")),
                (2, PathBuf::from("pkcs11:object=retired-b"))
            ]
        );
        assert_eq!(shard_path(1), "");
        assert_eq!(shard_path(3), "/shards/3");
        assert_eq!(shard_origin("ct.example/2026", 1), "ct.example/2026");
        assert_eq!(shard_origin("ct.example/", 2), "ct.example/shards/2");
        for bad in [
            r#"{"frozen": [{"key": "k.pem", "extra": 1}]}"#,
            r#"{"not_after": {"start": "2027-01-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"}}"#,
            r#"{"not_after": {"start": "yesterday", "end": "2026-01-01T00:00:00Z"}}"#,
            "nonsense",
        ] {
            std::fs::write(&path, bad).unwrap();
            assert!(CtShardLayout::load_or_create(&path).is_err(), "{bad}");
        }
    }

    #[test]
    fn windows_admit_their_start_but_not_their_end() {
        let w = ExpiryWindow::new(at(100), at(200)).unwrap();
        assert!(!w.admits(99));
        assert!(w.admits(100));
        assert!(w.admits(199));
        assert!(!w.admits(200));
        assert!(ExpiryWindow::new(at(200), at(200)).is_err());
        assert!(ExpiryWindow::parse("2026-01-01T00:00:00Z").is_err());
        assert_eq!(
            ExpiryWindow::parse("1970-01-01T00:01:40Z/1970-01-01T00:03:20Z").unwrap(),
            w
        );
        assert_eq!(
            w.to_string(),
            "[1970-01-01T00:01:40Z, 1970-01-01T00:03:20Z)"
        );
    }

    proptest::proptest! {
        /// Consecutive windows that share a boundary admit every expiry time exactly once:
        /// temporal shards never both accept, nor both refuse, a certificate between them.
        #[test]
        fn adjacent_windows_partition_time(a in 0u64..1 << 40, len1 in 1u64..1 << 30, len2 in 1u64..1 << 30, t in 0u64..1 << 41) {
            let first = ExpiryWindow::new(at(a), at(a + len1)).unwrap();
            let second = ExpiryWindow::new(at(a + len1), at(a + len1 + len2)).unwrap();
            let inside = (a..a + len1 + len2).contains(&t);
            proptest::prop_assert_eq!(u8::from(first.admits(t)) + u8::from(second.admits(t)), u8::from(inside));
        }

        /// Every generation has its own origin and path.
        #[test]
        fn generations_never_share_an_origin(a in 1u32..100_000, b in 1u32..100_000) {
            proptest::prop_assume!(a != b);
            proptest::prop_assert_ne!(shard_origin("ct.example", a), shard_origin("ct.example", b));
        }
    }
}
