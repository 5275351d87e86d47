//! Points in time and spans of time, as Redress reads and writes them.
//!
//! A [`Timestamp`] is milliseconds since the Unix epoch, written as RFC 3339
//! (`2026-11-22T09:30:00Z`). A [`Duration`] is written the way operators say
//! it: `24h`, `3d`, `1h30m`, `90s`, `500ms`, `2w`.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Milliseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn from_millis(millis: i64) -> Self {
        Timestamp(millis)
    }

    pub fn millis(self) -> i64 {
        self.0
    }

    /// Now, from the system clock. Engine code takes time from a clock
    /// passed in; only the outermost layers call this.
    pub fn now() -> Self {
        Timestamp(Utc::now().timestamp_millis())
    }

    pub fn checked_add(self, duration: Duration) -> Option<Self> {
        self.0.checked_add(duration.0).map(Timestamp)
    }

    pub fn to_rfc3339(self) -> String {
        self.with_rfc3339(str::to_string)
    }

    /// Hands the RFC 3339 text to `use_text`; years 0 to 9999 (every real
    /// timestamp) without allocating, others through chrono.
    fn with_rfc3339<R>(self, use_text: impl FnOnce(&str) -> R) -> R {
        let mut text = Rfc3339Text::default();
        match self.write_common_rfc3339(&mut text) {
            Some(written) => use_text(written),
            None => use_text(&self.to_rfc3339_slow()),
        }
    }

    fn to_rfc3339_slow(self) -> String {
        match DateTime::<Utc>::from_timestamp_millis(self.0) {
            Some(dt) => dt.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            None => format!("@{}ms", self.0),
        }
    }

    /// Writes years 0 to 9999 into `text` as `to_rfc3339` would, without
    /// allocating (every decision writes several timestamps); `None` for
    /// other years.
    fn write_common_rfc3339(self, text: &mut Rfc3339Text) -> Option<&str> {
        let time = DateTime::<Utc>::from_timestamp_millis(self.0)?;
        let year = u32::try_from(time.year())
            .ok()
            .filter(|year| *year <= 9999)?;
        let millis = self.0.rem_euclid(1000) as u32;
        let buffer = &mut text.0;
        let mut put = |at: usize, value: u32, digits: usize| {
            let mut value = value;
            for index in (at..at + digits).rev() {
                buffer[index] = b'0' + (value % 10) as u8;
                value /= 10;
            }
        };
        put(0, year, 4);
        put(5, time.month(), 2);
        put(8, time.day(), 2);
        put(11, time.hour(), 2);
        put(14, time.minute(), 2);
        put(17, time.second(), 2);
        put(20, millis, 3);
        buffer[4] = b'-';
        buffer[7] = b'-';
        buffer[10] = b'T';
        buffer[13] = b':';
        buffer[16] = b':';
        buffer[19] = b'.';
        let end = if millis == 0 { 19 } else { 23 };
        buffer[end] = b'Z';
        std::str::from_utf8(&buffer[..=end]).ok()
    }
}

/// Room for `YYYY-MM-DDTHH:MM:SS.mmmZ`.
#[derive(Default)]
struct Rfc3339Text([u8; 24]);

/// Why a timestamp could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid timestamp `{input}`: expected RFC 3339 with a time zone, like `2026-11-22T09:30:00Z`"
)]
pub struct TimestampError {
    pub input: String,
}

impl FromStr for Timestamp {
    type Err = TimestampError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DateTime::parse_from_rfc3339(s.trim())
            .map(|dt| Timestamp(dt.timestamp_millis()))
            .map_err(|_| TimestampError {
                input: s.to_string(),
            })
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.with_rfc3339(|text| f.write_str(text))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.with_rfc3339(|text| serializer.serialize_str(text))
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(TimestampVisitor)
    }
}

/// Reads a timestamp from borrowed text when the format allows, without
/// copying it first.
struct TimestampVisitor;

impl serde::de::Visitor<'_> for TimestampVisitor {
    type Value = Timestamp;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an RFC 3339 timestamp such as \"2026-11-22T09:30:00Z\"")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Timestamp, E> {
        text.parse().map_err(E::custom)
    }
}

impl JsonSchema for Timestamp {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Timestamp".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "format": "date-time",
            "description": "RFC 3339 timestamp with a time zone, e.g. `2026-11-22T09:30:00Z`."
        })
    }
}

/// Where "now" comes from. The daemon uses [`SystemClock`]; tests use a
/// clock they move.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that only moves when told: for tests.
#[derive(Debug, Default)]
pub struct ManualClock(std::sync::atomic::AtomicI64);

impl ManualClock {
    pub fn new(at: Timestamp) -> Self {
        ManualClock(std::sync::atomic::AtomicI64::new(at.0))
    }

    pub fn set(&self, at: Timestamp) {
        self.0.store(at.0, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(by.0, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(std::sync::atomic::Ordering::SeqCst))
    }
}

/// A span of time in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(pub i64);

impl Duration {
    pub const fn from_millis(millis: i64) -> Self {
        Duration(millis)
    }

    pub const fn from_hours(hours: i64) -> Self {
        Duration(hours * 3_600_000)
    }

    pub fn millis(self) -> i64 {
        self.0
    }
}

/// Why a duration could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid duration `{input}`: {reason}; write a number and a unit, like `24h`, `3d`, `1h30m` (units: ms, s, m, h, d, w)"
)]
pub struct DurationError {
    pub input: String,
    pub reason: &'static str,
}

