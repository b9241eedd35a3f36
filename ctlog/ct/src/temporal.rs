//! Temporal shards, as public CT logs run them (a log per half-year of certificate expiry, open
//! side by side): each shard accepts the certificates whose notAfter falls in its window, and a
//! CA submits each certificate to the one shard whose window holds its notAfter.
//!
//! Windows are half-open, `[start, end)`, so adjacent windows sharing a boundary admit every
//! expiry time once. Shards open at the same time must not overlap, or a certificate would
//! have two shards; [`TemporalShards::new`] refuses such a set.

use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A temporal shard's window of certificate expiry times, `[start, end)`, written (in layouts,
/// on command lines) as RFC 3339 times.
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

/// The last second RFC 3339 can write, 9999-12-31T23:59:59Z, in Unix seconds.
const LAST_RFC3339_SECOND: u64 = 253_402_300_799;

/// `secs` (Unix seconds) as RFC 3339, or as seconds where RFC 3339 cannot write it.
fn rfc3339_or_seconds(secs: u64) -> String {
    if secs <= LAST_RFC3339_SECOND {
        humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(secs)).to_string()
    } else {
        format!("{secs} (Unix seconds)")
    }
}

impl ExpiryWindow {
    /// The window `[start, end)`; refused if empty, or outside what RFC 3339 can write
    /// (1970 to 9999), the form windows are recorded in.
    pub fn new(start: SystemTime, end: SystemTime) -> Result<Self, String> {
        if end <= start {
            return Err("an expiry window must end after it starts".into());
        }
        if start < UNIX_EPOCH || end > UNIX_EPOCH + Duration::from_secs(LAST_RFC3339_SECOND) {
            return Err("an expiry window must lie between 1970 and 9999".into());
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

    /// The first expiry time admitted.
    pub fn start(&self) -> SystemTime {
        self.start
    }

    /// The first expiry time after the window.
    pub fn end(&self) -> SystemTime {
        self.end
    }

    /// Whether a certificate whose notAfter is `not_after` (Unix seconds) belongs here.
    pub fn admits(&self, not_after: u64) -> bool {
        let t = UNIX_EPOCH + Duration::from_secs(not_after);
        self.start <= t && t < self.end
    }

    /// Whether some expiry time is in both windows.
    pub fn overlaps(&self, other: &ExpiryWindow) -> bool {
        self.start < other.end && other.start < self.end
    }

    /// Whether the window is over at `now`: every certificate it admits has expired, so a shard
    /// with this window can take nothing more.
    pub fn has_ended(&self, now: SystemTime) -> bool {
        self.end <= now
    }
}

impl std::fmt::Display for ExpiryWindow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let w = WindowText::from(*self);
        write!(f, "[{}, {})", w.start, w.end)
    }
}

/// Why a set of shards cannot be open side by side.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShardWindowError {
    /// No shard at all: nothing could be logged.
    #[error("no CT log shard is open")]
    NoShard,
    /// A shard without a window accepts every certificate, so it overlaps any other shard.
    #[error("a CT log shard without an expiry window accepts every certificate: it cannot be open beside another shard")]
    Unbounded,
    /// Two windows share some expiry time: a certificate there would have two shards.
    #[error("the CT log shards' expiry windows {first} and {second} overlap: a certificate expiring in both would belong to two shards")]
    Overlap {
        /// One window.
        first: ExpiryWindow,
        /// The other.
        second: ExpiryWindow,
    },
}

/// No open shard's window holds a certificate's notAfter: the certificate must not be logged
/// anywhere (a CA issues nothing rather than log to a wrong shard).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no CT log shard accepts certificates expiring at {} (the open shards' windows: {windows})", rfc3339_or_seconds(*not_after))]
pub struct NoShardForExpiry {
    /// The certificate's notAfter, Unix seconds.
    pub not_after: u64,
    /// The open shards' windows, as text.
    windows: String,
}

/// The shards open at once, each a `T` (a URL, a client, a generation) with its window: at most
/// one admits any expiry time, and a lone shard may have no window (it then takes every
/// certificate, the one-shard log of before temporal sharding).
#[derive(Debug, Clone)]
pub struct TemporalShards<T> {
    shards: Vec<(Option<ExpiryWindow>, T)>,
}

impl<T> TemporalShards<T> {
    /// One shard that takes every certificate.
    pub fn single(shard: T) -> Self {
        Self {
            shards: vec![(None, shard)],
        }
    }

    /// `shards`, each with its window; refused if empty, if one without a window has company,
    /// or if two windows overlap.
    pub fn new(shards: Vec<(Option<ExpiryWindow>, T)>) -> Result<Self, ShardWindowError> {
        match shards.as_slice() {
            [] => return Err(ShardWindowError::NoShard),
            [_] => {}
            several => {
                if several.iter().any(|(w, _)| w.is_none()) {
                    return Err(ShardWindowError::Unbounded);
                }
                let windows: Vec<ExpiryWindow> = several.iter().filter_map(|(w, _)| *w).collect();
                for (i, first) in windows.iter().enumerate() {
                    if let Some(second) = windows[i + 1..].iter().find(|w| first.overlaps(w)) {
                        return Err(ShardWindowError::Overlap {
                            first: *first,
                            second: *second,
                        });
                    }
                }
            }
        }
        Ok(Self { shards })
    }

    /// The shard for a certificate expiring at `not_after` (Unix seconds).
    pub fn for_not_after(&self, not_after: u64) -> Result<&T, NoShardForExpiry> {
        self.shards
            .iter()
            .find(|(window, _)| window.is_none_or(|w| w.admits(not_after)))
            .map(|(_, shard)| shard)
            .ok_or_else(|| NoShardForExpiry {
                not_after,
                windows: self.describe_windows(),
            })
    }

