//! How work on the database fails, classified once: here, by diesel's
//! error kind, never anywhere else.

use diesel::r2d2::PoolError;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::retry::RetryReason;

/// Why the database could not do a piece of work.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// Not now: a retry shortly may succeed.
    #[error("{0}")]
    Unavailable(Unavailable),
    /// PostgreSQL could not serialize the transaction with a concurrent
    /// one (SQLSTATE 40001): run it again from the start.
    #[error("the transaction could not be serialized")]
    SerializationFailure,
    /// PostgreSQL broke a deadlock by refusing this transaction (SQLSTATE
    /// 40P01): run it again from the start.
    #[error("the transaction was chosen to break a deadlock")]
    Deadlock,
    /// A unique index refused a row; `constraint` names the index where
    /// the database says which (PostgreSQL does, SQLite does not).
    #[error("a unique index refused the row")]
    UniqueViolation { constraint: Option<String> },
    /// Anything else: a bug, or a database in a state we do not expect.
    #[error("{0}")]
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

/// Why the database is not available for a piece of work right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unavailable {
    #[error("The database is unreachable or all connections are busy. Retry shortly.")]
    Unreachable,
    #[error("The database connection was lost. Retry shortly.")]
    ConnectionLost,
    #[error("The database is busy. Retry shortly.")]
    Busy,
    #[error("The server is stopping. Retry shortly.")]
    Stopping,
    #[error("The SQLite database could not be opened for writing. Retry shortly.")]
    WriterNotOpen,
    #[error(
        "The SQLite database could not take this write, so nothing was applied. Retry shortly."
    )]
    WriteNotApplied,
}

impl DbError {
    pub fn internal(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> DbError {
        DbError::Internal(cause.into())
    }
}

/// An error that work on a pooled connection may end with. The pool asks
/// it whether the connection itself may be at fault, and if so pings the
/// connection before lending it again.
pub trait WorkError: From<DbError> {
    fn may_be_the_connection(&self) -> bool;

    /// Why the work may succeed if run again from the start (see `retry`).
    fn retry_reason(&self) -> Option<RetryReason>;
}

impl WorkError for DbError {
    fn may_be_the_connection(&self) -> bool {
        matches!(self, DbError::Unavailable(_) | DbError::Internal(_))
    }

    fn retry_reason(&self) -> Option<RetryReason> {
        match self {
            DbError::SerializationFailure => Some(RetryReason::SerializationFailure),
            DbError::Deadlock => Some(RetryReason::Deadlock),
            _ => None,
        }
    }
}

/// PostgreSQL's deadlock_detected (40P01), which diesel gives no error
/// kind: its fixed primary message, as for `BUSY_MESSAGES` below.
const DEADLOCK_MESSAGE: &str = "deadlock detected";

/// What the databases say when they gave up waiting for a lock or a
/// statement, or ran out of room for locks for a while: PostgreSQL's
/// lock_not_available (55P03: lock_timeout, or a NOWAIT lock),
/// statement_timeout (57014) and out_of_memory for its lock tables (53200:
/// at serializable, the read locks of many concurrent transactions can fill
/// them until those end), SQLite's SQLITE_BUSY and SQLITE_LOCKED. diesel
/// gives these no error kind and exposes no SQLSTATE, so their fixed
/// primary messages are the only mark they carry; this is the one place
/// that reads them.
const BUSY_MESSAGES: [&str; 6] = [
    "canceling statement due to lock timeout",
    "could not obtain lock on row",
    "canceling statement due to statement timeout",
    "out of shared memory",
    "database is locked",
    "database table is locked",
];

impl From<DieselError> for DbError {
    fn from(error: DieselError) -> DbError {
        match error {
            DieselError::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                _,
            ) => DbError::Unavailable(Unavailable::ConnectionLost),
            DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => {
                DbError::SerializationFailure
            }
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                DbError::UniqueViolation {
                    constraint: info.constraint_name().map(str::to_owned),
                }
            }
            DieselError::DatabaseError(_, ref info)
                if BUSY_MESSAGES
                    .iter()
                    .any(|busy| info.message().starts_with(busy)) =>
            {
                DbError::Unavailable(Unavailable::Busy)
            }
            DieselError::DatabaseError(_, ref info) if info.message() == DEADLOCK_MESSAGE => {
                DbError::Deadlock
            }
            other => DbError::internal(other),
        }
    }
}

impl From<PoolError> for DbError {
    fn from(error: PoolError) -> DbError {
        tracing::warn!(%error, "no database connection available");
        DbError::Unavailable(Unavailable::Unreachable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_unique_row_is_told_from_a_bug() {
        let mut conn = crate::db::connect(":memory:").unwrap();
        use diesel::connection::SimpleConnection;
        conn.batch_execute("CREATE TABLE t (k INTEGER PRIMARY KEY); INSERT INTO t VALUES (1);")
            .unwrap();
        let duplicate = conn.batch_execute("INSERT INTO t VALUES (1)").unwrap_err();
        assert!(matches!(
            DbError::from(duplicate),
            DbError::UniqueViolation { .. }
        ));
        let bug = conn
            .batch_execute("SELECT * FROM no_such_table")
            .unwrap_err();
        assert!(matches!(DbError::from(bug), DbError::Internal(_)));
    }
}