impl FromStr for Duration {
    type Err = DurationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let error = |reason| DurationError {
            input: s.to_string(),
            reason,
        };
        let text = s.trim();
        if text.is_empty() {
            return Err(error("it is empty"));
        }
        let (negative, mut rest) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let mut total: f64 = 0.0;
        while !rest.is_empty() {
            let number_len = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .ok_or_else(|| error("a number is missing its unit"))?;
            if number_len == 0 {
                return Err(error("a unit is missing its number"));
            }
            let number: f64 = rest[..number_len]
                .parse()
                .map_err(|_| error("a number is malformed"))?;
            rest = &rest[number_len..];
            let unit_len = rest
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(rest.len());
            let millis_per_unit = match &rest[..unit_len] {
                "ms" => 1.0,
                "s" => 1_000.0,
                "m" => 60_000.0,
                "h" => 3_600_000.0,
                "d" => 86_400_000.0,
                "w" => 604_800_000.0,
                _ => return Err(error("the unit is not one of ms, s, m, h, d, w")),
            };
            rest = &rest[unit_len..];
            total += number * millis_per_unit;
        }
        if !total.is_finite() || total > i64::MAX as f64 / 2.0 {
            return Err(error("it is too large"));
        }
        let millis = total.round() as i64;
        Ok(Duration(if negative { -millis } else { millis }))
    }
}

impl fmt::Display for Duration {
    /// The shortest exact rendering: `24h`, `3d`, `1h30m`, `250ms`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut millis = self.0;
        if millis == 0 {
            return f.write_str("0s");
        }
        if millis < 0 {
            f.write_str("-")?;
            millis = millis.saturating_abs();
        }
        // Days read better than hours from two days on (`3d`, but `24h`).
        if millis >= 2 * 86_400_000 {
            write!(f, "{}d", millis / 86_400_000)?;
            millis %= 86_400_000;
        }
        for (unit, size) in [("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)] {
            if millis >= size {
                write!(f, "{}{unit}", millis / size)?;
                millis %= size;
            }
        }
        Ok(())
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^-?([0-9]+(\\.[0-9]+)?(ms|s|m|h|d|w))+$",
            "description": "A span of time: a number and a unit (ms, s, m, h, d, w), e.g. `24h`, `3d`, `1h30m`."
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_written_as_chrono_writes_them() {
        let mut millis: Vec<i64> = vec![
            0,
            1,
            999,
            1_000,
            -1,
            -1_000,
            -62_167_219_200_000, // 0000-01-01
            -62_167_219_200_001, // the millisecond before: year -1
            253_402_300_799_999, // 9999-12-31T23:59:59.999
            253_402_300_800_000, // 10000-01-01
            1_795_339_800_000,
            i64::MAX,
            i64::MIN,
        ];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            millis.push((state % 400_000_000_000_000) as i64 - 100_000_000_000_000);
            millis.push((state % 4_000_000_000_000) as i64 / 1000 * 1000);
        }
        for value in millis {
            let timestamp = Timestamp(value);
            let expected = timestamp.to_rfc3339_slow();
            assert_eq!(timestamp.to_rfc3339(), expected, "{value}");
            assert_eq!(timestamp.to_string(), expected, "{value}");
            let json = serde_json::to_string(&timestamp).unwrap();
            assert_eq!(json, format!("\"{expected}\""), "{value}");
            // Years 0 to 9999 read back (the others are written, not read).
            if !expected.starts_with(['@', '-', '+']) {
                let back: Timestamp = serde_json::from_str(&json).unwrap();
                assert_eq!(back, timestamp, "{json}");
            }
        }
    }

    #[test]
    fn a_timestamp_that_is_not_text_is_refused_with_what_was_expected() {
        let error = serde_json::from_str::<Timestamp>("42")
            .unwrap_err()
            .to_string();
        assert!(error.contains("RFC 3339"), "{error}");
        let error = serde_json::from_str::<Timestamp>("\"yesterday\"")
            .unwrap_err()
            .to_string();
        assert!(!error.is_empty());
    }

    #[test]
    fn durations_parse_in_operator_units() {
        let parse = |s: &str| s.parse::<Duration>().unwrap().millis();
        assert_eq!(parse("24h"), 86_400_000);
        assert_eq!(parse("3d"), 3 * 86_400_000);
        assert_eq!(parse("1h30m"), 5_400_000);
        assert_eq!(parse("1.5h"), 5_400_000);
        assert_eq!(parse("250ms"), 250);
        assert_eq!(parse("2w"), 14 * 86_400_000);
    }

    #[test]
    fn bad_durations_say_why() {
        for bad in ["", "24", "h", "3 days", "1x", "1e400h"] {
            let error = bad.parse::<Duration>().unwrap_err();
            assert!(error.to_string().contains("invalid duration"), "{bad}");
        }
    }

    #[test]
    fn durations_render_back() {
        for text in ["24h", "3d", "1h30m", "250ms", "0s", "30d", "2d12h"] {
            assert_eq!(text.parse::<Duration>().unwrap().to_string(), text);
        }
    }

    #[test]
    fn timestamps_round_trip_in_utc() {
        let ts: Timestamp = "2026-11-22T09:30:00+08:00".parse().unwrap();
        assert_eq!(ts.to_rfc3339(), "2026-11-22T01:30:00Z");
        assert!("2026-13-01T00:00:00Z".parse::<Timestamp>().is_err());
        assert!("yesterday".parse::<Timestamp>().is_err());
    }
}
