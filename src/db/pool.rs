use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use actix_web::web;
use diesel::connection::SimpleConnection;
use diesel::r2d2::{self, ManageConnection, R2D2Connection};
use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
use postgres_openssl::MakeTlsConnector;

use super::connection::{connect, Backend, DbConnection};
use super::migrations::run_migrations;
use super::pool_closing::{CountedConnection, PoolClosing};
use super::reachable::connect_when_reachable;
use super::sqlite_writer::SqliteWriter;
use super::worker_connections::{WorkerConnections, WorkerDatabase};
use crate::error::ApiError;
use crate::stopping::Stopping;

pub(super) type StartupError = Box<dyn std::error::Error + Send + Sync>;

/// How long a request waits for a pooled connection before it is answered
/// 503: long enough to ride out a burst, short enough to fail fast while
/// the database is down.
pub(super) const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(3);

/// How long `Database::close` waits for connections still in use or still
/// being opened. The server has stopped by then, so this is only work the
/// graceful stop gave up on, or a connection r2d2 was opening.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// PostgreSQL's settings, applied to every new connection: a write that
/// waits this long for a row lock, or any statement that runs this long,
/// gives up with a 503 instead of hanging.
pub(super) const POSTGRES_SETTINGS: &str =
    "SET lock_timeout = '5s'; SET statement_timeout = '15s';";

/// SQLite's settings, applied to every new connection. `busy_timeout` comes
/// first so that switching to WAL waits for a concurrent opener instead of
/// failing; `synchronous=FULL` makes an acknowledged write survive power
/// loss, as PostgreSQL's defaults do. No commit checkpoints the log: a
/// background thread does (see `checkpoint_sqlite_log`), and SQLite does
/// when the last connection to the file closes.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 5000; \
     PRAGMA journal_mode = WAL; \
     PRAGMA synchronous = FULL; \
     PRAGMA foreign_keys = ON; \
     PRAGMA wal_autocheckpoint = 0;";

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
    pub fn worker_connections(
        &self,
        count: usize,
        stopping: Stopping,
    ) -> web::Data<WorkerConnections> {
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

    /// Runs `work` with a pooled connection on this thread, for work outside
    /// any request (background upkeep).
    pub fn run_here<T>(
        &self,
        work: impl FnOnce(&mut DbConnection) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        with_connection(&self.pool, work)
    }

    /// `run_here` for upkeep that must not overlap a write: on SQLite it
    /// first waits for the write running now, and the next waits for it.
    pub fn write_here<T>(
        &self,
        work: impl FnOnce(&mut DbConnection) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let _writes_held = self.sqlite_writer.as_ref().map(SqliteWriter::hold_writes);
        with_connection(&self.pool, work)
    }

    /// Runs `work` with a pooled connection on actix's blocking thread pool,
    /// inside the caller's tracing span. The connection is taken inside the
    /// closure and returned before the future resolves, so none is ever held
    /// across an `.await`.
    pub async fn run<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let span = tracing::Span::current();
        web::block(move || span.in_scope(|| with_connection(&pool, work))).await?
    }

    /// `run` for a lookup by primary key. SQLite answers one from its page
    /// cache in tens of microseconds, less than the two thread hops `run`
    /// makes (there and back, each a wake-up that may wait for a core), so
    /// on SQLite it runs on the calling thread when a pooled connection is
    /// idle; when none is, it is `run`, so that this thread never waits for
    /// one. Only work that short belongs here: while it runs, the other
    /// requests on this HTTP worker wait. A panic fails this request alone,
    /// as on the blocking pool. On PostgreSQL, where every statement waits
    /// on the network, it is `run`.
    pub async fn look_up<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        if self.is_sqlite() {
            if let Some(pooled) = self.pool.try_get() {
                return panic::catch_unwind(AssertUnwindSafe(|| on_pooled(pooled, work)))
                    .unwrap_or_else(|_| Err(ApiError::internal("the lookup panicked")));
            }
        }
        self.run(work).await
    }

    /// `run` for work that writes: on SQLite it runs on the writer thread,
    /// with the writer's connection, after the writes that came before it.
    pub async fn write<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let Some(writer) = &self.sqlite_writer else {
            return self.run(work).await;
        };
        let span = tracing::Span::current();
        writer.run(move |conn| span.in_scope(|| work(conn))).await
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
fn with_connection<T>(
    pool: &r2d2::Pool<ConnectionManager>,
    work: impl FnOnce(&mut DbConnection) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    on_pooled(pool.get()?, work)
}

