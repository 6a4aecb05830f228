//! The server's limits on integers as JSON Schema, built from the domain's
//! constants so that a limit the document states is the one the server
//! enforces.

use serde_json::Value;
use utoipa::openapi::schema::{KnownFormat, SchemaFormat};
use utoipa::openapi::{Object, ObjectBuilder, Type};

use crate::domain::fields::{
    PRICE_MINOR_MAX, PRICE_MINOR_MIN, STOCK_MAX, STOCK_MIN, VERSION_MAX, VERSION_MIN,
};

/// A 64-bit integer, as utoipa describes an `i64`.
pub fn int64() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
}

/// A 64-bit integer from `min` to `max`.
pub fn integer(min: i64, max: i64) -> ObjectBuilder {
    int64().minimum(Some(min)).maximum(Some(max))
}

/// A version a client names.
pub fn version() -> ObjectBuilder {
    integer(VERSION_MIN, VERSION_MAX)
}

/// A version the server made: the first is `VERSION_MIN`.
pub fn made_version() -> Object {
    int64().minimum(Some(VERSION_MIN)).build()
}

/// A level's quantity: 0 to the most a product's stock may be.
pub fn on_hand() -> Object {
    with_example(stock(), 12).build()
}

pub fn price_minor() -> ObjectBuilder {
    integer(PRICE_MINOR_MIN, PRICE_MINOR_MAX)
}

pub fn stock() -> ObjectBuilder {
    integer(STOCK_MIN, STOCK_MAX)
}

/// Sets `example`, as derived schemas write it (rather than `examples`),
/// so that hand-built schemas read like the derived ones beside them.
#[allow(deprecated)]
pub fn with_example(schema: ObjectBuilder, example: impl Into<Value>) -> ObjectBuilder {
    schema.example(Some(example.into()))
}
