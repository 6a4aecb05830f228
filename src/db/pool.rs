use std::time::Duration;

use actix_web::web;
use diesel::connection::SimpleConnection;
use diesel::r2d2::{self, ManageConnection, R2D2Connection};

use super::connection::{connect, DbConnection};
use super::migrations::run_migrations;
use crate::error::ApiError;

/// How long a request waits for a pooled connection before it is answered
/// 503: long enough to ride out a burst, short enough to fail fast while
/// the database is down.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(3);

/// PostgreSQL's settings, applied to every new connection: a write that
/// waits this long for a row lock, or any statement that runs this long,
/// gives up with a 503 instead of hanging.
const POSTGRES_SETTINGS: &str = "SET lock_timeout = '5s'; SET statement_timeout = '15s';";

/// SQLite's settings, applied to every new connection. `busy_timeout` comes
/// first so that switching to WAL waits for a concurrent opener instead of
/// failing; `synchronous=FULL` makes an acknowledged write survive power
/// loss, as PostgreSQL's defaults do.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 5000; \
     PRAGMA journal_mode = WAL; \
     PRAGMA synchronous = FULL; \
     PRAGMA foreign_keys = ON;";

/// The pool of connections to the database the URL names.
#[derive(Clone)]
pub struct Database {
    pool: r2d2::Pool<ConnectionManager>,
}

impl Database {
    /// Connects, applies pending migrations and builds the pool.
    pub fn open(
        url: &str,
        pool_size: u32,
    ) -> Result<Database, Box<dyn std::error::Error + Send + Sync>> {
        let manager = ConnectionManager {
            url: url.to_owned(),
        };
        run_migrations(&mut manager.connect()?)?;
        let pool = r2d2::Pool::builder()
            .max_size(pool_size)
            // Connections are made on demand, so a database that goes away
            // and comes back needs no restart.
            .min_idle(Some(0))
            .connection_timeout(CHECKOUT_TIMEOUT)
            .build_unchecked(manager);
        Ok(Database { pool })
    }

    /// Runs `work` with a pooled connection on this thread, for work outside
    /// any request (background upkeep).
    pub fn run_here<T>(
        &self,
        work: impl FnOnce(&mut DbConnection) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let mut conn = self.pool.get()?;
        work(&mut conn)
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
        web::block(move || {
            span.in_scope(|| {
                let mut conn = pool.get()?;
                work(&mut conn)
            })
        })
        .await?
    }
}

/// Opens connections of the URL's backend, with that backend's settings applied.
struct ConnectionManager {
    url: String,
}

impl ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        let mut conn = connect(&self.url).map_err(r2d2::Error::ConnectionError)?;
        let settings = match conn {
            DbConnection::Pg(_) => POSTGRES_SETTINGS,
            DbConnection::Sqlite(_) => SQLITE_PRAGMAS,
        };
        conn.batch_execute(settings)
            .map_err(r2d2::Error::QueryError)?;
        Ok(conn)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        conn.ping().map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        conn.is_broken()
    }
}
