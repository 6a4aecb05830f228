//! Validated values and the rules of the product model: no HTTP, no SQL.

pub mod access;
pub mod changes;
pub mod conflict;
pub mod currency;
pub mod events;
pub mod field_list;
pub mod field_source;
pub mod fields;
pub mod history;
pub mod hold;
pub mod idempotency;
pub mod ledger;
pub mod level;
pub mod listing;
pub mod location;
pub mod number_schemas;
pub mod patch;
pub mod precondition;
pub mod product;
pub mod stock;
pub mod text_schemas;
pub mod timestamp;
pub mod webhook;
