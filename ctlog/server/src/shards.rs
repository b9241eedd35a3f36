//! The CT log's shard layout: which shards exist, the key each older one keeps, and the
//! certificate expiry window of each temporal shard.
//!
//! A CT log's key is its identity (its log ID is in every SCT), so a new key is a new log: a
//! rotation moves the newest shard's key aside and starts the next generation beside it, under
//! its own origin (`<origin>/shards/<N>`) and URL (`<public URL>/shards/<N>`), as public CT logs
//! run one log per URL. Generation 1 keeps the configured origin and the public URL itself, so
//! a log that never rotated is unchanged.
//!
//! Like public CT logs' temporal shards, a shard may have an expiry window: it accepts only
//! certificates whose notAfter falls in `[start, end)`. An older shard is frozen (read-only,
//! under its own key) unless it was kept accepting for its window, beside the newer ones
//! (next year's shard opened ahead of time); it freezes when its window has ended. The shards
//! that accept at once never have overlapping windows ([`ct::TemporalShards`]).

use ct::{ExpiryWindow, ShardWindowError, TemporalShards};
use serde::{Deserialize, Serialize};
use sigstack_keys::files::{resolve_key_reference, write_atomically, FileAccess};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The shards of one CT log (generation 1 first), as the operator's layout file records them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CtShardLayout {
    /// The shards before the newest, generation 1 first, each with the key it was rotated out
    /// with. The newest shard is generation `older.len() + 1` and signs with the current CT log
    /// key. In the file this list is `frozen`, its name from before an older shard could keep
    /// accepting.
    #[serde(default, rename = "frozen")]
    pub older: Vec<OlderShard>,
    /// The newest shard's expiry window; absent, it accepts any notAfter (and is then the only
    /// shard that accepts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<ExpiryWindow>,
}

/// A shard before the newest: signed by the key it had when it was the newest, and read-only
/// unless it keeps accepting certificates for its window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OlderShard {
    /// Its key: a file (relative to the layout's directory) or a `pkcs11:` URI.
    pub key: PathBuf,
    /// Its expiry window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<ExpiryWindow>,
    /// Whether it still takes certificates whose notAfter is in its window (until the window
    /// ends); otherwise it is frozen. Written only when true, so a layout without such a shard
    /// reads as before.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub accepting: bool,
}

/// What a rotation does with the newest shard, whose key it retires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetiredShard {
    /// It freezes: read-only from now on.
    Freeze,
    /// It keeps accepting certificates whose notAfter is in its window, beside the new shard,
    /// until the window ends.
    KeepAccepting,
}

/// What a rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// The generation of the shard the rotation retired the key of.
    pub retired: u32,
    /// The new shard's generation.
    pub new: u32,
    /// Older shards that had kept accepting and whose windows have ended: frozen now.
    pub ended: Vec<u32>,
}

