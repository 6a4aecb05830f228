use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::product::{ProductFields, FIELD_NAMES};

/// One field's change within a version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FieldChange {
    /// The value before; null when the product was created by this version.
    pub from: serde_json::Value,
    pub to: serde_json::Value,
}

/// What one version changed, by field name.
pub type Changes = BTreeMap<String, FieldChange>;

/// The OpenAPI schema of `Changes`: an object of `FieldChange`s.
pub fn schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .additional_properties(Some(utoipa::openapi::Ref::from_schema_name("FieldChange")))
        .build()
}

/// The fields whose values differ between `before` and `after`.
pub fn between(before: &ProductFields, after: &ProductFields) -> Changes {
    FIELD_NAMES
        .iter()
        .filter(|field| before.get(field) != after.get(field))
        .map(|field| {
            let change = FieldChange {
                from: before.get(field),
                to: after.get(field),
            };
            (field.to_string(), change)
        })
        .collect()
}

/// A change of the stock alone.
pub fn stock(from: i64, to: i64) -> Changes {
    let change = FieldChange {
        from: from.into(),
        to: to.into(),
    };
    Changes::from([("stock".to_owned(), change)])
}

/// Every field of a new product, changed from nothing.
pub fn created(fields: &ProductFields) -> Changes {
    FIELD_NAMES
        .iter()
        .map(|field| {
            let change = FieldChange {
                from: serde_json::Value::Null,
                to: fields.get(field),
            };
            (field.to_string(), change)
        })
        .collect()
}
