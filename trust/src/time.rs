//! Whole-second UTC timestamps written as RFC 3339 (`2021-01-12T11:53:27Z`), the form `validFor`
//! uses in trusted_root and signing_config.

use std::fmt;
use std::time::SystemTime;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;

/// A UTC instant with one-second resolution, serialised as RFC 3339 with a `Z` suffix.
///
/// Sub-second parts are dropped (truncated towards the past) so that the same instant always
/// prints the same bytes. Parsing and formatting are [`tuf::Time`]'s (one RFC 3339
/// implementation for the workspace); this type keeps the trust crate's names and error.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(tuf::Time);

impl Timestamp {
    /// The instant `secs` seconds after 1970-01-01T00:00:00Z.
    pub const fn from_unix_seconds(secs: i64) -> Self {
        Timestamp(tuf::Time::from_unix(secs))
    }

    /// Seconds since 1970-01-01T00:00:00Z.
    pub const fn unix_seconds(self) -> i64 {
        self.0.unix()
    }

    /// Parses RFC 3339 (`YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)`); fractional seconds are truncated.
    pub fn parse_rfc3339(s: &str) -> Result<Self, Error> {
        tuf::Time::parse(s)
            .map(Timestamp)
            .map_err(|_| Error::InvalidTimestamp(s.to_owned()))
    }
}

impl From<SystemTime> for Timestamp {
    fn from(t: SystemTime) -> Self {
        Timestamp(tuf::Time::from(t))
    }
}

impl From<tuf::Time> for Timestamp {
    fn from(t: tuf::Time) -> Self {
        Timestamp(t)
    }
}

impl From<Timestamp> for tuf::Time {
    fn from(t: Timestamp) -> Self {
        t.0
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Timestamp")
            .field(&self.unix_seconds())
            .finish()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse_rfc3339(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        let t = Timestamp::parse_rfc3339("2021-01-12T11:53:27Z").unwrap();
        assert_eq!(t.unix_seconds(), 1_610_452_407);
        assert_eq!(t.to_string(), "2021-01-12T11:53:27Z");
        assert_eq!(
            Timestamp::from_unix_seconds(0).to_string(),
            "1970-01-01T00:00:00Z"
        );
        assert_eq!(
            Timestamp::from_unix_seconds(951_782_400).to_string(),
            "2000-02-29T00:00:00Z"
        );
        let frac = Timestamp::parse_rfc3339("2022-12-31T23:59:59.999Z").unwrap();
        assert_eq!(frac.to_string(), "2022-12-31T23:59:59Z");
        let off = Timestamp::parse_rfc3339("2022-01-01T02:00:00+02:00").unwrap();
        assert_eq!(off.to_string(), "2022-01-01T00:00:00Z");
    }

    #[test]
    fn rejects_garbage_with_our_error() {
        for s in ["", "2021-02-29T11:53:27Z", "+021-01-12T11:53:27Z"] {
            let err = Timestamp::parse_rfc3339(s).unwrap_err();
            assert!(
                matches!(err, Error::InvalidTimestamp(ref v) if v == s),
                "{s}"
            );
        }
    }

    #[test]
    fn system_time_and_serde() {
        use std::time::{Duration, UNIX_EPOCH};
        let t = Timestamp::from(UNIX_EPOCH - Duration::from_millis(500));
        assert_eq!(t.unix_seconds(), -1);
        let json = serde_json::to_string(&Timestamp::from_unix_seconds(1_610_452_407)).unwrap();
        assert_eq!(json, "\"2021-01-12T11:53:27Z\"");
        let back: Timestamp = serde_json::from_str(&json).unwrap();
        assert_eq!(back.unix_seconds(), 1_610_452_407);
        assert!(serde_json::from_str::<Timestamp>("\"2021-01-12\"").is_err());
    }
}
