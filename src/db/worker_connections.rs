//! On PostgreSQL, each HTTP worker's own connections for the requests a
//! store sends most: reading a product and its compare-and-swap PATCH.
//!
//! On the blocking pool every request makes two thread hops, and the
//! blocking thread sleeps once per statement; on a two-core machine that
//! switching took a fifth of what pgbench's `cas` keeps (BENCHMARKS.md,
//! "The bare server"). tokio-postgres runs on the worker's own runtime
//! instead: a statement's answer wakes the worker that sent it. A request
//! takes an idle connection, or opens one; once all are open and busy it
//! shares the least busy one, and its statements travel pipelined.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ops::Deref;
use std::rc::Rc;
use std::sync::{Arc, Weak};
use std::thread;

use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
use postgres_openssl::MakeTlsConnector;
use tokio::sync::OnceCell;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Config, Row, Statement};

use super::connection::{StartupError, CHECKOUT_TIMEOUT, POSTGRES_SETTINGS};
use super::error::{DbError, Unavailable};
use super::pool_closing::PoolClosing;
use crate::stopping::Stopping;

/// How the workers reach PostgreSQL, shared by all of them.
#[derive(Clone)]
pub(super) struct WorkerDatabase {
    pub config: Arc<Config>,
    pub tls: MakeTlsConnector,
    /// Counts the workers' connections, so that `Database::close` waits for them.
    pub closing: PoolClosing,
}

/// One HTTP worker's connections, each opened on first use and replaced
/// once found closed. Made on the worker's own thread; on SQLite, or when
/// tokio-postgres could not connect at start where libpq did, it holds
/// none and requests use the blocking pool.
pub struct WorkerConnections {
    database: Option<WorkerDatabase>,
    slots: Vec<RefCell<Rc<OnceCell<Rc<WorkerConnection>>>>>,
    stopped: Cell<bool>,
}

impl WorkerConnections {
    // An `Arc` because the HTTP server's per-worker app data is one; it never leaves
    // the worker's thread.
    #[allow(clippy::arc_with_non_send_sync)]
    pub(super) fn none() -> Arc<WorkerConnections> {
        Arc::new(WorkerConnections {
            database: None,
            slots: Vec::new(),
            stopped: Cell::new(false),
        })
    }

    /// Connections that close once the server starts stopping: requests
    /// still in flight keep theirs to the end, later ones use the blocking
    /// pool, which `Database::close` closes.
    #[allow(clippy::arc_with_non_send_sync)]
    pub(super) fn on_this_worker(
        database: WorkerDatabase,
        count: usize,
        mut stopping: Stopping,
    ) -> Arc<WorkerConnections> {
        let slots = (0..count.max(1)).map(|_| RefCell::default()).collect();
        let connections = Arc::new(WorkerConnections {
            database: Some(database),
            slots,
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
            // Its server went away (a restart, say): that failed one
            // request with a 503, and this one opens a new connection.
            if slot.get().is_some_and(|open| open.client.is_closed()) {
                *slot = Rc::default();
            }
            Rc::clone(&slot)
        };
        let opening = cell.get_or_try_init(|| open(database));
        match tokio::time::timeout(CHECKOUT_TIMEOUT, opening).await {
            Ok(opened) => Ok(Some(Lease::of(opened?))),
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
                Some(open) if !open.client.is_closed() => open.in_flight.get(),
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

/// Opens a connection with the pool's settings, and drives it on this
/// worker's runtime until it is let go of or its server goes away.
async fn open(database: &WorkerDatabase) -> Result<Rc<WorkerConnection>, DbError> {
    // Counted before it opens, so that `Database::close` waits for it.
    let counted = database.closing.count_one();
    let (client, connection) = database
        .config
        .connect(database.tls.clone())
        .await
        .map_err(|error| {
            // Whatever the cause (down, renamed, out of connections), the
            // request can only be retried, as when the pool finds none.
            tracing::warn!(%error, "no database connection available");
            DbError::Unavailable(Unavailable::Unreachable)
        })?;
    tokio::task::spawn_local(async move {
        let _counted = counted;
        if let Err(error) = connection.await {
            tracing::warn!(%error, "a worker's PostgreSQL connection ended");
        }
    });
    client.batch_execute(POSTGRES_SETTINGS).await?;
    Ok(Rc::new(WorkerConnection {
        client,
        prepared: RefCell::default(),
        in_flight: Cell::new(0),
    }))
}

/// A connection taken for one request, counted in flight until dropped.
pub struct Lease {
    connection: Rc<WorkerConnection>,
}

impl Lease {
    fn of(connection: &Rc<WorkerConnection>) -> Lease {
        connection.in_flight.set(connection.in_flight.get() + 1);
        Lease {
            connection: Rc::clone(connection),
        }
    }
}

impl Deref for Lease {
    type Target = WorkerConnection;

    fn deref(&self) -> &WorkerConnection {
        &self.connection
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let in_flight = &self.connection.in_flight;
        in_flight.set(in_flight.get().saturating_sub(1));
    }
}

/// A connection, with the statements it has prepared.
pub struct WorkerConnection {
    client: Client,
    prepared: RefCell<HashMap<StatementKey, Statement>>,
    /// Requests using it now.
    in_flight: Cell<usize>,
}

type Binds<'a> = [&'a (dyn ToSql + Sync)];

impl WorkerConnection {
    pub async fn query_opt(
        &self,
        sql: &'static str,
        binds: &Binds<'_>,
    ) -> Result<Option<Row>, tokio_postgres::Error> {
        let statement = self.prepared(sql).await?;
        self.client.query_opt(&statement, binds).await
    }

    pub async fn query(
        &self,
        sql: &'static str,
        binds: &Binds<'_>,
    ) -> Result<Vec<Row>, tokio_postgres::Error> {
        let statement = self.prepared(sql).await?;
        self.client.query(&statement, binds).await
    }

    pub async fn execute(
        &self,
        sql: &'static str,
        binds: &Binds<'_>,
    ) -> Result<u64, tokio_postgres::Error> {
        let statement = self.prepared(sql).await?;
        self.client.execute(&statement, binds).await
    }

    /// Prepared once per connection, as diesel does, so that PostgreSQL
    /// parses and plans each statement once.
    async fn prepared(&self, sql: &'static str) -> Result<Statement, tokio_postgres::Error> {
        let key = StatementKey::of(sql);
        if let Some(statement) = self.prepared.borrow().get(&key) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql).await?;
        self.prepared.borrow_mut().insert(key, statement.clone());
        Ok(statement)
    }
}

/// A statement's text, known by where it lives and its length: every
/// statement is a `&'static str`, and hashing those two, rather than a few
/// hundred bytes of SQL, is what each statement's lookup costs. Two copies
/// of one text would only be prepared twice.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct StatementKey(usize, usize);

impl StatementKey {
    fn of(sql: &'static str) -> StatementKey {
        StatementKey(sql.as_ptr() as usize, sql.len())
    }
}

/// How the HTTP workers open their own connections to PostgreSQL, or
/// `None` when tokio-postgres cannot connect where libpq just did (a URL
/// option such as `sslmode=verify-full`, or a `PGPASSWORD` it does not
/// read): then every request uses the pool, whose libpq honours them.
pub(super) fn worker_database(url: &str) -> Result<Option<WorkerDatabase>, StartupError> {
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
