//! JSON read as `serde_json::Value`, except that an object naming a member
//! twice is refused, and so is an array longer than any body may hold.
//! serde_json keeps the last of two members silently, so
//! `{"version": 999, "version": 3}` would pass a check that a reader of
//! the first member would expect to fail. And a 1 MiB body of 349,518
//! empty objects would take tens of MiB as values before any rule could
//! refuse it: reading stops at the first element too many.

use std::cell::RefCell;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use super::body_fields::shortened;

/// The most elements any array of a body may hold (a stock sync's items).
pub const MAX_ARRAY_ITEMS: usize = 1000;

/// Why a body could not be read.
pub enum StrictJsonError {
    /// Not JSON at all: serde_json says where.
    Syntax(serde_json::Error),
    /// The member at this JSON pointer appears more than once.
    Duplicate(String),
    /// The array at this JSON pointer holds more than `MAX_ARRAY_ITEMS`.
    TooLong(String),
}

pub fn from_slice(bytes: &[u8]) -> Result<Value, StrictJsonError> {
    let refused = RefCell::new(None);
    let seed = Strict {
        at: "",
        refused: &refused,
    };
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let read = seed
        .deserialize(&mut deserializer)
        .and_then(|value| deserializer.end().map(|()| value));
    match (read, refused.into_inner()) {
        (_, Some(refusal)) => Err(refusal),
        (Ok(value), None) => Ok(value),
        (Err(error), None) => Err(StrictJsonError::Syntax(error)),
    }
}

/// A value at the JSON pointer `at`; the first duplicate member or
/// overlong array found is written to `refused`.
#[derive(Clone, Copy)]
struct Strict<'a, 'p> {
    at: &'p str,
    refused: &'a RefCell<Option<StrictJsonError>>,
}

impl<'de> DeserializeSeed<'de> for Strict<'_, '_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_, '_> {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Value, A::Error> {
        let mut values = Vec::new();
        while let Some(value) = items.next_element_seed(Strict {
            at: &format!("{}/{}", self.at, values.len()),
            ..self
        })? {
            if values.len() == MAX_ARRAY_ITEMS {
                *self.refused.borrow_mut() = Some(StrictJsonError::TooLong(self.at.to_owned()));
                return Err(A::Error::custom("an array is too long"));
            }
            values.push(value);
        }
        Ok(Value::Array(values))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut members: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = members.next_key::<String>()? {
            let escaped = key.replace('~', "~0").replace('/', "~1");
            let at = format!("{}/{}", self.at, shortened(&escaped));
            if object.contains_key(&key) {
                *self.refused.borrow_mut() = Some(StrictJsonError::Duplicate(at));
                return Err(A::Error::custom("a member appears twice"));
            }
            let value = members.next_value_seed(Strict { at: &at, ..self })?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}