    /// The shards and their windows, in the order given.
    pub fn iter(&self) -> impl Iterator<Item = (Option<&ExpiryWindow>, &T)> {
        self.shards.iter().map(|(w, s)| (w.as_ref(), s))
    }

    /// The same windows, each shard mapped by `f`.
    pub fn map<U>(self, mut f: impl FnMut(T) -> U) -> TemporalShards<U> {
        TemporalShards {
            shards: self.shards.into_iter().map(|(w, s)| (w, f(s))).collect(),
        }
    }

    fn describe_windows(&self) -> String {
        self.shards
            .iter()
            .map(|(w, _)| w.map_or_else(|| "any".to_owned(), |w| w.to_string()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn window(start: u64, end: u64) -> ExpiryWindow {
        ExpiryWindow::new(at(start), at(end)).unwrap()
    }

    #[test]
    fn windows_admit_their_start_but_not_their_end() {
        let w = window(100, 200);
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
        assert!(ExpiryWindow::parse("2026-01-01T00:00:00Z/9999-12-31T23:59:59Z").is_ok());
        assert!(ExpiryWindow::new(at(0), at(LAST_RFC3339_SECOND + 1)).is_err());
        assert_eq!(
            rfc3339_or_seconds(LAST_RFC3339_SECOND + 1),
            "253402300800 (Unix seconds)"
        );
        assert!(!w.has_ended(at(199)));
        assert!(w.has_ended(at(200)));
    }

    #[test]
    fn the_shard_whose_window_holds_the_expiry_is_chosen_boundaries_included() {
        let shards = TemporalShards::new(vec![
            (Some(window(100, 200)), "2026h1"),
            (Some(window(200, 300)), "2026h2"),
            (Some(window(400, 500)), "2027h2"),
        ])
        .unwrap();
        assert_eq!(shards.for_not_after(100), Ok(&"2026h1"));
        assert_eq!(shards.for_not_after(199), Ok(&"2026h1"));
        assert_eq!(shards.for_not_after(200), Ok(&"2026h2"));
        assert_eq!(shards.for_not_after(299), Ok(&"2026h2"));
        assert_eq!(shards.for_not_after(499), Ok(&"2027h2"));
        // Before the first, in the gap, at the last end: no shard, and the error says which
        // windows are open.
        for orphan in [99, 300, 399, 500] {
            let e = shards.for_not_after(orphan).unwrap_err();
            assert_eq!(e.not_after, orphan);
            assert!(
                e.to_string()
                    .contains("[1970-01-01T00:03:20Z, 1970-01-01T00:05:00Z)"),
                "{e}"
            );
        }
        assert_eq!(
            TemporalShards::single("any").for_not_after(u64::MAX / 2),
            Ok(&"any")
        );
    }

    #[test]
    fn overlapping_or_unbounded_shards_are_refused() {
        let overlap = TemporalShards::new(vec![
            (Some(window(100, 200)), 1),
            (Some(window(300, 400)), 2),
            (Some(window(199, 250)), 3),
        ])
        .unwrap_err();
        assert_eq!(
            overlap,
            ShardWindowError::Overlap {
                first: window(100, 200),
                second: window(199, 250)
            }
        );
        assert!(overlap.to_string().contains("overlap"), "{overlap}");
        assert_eq!(
            TemporalShards::new(vec![(Some(window(100, 200)), 1), (None, 2)]).unwrap_err(),
            ShardWindowError::Unbounded
        );
        assert_eq!(
            TemporalShards::<u8>::new(vec![]).unwrap_err(),
            ShardWindowError::NoShard
        );
        // A lone shard may have no window; adjacent windows do not overlap.
        assert!(TemporalShards::new(vec![(None, 1)]).is_ok());
        assert!(TemporalShards::new(vec![
            (Some(window(200, 300)), 1),
            (Some(window(100, 200)), 2)
        ])
        .is_ok());
    }

    proptest::proptest! {
        /// Consecutive windows that share a boundary admit every expiry time exactly once:
        /// temporal shards never both accept, nor both refuse, a certificate between them.
        #[test]
        fn adjacent_windows_partition_time(a in 0u64..1 << 36, len1 in 1u64..1 << 30, len2 in 1u64..1 << 30, t in 0u64..1 << 37) {
            let first = window(a, a + len1);
            let second = window(a + len1, a + len1 + len2);
            let inside = (a..a + len1 + len2).contains(&t);
            proptest::prop_assert_eq!(u8::from(first.admits(t)) + u8::from(second.admits(t)), u8::from(inside));
            let shards = TemporalShards::new(vec![(Some(second), 2), (Some(first), 1)]).unwrap();
            proptest::prop_assert_eq!(shards.for_not_after(t).is_ok(), inside);
        }

        /// Two windows overlap exactly when some expiry time is admitted by both, and a set of
        /// shards is accepted exactly when they do not.
        #[test]
        fn overlap_means_a_shared_expiry_time(a in 0u64..64, la in 1u64..32, b in 0u64..64, lb in 1u64..32) {
            let (x, y) = (window(a, a + la), window(b, b + lb));
            let shared = (0..128).any(|t| x.admits(t) && y.admits(t));
            proptest::prop_assert_eq!(x.overlaps(&y), shared);
            proptest::prop_assert_eq!(y.overlaps(&x), shared);
            proptest::prop_assert_eq!(TemporalShards::new(vec![(Some(x), 1), (Some(y), 2)]).is_err(), shared);
        }
    }
}
