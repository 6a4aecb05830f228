//! Group commit for SQLite's writer thread: the writes waiting when a
//! transaction begins run in it, each in a savepoint of its own, and share
//! its commit, so one sync to disk makes all of them durable. None is
//! answered before that commit: an answer always means the write is on disk.

use std::collections::VecDeque;
use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

use diesel::connection::{SimpleConnection, TransactionManager};

use super::error::{DbError, Unavailable};
use super::transaction::{begin_write_transaction, Transactions};
use super::DbConnection;

/// A write waiting for the writer thread. Given the thread's connection (or
/// why there is none), it runs and returns its reply, to be sent once the
/// transaction it ran in has ended.
pub(super) type Job = Box<dyn FnOnce(Result<&mut DbConnection, DbError>) -> Reply + Send>;

/// Sends a write's answer: its own result when the transaction it ran in
/// committed, else the error that says why it was not applied.
pub(super) type Reply = Box<dyn FnOnce(Result<(), DbError>) + Send>;

/// Bounds on one transaction, so that the first write in it is not kept
/// waiting long for the last: it takes no more writes after this many, or
/// after running this long.
const MOST_WRITES_PER_COMMIT: usize = 64;
const LONGEST_BEFORE_COMMIT: Duration = Duration::from_millis(5);

/// Runs writes from the front of `waiting` in one transaction, commits it
/// and then answers them. Writes it had no room for stay in `waiting`.
pub(super) fn commit_together(conn: &mut DbConnection, waiting: &mut VecDeque<Job>) {
    if let Err(error) = begin_write_transaction(conn) {
        tracing::warn!(%error, "could not begin a write transaction on SQLite");
        for job in waiting.drain(..) {
            refuse(job, not_applied());
        }
        return;
    }
    let began = Instant::now();
    let mut replies = Vec::new();
    let mut ran = 0;
    let mut intact = true;
    while intact
        && ran < MOST_WRITES_PER_COMMIT
        && (ran == 0 || began.elapsed() < LONGEST_BEFORE_COMMIT)
    {
        let Some(job) = waiting.pop_front() else {
            break;
        };
        ran += 1;
        // A write that panics sends no reply (its caller is told it
        // failed); what it left open is rolled back below.
        if let Ok(reply) = panic::catch_unwind(AssertUnwindSafe(|| job(Ok(&mut *conn)))) {
            replies.push(reply);
        }
        intact = back_at_transaction_level(conn);
    }
    let committed = intact && commit(conn);
    if !intact {
        // Ends the shared transaction or, when SQLite had ended that, the
        // one the check opened. A connection whose rollback fails is
        // broken, and the writer replaces it.
        let _ = Transactions::rollback_transaction(conn);
    }
    for reply in replies {
        reply(if committed {
            Ok(())
        } else {
            Err(not_applied())
        });
    }
}

/// Answers a write that could not run with why.
pub(super) fn refuse(job: Job, why: DbError) {
    job(Err(why))(Ok(()));
}

/// After a write: rolls back any savepoint it left open (it panicked), and
/// tells whether the shared transaction is still open and fit to go on.
fn back_at_transaction_level(conn: &mut DbConnection) -> bool {
    loop {
        let depth = Transactions::transaction_manager_status_mut(conn).transaction_depth();
        match depth {
            Ok(Some(depth)) if depth.get() == 1 => return still_in_transaction(conn),
            Ok(Some(_)) => {
                if Transactions::rollback_transaction(conn).is_err() {
                    return false;
                }
            }
            // Ended (diesel saw SQLite end it), or the connection is broken.
            Ok(None) | Err(_) => return false,
        }
    }
}

/// Whether SQLite still has the shared transaction open. On some failures
/// (a full disk, an I/O error) it rolls back the whole transaction, not
/// just the statement; a write after that would run and commit on its own,
/// and then be answered as not applied. `BEGIN` fails inside a transaction,
/// so its success tells that the transaction was lost; the rollback that
/// follows ends the one it opened.
fn still_in_transaction(conn: &mut DbConnection) -> bool {
    conn.batch_execute("BEGIN").is_err()
}

fn commit(conn: &mut DbConnection) -> bool {
    match Transactions::commit_transaction(conn) {
        Ok(()) => true,
        Err(error) => {
            tracing::warn!(%error, "could not commit writes on SQLite");
            false
        }
    }
}

fn not_applied() -> DbError {
    DbError::Unavailable(Unavailable::WriteNotApplied)
}

