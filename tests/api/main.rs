//! The API tests: one binary, so the crate links once. Each test runs on
//! SQLite and, when `TEST_DATABASE_URL` is set, on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod access;
mod backup;

mod concurrency;
mod counts;
mod crash;
mod create_and_read;
mod delete;
mod documentation;
mod events;
mod failover;
mod failures;
mod hardening;
mod history;
mod holds;
mod idempotency;
mod input_errors;
mod levels;
mod listing;
mod load_through_outage;
mod locations;
mod migrations;
mod observability;
mod openapi;
mod outage;
mod private_postgres;
mod problems;
mod process;
mod serializable;
mod shutdown;
mod sqlite_log;
mod stock_adjustments;
mod stock_sync;
mod token_commands;
mod transfers;
mod update;
mod web_ui;
mod webhooks;
