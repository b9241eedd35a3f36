//! UTC instants as TUF writes them: `YYYY-MM-DDTHH:MM:SSZ`.

use crate::TufError;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, PrimitiveDateTime};

/// A UTC instant with one-second resolution (seconds since the Unix epoch).
///
/// Parsing accepts any RFC 3339 date-time (fractions are truncated, offsets applied) because old
/// published roots use them; formatting always writes the `YYYY-MM-DDTHH:MM:SSZ` form that
/// python-tuf requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time(i64);

impl Time {
    /// The instant `secs` seconds after 1970-01-01T00:00:00Z.
    pub const fn from_unix(secs: i64) -> Self {
        Time(secs)
    }

    /// Seconds since the Unix epoch.
    pub const fn unix(self) -> i64 {
        self.0
    }

    /// This instant moved by `secs` seconds (negative moves back), saturating.
    pub const fn add_secs(self, secs: i64) -> Self {
        Time(self.0.saturating_add(secs))
    }

    /// Parses an RFC 3339 date-time such as `2026-08-28T19:25:56Z` or
    /// `2021-12-18T13:28:12.99008-06:00`.
    pub fn parse(s: &str) -> Result<Self, TufError> {
        parse_rfc3339(s).ok_or_else(|| TufError::BadTime(s.to_owned()))
    }
}

impl From<SystemTime> for Time {
    /// Sub-second parts are truncated towards the past (-0.5 s is -1).
    fn from(t: SystemTime) -> Self {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => Time(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
            Err(e) => {
                let d = e.duration();
                let mut secs = -i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
                if d.subsec_nanos() > 0 {
                    secs -= 1;
                }
                Time(secs)
            }
        }
    }
}

impl fmt::Display for Time {
    /// `YYYY-MM-DDTHH:MM:SSZ`. Instants beyond what a four-digit year holds (only reachable by
    /// saturating arithmetic) are written as the nearest one that fits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let earliest = PrimitiveDateTime::MIN.assume_utc().unix_timestamp();
        let latest = PrimitiveDateTime::MAX.assume_utc().unix_timestamp();
        let t = OffsetDateTime::from_unix_timestamp(self.0.clamp(earliest, latest))
            .map_err(|_| fmt::Error)?;
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    }
}

impl Serialize for Time {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Time::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// An RFC 3339 date-time, read by the `time` crate; fractions of a second are dropped (towards
/// the past) and offsets applied. The date and time must be joined by `T` (RFC 3339's grammar;
/// the crate also takes the space its prose allows, which no TUF implementation writes).
fn parse_rfc3339(s: &str) -> Option<Time> {
    if !matches!(s.as_bytes().get(10), Some(b'T' | b't')) {
        return None;
    }
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .map(|t| Time(t.unix_timestamp()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats() {
        let t = Time::parse("2026-08-28T19:25:56Z").unwrap();
        assert_eq!(t.unix(), 1_787_945_156);
        assert_eq!(t.to_string(), "2026-08-28T19:25:56Z");
        assert_eq!(Time::from_unix(0).to_string(), "1970-01-01T00:00:00Z");
        assert_eq!(
            Time::parse("2000-02-29T23:59:59Z").unwrap().to_string(),
            "2000-02-29T23:59:59Z"
        );
    }

    #[test]
    fn applies_offsets_and_truncates_fractions() {
        let t = Time::parse("2021-12-18T13:28:12.99008-06:00").unwrap();
        assert_eq!(t.to_string(), "2021-12-18T19:28:12Z");
        let t = Time::parse("2022-05-11T19:09:02.663975009Z").unwrap();
        assert_eq!(t.to_string(), "2022-05-11T19:09:02Z");
    }

    #[test]
    fn rejects_nonsense() {
        for s in [
            "",
            "2021-02-29T00:00:00Z",
            "2021-13-01T00:00:00Z",
            "2021-01-01 00:00:00Z",
            "2021-01-01T00:00:00",
            "2021-01-01T00:00:00.Z",
            "2021-01-01T24:00:00Z",
            "2021-01-12",
            "2021-01-12T11:53:27+0200",
            "+021-01-12T11:53:27Z",
        ] {
            assert!(Time::parse(s).is_err(), "{s}");
        }
    }

    #[test]
    fn system_time_truncates_towards_past() {
        use std::time::Duration;
        let t = UNIX_EPOCH + Duration::from_millis(1_500);
        assert_eq!(Time::from(t).unix(), 1);
        let t = UNIX_EPOCH - Duration::from_millis(500);
        assert_eq!(Time::from(t).unix(), -1);
    }

    #[test]
    fn round_trips_over_centuries() {
        for secs in (-5_000_000_000i64..10_000_000_000).step_by(86_399 * 97 + 13) {
            let t = Time::from_unix(secs);
            assert_eq!(Time::parse(&t.to_string()).unwrap(), t);
        }
    }
}
