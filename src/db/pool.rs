use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use diesel::r2d2::{self, ManageConnection, R2D2Connection};

use super::connection::{open_connection, Backend, DbConnection, StartupError, CHECKOUT_TIMEOUT};
use super::error::{DbError, WorkError};
use super::migrations::run_migrations;
use super::pool_closing::{CountedConnection, PoolClosing};
use super::reachable::connect_when_reachable;
use super::retry::run_again;
use super::sqlite_writer::SqliteWriter;
use super::worker_connections::{worker_database, WorkerConnections, WorkerDatabase};
use crate::stopping::Stopping;

/// How long `Database::close` waits for connections still in use or still
/// being opened. The server has stopped by then, so this is only work the
/// graceful stop gave up on, or a connection r2d2 was opening.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// The pool of connections to the database the URL names.
#[derive(Clone)]
pub struct Database {
    pool: r2d2::Pool<ConnectionManager>,
    /// On SQLite, the thread that runs every write, in arrival order: one
    /// at a time, as SQLite allows, with no waiting thread holding a
    /// connection or polling the file lock with `busy_timeout`'s growing
    /// sleeps. `None` on PostgreSQL, where writes run side by side.
    sqlite_writer: Option<SqliteWriter>,
    /// Shared with the pool's `ConnectionManager`.
    closing: PoolClosing,
    url: String,
    /// On PostgreSQL, once `for_http_workers` has run, what each HTTP
    /// worker's own connections are made from (see `worker_connections`).
    workers: Option<WorkerDatabase>,
}

impl Database {
    /// Connects, applies pending migrations and builds the pool; fails at
    /// once if the database is unreachable.
    pub fn open(url: &str, pool_size: u32) -> Result<Database, StartupError> {
        Database::migrated(url, pool_size, open_connection(url)?)
    }

    /// `open`, but first waits for a PostgreSQL server that is not up yet
    /// (see `connect_when_reachable`): what a server starting up does.
    pub fn open_when_reachable(url: &str, pool_size: u32) -> Result<Database, StartupError> {
        Database::migrated(url, pool_size, connect_when_reachable(url)?)
    }

    fn migrated(
        url: &str,
        pool_size: u32,
        mut conn: DbConnection,
    ) -> Result<Database, StartupError> {
        run_migrations(&mut conn)?;
        let closing = PoolClosing::default();
        let manager = ConnectionManager {
            url: url.to_owned(),
            closing: closing.clone(),
        };
        let pool = r2d2::Pool::builder()
            .max_size(pool_size)
            // Connections are made on demand, so a database that goes away
            // and comes back needs no restart.
            .min_idle(Some(0))
            // No ping before each use: it would double the round trips of
            // a read. A connection found dead is discarded instead (see
            // `with_connection`), so after a database restart each stale
            // one fails one request with a 503 and is replaced.
            .test_on_check_out(false)
            .connection_timeout(CHECKOUT_TIMEOUT)
            .build_unchecked(manager);
        let sqlite_writer = match Backend::of_url(url) {
            Backend::Sqlite => Some(SqliteWriter::start(url)?),
            Backend::Postgres => None,
        };
        Ok(Database {
            pool,
            sqlite_writer,
            closing,
            url: url.to_owned(),
            workers: None,
        })
    }

    /// This database, able to give each HTTP worker connections of its own
    /// on PostgreSQL (see `worker_connections`). For a server, before it
    /// clones the database: a one-off command needs no trial connection.
    pub fn for_http_workers(mut self) -> Result<Database, StartupError> {
        if !self.is_sqlite() {
            self.workers = worker_database(&self.url)?;
        }
        Ok(self)
    }

    /// The calling HTTP worker's own connections, `count` of them at most
    /// (none on SQLite). Call it on the worker's thread, once.
    pub fn worker_connections(&self, count: usize, stopping: Stopping) -> Arc<WorkerConnections> {
        match &self.workers {
            Some(workers) => WorkerConnections::on_this_worker(workers.clone(), count, stopping),
            None => WorkerConnections::none(),
        }
    }