#[cfg(test)]
mod tests {
    use diesel::dsl::sql;
    use diesel::sql_types::BigInt;
    use diesel::RunQueryDsl;

    use super::super::sqlite_writer::SqliteWriter;
    use super::super::write_transaction;
    use super::*;

    /// A writer on an in-memory database with a table `row(id)`, and a
    /// child table whose foreign key is checked only at commit.
    async fn writer_with_tables() -> SqliteWriter {
        let writer = SqliteWriter::start(":memory:").unwrap();
        writer
            .run(|conn| {
                conn.batch_execute(
                    "CREATE TABLE row (id INTEGER PRIMARY KEY); \
                     CREATE TABLE child (row_id INTEGER \
                         REFERENCES row (id) DEFERRABLE INITIALLY DEFERRED);",
                )
                .map_err(DbError::from)
            })
            .await
            .unwrap();
        writer
    }

    fn insert_row(id: i64) -> impl FnOnce(&mut DbConnection) -> Result<(), DbError> {
        move |conn| {
            write_transaction(conn, |conn| {
                conn.batch_execute(&format!("INSERT INTO row VALUES ({id})"))?;
                Ok(())
            })
        }
    }

    async fn row_ids(writer: &SqliteWriter) -> Vec<i64> {
        writer
            .run(|conn| {
                sql::<BigInt>("SELECT id FROM row ORDER BY id")
                    .load::<i64>(conn)
                    .map_err(DbError::from)
            })
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn writes_sent_together_are_answered_only_once_they_commit() {
        let writer = writer_with_tables().await;
        let held = writer.hold_writes();
        let row = tokio::spawn(writer.run(insert_row(1)));
        // Fine on its own, but its foreign key fails the commit.
        let orphan = tokio::spawn(writer.run(|conn| {
            conn.batch_execute("INSERT INTO child VALUES (99)")?;
            Ok::<_, DbError>(())
        }));
        drop(held);
        assert!(matches!(row.await.unwrap(), Err(DbError::Unavailable(_))));
        assert!(matches!(
            orphan.await.unwrap(),
            Err(DbError::Unavailable(_))
        ));
        assert_eq!(row_ids(&writer).await, Vec::<i64>::new());
        writer.run(insert_row(2)).await.unwrap();
        assert_eq!(row_ids(&writer).await, vec![2]);
    }

    #[tokio::test]
    async fn a_write_that_fails_or_panics_leaves_the_others_in_its_commit() {
        let writer = writer_with_tables().await;
        let held = writer.hold_writes();
        let first = tokio::spawn(writer.run(insert_row(1)));
        let refused = tokio::spawn(writer.run(|conn| {
            write_transaction(conn, |conn| {
                insert_row(2)(conn)?;
                Err::<(), _>(DbError::internal("refused after writing"))
            })
        }));
        let panicked = tokio::spawn(writer.run(|conn| -> Result<(), DbError> {
            write_transaction(conn, |conn| {
                insert_row(3)(conn)?;
                panic!("a bug in one write")
            })
        }));
        let last = tokio::spawn(writer.run(insert_row(4)));
        drop(held);
        first.await.unwrap().unwrap();
        assert!(matches!(refused.await.unwrap(), Err(DbError::Internal(_))));
        assert!(matches!(panicked.await.unwrap(), Err(DbError::Internal(_))));
        last.await.unwrap().unwrap();
        assert_eq!(row_ids(&writer).await, vec![1, 4]);
    }

    #[tokio::test]
    async fn after_sqlite_ends_the_transaction_no_later_write_commits_unanswered() {
        let writer = writer_with_tables().await;
        let held = writer.hold_writes();
        let first = tokio::spawn(writer.run(insert_row(1)));
        // What SQLite does on a full disk or an I/O error: the whole
        // transaction is rolled back, with no word to diesel.
        let ended = tokio::spawn(writer.run(|conn| {
            conn.batch_execute("ROLLBACK")?;
            Ok::<_, DbError>(())
        }));
        let after = tokio::spawn(writer.run(insert_row(2)));
        drop(held);
        assert!(matches!(first.await.unwrap(), Err(DbError::Unavailable(_))));
        assert!(matches!(ended.await.unwrap(), Err(DbError::Unavailable(_))));
        after.await.unwrap().unwrap();
        assert_eq!(row_ids(&writer).await, vec![2]);
    }
}
