use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::{Connection, QueryResult};

use super::error::{DbError, WorkError};
use super::retry::run_again;
use super::DbConnection;

/// diesel's transaction manager for `DbConnection` (both backends').
pub(super) type Transactions = <DbConnection as Connection>::TransactionManager;

/// Runs `work` in a transaction that takes the write lock up front.
///
/// On SQLite a deferred transaction that reads first and writes later fails
/// with `SQLITE_BUSY` (no waiting) when another writer committed in between;
/// `BEGIN IMMEDIATE` makes it wait its turn under `busy_timeout` instead.
/// PostgreSQL needs nothing special. Inside another write transaction the
/// work runs in a savepoint, so units of work compose (an idempotency
/// record commits with the write it describes).
///
/// A transaction the database refuses with a serialization failure or a
/// deadlock is run again from the start (see `retry`). A savepoint is not:
/// such a failure aborts its whole transaction, whose owner runs it again.
pub fn write_transaction<T, E>(
    conn: &mut DbConnection,
    mut work: impl FnMut(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: WorkError,
{
    if in_transaction(conn).map_err(DbError::from)? {
        // Already inside a caller's write transaction (which holds the lock):
        // this work becomes a savepoint of it.
        Transactions::begin_transaction(conn).map_err(DbError::from)?;
        let done = work(conn);
        return finish(conn, done);
    }
    run_again(|| {
        begin_write_transaction(conn).map_err(DbError::from)?;
        let done = work(conn);
        finish(conn, done)
    })
}

/// Commits the transaction (or savepoint) `work` ran in, or rolls it back.
fn finish<T, E>(conn: &mut DbConnection, done: Result<T, E>) -> Result<T, E>
where
    E: From<DbError>,
{
    match done {
        Ok(value) => {
            Transactions::commit_transaction(conn).map_err(DbError::from)?;
            Ok(value)
        }
        Err(error) => {
            // The work's error is the one worth reporting; a failed rollback
            // marks the connection broken and the pool discards it.
            let _ = Transactions::rollback_transaction(conn);
            Err(error)
        }
    }
}

/// Runs `work` as `write_transaction` does, except on PostgreSQL outside
/// any transaction, where it runs as it is: there `work` must be a single
/// statement, which is a transaction of its own, and BEGIN and COMMIT would
/// only add two round trips. Inside another transaction it still gets a
/// savepoint, so that its failure leaves the caller's transaction usable.
pub fn single_statement_write<T, E>(
    conn: &mut DbConnection,
    mut work: impl FnMut(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: WorkError,
{
    if matches!(conn, DbConnection::Pg(_)) && !in_transaction(conn).map_err(DbError::from)? {
        return run_again(|| work(conn));
    }
    write_transaction(conn, work)
}

/// Whether a transaction is open on this connection.
fn in_transaction(conn: &mut DbConnection) -> QueryResult<bool> {
    let depth = Transactions::transaction_manager_status_mut(conn).transaction_depth()?;
    Ok(depth.is_some())
}

/// Opens a transaction that holds the write lock from its first statement
/// (see `write_transaction`); outside any other transaction only.
pub(super) fn begin_write_transaction(conn: &mut DbConnection) -> QueryResult<()> {
    match conn {
        DbConnection::Pg(pg) => AnsiTransactionManager::begin_transaction(pg),
        DbConnection::Sqlite(sqlite) => {
            AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")
        }
    }
}
