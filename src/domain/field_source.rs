//! How a write's field values are read: each is checked by its field's rule
//! as it is read, from a source the domain does not know (a JSON body).

use serde_json::Value;

/// Whether a field must be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    Required,
    Optional,
}

/// Whether a create must send a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnCreate {
    Required,
    /// Left out, the field takes its type's default: "" or 0.
    Defaults,
}

/// The write that reads the fields: a create, or a PATCH (which may leave
/// any field out).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Writing {
    Create,
    Update,
}

impl Writing {
    pub fn presence(self, on_create: OnCreate) -> Presence {
        match (self, on_create) {
            (Writing::Create, OnCreate::Required) => Presence::Required,
            _ => Presence::Optional,
        }
    }
}

/// Where field values come from. Each method returns the value the rule
/// made of what was sent, or None when it was absent or broke the rule
/// (the source keeps the reason).
pub trait FieldSource {
    fn text(
        &mut self,
        name: &str,
        presence: Presence,
        rule: fn(&str) -> Result<String, String>,
    ) -> Option<String>;

    fn integer(
        &mut self,
        name: &str,
        presence: Presence,
        rule: fn(i64) -> Result<i64, String>,
    ) -> Option<i64>;
}

/// A type a product field may have: how it is read, and how it looks in
/// JSON (in history, in a 409's changes, in examples).
pub trait FieldValue: Sized + Clone + Default {
    /// The check a value of this type passes: `fields::sku`, `fields::stock`...
    type Rule;

    fn read(
        source: &mut impl FieldSource,
        name: &str,
        presence: Presence,
        rule: Self::Rule,
    ) -> Option<Self>;

    fn to_json(&self) -> Value;
}

impl FieldValue for String {
    type Rule = fn(&str) -> Result<String, String>;

    fn read(
        source: &mut impl FieldSource,
        name: &str,
        presence: Presence,
        rule: Self::Rule,
    ) -> Option<String> {
        source.text(name, presence, rule)
    }

    fn to_json(&self) -> Value {
        Value::from(self.as_str())
    }
}

impl FieldValue for i64 {
    type Rule = fn(i64) -> Result<i64, String>;

    fn read(
        source: &mut impl FieldSource,
        name: &str,
        presence: Presence,
        rule: Self::Rule,
    ) -> Option<i64> {
        source.integer(name, presence, rule)
    }

    fn to_json(&self) -> Value {
        Value::from(*self)
    }
}
