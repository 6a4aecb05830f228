//! On PostgreSQL, each HTTP worker's own diesel-async connections for the
//! requests a store sends most: reading a product and its
//! compare-and-swap PATCH.
//!
//! On the blocking pool every request makes two thread hops, and the
//! blocking thread sleeps once per statement; on a two-core machine that
//! switching took a fifth of what pgbench's `cas` keeps (BENCHMARKS.md,
//! "The bare server"). These connections run on the worker's own runtime
//! instead: a statement's answer wakes the worker that sent it.
//!
//! A request takes an idle connection, or opens one; once all are open and
//! busy it shares the least busy one, and its statements travel pipelined
//! (diesel-async runs queries on `&AsyncPgConnection` concurrently). A pool
//! that lends each connection to one request at a time made the rest wait:
//! at the default pool size `cas` kept 0.90x of what sharing keeps
//! (BENCHMARKS.md's ledger). Every statement sent here is one transaction
//! of its own, so requests sharing a connection never share one.

use std::cell::{Cell, RefCell};
use std::ops::Deref;
use std::rc::Rc;
use std::sync::{Arc, Weak};
use std::thread;

use diesel::ConnectionError;
use diesel_async::{AsyncPgConnection, SimpleAsyncConnection};
use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
use postgres_openssl::MakeTlsConnector;
use tokio::sync::OnceCell;

use super::connection::{StartupError, CHECKOUT_TIMEOUT, POSTGRES_SETTINGS};
use super::error::{DbError, Unavailable};
use super::pool_closing::PoolClosing;
use crate::stopping::Stopping;

/// How the workers reach PostgreSQL, shared by all of them.
#[derive(Clone)]
pub(super) struct WorkerDatabase {
    url: Arc<str>,
    tls: MakeTlsConnector,
    /// Counts the workers' connections, so that `Database::close` waits for them.
    pub closing: PoolClosing,
}

/// One of a worker's connections, and whether its server has gone away.
struct Shared {
    conn: AsyncPgConnection,
    closed: Rc<Cell<bool>>,
}

/// A slot opens its connection once, however many requests ask at once.
type Slot = RefCell<Rc<OnceCell<Rc<Shared>>>>;

/// One HTTP worker's connections, each opened on first use and replaced
/// once found closed. Made on the worker's own thread; on SQLite, or when
/// the async client could not connect at start where libpq did, it holds
/// none and requests use the blocking pool.
pub struct WorkerConnections {
    database: Option<WorkerDatabase>,
    slots: Vec<Slot>,
    stopped: Cell<bool>,
}

/// A connection one request runs its statements on, maybe beside others.
pub struct Lease(Rc<Shared>);

impl Deref for Lease {
    type Target = AsyncPgConnection;

    fn deref(&self) -> &AsyncPgConnection {
        &self.0.conn
    }
}

impl WorkerConnections {
    // An `Arc` because the HTTP server's per-worker app data is one; it
    // never leaves the worker's thread.
    #[allow(clippy::arc_with_non_send_sync)]
    pub(super) fn none() -> Arc<WorkerConnections> {
        Arc::new(WorkerConnections {
            database: None,
            slots: Vec::new(),
            stopped: Cell::new(false),
        })
    }

    /// Up to `count` connections, closed once the server starts stopping:
    /// requests still in flight keep theirs to the end, later ones use the
    /// blocking pool, which `Database::close` closes.
    #[allow(clippy::arc_with_non_send_sync)]
    pub(super) fn on_this_worker(
        database: WorkerDatabase,
        count: usize,
        mut stopping: Stopping,
    ) -> Arc<WorkerConnections> {
        let connections = Arc::new(WorkerConnections {
            database: Some(database),
            slots: (0..count.max(1)).map(|_| Slot::default()).collect(),
            stopped: Cell::new(false),
        });
        let weak = Arc::downgrade(&connections);
        // On the worker's own runtime, as every task of this worker.
        tokio::task::spawn_local(async move {
            stopping.started().await;
            if let Some(connections) = Weak::upgrade(&weak) {
                connections.close();
            }
        });
        connections
    }

