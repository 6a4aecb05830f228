//! A product, and the list of its fields: where a new field starts.
//!
//! A field is one entry in `product_fields!` below, with its rule in
//! `fields.rs`. The entry gives it its place in `ProductFields` and
//! `ProductPatch`, its reading from create and PATCH bodies (and so its
//! 422s), its place in history and in a stale version's changes, and its
//! schemas and example in the OpenAPI document. A new field touches these
//! files in `src/` and no others:
//!
//! - `domain/product.rs`: its entry here;
//! - `domain/fields.rs`: its rule and the constants of its limits;
//! - `db/schema.rs`: its column;
//! - `store/rows.rs`: `ProductRow` and its conversions to and from `Product`;
//! - `store/prepared_swap.rs`: a PATCH's `UPDATE` sets every field;
//!
//! and, outside `src/`, a migration for each database, `openapi.yaml`
//! (regenerated) and the tests.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::openapi::Object;
use utoipa::ToSchema;
use uuid::Uuid;

use super::field_list::product_fields;
use super::fields::{
    self, CURRENCY_CODE_CHARS, DESCRIPTION_MAX_CHARS, NAME_MAX_CHARS, SKU_MAX_CHARS, VERSION_MIN,
};
use super::number_schemas::{self, int64, with_example};
use super::text_schemas::{self, chars, SKU_PATTERN};

product_fields! {
    /// Unique among live products, ignoring case; kept as first written.
    sku: String {
        rule: fields::sku,
        on_create: Required,
        example: "MUG-BLUE-01",
        shown_as: chars(1, SKU_MAX_CHARS).pattern(Some(SKU_PATTERN)),
        accepted_as: text_schemas::sku(),
    },
    /// 1-200 characters after trimming; no control characters.
    name: String {
        rule: fields::name,
        on_create: Required,
        example: "Blue mug",
        shown_as: chars(1, NAME_MAX_CHARS),
        accepted_as: text_schemas::name(),
    },
    /// 0-2000 characters; line breaks and tabs allowed, no other control characters.
    description: String {
        rule: fields::description,
        on_create: Defaults,
        example: "Stoneware, 350 ml",
        // Products in the document have always shown an empty description.
        shown_as: with_example(chars(0, DESCRIPTION_MAX_CHARS), ""),
        accepted_as: text_schemas::description(),
    },
    /// Price in the currency's smallest unit (cents for EUR, yen for JPY). Never a fraction: 12.5 is refused, 1250.0 is 1250.
    price_minor: i64 {
        rule: fields::price_minor,
        on_create: Required,
        example: 1250,
        shown_as: number_schemas::price_minor(),
        accepted_as: number_schemas::price_minor(),
    },
    /// ISO 4217 code in upper case.
    currency: String {
        rule: fields::currency,
        on_create: Required,
        example: "EUR",
        shown_as: chars(CURRENCY_CODE_CHARS, CURRENCY_CODE_CHARS)
            .pattern(Some(format!("^[A-Z]{{{CURRENCY_CODE_CHARS}}}$"))),
        accepted_as: utoipa::openapi::Ref::from_schema_name("CurrencyCode"),
    },
    /// On-hand quantity.
    stock: i64 {
        rule: fields::stock,
        on_create: Defaults,
        example: 40,
        shown_as: number_schemas::stock(),
        accepted_as: number_schemas::stock(),
    },
}

/// The product a request names: by id, or by SKU (ignoring case).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ProductRef {
    Id(Uuid),
    Sku(String),
}

/// A product as clients see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Product {
    /// UUID v7: ids sort by creation time.
    pub id: Uuid,
    #[serde(flatten)]
    pub fields: ProductFields,
    /// How much of the stock active holds set aside, at every location.
    #[schema(minimum = 0, example = 3)]
    pub reserved: i64,
    /// `stock - reserved`: what new holds may take. Negative when counts or
    /// sales left less on hand than is held (oversold).
    #[schema(example = 37)]
    pub available: i64,
    /// Starts at 1 and grows by one on every change, and only on a change.
    /// Also sent as the strong `ETag: "<version>"`.
    #[schema(schema_with = version_schema)]
    pub version: i64,
    #[serde(serialize_with = "super::timestamp::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "super::timestamp::serialize")]
    pub updated_at: DateTime<Utc>,
}

fn version_schema() -> Object {
    with_example(int64().minimum(Some(VERSION_MIN)), 3)
        .description(Some(format!(
            "Starts at {VERSION_MIN} and grows by one on every change, and only on a change.\n\
             Also sent as the strong `ETag: \"<version>\"`."
        )))
        .build()
}

impl Product {
    /// The strong entity tag of this version.
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.version)
    }

    /// Sets the stock; `available` stays its difference from `reserved`.
    pub fn set_stock(&mut self, stock: i64) {
        self.fields.stock = stock;
        self.available = stock - self.reserved;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::field_source::{FieldSource, Presence, Writing};

    /// A body holding the values of `fields`, less those named in `left_out`.
    struct Sent {
        fields: ProductFields,
        left_out: &'static [&'static str],
    }

    impl FieldSource for Sent {
        fn text(
            &mut self,
            name: &str,
            _: Presence,
            rule: fn(&str) -> Result<String, String>,
        ) -> Option<String> {
            let value = self.fields.get(name);
            (!self.left_out.contains(&name)).then(|| rule(value.as_str().unwrap()).unwrap())
        }

        fn integer(
            &mut self,
            name: &str,
            _: Presence,
            rule: fn(i64) -> Result<i64, String>,
        ) -> Option<i64> {
            let value = self.fields.get(name);
            (!self.left_out.contains(&name)).then(|| rule(value.as_i64().unwrap()).unwrap())
        }
    }

    fn read(left_out: &'static [&'static str]) -> ProductPatch {
        let fields = ProductFields::example();
        ProductPatch::read(&mut Sent { fields, left_out }, Writing::Create)
    }

    #[test]
    fn the_example_keeps_every_rule_and_reads_back_unchanged() {
        assert_eq!(read(&[]).into_new(), Some(ProductFields::example()));
    }

    #[test]
    fn a_create_may_leave_out_only_the_fields_with_defaults() {
        let new = read(&["description", "stock"]).into_new().unwrap();
        assert_eq!((new.description.as_str(), new.stock), ("", 0));
        assert_eq!(read(&["sku"]).into_new(), None);
    }

    #[test]
    fn a_patch_changes_and_names_only_the_fields_it_sends() {
        let patch = ProductPatch {
            stock: Some(7),
            ..ProductPatch::default()
        };
        let current = ProductFields::example();
        let patched = patch.apply_to(&current);
        assert_eq!(patched.stock, 7);
        assert_eq!(patched.sku, current.sku);
        assert_eq!(patch.sent_fields().collect::<Vec<_>>(), ["stock"]);
    }

    #[test]
    fn every_field_has_a_name_and_a_schema_in_order() {
        let schemas = ProductFields::schemas().map(|field| field.name);
        assert_eq!(schemas, FIELD_NAMES);
        let json = serde_json::to_value(ProductFields::example()).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, FIELD_NAMES);
    }
}
