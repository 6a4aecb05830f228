//! The database: one connection type for PostgreSQL and SQLite, its pool,
//! its migrations and the helpers that run work on the blocking pool.

mod connection;
mod migrations;
mod pool;
mod reachable;
pub mod schema;
mod transaction;

pub use connection::{connect, Backend, DbConnection};
pub use migrations::run_migrations;
pub use pool::{open_connection, Database, PoolUse};
pub use transaction::write_transaction;
