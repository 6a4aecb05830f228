//! On PostgreSQL, each HTTP worker's own connections for the requests a
//! store sends most: reading a product and its compare-and-swap PATCH.
//!
//! On the blocking pool every request makes two thread hops, and the
//! blocking thread sleeps once per statement; on a two-core machine that
//! switching took a fifth of what pgbench's `cas` keeps (BENCHMARKS.md,
//! "The bare server"). tokio-postgres runs on the worker's own runtime
//! instead: a statement's answer wakes the worker that sent it. Requests
//! take the worker's connections in turn and may share one, whose
//! statements then travel pipelined.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
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
    next: Cell<usize>,
    stopped: Cell<bool>,
}

impl WorkerConnections {
    pub(super) fn none() -> web::Data<WorkerConnections> {
        web::Data::new(WorkerConnections {
            database: None,
            slots: Vec::new(),
            next: Cell::new(0),
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
            next: Cell::new(0),
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

    /// The next of this worker's connections, opened if need be; `None`
    /// where requests use the blocking pool instead.
    pub async fn next(&self) -> Result<Option<Rc<WorkerConnection>>, ApiError> {
        let Some(database) = &self.database else {
            return Ok(None);
        };
        if self.stopped.get() || database.closing.is_closing() {
            return Ok(None);
        }
        let n = self.next.get();
        self.next.set((n + 1) % self.slots.len());
        let cell = {
            let mut slot = self.slots[n].borrow_mut();
            // Its server went away (a restart, say): that failed one
            // request with a 503, and this one opens a new connection.
            if slot.get().is_some_and(|open| open.client.is_closed()) {
                *slot = Rc::default();
            }
            Rc::clone(&slot)
        };
        let opening = cell.get_or_try_init(|| open(database));
        match tokio::time::timeout(CHECKOUT_TIMEOUT, opening).await {
            Ok(opened) => Ok(Some(Rc::clone(opened?))),
            Err(_) => Err(ApiError::database_unreachable()),
        }
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
    }))
}

/// A connection, with the statements it has prepared, keyed by their text.
pub struct WorkerConnection {
    client: Client,
    prepared: RefCell<HashMap<&'static str, Statement>>,
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
        if let Some(statement) = self.prepared.borrow().get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql).await?;
        self.prepared.borrow_mut().insert(sql, statement.clone());
        Ok(statement)
    }
}