    /// Closes the connections: the idle ones now, each one in use when it
    /// is given back, and the SQLite writer's once the writes sent to it
    /// have run; on PostgreSQL it also waits for the HTTP workers' own,
    /// which they close when the server starts stopping (see
    /// `WorkerConnections`). It returns once all are closed, or after
    /// `CLOSE_WAIT`. For a server that has stopped, so that the database
    /// sees each connection end (SQLite then folds its log into the file)
    /// rather than cut off when the process exits. Work after this still
    /// gets a connection, closed as it is given back; SQLite's writes are
    /// refused.
    pub fn close(&self) {
        self.closing.begin();
        let workers_closing = self.workers.as_ref().map(|workers| &workers.closing);
        if let Some(closing) = workers_closing {
            closing.begin();
        }
        let deadline = Instant::now() + CLOSE_WAIT;
        loop {
            // Each is closed as it is given back (see `has_broken`).
            while let Some(idle) = self.pool.try_get() {
                drop(idle);
            }
            // The workers' own close when the server starts stopping, or
            // else as their worker's runtime ends.
            let open = self.closing.open_connections()
                + workers_closing.map_or(0, PoolClosing::open_connections);
            if open == 0 {
                break;
            }
            if Instant::now() >= deadline {
                tracing::warn!(open, "database connections still in use are cut at exit");
                break;
            }
            thread::sleep(Duration::from_millis(10));
        }
        if let Some(writer) = &self.sqlite_writer {
            writer.close();
        }
    }

    /// Whether the URL named an SQLite file (else PostgreSQL).
    pub fn is_sqlite(&self) -> bool {
        self.sqlite_writer.is_some()
    }

    pub fn pool_use(&self) -> PoolUse {
        let state = self.pool.state();
        PoolUse {
            open: state.connections,
            idle: state.idle_connections,
            max: self.pool.max_size(),
            workers_open: self
                .workers
                .as_ref()
                .map_or(0, |workers| workers.closing.open_connections()),
        }
    }

    /// Runs `work` with a pooled connection on this thread: for work
    /// outside any request (commands, background upkeep).
    pub fn read_now<T, E: WorkError>(
        &self,
        work: impl FnOnce(&mut DbConnection) -> Result<T, E>,
    ) -> Result<T, E> {
        with_connection(&self.pool, work)
    }

    /// `read_now` for work that writes: on SQLite it first waits for the
    /// write running now, and the next write waits for it.
    pub fn write_now<T, E: WorkError>(
        &self,
        work: impl FnOnce(&mut DbConnection) -> Result<T, E>,
    ) -> Result<T, E> {
        let _writes_held = self.sqlite_writer.as_ref().map(SqliteWriter::hold_writes);
        with_connection(&self.pool, work)
    }

    /// Runs `work`, which only reads, for a request. It runs inside the
    /// caller's tracing span, on a blocking thread with a pooled
    /// connection, taken and given back before the future resolves: none
    /// is ever held across an `.await`.
    ///
    /// On SQLite, when a pooled connection is idle, it runs on the calling
    /// thread instead: SQLite answers a read from its page cache in less
    /// time than the two thread hops take. Every read of this API is
    /// bounded (a page is at most 200 rows), so the other requests on this
    /// HTTP worker wait little. A panic fails this request alone.
    ///
    /// On PostgreSQL, a read the database refuses with a serialization
    /// failure or a deadlock is run again (see `retry`).
    pub async fn read<T, E, F>(&self, mut work: F) -> Result<T, E>
    where
        F: FnMut(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: WorkError + Send + 'static,
    {
        if self.is_sqlite() {
            if let Some(pooled) = self.pool.try_get() {
                return panic::catch_unwind(AssertUnwindSafe(|| on_pooled(pooled, work)))
                    .unwrap_or_else(|_| Err(DbError::internal("the read panicked").into()));
            }
        }
        self.on_blocking_thread(move |conn| run_again(|| work(conn)))
            .await
    }

    /// Runs `work`, which writes, for a request: on PostgreSQL as `read`
    /// does, on a blocking thread; on SQLite on the writer thread, with
    /// the writer's connection, after the writes that came before it.
    pub async fn write<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: WorkError + Send + 'static,
    {
        let Some(writer) = &self.sqlite_writer else {
            return self.on_blocking_thread(work).await;
        };
        let span = tracing::Span::current();
        writer.run(move |conn| span.in_scope(|| work(conn))).await
    }

    /// Runs `work` with a pooled connection on a blocking thread, inside
    /// the caller's tracing span; a panic fails this request alone.
    async fn on_blocking_thread<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: WorkError + Send + 'static,
    {
        let pool = self.pool.clone();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || span.in_scope(|| with_connection(&pool, work)))
            .await
            .unwrap_or_else(|_| Err(DbError::internal("the work panicked").into()))
    }
}

/// How many connections the pool holds, and how many of those are idle.
#[derive(Debug, Clone, Copy)]
pub struct PoolUse {
    pub open: u32,
    pub idle: u32,
    pub max: u32,
    /// The HTTP workers' own connections (PostgreSQL only), beside the pool.
    pub workers_open: usize,
}

