//! Times as the API shows them (RFC 3339 in UTC, milliseconds) and as the
//! database keeps them (microseconds since the Unix epoch, a type both
//! backends share).

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serializer;

pub fn now() -> DateTime<Utc> {
    Utc::now()
}

pub fn to_micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// Stored values were written by `to_micros`, so they are always in range;
/// the epoch stands in should the database ever hold something else.
pub fn from_micros(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

/// For `#[serde(serialize_with)]`: a time as the API shows it,
/// `2026-11-27T13:00:00.123Z`.
pub fn serialize<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&at.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// `serialize` for a time that may be missing (null).
pub fn serialize_optional<S: Serializer>(
    at: &Option<DateTime<Utc>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => serialize(at, serializer),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn written(at: &DateTime<Utc>) -> String {
        let mut json = Vec::new();
        serialize(at, &mut serde_json::Serializer::new(&mut json)).unwrap();
        String::from_utf8(json).unwrap()
    }

    #[test]
    fn writes_milliseconds_in_utc() {
        let at = DateTime::parse_from_rfc3339("2026-11-27T14:05:03.040506+01:00")
            .unwrap()
            .to_utc();
        assert_eq!(written(&at), "\"2026-11-27T13:05:03.040Z\"");
        assert_eq!(written(&from_micros(0)), "\"1970-01-01T00:00:00.000Z\"");
        let leap_second = NaiveDate::from_ymd_opt(2016, 12, 31)
            .unwrap()
            .and_hms_milli_opt(23, 59, 59, 1_500)
            .unwrap()
            .and_utc();
        assert_eq!(written(&leap_second), "\"2016-12-31T23:59:60.500Z\"");
    }

    #[test]
    fn micros_round_trip() {
        let at = from_micros(1_764_248_400_123_456);
        assert_eq!(to_micros(at), 1_764_248_400_123_456);
    }
}
