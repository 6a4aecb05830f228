//! Validated values and the rules of the product model: no HTTP, no SQL.

pub mod access;
pub mod changes;
pub mod conflict;
pub mod currency;
pub mod events;
mod field_list;
pub mod field_source;
pub mod fields;
pub mod history;
pub mod idempotency;
pub mod listing;
pub mod patch;
pub mod precondition;
pub mod product;
pub mod stock;
pub mod timestamp;
