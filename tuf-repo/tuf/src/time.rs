//! UTC instants as TUF writes them: `YYYY-MM-DDTHH:MM:SSZ`.

use crate::TufError;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

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
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0.div_euclid(86_400);
        let secs = self.0.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
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

fn digits(s: &[u8]) -> Option<i64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    s.iter().try_fold(0i64, |acc, &b| {
        acc.checked_mul(10)?.checked_add(i64::from(b - b'0'))
    })
}

fn parse_rfc3339(s: &str) -> Option<Time> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let year = digits(&b[0..4])?;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let hour = digits(&b[11..13])?;
    let minute = digits(&b[14..16])?;
    let second = digits(&b[17..19])?;
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &b[19..];
    if rest.first() == Some(&b'.') {
        let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        rest = &rest[1 + n..];
    }
    let offset = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let h = digits(&[*h1, *h2])?;
            let m = digits(&[*m1, *m2])?;
            if h > 23 || m > 59 {
                return None;
            }
            let off = h * 3600 + m * 60;
            if *sign == b'-' {
                -off
            } else {
                off
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    Some(Time(
        days * 86_400 + hour * 3600 + minute * 60 + second - offset,
    ))
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's days_from_civil / civil_from_days (public-domain algorithms).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
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