/// `with_connection` on a connection already taken from the pool.
fn on_pooled<T>(
    mut pooled: r2d2::PooledConnection<ConnectionManager>,
    work: impl FnOnce(&mut DbConnection) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let result = work(&mut pooled.conn);
    if matches!(
        result,
        Err(ApiError::Unavailable(_) | ApiError::Internal(_))
    ) {
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

/// How the HTTP workers open their own connections to PostgreSQL, or
/// `None` when tokio-postgres cannot connect where libpq just did (a URL
/// option such as `sslmode=verify-full`, or a `PGPASSWORD` it does not
/// read): then every request uses the pool, whose libpq honours them.
fn worker_database(url: &str) -> Result<Option<WorkerDatabase>, StartupError> {
    // As libpq's `prefer` and `require` do: encrypt, without checking
    // the server's certificate.
    let mut tls = SslConnector::builder(SslMethod::tls())?;
    tls.set_verify(SslVerifyMode::NONE);
    let tls = MakeTlsConnector::new(tls.build());
    let tried = url
        .parse::<tokio_postgres::Config>()
        .map_err(StartupError::from)
        .and_then(|config| {
            try_worker_connection(&config, &tls)?;
            Ok(config)
        });
    match tried {
        Ok(config) => Ok(Some(WorkerDatabase {
            config: Arc::new(config),
            tls,
            closing: PoolClosing::default(),
        })),
        Err(error) => {
            tracing::warn!(%error, "HTTP workers cannot reach PostgreSQL with their own connections: every request uses the pool");
            Ok(None)
        }
    }
}

/// Opens and closes one connection as a worker would, on a thread of its
/// own: the caller may be on a runtime already.
fn try_worker_connection(
    config: &tokio_postgres::Config,
    tls: &MakeTlsConnector,
) -> Result<(), StartupError> {
    let trial = || -> Result<(), StartupError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async {
            let (client, connection) = config.connect(tls.clone()).await?;
            let driven = tokio::spawn(connection);
            client.batch_execute(POSTGRES_SETTINGS).await?;
            drop(client);
            driven.await??;
            Ok(())
        })
    };
    thread::scope(|scope| {
        scope
            .spawn(trial)
            .join()
            .unwrap_or_else(|_| Err("the trial connection panicked".into()))
    })
}

/// A connection to the URL's database with the settings every pooled
/// connection has (timeouts; SQLite's durability and locking pragmas).
pub fn open_connection(url: &str) -> Result<DbConnection, r2d2::Error> {
    let mut conn = connect(url).map_err(r2d2::Error::ConnectionError)?;
    let settings = match conn {
        DbConnection::Pg(_) => POSTGRES_SETTINGS,
        DbConnection::Sqlite(_) => SQLITE_PRAGMAS,
    };
    conn.batch_execute(settings)
        .map_err(r2d2::Error::QueryError)?;
    Ok(conn)
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

    fn current_thread(_: &mut DbConnection) -> Result<thread::ThreadId, ApiError> {
        Ok(thread::current().id())
    }

    /// A thread that takes a pooled connection and gives it back 200 ms
    /// later; it has taken it when this returns.
    fn hold_a_connection(database: &Database) -> thread::JoinHandle<Result<(), ApiError>> {
        let (taken, is_taken) = mpsc::channel();
        let holder = database.clone();
        let holding = thread::spawn(move || {
            holder.run_here(|_| {
                taken.send(()).unwrap();
                thread::sleep(Duration::from_millis(200));
                Ok(())
            })
        });
        is_taken.recv().unwrap();
        holding
    }

    #[tokio::test]
    async fn a_lookup_runs_on_the_calling_thread_when_a_connection_is_idle() {
        let database = Database::open(":memory:", 1).unwrap();
        // The pool opens connections on demand: open one, and leave it idle.
        database.run_here(|_| Ok(())).unwrap();
        let ran_on = database.look_up(current_thread).await.unwrap();
        assert_eq!(ran_on, thread::current().id());
    }

    #[tokio::test]
    async fn a_lookup_with_no_idle_connection_waits_for_one_off_the_calling_thread() {
        let database = Database::open(":memory:", 1).unwrap();
        let holding = hold_a_connection(&database);
        let ran_on = database.look_up(current_thread).await.unwrap();
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
    async fn a_lookup_that_panics_fails_alone() {
        let database = Database::open(":memory:", 1).unwrap();
        database.run_here(|_| Ok(())).unwrap();
        let panicked = database
            .look_up(|_| -> Result<(), ApiError> { panic!("a bug in a lookup") })
            .await;
        assert!(matches!(panicked, Err(ApiError::Internal(_))));
        let ran_on = database.look_up(current_thread).await.unwrap();
        assert_eq!(ran_on, thread::current().id(), "the connection went back");
    }
}