/// Why a rotation was refused; the layout is then unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CtShardRotationError {
    /// The shard to keep accepting has no window: it accepts every certificate, so no shard
    /// can accept beside it.
    #[error("CT log shard {generation} has no expiry window (it accepts every notAfter), so it cannot keep accepting beside a new shard: freeze it instead")]
    KeptShardUnbounded {
        /// Its generation.
        generation: u32,
    },
    /// The shard to keep accepting has a window that is already over.
    #[error("CT log shard {generation}'s expiry window {window} has ended: it has nothing left to accept, freeze it instead")]
    KeptShardEnded {
        /// Its generation.
        generation: u32,
        /// Its window.
        window: ExpiryWindow,
    },
    /// The shards that would accept after the rotation cannot be open together.
    #[error("the new CT log shard cannot open beside the shards that keep accepting: {0}")]
    Windows(#[source] ShardWindowError),
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
    #[error("{path} is not a CT shard layout ({{\"frozen\": [{{\"key\": file, \"not_after\", \"accepting\"}}], \"not_after\": {{\"start\", \"end\"}}}}): {reason}")]
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
    /// The newest shard's generation (1 until the first rotation).
    pub fn generation(&self) -> u32 {
        u32::try_from(self.older.len()).map_or(u32::MAX, |n| n.saturating_add(1))
    }

    /// Retires the newest shard's key, `retired_key` (where it now is), and makes the next
    /// generation, with the next key, the newest, with `not_after` as its window. The retired
    /// shard freezes or keeps accepting as `retired` says; older shards that kept accepting
    /// and whose windows have ended at `now` freeze. Refused, with the layout unchanged, if the
    /// shards that would accept afterwards could not be open together (overlapping windows, or
    /// one without a window beside another).
    pub fn rotate(
        &mut self,
        retired_key: PathBuf,
        not_after: Option<ExpiryWindow>,
        retired: RetiredShard,
        now: SystemTime,
    ) -> Result<Rotation, CtShardRotationError> {
        let generation = self.generation();
        if retired == RetiredShard::KeepAccepting {
            match self.not_after {
                None => return Err(CtShardRotationError::KeptShardUnbounded { generation }),
                Some(window) if window.has_ended(now) => {
                    return Err(CtShardRotationError::KeptShardEnded { generation, window })
                }
                Some(_) => {}
            }
        }
        let mut next = self.clone();
        let mut ended = Vec::new();
        for (older, shard) in (1..).zip(&mut next.older) {
            if shard.accepting && shard.not_after.is_none_or(|w| w.has_ended(now)) {
                shard.accepting = false;
                ended.push(older);
            }
        }
        next.older.push(OlderShard {
            key: retired_key,
            not_after: std::mem::replace(&mut next.not_after, not_after),
            accepting: retired == RetiredShard::KeepAccepting,
        });
        next.check_windows()
            .map_err(CtShardRotationError::Windows)?;
        *self = next;
        Ok(Rotation {
            retired: generation,
            new: self.generation(),
            ended,
        })
    }

    /// The shards that take certificates at `now`, by generation, each with its window: the
    /// newest, and the older ones kept accepting whose windows have not ended.
    pub fn accepting(&self, now: SystemTime) -> Result<TemporalShards<u32>, ShardWindowError> {
        let older = (1..)
            .zip(&self.older)
            .filter(|(_, s)| s.accepting && s.not_after.is_none_or(|w| !w.has_ended(now)))
            .map(|(generation, s)| (s.not_after, generation));
        TemporalShards::new(
            older
                .chain(std::iter::once((self.not_after, self.generation())))
                .collect(),
        )
    }

    /// The older shards' generations and keys (resolved against the directory of the layout
    /// file `layout_path`), oldest first.
    pub fn older_keys(&self, layout_path: &Path) -> Vec<(u32, PathBuf)> {
        (1..)
            .zip(&self.older)
            .map(|(generation, s)| (generation, resolve_key_reference(&s.key, layout_path)))
            .collect()
    }

    /// The shards marked accepting, whatever the time, must be able to be open together.
    fn check_windows(&self) -> Result<(), ShardWindowError> {
        let marked = (1..)
            .zip(&self.older)
            .filter(|(_, s)| s.accepting)
            .map(|(generation, s)| (s.not_after, generation))
            .chain(std::iter::once((self.not_after, self.generation())));
        TemporalShards::new(marked.collect()).map(|_| ())
    }

    /// Reads the layout in `path`, or creates an empty one (one shard, generation 1) there.
    pub fn load_or_create(path: &Path) -> Result<Self, CtShardLayoutError> {
        let io = |source| CtShardLayoutError::Io {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read(path) {
            Ok(bytes) => {
                let malformed = |reason: String| CtShardLayoutError::Malformed {
                    path: path.display().to_string(),
                    reason,
                };
                let layout: Self =
                    serde_json::from_slice(&bytes).map_err(|e| malformed(e.to_string()))?;
                layout
                    .check_windows()
                    .map_err(|e| malformed(e.to_string()))?;
                Ok(layout)
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
    use std::time::{Duration, UNIX_EPOCH};

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn window(start: u64, end: u64) -> ExpiryWindow {
        ExpiryWindow::new(at(start), at(end)).unwrap()
    }

    fn generations(shards: &TemporalShards<u32>) -> Vec<u32> {
        shards.iter().map(|(_, g)| *g).collect()
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
        let now = SystemTime::now();
        let rotation = layout
            .rotate(
                "keys/retired/a-ctlog.pem".into(),
                Some(y2026),
                RetiredShard::Freeze,
                now,
            )
            .unwrap();
        assert_eq!((rotation.retired, rotation.new), (1, 2));
        let rotation = layout
            .rotate(
                "pkcs11:object=retired-b".into(),
                None,
                RetiredShard::Freeze,
                now,
            )
            .unwrap();
        assert_eq!((rotation.retired, rotation.new), (2, 3));
        layout.save(&path).unwrap();
        let again = CtShardLayout::load_or_create(&path).unwrap();
        assert_eq!(again, layout);
        assert_eq!(again.older[1].not_after, Some(y2026));
        assert_eq!(again.not_after, None);
        assert_eq!(generations(&again.accepting(now).unwrap()), vec![3]);
        assert_eq!(
            again.older_keys(&path),
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
            // An accepting older shard beside a newest one without a window, or overlapping it.
            r#"{"frozen": [{"key": "k.pem", "not_after": {"start": "2026-01-01T00:00:00Z", "end": "2027-01-01T00:00:00Z"}, "accepting": true}]}"#,
            r#"{"frozen": [{"key": "k.pem", "not_after": {"start": "2026-01-01T00:00:00Z", "end": "2027-01-01T00:00:00Z"}, "accepting": true}],
                "not_after": {"start": "2026-12-31T00:00:00Z", "end": "2028-01-01T00:00:00Z"}}"#,
            "nonsense",
        ] {
            std::fs::write(&path, bad).unwrap();
            assert!(CtShardLayout::load_or_create(&path).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_layout_written_before_temporal_shards_could_stay_open_still_loads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ctlog-shards.json");
        let before = r#"{
  "frozen": [
    {
      "key": "keys/retired/20261205T101010Z-ctlog.pem"
    },
    {
      "key": "keys/retired/20261205T111111Z-ctlog.pem",
      "not_after": {
        "start": "2026-01-01T00:00:00Z",
        "end": "2027-01-01T00:00:00Z"
      }
    }
  ],
  "not_after": {
    "start": "2027-01-01T00:00:00Z",
    "end": "2028-01-01T00:00:00Z"
  }
}"#;
        std::fs::write(&path, before).unwrap();
        let layout = CtShardLayout::load_or_create(&path).unwrap();
        assert_eq!(layout.generation(), 3);
        assert!(layout.older.iter().all(|s| !s.accepting));
        assert_eq!(generations(&layout.accepting(at(0)).unwrap()), vec![3]);
        // Written back unchanged: nothing marks a shard accepting, so older readers read it.
        layout.save(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
    }

    #[test]
    fn a_shard_kept_accepting_takes_its_window_beside_the_new_one_until_it_ends() {
        let mut layout = CtShardLayout {
            not_after: Some(window(100, 200)),
            ..CtShardLayout::default()
        };
        let rotation = layout
            .rotate(
                "old.pem".into(),
                Some(window(200, 300)),
                RetiredShard::KeepAccepting,
                at(50),
            )
            .unwrap();
        assert_eq!(
            rotation,
            Rotation {
                retired: 1,
                new: 2,
                ended: vec![]
            }
        );
        assert!(layout.older[0].accepting);
        let open = layout.accepting(at(150)).unwrap();
        assert_eq!(generations(&open), vec![1, 2]);
        assert_eq!(open.for_not_after(199), Ok(&1));
        assert_eq!(open.for_not_after(200), Ok(&2));
        // Once its window has ended it takes nothing: served frozen, and frozen in the layout by
        // the next rotation.
        assert_eq!(generations(&layout.accepting(at(200)).unwrap()), vec![2]);
        let rotation = layout
            .rotate(
                "second.pem".into(),
                Some(window(300, 400)),
                RetiredShard::KeepAccepting,
                at(250),
            )
            .unwrap();
        assert_eq!(rotation.ended, vec![1]);
        assert_eq!(
            layout.older.iter().map(|s| s.accepting).collect::<Vec<_>>(),
            vec![false, true]
        );
        assert_eq!(generations(&layout.accepting(at(250)).unwrap()), vec![2, 3]);
    }

    #[test]
    fn a_rotation_that_would_open_overlapping_shards_is_refused_and_changes_nothing() {
        let start = CtShardLayout {
            not_after: Some(window(100, 200)),
            ..CtShardLayout::default()
        };
        let mut layout = start.clone();
        let refusals = [
            // The new window overlaps the one kept accepting.
            (Some(window(199, 300)), RetiredShard::KeepAccepting, at(50)),
            // The new shard would take every notAfter beside it.
            (None, RetiredShard::KeepAccepting, at(50)),
            // The window to keep accepting has ended.
            (Some(window(200, 300)), RetiredShard::KeepAccepting, at(200)),
        ];
        for (new, retired, now) in refusals {
            assert!(
                layout.rotate("k.pem".into(), new, retired, now).is_err(),
                "{new:?}"
            );
            assert_eq!(layout, start);
        }
        let unbounded = CtShardLayout::default()
            .rotate(
                "k.pem".into(),
                Some(window(100, 200)),
                RetiredShard::KeepAccepting,
                at(50),
            )
            .unwrap_err();
        assert_eq!(
            unbounded,
            CtShardRotationError::KeptShardUnbounded { generation: 1 }
        );
        // Freezing the newest shard leaves an older accepting one to check against.
        layout
            .rotate(
                "k.pem".into(),
                Some(window(200, 300)),
                RetiredShard::KeepAccepting,
                at(50),
            )
            .unwrap();
        let after = layout.clone();
        let e = layout
            .rotate(
                "k2.pem".into(),
                Some(window(150, 400)),
                RetiredShard::Freeze,
                at(60),
            )
            .unwrap_err();
        assert!(e.to_string().contains("overlap"), "{e}");
        assert_eq!(layout, after);
        layout
            .rotate(
                "k2.pem".into(),
                Some(window(200, 400)),
                RetiredShard::Freeze,
                at(60),
            )
            .unwrap();
        assert_eq!(generations(&layout.accepting(at(60)).unwrap()), vec![1, 3]);
    }

    proptest::proptest! {
        /// Every generation has its own origin and path.
        #[test]
        fn generations_never_share_an_origin(a in 1u32..100_000, b in 1u32..100_000) {
            proptest::prop_assume!(a != b);
            proptest::prop_assert_ne!(shard_origin("ct.example", a), shard_origin("ct.example", b));
        }

        /// Whatever rotations are asked for, a layout a rotation writes loads again, and its
        /// accepting shards never overlap.
        #[test]
        fn rotations_never_leave_overlapping_shards(steps in proptest::collection::vec((0u64..40, 1u64..20, proptest::bool::ANY, 0u64..40), 1..8)) {
            let mut layout = CtShardLayout { not_after: Some(window(0, 10)), ..CtShardLayout::default() };
            for (start, len, keep, now) in steps {
                let retired = if keep { RetiredShard::KeepAccepting } else { RetiredShard::Freeze };
                let _ = layout.rotate("k.pem".into(), Some(window(start, start + len)), retired, at(now));
                proptest::prop_assert!(layout.check_windows().is_ok());
                let text = serde_json::to_vec(&layout).unwrap();
                let back: CtShardLayout = serde_json::from_slice(&text).unwrap();
                proptest::prop_assert_eq!(&back, &layout);
                proptest::prop_assert!(layout.accepting(at(now)).is_ok());
            }
        }
    }
}