/// Runs `work` with a pooled connection. When it fails in a way a lost
/// connection would explain, one ping tells whether the connection is dead,
/// so that the pool replaces it rather than lend it out again.
fn with_connection<T, E: WorkError>(
    pool: &r2d2::Pool<ConnectionManager>,
    work: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E> {
    let pooled = pool.get().map_err(DbError::from)?;
    on_pooled(pooled, work)
}

/// `with_connection` on a connection already taken from the pool.
fn on_pooled<T, E: WorkError>(
    mut pooled: r2d2::PooledConnection<ConnectionManager>,
    work: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E> {
    let result = work(&mut pooled.conn);
    if result
        .as_ref()
        .is_err_and(|error| error.may_be_the_connection())
    {
        pooled.dead = pooled.conn.ping().is_err();
    }
    result
}

/// A pooled connection, and whether it was found dead.
struct PooledConnection {
    conn: DbConnection,
    dead: bool,
    /// Declared after `conn`, so dropped after it has closed.
    _counted: CountedConnection,
}

/// Opens connections of the URL's backend, with that backend's settings applied.
struct ConnectionManager {
    url: String,
    /// Once closing, every connection given back is closed.
    closing: PoolClosing,
}

impl ManageConnection for ConnectionManager {
    type Connection = PooledConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<PooledConnection, r2d2::Error> {
        // Counted before it opens, so that `close` waits for it.
        let counted = self.closing.count_one();
        Ok(PooledConnection {
            conn: open_connection(&self.url)?,
            dead: false,
            _counted: counted,
        })
    }

    fn is_valid(&self, pooled: &mut PooledConnection) -> Result<(), r2d2::Error> {
        pooled.conn.ping().map_err(r2d2::Error::QueryError)
    }

    /// diesel knows only of a broken transaction; a connection whose server
    /// went away is caught by `with_connection`. After `Database::close`,
    /// every connection counts as broken, so the pool closes it.
    fn has_broken(&self, pooled: &mut PooledConnection) -> bool {
        pooled.dead || pooled.conn.is_broken() || self.closing.is_closing()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::thread;
    use std::time::Duration;

    use super::*;

    fn current_thread(_: &mut DbConnection) -> Result<thread::ThreadId, DbError> {
        Ok(thread::current().id())
    }

    /// A thread that takes a pooled connection and gives it back 200 ms
    /// later; it has taken it when this returns.
    fn hold_a_connection(database: &Database) -> thread::JoinHandle<Result<(), DbError>> {
        let (taken, is_taken) = mpsc::channel();
        let holder = database.clone();
        let holding = thread::spawn(move || {
            holder.read_now(|_| {
                taken.send(()).unwrap();
                thread::sleep(Duration::from_millis(200));
                Ok(())
            })
        });
        is_taken.recv().unwrap();
        holding
    }

    #[tokio::test]
    async fn a_read_runs_on_the_calling_thread_when_a_connection_is_idle() {
        let database = Database::open(":memory:", 1).unwrap();
        // The pool opens connections on demand: open one, and leave it idle.
        database.read_now(|_| Ok::<_, DbError>(())).unwrap();
        let ran_on = database.read(current_thread).await.unwrap();
        assert_eq!(ran_on, thread::current().id());
    }

    #[tokio::test]
    async fn a_read_with_no_idle_connection_waits_for_one_off_the_calling_thread() {
        let database = Database::open(":memory:", 1).unwrap();
        let holding = hold_a_connection(&database);
        let ran_on = database.read(current_thread).await.unwrap();
        assert_ne!(ran_on, thread::current().id());
        holding.join().unwrap().unwrap();
    }

    #[test]
    fn close_waits_for_a_connection_in_use_and_closes_it() {
        let database = Database::open(":memory:", 2).unwrap();
        let holding = hold_a_connection(&database);
        database.close();
        assert_eq!(database.pool_use().open, 0, "closed once given back");
        holding.join().unwrap().unwrap();
    }

    #[tokio::test]
    async fn a_read_that_panics_fails_alone() {
        let database = Database::open(":memory:", 1).unwrap();
        database.read_now(|_| Ok::<_, DbError>(())).unwrap();
        let panicked = database
            .read(|_| -> Result<(), DbError> { panic!("a bug in a read") })
            .await;
        assert!(matches!(panicked, Err(DbError::Internal(_))));
        let ran_on = database.read(current_thread).await.unwrap();
        assert_eq!(ran_on, thread::current().id(), "the connection went back");
    }
}
