//! Query parameters whose limits the domain sets, built from its constants
//! (utoipa's `params(...)` takes limits only as literals).

use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::{ObjectBuilder, Required, Type};
use utoipa::IntoParams;

use crate::domain::listing::{DEFAULT_PAGE_SIZE, MAX_FILTER_CHARS, MAX_PAGE_SIZE};
use crate::domain::number_schemas::integer;
use crate::domain::text_schemas::without_control_characters;

/// An optional query parameter.
pub fn optional_query(name: &str, description: &str, schema: ObjectBuilder) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .description(Some(description))
        .required(Required::False)
        .schema(Some(schema))
        .build()
}

/// `limit`: how many items a page of a listing holds.
pub struct PageSize;

impl IntoParams for PageSize {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![optional_query(
            "limit",
            &format!("Page size, 1-{MAX_PAGE_SIZE} (default {DEFAULT_PAGE_SIZE})"),
            integer(1, MAX_PAGE_SIZE),
        )]
    }
}

/// `sku` and `q`: the filters of the product listing.
pub struct ProductFilters;

impl IntoParams for ProductFilters {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let text = || {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(MAX_FILTER_CHARS))
                .pattern(Some(without_control_characters()))
        };
        vec![
            optional_query(
                "sku",
                "Only the product with exactly this SKU, ignoring case",
                text(),
            ),
            optional_query(
                "q",
                "Only products whose name or SKU contains this text, ignoring case",
                text(),
            ),
            optional_query(
                "below_reorder_point",
                "`true`: only products with a level whose `available` is below its reorder point (on a location's levels: the level there)",
                ObjectBuilder::new().schema_type(Type::Boolean),
            ),
        ]
    }
}
