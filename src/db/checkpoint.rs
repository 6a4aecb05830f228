//! SQLite's write-ahead log is copied back into the database file by a
//! checkpoint. Left to itself, SQLite runs one inside whichever commit
//! takes the log past 1000 pages: every write queued behind that one then
//! waits while it copies megabytes and syncs the file (measured at
//! 100-440 ms). Pooled connections therefore never checkpoint
//! (`wal_autocheckpoint = 0` in their pragmas); the server's upkeep does
//! (`upkeep::checkpoint_sqlite_log`).

use diesel::connection::SimpleConnection;
use diesel::QueryResult;

use super::DbConnection;

/// Copies SQLite's write-ahead log into the database file as far as no
/// reader still needs it, without waiting for, or blocking, readers or
/// writers. Nothing to do on PostgreSQL.
pub fn checkpoint_sqlite_log(conn: &mut DbConnection) -> QueryResult<()> {
    match conn {
        DbConnection::Pg(_) => Ok(()),
        DbConnection::Sqlite(sqlite) => sqlite.batch_execute("PRAGMA wal_checkpoint(PASSIVE)"),
    }
}
