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

pub fn serialize<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&at.to_rfc3339_opts(SecondsFormat::Millis, true))
}
