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

use actix_web::web;
use postgres_openssl::MakeTlsConnector;
use tokio::sync::OnceCell;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Config, Row, Statement};

use super::pool::{CHECKOUT_TIMEOUT, POSTGRES_SETTINGS};
use super::pool_closing::PoolClosing;
use crate::error::ApiError;
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
    pub(super) fn none() -> web::Data<WorkerConnections> {
        web::Data::new(WorkerConnections {
            database: None,
            slots: Vec::new(),
            stopped: Cell::new(false),
        })
    }

    /// Connections that close once the server starts stopping: requests
    /// still in flight keep theirs to the end, later ones use the blocking
    /// pool, which `Database::close` closes.
    pub(super) fn on_this_worker(
        database: WorkerDatabase,
        count: usize,
        mut stopping: Stopping,
    ) -> web::Data<WorkerConnections> {
        let slots = (0..count.max(1)).map(|_| RefCell::default()).collect();
        let connections = web::Data::new(WorkerConnections {
            database: Some(database),
            slots,
            stopped: Cell::new(false),
        });
        let weak = Arc::downgrade(&connections.clone().into_inner());
        actix_web::rt::spawn(async move {
            stopping.started().await;
            if let Some(connections) = Weak::upgrade(&weak) {
                connections.close();
            }
        });
        connections
    }

    /// One of this worker's connections, opened if need be (see `pick`);
    /// `None` where requests use the blocking pool instead.
    pub async fn take(&self) -> Result<Option<Lease>, ApiError> {
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
            Err(_) => Err(ApiError::database_unreachable()),
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
async fn open(database: &WorkerDatabase) -> Result<Rc<WorkerConnection>, ApiError> {
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
            ApiError::database_unreachable()
        })?;
    actix_web::rt::spawn(async move {
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
