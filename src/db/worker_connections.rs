//! On PostgreSQL, each HTTP worker's own pool of diesel-async connections
//! for the requests a store sends most: reading a product and its
//! compare-and-swap PATCH.
//!
//! On the blocking pool every request makes two thread hops, and the
//! blocking thread sleeps once per statement; on a two-core machine that
//! switching took a fifth of what pgbench's `cas` keeps (BENCHMARKS.md,
//! "The bare server"). These connections run on the worker's own runtime
//! instead: a statement's answer wakes the worker that sent it. So each
//! worker has a pool of its own, whose connections it opens and drives.

use std::sync::Arc;
use std::thread;

use diesel::ConnectionError;
use diesel_async::pooled_connection::deadpool::{Object, Pool, PoolError};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncPgConnection, SimpleAsyncConnection};
use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
use postgres_openssl::MakeTlsConnector;

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

/// One HTTP worker's pool. Made on the worker's own thread; on SQLite, or
/// when the async client could not connect at start where libpq did, it
/// holds none and requests use the blocking pool.
pub struct WorkerConnections {
    pool: Option<Pool<AsyncPgConnection>>,
}

/// A connection taken from this worker's pool for one request.
pub type Lease = Object<AsyncPgConnection>;

impl WorkerConnections {
    pub(super) fn none() -> Arc<WorkerConnections> {
        Arc::new(WorkerConnections { pool: None })
    }

    /// Up to `count` connections, opened on first use and closed once the
    /// server starts stopping: requests still in flight keep theirs to the
    /// end, later ones use the blocking pool, which `Database::close` closes.
    pub(super) fn on_this_worker(
        database: WorkerDatabase,
        count: usize,
        mut stopping: Stopping,
    ) -> Arc<WorkerConnections> {
        let url = database.url.to_string();
        let mut config = ManagerConfig::default();
        // No query before each use: it would double a read's round trips.
        // A connection found closed is dropped when given back, so after a
        // database restart each fails one request with a 503.
        config.recycling_method = RecyclingMethod::Fast;
        config.custom_setup = Box::new(move |_url| Box::pin(open(database.clone())));
        let manager = AsyncDieselConnectionManager::new_with_config(url, config);
        let pool = match Pool::builder(manager).max_size(count.max(1)).build() {
            Ok(pool) => pool,
            Err(error) => {
                tracing::warn!(%error, "an HTTP worker could not build its pool: its requests use the blocking pool");
                return WorkerConnections::none();
            }
        };
        let closed_on_stop = pool.clone();
        // On the worker's own runtime, as every task of this worker.
        tokio::task::spawn_local(async move {
            stopping.started().await;
            closed_on_stop.close();
        });
        Arc::new(WorkerConnections { pool: Some(pool) })
    }

    /// One of this worker's connections, opened if need be, waiting for
    /// one to be given back when all are in use; `None` where requests use
    /// the blocking pool instead.
    pub async fn take(&self) -> Result<Option<Lease>, DbError> {
        let Some(pool) = &self.pool else {
            return Ok(None);
        };
        if pool.is_closed() {
            return Ok(None);
        }
        match tokio::time::timeout(CHECKOUT_TIMEOUT, pool.get()).await {
            Ok(Ok(conn)) => Ok(Some(conn)),
            // Closed while this request waited: the server is stopping.
            Ok(Err(PoolError::Closed)) => Ok(None),
            Ok(Err(error)) => {
                // Whatever the cause (down, renamed, out of connections),
                // the request can only be retried, as when the pool finds none.
                tracing::warn!(%error, "no database connection available");
                Err(DbError::Unavailable(Unavailable::Unreachable))
            }
            Err(_) => Err(DbError::Unavailable(Unavailable::Unreachable)),
        }
    }
}

/// Opens a connection with the blocking pool's TLS and settings. It is
/// driven on this worker's runtime, and counted until it ends.
async fn open(database: WorkerDatabase) -> Result<AsyncPgConnection, ConnectionError> {
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
    tokio::task::spawn_local(async move {
        let _counted = counted;
        if let Err(error) = connection.await {
            tracing::warn!(%error, "a worker's PostgreSQL connection ended");
        }
    });
    let mut conn = AsyncPgConnection::try_from(client).await?;
    conn.batch_execute(POSTGRES_SETTINGS)
        .await
        .map_err(ConnectionError::CouldntSetupConfiguration)?;
    Ok(conn)
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
