//! Reads a JSON object field by field, collecting every broken rule rather
//! than stopping at the first, so one 422 tells the client all it must fix.

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::domain::field_source::FieldSource;
pub use crate::domain::field_source::Presence;
use crate::domain::product::ProductRef;
use crate::http::error::{ApiError, FieldError};

/// Fields only the server writes; a client that sends one is told so.
const SERVER_FIELDS: [&str; 4] = ["id", "version", "created_at", "updated_at"];

/// Where i64 ends, as a float: whole numbers beyond it are out of range
/// rather than fractional.
const I64_LIMIT: f64 = 9_223_372_036_854_775_808.0;

/// Unknown keys longer than this are named by their start, so that an
/// error never echoes a large body back.
const KEY_SHOWN_CHARS: usize = 40;

pub fn shortened(key: &str) -> String {
    match key.char_indices().nth(KEY_SHOWN_CHARS) {
        Some((cut, _)) => format!("{}…", &key[..cut]),
        None => key.to_owned(),
    }
}

pub struct FieldReader {
    /// The JSON pointer of the object being read ("" for the body).
    at: String,
    object: Map<String, Value>,
    errors: Vec<FieldError>,
}

impl FieldReader {
    pub fn new(object: Map<String, Value>) -> FieldReader {
        FieldReader::at(String::new(), object)
    }

    /// A reader of an object nested at the JSON pointer `at`.
    pub fn at(at: String, object: Map<String, Value>) -> FieldReader {
        FieldReader {
            at,
            object,
            errors: Vec::new(),
        }
    }

    /// An array field, unchecked inside.
    pub fn array(&mut self, key: &str, presence: Presence) -> Option<Vec<Value>> {
        let value = self.take(key, presence)?;
        let checked = match value {
            Value::Array(items) => Ok(items),
            other => Err(format!("must be an array, not {}", kind(&other))),
        };
        self.keep(key, checked)
    }

    pub fn boolean(&mut self, key: &str, presence: Presence) -> Option<bool> {
        let value = self.take(key, presence)?;
        let checked = match value {
            Value::Bool(flag) => Ok(flag),
            other => Err(format!("must be true or false, not {}", kind(&other))),
        };
        self.keep(key, checked)
    }

    /// Records a broken rule at `pointer`, relative to this reader's object.
    pub fn error(&mut self, pointer: &str, detail: impl Into<String>) {
        self.errors
            .push(FieldError::new(format!("{}{pointer}", self.at), detail));
    }

    /// The errors found so far, with those for fields no reader asked for;
    /// for a nested object whose errors join its parent's.
    pub fn into_errors(mut self) -> Vec<FieldError> {
        let unknown: Vec<String> = self.object.keys().cloned().collect();
        for key in unknown {
            let detail = if SERVER_FIELDS.contains(&key.as_str()) {
                "is set by the server and cannot be sent here"
            } else {
                "is not a field of this request"
            };
            let pointer = self.pointer(&shortened(&key));
            self.errors.push(FieldError::new(pointer, detail));
        }
        self.errors
    }

    /// Takes in the errors of a nested reader.
    pub fn absorb(&mut self, errors: Vec<FieldError>) {
        self.errors.extend(errors);
    }

    /// Whether the body has this member (not yet read), valid or not.
    pub fn sent(&self, key: &str) -> bool {
        self.object.contains_key(key)
    }

    /// A string field, checked by `rule`.
    pub fn string<T>(
        &mut self,
        key: &str,
        presence: Presence,
        rule: impl Fn(&str) -> Result<T, String>,
    ) -> Option<T> {
        let value = self.take(key, presence)?;
        let checked = match &value {
            Value::String(text) => rule(text),
            other => Err(format!("must be a string, not {}", kind(other))),
        };
        self.keep(key, checked)
    }

    /// An integer field, checked by `rule`. A whole number written as a
    /// float (`1250.0`, `1.25e3`) is that integer, as JSON Schema says and
    /// as clients that compute a price in floating point send it; a
    /// fraction is refused: money and counts are never fractions.
    pub fn integer(
        &mut self,
        key: &str,
        presence: Presence,
        rule: fn(i64) -> Result<i64, String>,
    ) -> Option<i64> {
        let value = self.take(key, presence)?;
        let checked = match &value {
            Value::Number(number) => match (number.as_i64(), number.as_f64()) {
                (Some(integer), _) => rule(integer),
                // Integers beyond i64 arrive as u64 or, beyond that, as whole floats.
                (None, _) if number.is_u64() => Err("is far too large".to_owned()),
                (None, Some(float)) if float.fract() == 0.0 && float.abs() >= I64_LIMIT => {
                    Err(if float > 0.0 {
                        "is far too large"
                    } else {
                        "is far too small"
                    }
                    .to_owned())
                }
                // Whole and within i64, so the cast is exact.
                (None, Some(float)) if float.fract() == 0.0 => rule(float as i64),
                _ => Err("must be a whole number, not a fraction".to_owned()),
            },
            other => Err(format!("must be an integer, not {}", kind(other))),
        };
        self.keep(key, checked)
    }

    /// The product a body names by `sku` or by `product_id` (read by the
    /// caller), one of the two.
    pub fn one_product(&mut self, sku: Option<String>, id: Option<Uuid>) -> Option<ProductRef> {
        match (sku, id) {
            (Some(sku), None) => Some(ProductRef::Sku(sku)),
            (None, Some(id)) => Some(ProductRef::Id(id)),
            (Some(_), Some(_)) => {
                self.error("", "send sku or product_id, not both");
                None
            }
            (None, None) => {
                self.error("", "needs sku or product_id");
                None
            }
        }
    }

    /// Fails with every error found, including one for each field that no
    /// reader asked for.
    pub fn finish(self) -> Result<(), ApiError> {
        let errors = self.into_errors();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(errors))
        }
    }

    fn take(&mut self, key: &str, presence: Presence) -> Option<Value> {
        match self.object.remove(key) {
            Some(Value::Null) => {
                self.errors
                    .push(FieldError::new(self.pointer(key), "must not be null"));
                None
            }
            Some(value) => Some(value),
            None => {
                if presence == Presence::Required {
                    self.errors
                        .push(FieldError::new(self.pointer(key), "is required"));
                }
                None
            }
        }
    }

    fn keep<T>(&mut self, key: &str, checked: Result<T, String>) -> Option<T> {
        checked
            .map_err(|detail| self.errors.push(FieldError::new(self.pointer(key), detail)))
            .ok()
    }
}

/// Product fields are read as any other field of a body.
impl FieldSource for FieldReader {
    fn text(
        &mut self,
        name: &str,
        presence: Presence,
        rule: fn(&str) -> Result<String, String>,
    ) -> Option<String> {
        self.string(name, presence, rule)
    }

    fn integer(
        &mut self,
        name: &str,
        presence: Presence,
        rule: fn(i64) -> Result<i64, String>,
    ) -> Option<i64> {
        FieldReader::integer(self, name, presence, rule)
    }
}

impl FieldReader {
    /// The JSON pointer (RFC 6901) of a member of this reader's object.
    fn pointer(&self, key: &str) -> String {
        format!("{}/{}", self.at, key.replace('~', "~0").replace('/', "~1"))
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
