//! The database: one connection type for PostgreSQL and SQLite, its pool,
//! its migrations and the helpers that run work on the blocking pool.

mod checkpoint;
mod connection;
mod error;
mod group_commit;
mod migrations;
mod native_load;
mod pool;
mod pool_closing;
mod reachable;
mod retry;
pub mod schema;
mod sqlite_writer;
mod transaction;
mod worker_connections;

pub use checkpoint::checkpoint_sqlite_log;
pub use connection::{connect, keep_openssl_until_exit, open_connection, Backend, DbConnection};
pub use error::{DbError, Unavailable, WorkError};
pub use migrations::run_migrations;
pub use native_load::load_natively;
pub use pool::{Database, PoolUse};
pub use retry::{retries, run_again, run_again_awaiting, RetryReason};
pub use transaction::{single_statement_write, write_transaction};
pub use worker_connections::WorkerConnections;
