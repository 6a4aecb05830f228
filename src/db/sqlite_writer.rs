use std::collections::VecDeque;
use std::future::Future;
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

use diesel::r2d2::R2D2Connection;
use parking_lot::{Mutex, MutexGuard};
use tokio::sync::oneshot;

use super::connection::{open_connection, StartupError};
use super::error::{DbError, Unavailable};
use super::group_commit::{commit_together, refuse, Job, Reply};
use super::DbConnection;

/// On SQLite, the one thread that runs every write of this server, one
/// after another in the order they arrived.
///
/// SQLite lets one writer in at a time anyway. Writers on many threads
/// would each wait for the one before and then be woken to go on: a
/// wake-up and a context switch between any two writes, with SQLite's lock
/// (or a turn taken before it) held meanwhile. On one thread each write
/// starts as the last one ends, and no thread of the blocking pool sits
/// waiting for its turn. The writes that queue up meanwhile share one
/// commit (see `group_commit`). The thread has a connection of its own,
/// outside the pool, so that reads can never keep it from one.
#[derive(Clone)]
pub struct SqliteWriter {
    /// `None` once closed.
    running: Arc<Mutex<Option<Running>>>,
    /// Held by the writer thread for each transaction, and by upkeep that
    /// must not overlap a write (see `hold_writes`).
    turn: Arc<Mutex<()>>,
}

/// The writer thread, and the way to send it writes.
struct Running {
    jobs: mpsc::Sender<Job>,
    thread: JoinHandle<()>,
}

impl SqliteWriter {
    /// Opens the writer's connection to the SQLite file `url` names and
    /// starts the writer thread. The thread ends when the writer is closed
    /// or the last `SqliteWriter` clone is dropped, after the writes
    /// already sent.
    pub fn start(url: &str) -> Result<SqliteWriter, StartupError> {
        let mut connection = Some(open_connection(url)?);
        let url = url.to_owned();
        let (jobs, arrived) = mpsc::channel::<Job>();
        let turn = Arc::new(Mutex::new(()));
        let writer_turn = turn.clone();
        let thread = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                let mut waiting = VecDeque::new();
                loop {
                    if waiting.is_empty() {
                        let Ok(job) = arrived.recv() else { return };
                        waiting.push_back(job);
                    }
                    let _turn = writer_turn.lock();
                    waiting.extend(arrived.try_iter());
                    if connection.is_none() {
                        connection = reopen(&url);
                    }
                    match connection.as_mut() {
                        Some(conn) => commit_together(conn, &mut waiting),
                        None => {
                            for job in waiting.drain(..) {
                                refuse(job, DbError::Unavailable(Unavailable::WriterNotOpen));
                            }
                        }
                    }
                    // A transaction that could not be ended leaves the
                    // connection broken; a new one starts clean.
                    if connection.as_mut().is_some_and(|conn| conn.is_broken()) {
                        connection = None;
                    }
                }
            })?;
        Ok(SqliteWriter {
            running: Arc::new(Mutex::new(Some(Running { jobs, thread }))),
            turn,
        })
    }

    /// Runs the writes already sent, then ends the writer thread, which
    /// closes its connection. Writes sent after this are refused.
    pub fn close(&self) {
        let running = self.running.lock().take();
        if let Some(Running { jobs, thread }) = running {
            drop(jobs);
            // A thread that panicked has ended all the same.
            let _ = thread.join();
        }
    }

    /// Sends `write` to the writer thread now, behind the writes sent
    /// before it; the future waits for its answer, which comes once the
    /// write is committed.
    pub fn run<T, E, F>(&self, write: F) -> impl Future<Output = Result<T, E>> + Send + 'static
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let result = conn.map_err(E::from).and_then(write);
            let reply: Reply = Box::new(move |ended| {
                // The request may have gone (its client hung up); the
                // write has happened all the same, as on any thread.
                let _ = answer.send(ended.map_err(E::from).and(result));
            });
            reply
        });
        let sent = match &*self.running.lock() {
            Some(running) => running
                .jobs
                .send(job)
                .map_err(|_| DbError::internal("the SQLite writer thread has stopped")),
            None => Err(DbError::Unavailable(Unavailable::Stopping)),
        };
        async move {
            sent?;
            answered
                .await
                .map_err(|_| DbError::internal("the write panicked on the SQLite writer thread"))?
        }
    }

    /// Keeps writes from running while the guard lives: the transaction
    /// running now finishes first, and the next waits.
    pub fn hold_writes(&self) -> MutexGuard<'_, ()> {
        self.turn.lock()
    }
}

/// A new connection for the writer, after the last was dropped as broken.
fn reopen(url: &str) -> Option<DbConnection> {
    match open_connection(url) {
        Ok(conn) => Some(conn),
        Err(error) => {
            tracing::warn!(%error, "could not reopen the SQLite writer's connection");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn writes_run_one_at_a_time_in_the_order_they_came() {
        let writer = SqliteWriter::start(":memory:").unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let writes: Vec<_> = (0..50)
            .map(|n| {
                let seen = seen.clone();
                // Sent now, in this order; awaited together below.
                let write = writer.run(move |_| {
                    seen.lock().push(n);
                    std::thread::sleep(Duration::from_micros(200));
                    Ok::<_, DbError>(n)
                });
                tokio::spawn(write)
            })
            .collect();
        for (n, write) in writes.into_iter().enumerate() {
            assert_eq!(write.await.unwrap().unwrap(), n);
        }
        assert_eq!(*seen.lock(), (0..50).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_write_that_panics_fails_alone() {
        let writer = SqliteWriter::start(":memory:").unwrap();
        let failed = writer.run(|_| -> Result<(), DbError> { panic!("a bug in one write") });
        assert!(matches!(failed.await, Err(DbError::Internal(_))));
        assert_eq!(writer.run(|_| Ok::<_, DbError>(7)).await.unwrap(), 7);
    }

    #[tokio::test]
    async fn close_runs_the_writes_sent_before_it_and_refuses_later_ones() {
        let writer = SqliteWriter::start(":memory:").unwrap();
        // Sent when `run` is called, before the close.
        let sent = tokio::spawn(writer.run(|_| {
            std::thread::sleep(Duration::from_millis(50));
            Ok::<_, DbError>(1)
        }));
        writer.close();
        assert_eq!(sent.await.unwrap().unwrap(), 1);
        let after = writer.run(|_| Ok::<_, DbError>(2)).await;
        assert!(matches!(after, Err(DbError::Unavailable(_))), "{after:?}");
    }

    #[tokio::test]
    async fn no_write_runs_while_writes_are_held() {
        let writer = SqliteWriter::start(":memory:").unwrap();
        let ran = Arc::new(AtomicBool::new(false));
        let held = writer.hold_writes();
        let write = {
            let ran = ran.clone();
            tokio::spawn(writer.run(move |_| {
                ran.store(true, Ordering::SeqCst);
                Ok::<_, DbError>(())
            }))
        };
        // The write was sent when `run` was called; it waits on its thread.
        std::thread::sleep(Duration::from_millis(100));
        assert!(!ran.load(Ordering::SeqCst));
        drop(held);
        write.await.unwrap().unwrap();
        assert!(ran.load(Ordering::SeqCst));
    }
}
