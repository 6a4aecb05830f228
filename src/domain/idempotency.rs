//! Safe retries: a request sent with an `Idempotency-Key` is applied once,
//! and its response is recorded so that a retry gets the same answer.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// How long a key and its response are kept.
pub const RETENTION_HOURS: i64 = 24;

/// A response as recorded for replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// JSON: the response body, or for a problem its document without
    /// `instance` and `request_id` (the replaying request supplies those).
    pub body: String,
    pub is_problem: bool,
}

/// The longest key, in characters (all ASCII, so also in bytes).
pub const KEY_MAX_CHARS: usize = 255;

/// 1-`KEY_MAX_CHARS` visible ASCII characters.
pub fn key(value: &str) -> Result<String, String> {
    if (1..=KEY_MAX_CHARS).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(value.to_owned())
    } else {
        Err(format!(
            "must be 1-{KEY_MAX_CHARS} visible ASCII characters (no spaces)"
        ))
    }
}

/// What makes two requests the same: method, path with query, and body
/// (compared as JSON, so key order and whitespace do not matter).
pub fn fingerprint(method: &str, path_and_query: &str, body: &Map<String, Value>) -> String {
    let mut hasher = Sha256::new();
    hasher.update(method.as_bytes());
    hasher.update(b" ");
    hasher.update(path_and_query.as_bytes());
    hasher.update(b"\n");
    hasher.update(canonical_object(body).as_bytes());
    hex::encode(hasher.finalize())
}

/// JSON text with every object's keys sorted.
fn canonical(value: &Value) -> String {
    match value {
        Value::Object(object) => canonical_object(object),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

fn canonical_object(object: &Map<String, Value>) -> String {
    let mut entries: Vec<(&String, &Value)> = object.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    let members: Vec<String> = entries
        .into_iter()
        .map(|(key, value)| format!("{}:{}", Value::from(key.as_str()), canonical(value)))
        .collect();
    format!("{{{}}}", members.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_ignores_key_order_but_not_values() {
        let a: Value = serde_json::from_str(r#"{"a": 1, "b": {"y": [1, 2], "x": "s"}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"b": {"x": "s", "y": [1, 2]}, "a": 1}"#).unwrap();
        let c: Value = serde_json::from_str(r#"{"a": 2, "b": {"x": "s", "y": [1, 2]}}"#).unwrap();
        let print = |v: &Value| fingerprint("POST", "/v1/x", v.as_object().unwrap());
        assert_eq!(print(&a), print(&b));
        assert_ne!(print(&a), print(&c));
        assert_ne!(
            print(&a),
            fingerprint("POST", "/v1/y", a.as_object().unwrap())
        );
    }

    #[test]
    fn keys_are_visible_ascii() {
        assert!(key("sync-2026-11-25T10:00:00Z#1").is_ok());
        assert!(key("").is_err() && key("has space").is_err() && key(&"k".repeat(256)).is_err());
    }
}
