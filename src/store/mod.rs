//! The only place with SQL: products, their compare-and-swap writes, and
//! their history. Each public function is one unit of work on one
//! connection.

pub mod backup;
pub mod crossings;
mod current_since;
mod error;
pub mod events;
pub mod history;
pub mod hold_rows;
pub mod holds;
pub mod idempotency;
pub mod levels;
mod live_product;
pub mod locations;
mod pg_arrays;
mod pg_swap;
mod prepared_swap;
pub mod products;
pub mod reorder;
mod reserved;
pub(crate) mod rows;
mod sql;
pub mod stock;
mod stock_plan;
pub mod stock_sync;
pub mod tokens;
pub mod webhook_delivery;
pub mod webhooks;
pub mod worker_products;
pub use error::StoreError;