    /// One of this worker's connections, opened if need be (see `pick`);
    /// `None` where requests use the blocking pool instead.
    pub async fn take(&self) -> Result<Option<Lease>, DbError> {
        let Some(database) = &self.database else {
            return Ok(None);
        };
        if self.stopped.get() || database.closing.is_closing() {
            return Ok(None);
        }
        let cell = {
            let mut slot = self.slots[self.pick()].borrow_mut();
            // Its server went away (a restart, say): that failed the
            // requests on it with a 503, and this one opens a new one.
            if slot.get().is_some_and(|open| open.closed.get()) {
                *slot = Rc::default();
            }
            Rc::clone(&slot)
        };
        let opening = cell.get_or_try_init(|| open(database.clone()));
        match tokio::time::timeout(CHECKOUT_TIMEOUT, opening).await {
            Ok(Ok(shared)) => Ok(Some(Lease(Rc::clone(shared)))),
            Ok(Err(error)) => {
                // Whatever the cause (down, renamed, out of connections),
                // the request can only be retried, as when the pool finds none.
                tracing::warn!(%error, "no database connection available");
                Err(DbError::Unavailable(Unavailable::Unreachable))
            }
            Err(_) => Err(DbError::Unavailable(Unavailable::Unreachable)),
        }
    }

    /// The first slot whose connection is idle, or not open yet; with
    /// every one open and busy, the one with the fewest requests in
    /// flight. A statement queued behind another waits for it, and in
    /// `hot` that one may wait for a row lock: sharing comes last.
    fn pick(&self) -> usize {
        let mut least_busy = (usize::MAX, 0);
        for (n, slot) in self.slots.iter().enumerate() {
            let in_flight = match slot.borrow().get() {
                // The slot holds one count; each lease another.
                Some(open) if !open.closed.get() => Rc::strong_count(open) - 1,
                _ => 0,
            };
            if in_flight == 0 {
                return n;
            }
            least_busy = least_busy.min((in_flight, n));
        }
        least_busy.1
    }

    /// Lets go of every connection: each closes (PostgreSQL sees it end)
    /// once the requests using it are done.
    fn close(&self) {
        self.stopped.set(true);
        for slot in &self.slots {
            *slot.borrow_mut() = Rc::default();
        }
    }
}

/// Opens a connection with the blocking pool's TLS and settings. It is
/// driven on this worker's runtime, counted until it ends, and marked
/// closed when its server goes away.
async fn open(database: WorkerDatabase) -> Result<Rc<Shared>, ConnectionError> {
    // Counted before it opens, so that `Database::close` waits for it.
    let counted = database.closing.count_one();
    let config = database
        .url
        .parse::<tokio_postgres::Config>()
        .map_err(|error| ConnectionError::BadConnection(error.to_string()))?;
    let (client, connection) = config
        .connect(database.tls.clone())
        .await
        .map_err(|error| ConnectionError::BadConnection(error.to_string()))?;
    let closed = Rc::new(Cell::new(false));
    let ended = Rc::clone(&closed);
    tokio::task::spawn_local(async move {
        let _counted = counted;
        if let Err(error) = connection.await {
            tracing::warn!(%error, "a worker's PostgreSQL connection ended");
        }
        ended.set(true);
    });
    let mut conn = AsyncPgConnection::try_from(client).await?;
    conn.batch_execute(POSTGRES_SETTINGS)
        .await
        .map_err(ConnectionError::CouldntSetupConfiguration)?;
    Ok(Rc::new(Shared { conn, closed }))
}

/// How the HTTP workers open their own connections to PostgreSQL, or
/// `None` when the async client cannot connect where libpq just did (a
/// URL option such as `sslmode=verify-full`, or a `PGPASSWORD` it does
/// not read): then every request uses the pool, whose libpq honours them.
pub(super) fn worker_database(url: &str) -> Result<Option<WorkerDatabase>, StartupError> {
    // As libpq's `prefer` and `require` do: encrypt, without checking
    // the server's certificate.
    let mut tls = SslConnector::builder(SslMethod::tls())?;
    tls.set_verify(SslVerifyMode::NONE);
    let database = WorkerDatabase {
        url: url.into(),
        tls: MakeTlsConnector::new(tls.build()),
        closing: PoolClosing::default(),
    };
    match try_worker_connection(&database) {
        Ok(()) => Ok(Some(database)),
        Err(error) => {
            tracing::warn!(%error, "HTTP workers cannot reach PostgreSQL with their own connections: every request uses the pool");
            Ok(None)
        }
    }
}

/// Opens and closes one connection as a worker would, on a thread of its
/// own: the caller may be on a runtime already.
fn try_worker_connection(database: &WorkerDatabase) -> Result<(), StartupError> {
    let trial = || -> Result<(), StartupError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let local = tokio::task::LocalSet::new();
        local.block_on(&runtime, async {
            drop(open(database.clone()).await?);
            Ok::<_, StartupError>(())
        })?;
        // The connection's task ends once it has told the server goodbye.
        runtime.block_on(local);
        Ok(())
    };
    thread::scope(|scope| {
        scope
            .spawn(trial)
            .join()
            .unwrap_or_else(|_| Err("the trial connection panicked".into()))
    })
}
