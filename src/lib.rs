#![forbid(unsafe_code)]
//! inventory-api: products with versions, compare-and-swap writes, and
//! stale writes refused with everything the client needs to refresh.
//!
//! Data flows one way: `http` -> `domain` -> `store` -> `db`. Errors come
//! back as `db::DbError` and `store::StoreError`, and only `http` turns
//! them into problems (`http::error::ApiError`).

pub mod background;
pub mod backup_command;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod http;
pub mod live_feed;
pub mod metrics;
pub mod openapi;
pub mod startup;
pub mod stopping;
pub mod store;
pub mod telemetry;
pub mod token_commands;
pub mod upkeep;
pub mod webhooks;
