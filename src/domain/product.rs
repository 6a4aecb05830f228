use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// A product as clients see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Product {
    /// UUID v7: ids sort by creation time.
    pub id: Uuid,
    #[serde(flatten)]
    pub fields: ProductFields,
    /// Starts at 1 and grows by one on every change, and only on a change.
    /// Also sent as the strong `ETag: "<version>"`.
    #[schema(minimum = 1, example = 3)]
    pub version: i64,
    #[serde(serialize_with = "super::timestamp::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "super::timestamp::serialize")]
    pub updated_at: DateTime<Utc>,
}

/// The fields a client writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ProductFields {
    /// Unique among live products, ignoring case; kept as first written.
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = "^[A-Za-z0-9][A-Za-z0-9._-]*$",
        example = "MUG-BLUE-01"
    )]
    pub sku: String,
    /// 1-200 characters after trimming; no control characters.
    #[schema(min_length = 1, max_length = 200, example = "Blue mug")]
    pub name: String,
    /// 0-2000 characters; line breaks and tabs allowed, no other control characters.
    #[schema(max_length = 2000, example = "")]
    pub description: String,
    /// Price in the currency's smallest unit (cents for EUR, yen for JPY). Never a float.
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64, example = 1250)]
    pub price_minor: i64,
    /// ISO 4217 code in upper case.
    #[schema(
        min_length = 3,
        max_length = 3,
        pattern = "^[A-Z]{3}$",
        example = "EUR"
    )]
    pub currency: String,
    /// On-hand quantity.
    #[schema(minimum = 0, maximum = 1_000_000_000, example = 40)]
    pub stock: i64,
}

/// The names of the writable fields, in the order the API shows them.
pub const FIELD_NAMES: [&str; 6] = [
    "sku",
    "name",
    "description",
    "price_minor",
    "currency",
    "stock",
];

impl Product {
    /// The strong entity tag of this version.
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.version)
    }
}

impl ProductFields {
    /// The field's value as JSON, by its API name.
    pub fn get(&self, field: &str) -> serde_json::Value {
        use serde_json::Value;
        match field {
            "sku" => Value::from(self.sku.as_str()),
            "name" => Value::from(self.name.as_str()),
            "description" => Value::from(self.description.as_str()),
            "price_minor" => Value::from(self.price_minor),
            "currency" => Value::from(self.currency.as_str()),
            "stock" => Value::from(self.stock),
            _ => Value::Null,
        }
    }
}
